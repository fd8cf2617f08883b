"""A rollout under way when the bot is upgraded to another workflow version is not resumed
(DBOS resumes only its own version's workflows; README, Upgrading). The new bot says so as
it starts, naming the rollout, both versions and the way out, instead of leaving a rollout
that silently never moves."""

from __future__ import annotations

import pytest
import structlog

import bot.server
from tests.scenario import OWNER, World
from tests.scenarios.test_handover import start


async def test_a_rollout_of_another_workflow_version_is_named_as_the_bot_starts(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.server, "WORKFLOW_VERSION", "1")
    with structlog.testing.capture_logs() as logs:
        async with world.bot():
            await start(world)
            await world.wait_button(OWNER, "co:eligible")
        async with world.bot():  # restarted on the same version: resumed, nothing to say
            await world.wait_button(OWNER, "co:eligible")
        assert [e for e in logs if e["event"] == "rollout_stranded"] == []

        monkeypatch.setattr(bot.server, "WORKFLOW_VERSION", "2")
        async with world.bot():
            pass
    [said] = [e for e in logs if e["event"] == "rollout_stranded"]
    assert said["log_level"] == "error"
    assert (said["rollout_id"], said["started_by_version"], said["this_version"]) == (
        "rollout-1",
        "1",
        "2",
    )
    assert "Run the image that started it" in said["meaning"]
    assert "/creators-onboard abort" in said["meaning"]
