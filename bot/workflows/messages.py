"""Messages to waiting workflows, and the wake-up that goes with each.

A workflow waiting in `DBOS.recv` (the rollout waiting for a press, a run's follow waiting
for GitHub's webhook) is woken by PostgreSQL `NOTIFY`; on SQLite DBOS has no notification
and polls the database for every waiting workflow instead. Polled every 0.1 s, that poll
was a fifth of what an idle bot spends holding the GIL while a rollout waits (a query
built and compiled anew each time), and an ack that arrives meanwhile waits for it.

On SQLite every sender is this process (one process per SQLite file), so `send` tells the
waiter itself, right after the message is committed, the way DBOS's own PostgreSQL
listener does on a notification: a press is applied at once instead of at the next poll,
and the poll is left as the fall-back, once a second (`POLL_SECONDS`, DBOS's default),
for a message sent by anything else. A wake-up with no message behind it costs the waiter
one read: DBOS re-checks the database before it takes anything. On PostgreSQL waking is
left to DBOS's listener, which hears every replica's messages.
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from bot.logging import get_logger

log = get_logger(__name__)

# DBOS's SQLite poll for waiting workflows (`notification_listener_polling_interval_sec`).
POLL_SECONDS = 1.0

# What DBOS 3.4's system database uses to wake a waiter (dbos/_sys_db.py; its PostgreSQL
# listener calls the same two): the waiter's key for a workflow and topic, and the map of
# waiters by key. tests/test_messages.py pins both.
_KEY_OF = "_waiter"
_WAITERS = "notifications_map"

_warned = False


async def send(
    destination: str, message: Any, topic: str, *, idempotency_key: str | None = None
) -> None:
    """`DBOS.send`, then (SQLite) wake the destination if it waits in this process."""
    await DBOS.send_async(destination, message, topic, idempotency_key=idempotency_key)
    wake(destination, topic)


def wake(destination: str, topic: str) -> bool:
    """On SQLite, wake `destination`'s wait for `topic`. False on PostgreSQL, and when
    nothing waits for it yet (its wait checks the database first)."""
    from dbos._dbos import _get_dbos_instance

    system_db = _get_dbos_instance()._sys_db
    engine = getattr(system_db, "engine", None)
    if engine is None or engine.dialect.name != "sqlite":
        return False  # PostgreSQL: its NOTIFY wakes the waiter, in whichever replica it is
    key_of = getattr(system_db, _KEY_OF, None)
    waiters = getattr(system_db, _WAITERS, None)
    if not callable(key_of) or not callable(getattr(waiters, "get", None)):
        _unavailable()
        return False
    key, _ = key_of(destination, topic)
    signal = waiters.get(key)  # type: ignore[union-attr]
    if signal is None:
        return False
    signal.set()
    return True


def _unavailable() -> None:
    global _warned
    if not _warned:
        _warned = True
        log.warning(
            "dbos_wake_unavailable",
            reason="this DBOS version keeps its waiting workflows elsewhere: on SQLite a "
            f"press is applied at DBOS's next poll (every {POLL_SECONDS:g} s), not at once",
        )
