"""How soon a workflow waiting for a message finds one whose notification was lost.

DBOS wakes a workflow waiting in `recv` (the rollout waiting for a press, a run's follow
waiting for GitHub's webhook) by PostgreSQL `NOTIFY` on its `LISTEN` connection. A message
sent while that connection is down — during a database outage or failover, and in the
second after it while DBOS reconnects — is found only by the wait's fallback re-check:
every 60 s in DBOS 3.4, which its configuration does not expose. So a press made then
sat unapplied for up to a minute after the database was back. The re-check is set here
to a few seconds: one indexed read per waiting workflow each time (a rollout has one or
two waiting). On SQLite DBOS polls for every waiting workflow already.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

from bot.logging import get_logger

log = get_logger(__name__)

RECHECK_SECONDS = 5.0
# DBOS 3.4's SystemDatabase attribute (dbos/_sys_db.py: `_event_recheck_interval`).
_ATTRIBUTE = "_notification_fallback_polling_interval"


def recheck_lost_messages(database_url: str, seconds: float = RECHECK_SECONDS) -> bool:
    """After DBOS launched: a waiting workflow looks for a message whose notification was
    lost every `seconds`. False (and a warning) when this DBOS has no such setting."""
    if not make_url(database_url).drivername.startswith("postgresql"):
        return False
    from dbos._dbos import _get_dbos_instance

    system_db = _get_dbos_instance()._sys_db
    if not isinstance(getattr(system_db, _ATTRIBUTE, None), int | float):
        log.warning(
            "dbos_recheck_unchanged",
            reason="this DBOS version keeps its re-check elsewhere: after a database "
            "outage a press may wait up to DBOS's own re-check (60 s in DBOS 3.4)",
        )
        return False
    setattr(system_db, _ATTRIBUTE, seconds)
    return True
