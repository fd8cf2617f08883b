"""On SQLite a press reaches the waiting rollout at once, not at DBOS's next poll
(bot.workflows.messages)."""

from __future__ import annotations

import pytest

from bot.workflows import messages
from tests.scenario import DEVOPS, OWNER, World
from tests.scenarios.test_handover import OWNER_PATH, start

# Longer than any wait below: a press that waited for DBOS's poll or for the rollout's
# own time-out would fail the test.
NEVER = 600.0


async def test_each_press_is_applied_without_waiting_for_a_poll(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(messages, "POLL_SECONDS", NEVER)
    # The rollout waits at most this long for more events before it edits its boards,
    # then looks for messages again: make that longer than the test too.
    world.config_overrides["slack"] = {**world.config()["slack"], "board_coalesce_seconds": NEVER}
    async with world.bot():
        await start(world)
        for step, action in OWNER_PATH:
            await world.wait_step(step, timeout=10)
            await world.click(OWNER, action)
        await world.wait_step("receive", timeout=10)
        await world.click(DEVOPS, "co:received")
        await world.wait_step("populate", timeout=10)
