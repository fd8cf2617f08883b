"""After-ack work gated by a request's once-key (bot/afterack.py), as a pure unit.

The claim is a stand-in for the store's here; tests/scenarios/test_replays.py sends the
retried events and replayed presses through the real app and database.
"""

from __future__ import annotations

import asyncio
import logging
import warnings

import pytest
from sqlalchemy.exc import OperationalError

from bot.afterack import Once, TrackedLazyRunner, claim_after_ack, first_delivery


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
