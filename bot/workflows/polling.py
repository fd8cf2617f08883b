"""DBOS's queue threads poll when there is work, and rest when there is none.

DBOS 3.4's queues have no wake-up: a manager thread lists the queues every second and one
thread per queue polls the database at the queue's interval, each poll a transaction of
several queries built and compiled anew (about 3 ms of CPU on a SQLite file). With our
five queues and DBOS's internal one that was most of what an idle bot spent holding the
GIL. (Measured with this: an idle bot with a rollout waiting spends 17-19 ms of CPU a
second instead of 49-59; its acks did not measurably gain. README, Performance.)

All of those threads wait between polls on one stop event that DBOS hands them. Before
DBOS launches, `install` puts a `PollSignal` in its place (DBOS's event still stops them:
setting it sets ours). The threads then poll:

* at once after `poll_now`, which the bot calls right after it puts work on a queue (or
  hands a dead replica's workflows to the queues), so queued work starts sooner than the
  queue's interval would have started it;
* at each queue's own interval (`bot.workflows.queues`) for `BUSY_SECONDS` after that,
  so a backlog held back by a queue's limit (four probes, one a second) drains as before;
* otherwise every `IDLE_SECONDS`: work put on a queue by anything else (another replica,
  DBOS's scheduler: a watch's daily tick) waits at most that long.

If a DBOS upgrade moves the queue threads' entry point, `install` says so once and the
queues poll at their own intervals, as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from bot.logging import get_logger

log = get_logger(__name__)

BUSY_SECONDS = 30.0
IDLE_SECONDS = 5.0

# DBOS 3.4 starts its queue manager as `threading.Thread(target=queue_thread, args=(stop
# event, dbos))`, looking the function up in dbos._dbos at launch (dbos/_dbos.py).
_ENTRY = "queue_thread"


class PollSignal:
    """What DBOS's queue threads wait on between polls, in place of DBOS's stop event:
    `is_set` and `wait` as a `threading.Event`'s, `set` stops them, `poll_now` ends every
    thread's current wait (and the next one of a thread not waiting at that moment)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._stopped = False
        self._calls = 0  # how many times poll_now was called
        self._last_call = time.monotonic()  # a new signal starts busy: DBOS just launched
        self._seen = threading.local()  # per thread: the calls it has polled after

    def is_set(self) -> bool:
        return self._stopped

    def set(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def poll_now(self) -> None:
        with self._cond:
            self._calls += 1
            self._last_call = time.monotonic()
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait `timeout` (a queue's interval) while busy, at least IDLE_SECONDS while
        not; return early on `poll_now` or `set`. True when stopped."""
        with self._cond:
            seen = getattr(self._seen, "calls", 0)
            idle = time.monotonic() - self._last_call > BUSY_SECONDS
            if timeout is not None and idle:
                timeout = max(timeout, IDLE_SECONDS)
            self._cond.wait_for(lambda: self._stopped or self._calls != seen, timeout)
            self._seen.calls = self._calls
            return self._stopped


_signal: PollSignal | None = None


def install() -> bool:
    """Before DBOS.launch: the queue threads of every DBOS launched from now on wait on a
    `PollSignal`. False (and a warning, once) when this DBOS starts them elsewhere."""
    import dbos._dbos as dbos_module

    entry = getattr(dbos_module, _ENTRY, None)
    if getattr(entry, "polls_when_told", False):
        return True
    if not callable(entry):
        log.warning(
            "dbos_queue_wakeup_unavailable",
            reason="this DBOS version starts its queue threads elsewhere: queued work "
            "starts at each queue's own polling interval, and the idle bot polls as often",
        )
        return False
    setattr(dbos_module, _ENTRY, _polling_when_told(entry))
    return True


def _polling_when_told(entry: Callable[..., None]) -> Callable[..., None]:
    def queue_thread(stop_event: threading.Event, dbos: Any) -> None:
        global _signal
        signal = PollSignal()
        _signal = signal

        def relay() -> None:  # DBOS stops its threads by setting its event
            stop_event.wait()
            signal.set()

        threading.Thread(target=relay, name="queue-stop-relay", daemon=True).start()
        entry(signal, dbos)

    queue_thread.polls_when_told = True  # type: ignore[attr-defined]
    return queue_thread


def poll_now() -> None:
    """Have DBOS's queue threads poll now (nothing when DBOS did not start them here)."""
    if _signal is not None:
        _signal.poll_now()
