"""A rollout under way when the bot is upgraded to another workflow version is not resumed
(DBOS resumes only its own version's workflows; README, Upgrading). The new bot says so as
it starts, naming the rollout, both versions and the way out, instead of leaving a rollout
that silently never moves."""

from __future__ import annotations

import pytest
import structlog

import bot.server
from tests.scenario import DEVOPS, ENG, OWNER, World, eventually
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


async def test_a_stranded_rollout_says_so_to_whoever_acts_and_can_be_ended_here(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbos import DBOS

    monkeypatch.setattr(bot.server, "WORKFLOW_VERSION", "1")
    async with world.bot():
        await start(world)
        message, button = await world.wait_button(OWNER, "co:eligible")
    monkeypatch.setattr(bot.server, "WORKFLOW_VERSION", "2")
    async with world.bot():
        # The owner's button: refused, saying why and the two ways out.
        status, _ = await world.press(OWNER, button, message, response_id="stranded-press")
        assert status == 200
        said = await eventually(
            lambda: " ".join(r.get("text") or "" for r in world.slack.responses("stranded-press")),
            what="the press's answer",
        )
        for fact in ("rollout-1 was started by another version", "workflow version 1"):
            assert fact in said, fact
        assert "run the image that started it" in said and "abort <reason>" in said
        assert (await world.state()).step == "prereq"  # nothing moved
        await world.open_home(OWNER)  # Home says so where the pending actions would be
        home = await eventually(
            lambda: str(world.slack.home_view(OWNER) or "") or None, what="the owner's Home"
        )
        assert "rollout-1 was started by another version" in home
        assert "Your pending actions" not in home

        board = await world.command("status", OWNER)
        assert board["text"].startswith(":warning: rollout-1 was started by another version")
        assert "rollout-1 was started by another version" in str(board["blocks"][0])
        answer = await world.command("start", DEVOPS)
        assert "I did not start a rollout: rollout-1 was started by" in answer["text"]
        answer = await world.command("abort", OWNER)  # devOps' to do
        assert "Ending" not in answer["text"]
        answer = await world.command("abort", DEVOPS)
        assert "Say why" in answer["text"]
        answer = await world.command("abort upgraded by mistake", DEVOPS)
        assert (
            "Ending rollout-1 here" in answer["text"] and "Nothing is rolled back" in answer["text"]
        )

        async def over() -> bool:
            state = await world.state()
            return state is not None and state.status == "aborted"

        await eventually(over, what="rollout-1 listed as aborted")
        assert "upgraded by mistake" in (await world.state()).abort_reason
        workflow = await DBOS.get_workflow_status_async("rollout-1")
        assert workflow is not None and workflow.status == "CANCELLED"
        # Told as any abort is: both threads, the engineering channel, Linear.
        said = "rollout-1 aborted by <@" + DEVOPS + ">: upgraded by mistake"
        await world.wait_text(ENG, said)
        await world.wait_text(world.dm(DEVOPS), said)
        await world.wait_text(world.dm(OWNER), "stopped this setup: upgraded by mistake")
        await eventually(
            lambda: any("aborted at" in c.body for c in world.linear.comments_on()),
            what="the abort on the Linear ticket",
        )
        # The boards brought up to it: the status board and the owner's progress message.
        await world.wait_text(ENG, "Aborted: upgraded by mistake (by <@" + DEVOPS + ">)")
        await world.wait_text(world.dm(OWNER), "stopped this setup. Nothing more to do for now")
        # Ended once, however many times it is aborted.
        again = await world.command("abort upgraded by mistake", DEVOPS)
        assert "Ending" not in again["text"]

        async def ended() -> bool:
            done = await DBOS.get_workflow_status_async("rollout-1:abandoned")
            return done is not None and done.status == "SUCCESS"

        await eventually(ended, what="the workflow ending it done")
        assert world.texts(ENG).count(said) == 1
        board = await world.command("status", OWNER)
        assert "another version" not in str(board)  # over: shown as any aborted rollout
        answer = await world.command("start", DEVOPS)
        assert "rollout-2 started" in answer["text"], answer
        trail = await world.command("audit 1", DEVOPS)
        assert "upgraded by mistake" in str(trail)
