"""After-ack work gated by a request's once-key (bot/afterack.py), as a pure unit.

The claim is a stand-in for the store's here; tests/scenarios/test_replays.py sends the
retried events and replayed presses through the real app and database.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
import weakref
from collections.abc import Awaitable, Callable

import pytest
import structlog
from sqlalchemy.exc import OperationalError

from bot.afterack import (
    Once,
    TrackedLazyRunner,
    claim_after_ack,
    first_delivery,
    tell_failures_to,
)


class _Claims:
    def __init__(self, *, fail: bool = False) -> None:
        self.seen: set[str] = set()
        self.calls = 0
        self.fail = fail

    async def claim(self, key: str) -> bool:
        self.calls += 1
        await asyncio.sleep(0.01)  # a database round trip
        if self.fail:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        first = key not in self.seen
        self.seen.add(key)
        return first


async def _drain(runner: TrackedLazyRunner) -> None:
    await runner.drain(5)


async def test_a_request_s_work_runs_once_its_key_is_claimed_and_a_repeat_runs_none() -> None:
    runner, claims, ran = TrackedLazyRunner(logging.getLogger("t")), _Claims(), []

    async def work(name: str) -> None:
        ran.append(name)

    for delivery in ("first", "retry"):
        claim_after_ack(Once("event:Ev1", claims.claim))
        # One request may leave several pieces of work: one claim for all of them.
        runner.spawn(work(f"{delivery}-a"))
        runner.spawn(work(f"{delivery}-b"))
    claim_after_ack(None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a dropped coroutine is closed, never left unawaited
        await _drain(runner)
    assert sorted(ran) == ["first-a", "first-b"]
    assert claims.calls == 2


async def test_work_of_a_request_without_a_key_is_not_gated() -> None:
    runner, ran = TrackedLazyRunner(logging.getLogger("t")), []
    claim_after_ack(Once("event:Ev0", _Claims().claim))
    claim_after_ack(None)  # the next request dispatched in this task has no key

    async def work() -> None:
        ran.append("x")

    runner.spawn(work())
    runner.spawn(work())
    await _drain(runner)
    assert ran == ["x", "x"]


async def test_without_the_database_the_work_still_runs(caplog: pytest.LogCaptureFixture) -> None:
    runner, claims, ran = TrackedLazyRunner(logging.getLogger("t")), _Claims(fail=True), []

    async def work() -> None:
        ran.append("x")

    claim_after_ack(Once("trigger:T1", claims.claim))
    runner.spawn(work())
    claim_after_ack(None)
    await _drain(runner)
    assert ran == ["x"]


async def test_a_claim_taken_before_the_ack_is_the_one_the_work_after_it_waits_on() -> None:
    """`first_delivery` (a start, which writes before its ack) claims the request's key; its
    after-ack work reuses that claim, and a repeat is told instead of doing the work."""
    runner, claims, ran, told = TrackedLazyRunner(logging.getLogger("t")), _Claims(), [], []

    async def work(name: str) -> None:
        ran.append(name)

    async def repeated() -> None:
        told.append("repeat")

    outcomes = []
    for delivery in ("first", "replay"):
        claim_after_ack(Once("trigger:T9", claims.claim))
        outcomes.append(await first_delivery())
        runner.spawn(work(delivery), repeated)
    claim_after_ack(None)
    assert await first_delivery()  # no key: nothing to claim
    await _drain(runner)
    assert outcomes == [True, False]
    assert ran == ["first"] and told == ["repeat"]
    assert claims.calls == 2  # one claim per delivery, shared by its before and after


async def test_work_still_waiting_at_shutdown_is_cancelled_and_counted() -> None:
    """Shutdown waits a while for acked work, then cancels the rest before the database
    and the HTTP session close under it (which would fail it with a misleading error)."""
    runner, ran, gate = TrackedLazyRunner(logging.getLogger("t")), [], asyncio.Event()

    async def quick() -> None:
        ran.append("quick")

    async def stuck() -> None:
        await gate.wait()
        ran.append("stuck")

    claim_after_ack(None)
    runner.spawn(quick())
    runner.spawn(stuck())
    runner.spawn(stuck())
    assert await runner.drain(0.05) == 2
    gate.set()
    await asyncio.sleep(0)
    assert ran == ["quick"] and not runner.tasks
    assert await runner.drain(0.05) == 0


async def test_a_person_whose_request_shutdown_cut_short_is_told_so() -> None:
    """Acked, then cut short by a restart: without a word, they would wait for something
    that never comes. Each is told (once), before the HTTP session closes; work that
    finished in time, or has nobody to tell, is not."""
    runner, gate = TrackedLazyRunner(logging.getLogger("t")), asyncio.Event()
    told: dict[str, list[dict[str, object]]] = {"alice": [], "bob": [], "carol": []}

    def respond_to(name: str) -> Callable[..., Awaitable[None]]:
        async def respond(**message: object) -> None:
            told[name].append(message)

        return respond

    async def quick() -> None:
        return None

    async def stuck() -> None:
        await gate.wait()

    for name, work in (("alice", quick()), ("bob", stuck()), ("carol", stuck())):
        tell_failures_to(respond_to(name))
        runner.spawn(work)
    tell_failures_to(None)
    runner.spawn(stuck())  # nobody to tell (an event)
    with structlog.testing.capture_logs() as logs:
        assert await runner.drain(0.05) == 3
    assert told["alice"] == []
    for name in ("bob", "carol"):
        [message] = told[name]
        assert message["response_type"] == "ephemeral" and message["replace_original"] is False
        assert "I was restarting" in str(message["text"]) and "status" in str(message["text"])
    [entry] = [e for e in logs if e["event"] == "after_ack_abandoned"]
    assert (entry["count"], entry["told"], entry["log_level"]) == (3, 2, "error")


async def test_telling_them_is_bounded_when_slack_does_not_answer() -> None:
    runner = TrackedLazyRunner(logging.getLogger("t"))

    async def respond(**message: object) -> None:
        await asyncio.sleep(60)  # Slack's answer that never comes

    async def stuck() -> None:
        await asyncio.sleep(60)

    tell_failures_to(respond)
    runner.spawn(stuck())
    tell_failures_to(None)
    loop = asyncio.get_running_loop()
    began = loop.time()
    with structlog.testing.capture_logs() as logs:
        assert await runner.drain(0.05, telling=0.05) == 1
    assert loop.time() - began < 30  # not the minute Slack would have taken
    [entry] = [e for e in logs if e["event"] == "after_ack_abandoned"]
    assert entry["told"] == 0


async def _fail_after_ack(
    error: Exception, *, tell: bool = True
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Work that raises `error` after its ack: what its person was told, what was logged."""
    runner, told = TrackedLazyRunner(logging.getLogger("t")), []

    async def respond(**message: object) -> None:
        told.append(message)

    async def work() -> None:
        raise error

    tell_failures_to(respond if tell else None)
    try:
        with structlog.testing.capture_logs() as logs:
            runner.spawn(work())
            await _drain(runner)
    finally:
        tell_failures_to(None)
    return told, logs


