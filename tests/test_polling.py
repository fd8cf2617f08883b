"""`bot.workflows.polling.PollSignal`, which DBOS's queue threads wait on between polls,
with real threads (the scenarios: tests/scenarios/test_queue_polling.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from bot.workflows import polling
from bot.workflows.polling import PollSignal

LONG = 600.0  # a wait that must be ended by something other than its time-out


def waiting(signal: PollSignal, timeout: float | None) -> tuple[threading.Thread, list[bool]]:
    returned: list[bool] = []
    thread = threading.Thread(target=lambda: returned.append(signal.wait(timeout)), daemon=True)
    thread.start()
    return thread, returned


def ends(thread: threading.Thread) -> bool:
    thread.join(10)
    return not thread.is_alive()


def test_poll_now_ends_a_wait_and_set_stops_it() -> None:
    signal = PollSignal()
    first, got = waiting(signal, LONG)
    signal.poll_now()
    assert ends(first) and got == [False]  # poll, then wait again
    signal.set()
    second, got = waiting(signal, LONG)
    assert ends(second) and got == [True] and signal.is_set()  # stop


def test_a_thread_busy_when_told_polls_again_at_its_next_wait() -> None:
    signal = PollSignal()
    polled = threading.Event()
    returned: list[bool] = []

    def worker() -> None:  # a queue thread in the middle of a poll when told
        polled.wait(10)
        returned.append(signal.wait(LONG))  # told meanwhile: polls again at once
        returned.append(signal.wait(LONG))  # told once, polled once: this one waits

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    signal.poll_now()
    polled.set()
    deadline = time.monotonic() + 10
    while not returned and time.monotonic() < deadline:
        time.sleep(0.01)
    thread.join(0.2)
    assert returned == [False] and thread.is_alive()
    signal.set()
    assert ends(thread) and returned == [False, True]


def test_idle_queues_wait_longer_than_their_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(polling, "IDLE_SECONDS", LONG)
    busy = PollSignal()  # just launched, or told within BUSY_SECONDS: the queue's interval
    thread, got = waiting(busy, 0.01)
    assert ends(thread) and got == [False]
    monkeypatch.setattr(polling, "BUSY_SECONDS", 0.0)
    idle = PollSignal()
    thread, _ = waiting(idle, 0.01)
    thread.join(0.2)
    assert thread.is_alive()  # not the queue's 0.01 s: IDLE_SECONDS
    idle.poll_now()
    assert ends(thread)


def test_install_wraps_dbos_queue_threads_once_and_says_when_it_cannot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dbos._dbos as dbos_module

    seen: list[object] = []

    def queue_thread(stop_event: threading.Event, dbos: object) -> None:
        seen.append(stop_event)
        stop_event.wait(LONG)

    monkeypatch.setattr(dbos_module, "queue_thread", queue_thread)
    assert polling.install() and polling.install()
    wrapped: Callable[[threading.Event, object], None] = dbos_module.queue_thread
    assert wrapped is not queue_thread and getattr(wrapped, "polls_when_told", False)
    stop = threading.Event()
    runner = threading.Thread(target=wrapped, args=(stop, None), daemon=True)
    runner.start()
    stop.set()  # DBOS stopping its threads stops ours
    assert ends(runner) and isinstance(seen[0], PollSignal)

    monkeypatch.delattr(dbos_module, "queue_thread")
    with capture_logs() as logs:
        assert polling.install() is False
    assert [e["event"] for e in logs] == ["dbos_queue_wakeup_unavailable"]
