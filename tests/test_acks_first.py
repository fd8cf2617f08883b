"""Work after the ack waits while requests arrive (bot/afterack.py: AcksFirst), as a unit.

The clock is the event loop's; the bounds below are an order of magnitude apart so a slow,
shared machine cannot reorder them. tests/scenarios/test_acks_first_http.py sends the
requests over HTTP into the real app.
"""

from __future__ import annotations

import asyncio
import logging

from bot.afterack import AcksFirst, TrackedLazyRunner, claim_after_ack


def _now() -> float:
    return asyncio.get_running_loop().time()


async def _started_at(turns: AcksFirst, when: list[float]) -> None:
    await turns.turn()
    when.append(_now())


async def test_with_no_request_arriving_work_starts_at_once() -> None:
    """Socket Mode, a workflow's own work, a test dispatching into Bolt: nothing to wait for."""
    turns, when = AcksFirst(quiet=5.0), []
    began = _now()
    await _started_at(turns, when)
    assert when[0] - began < 5.0


async def test_work_waits_until_its_request_is_answered_and_then_the_quiet() -> None:
    turns, when = AcksFirst(quiet=0.05, longest=30), []
    with turns.answering():
        task = asyncio.ensure_future(_started_at(turns, when))
        await asyncio.sleep(0.2)  # the ack, slower than the quiet: still nothing starts
        assert not when and turns.waiting() == 1
        answered = _now()
    await task
    assert when[0] >= answered + 0.05 - 0.001  # the loop may run a timer up to 1 ms early
    assert turns.waiting() == 0


async def test_during_a_burst_work_waits_for_its_end() -> None:
    turns, when = AcksFirst(quiet=0.05, longest=30), []
    tasks = []
    for _ in range(10):  # a request every 10 ms, each leaving work for after its ack
        with turns.answering():
            tasks.append(asyncio.ensure_future(_started_at(turns, when)))
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
    last = _now()
    assert not when and turns.waiting() == 10
    await asyncio.gather(*tasks)
    assert len(when) == 10 and min(when) >= last  # all of it after the last ack


async def test_a_burst_that_never_ends_holds_work_back_no_longer_than_the_longest_wait() -> None:
    """A steady load: the work runs after `longest`, as it would have run without the
    order, so nothing piles up without bound."""
    turns, when = AcksFirst(quiet=0.05, longest=0.1), []
    task = None
    loop_end = _now() + 2.0
    began = _now()
    while _now() < loop_end and not when:
        with turns.answering():
            if task is None:
                task = asyncio.ensure_future(_started_at(turns, when))
            await asyncio.sleep(0.005)
    assert task is not None
    await task
    assert when[0] - began >= 0.1 - 0.001
    assert when[0] < loop_end  # started while requests were still arriving


async def test_beyond_the_most_waiting_the_oldest_starts_at_once() -> None:
    turns, when = AcksFirst(quiet=30, longest=30, most=3), []
    with turns.answering():
        tasks = [asyncio.ensure_future(_started_at(turns, when)) for _ in range(5)]
        for _ in range(5):
            await asyncio.sleep(0)
        assert len(when) == 2 and turns.waiting() == 3
        turns.open()
        await asyncio.gather(*tasks)
    assert len(when) == 5


async def test_shutdown_starts_everything_waiting_and_nothing_waits_after_it() -> None:
    """`drain` opens the order first, so acked work runs before the database closes."""
    runner, ran = TrackedLazyRunner(logging.getLogger("t")), []

    async def work() -> None:
        ran.append("x")

    claim_after_ack(None)
    with runner.turns.answering():
        runner.spawn(work())
        runner.spawn(work())
        await asyncio.sleep(0.01)
        assert ran == [] and runner.turns.waiting() == 2
        assert await runner.drain(5) == 0
        assert ran == ["x", "x"]
        runner.spawn(work())  # still answering, but shutting down: no wait
        await runner.drain(5)
    assert ran == ["x", "x", "x"]


async def test_a_waiter_cancelled_is_passed_over() -> None:
    turns, when = AcksFirst(quiet=0.01, longest=30), []
    with turns.answering():
        gone = asyncio.ensure_future(_started_at(turns, when))
        kept = asyncio.ensure_future(_started_at(turns, when))
        await asyncio.sleep(0)
        gone.cancel()
    await kept
    assert gone.cancelled() and len(when) == 1