async def test_work_that_fails_after_the_ack_is_told_to_the_person_and_logged() -> None:
    told, logs = await _fail_after_ack(KeyError("a fault in the bot"))
    [message] = told
    assert message["response_type"] == "ephemeral" and message["replace_original"] is False
    assert "something went wrong inside the bot" in str(message["text"])
    [failed] = [e for e in logs if e["event"] == "request_failed"]
    assert failed["log_level"] == "error" and isinstance(failed["exc_info"], KeyError)
    assert str(failed["request_id"]) in str(message["text"])  # the id they can pass on


async def test_a_database_outage_after_the_ack_is_told_without_a_traceback() -> None:
    away = OperationalError("SELECT", {}, Exception("database is locked"))
    told, logs = await _fail_after_ack(away)
    assert "my database did not answer" in str(told[0]["text"])
    assert [e["log_level"] for e in logs if str(e["event"]).startswith("request_failed")] == [
        "warning"
    ]


async def test_without_anyone_to_tell_a_failure_is_still_logged() -> None:
    _, logs = await _fail_after_ack(KeyError("a fault in the bot"), tell=False)
    assert [e["event"] for e in logs] == ["request_failed"]


async def test_a_request_s_after_ack_objects_go_without_the_collector() -> None:
    # The claim's task holds a copy of the request's context, which holds the Once: left
    # as it was, a cycle per request that only a garbage collection freed (a burst's
    # leftovers made those collections long). Gone now as soon as the work is done.
    runner, claims = TrackedLazyRunner(logging.getLogger("t")), _Claims()

    async def work() -> None:
        return None

    async def one_request(key: str) -> weakref.ref[Once]:
        once = Once(key, claims.claim)
        claim_after_ack(once)
        tell_failures_to(None)
        runner.spawn(work())
        runner.spawn(work())
        return weakref.ref(once)

    gc.disable()
    try:
        gc.collect()
        # Each request dispatched in a task of its own, as aiohttp does.
        gone = [await asyncio.create_task(one_request(f"trigger:{n}")) for n in range(3)]
        await _drain(runner)
        await asyncio.sleep(0)  # the tasks' done-callbacks
        assert [ref() for ref in gone] == [None, None, None]
    finally:
        gc.enable()
