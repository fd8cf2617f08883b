"""A rollout under way when the bot is upgraded to another workflow version is not resumed
(DBOS resumes only its own version's workflows; README, Upgrading). The new bot says so as
it starts, naming the rollout, both versions and the way out, instead of leaving a rollout
that silently never moves."""

from __future__ import annotations

import logging

import pytest

import bot.server
from tests.scenario import OWNER, World
from tests.scenarios.test_handover import start


def stranded_lines(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    logs = caplog.text + "\n".join(capsys.readouterr())
    caplog.clear()
    return [line for line in logs.splitlines() if "rollout_stranded" in line]


async def test_a_rollout_of_another_workflow_version_is_named_as_the_bot_starts(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(bot.server, "WORKFLOW_VERSION", "1")
    async with world.bot():
        await start(world)
        await world.wait_button(OWNER, "co:eligible")
    async with world.bot():  # restarted on the same version: resumed, nothing to say
        await world.wait_button(OWNER, "co:eligible")
    assert stranded_lines(caplog, capsys) == []

    monkeypatch.setattr(bot.server, "WORKFLOW_VERSION", "2")
    async with world.bot():
        pass
    [line] = stranded_lines(caplog, capsys)
    assert "rollout-1" in line
    assert "started_by_version=1" in line and "this_version=2" in line, line
    assert "Run the image that started it" in line and "/creators-onboard abort" in line
