"""DBOS's queue threads poll when the bot puts work on a queue, not on a timer
(bot.workflows.polling): queued work starts at once, and a backlog held back by a
queue's limit drains while the queues are busy."""

from __future__ import annotations

import pytest

from bot.workflows import polling
from tests.scenario import World
from tests.scenarios.test_rollout import deploy, to_gate, wait_partition
from tests.scenarios.test_watches import run, runs_done

# Longer than the test: a queue that waited for its next idle poll would fail it.
NEVER = 600.0


async def test_queued_work_starts_when_it_is_queued(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Never busy, never idle-polled: only the bot's own "poll now" starts anything.
    monkeypatch.setattr(polling, "BUSY_SECONDS", 0.0)
    monkeypatch.setattr(polling, "IDLE_SECONDS", NEVER)
    async with world.bot():
        await run(world, "service_account")  # a watch's queue
        await runs_done(world, "service_account", 1)
        await to_gate(world)
        await deploy(world, "dev")
        await wait_partition(world, "dev", "green")  # its smoke test, through the smoke queue


async def test_a_backlog_held_back_by_a_queue_limit_drains(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polling, "IDLE_SECONDS", NEVER)
    async with world.bot():
        # One probe per partition through the one-a-second smoke queue, twice, and the
        # second run waits for the first (one run of a watch at a time).
        await run(world, "probe")
        await run(world, "probe")
        await runs_done(world, "probe", 2)
        assert all(len(world.bff.requests_for(p)) == 2 for p in ("dev", "stage", "demo", "prod"))
