"""A restart while the rollout waits for a press: the rollout stays active through it,
and the press made after it is applied."""

from __future__ import annotations

import logging

import pytest
from dbos import DBOS

from bot.workflows import runtime
from bot.workflows.steps import EVENT_TOPIC
from tests.scenario import DEVOPS, ENG, OWNER, World, eventually
from tests.scenarios.test_handover import start


async def test_a_rollout_failing_only_because_the_bot_stops_is_still_active_after_it(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    from dbos._dbos import _get_dbos_instance

    async with world.bot():
        assert world.running is not None
        index = world.running.deps.index
        await start(world)
        message, button = await world.wait_button(OWNER, "co:eligible")
        system_db = _get_dbos_instance()._sys_db
        key, _ = system_db._waiter("rollout-1", EVENT_TOPIC)  # tests/test_messages.py
        # The rollout waiting for a press (not between two waits, editing its boards) ...
        waiting = await eventually(
            lambda: system_db.notifications_map.get(key), what="the rollout waiting"
        )
        # ... and, with no await in between (the rollout runs on this loop), the bot
        # stopping as `running_bot` does it, up to closing the read model ...
        runtime.stop()
        DBOS.destroy(workflow_completion_timeout_sec=0)
        # ... and the wait ending then (its time-out, or a press): with DBOS gone, the
        # rollout fails on this loop.
        with caplog.at_level(logging.ERROR, logger="dbos"):
            waiting.set()
            await eventually(
                lambda: "Exception encountered in asynchronous workflow" in caplog.text,
                what="the rollout failing as DBOS stops",
            )
        found = await index.get("rollout-1")
        assert found is not None and found.active, "listed as over by a rollout DBOS resumes"

    async with world.bot():  # DBOS resumes the rollout; the owner's button still works
        assert (await world.state()).step == "prereq"
        status, _ = await world.press(OWNER, button, message)
        assert status == 200
        await world.wait_step("register_sign_in")


async def test_a_rollout_that_dies_in_its_replay_is_listed_as_over(
    world_db: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rollout whose workflow fails while DBOS replays it after a restart (here its first
    step fails: fault injected) numbers its states from 0 again, below the listed version;
    it is listed as over all the same, so a new rollout can start."""
    from dbos._dbos import _get_dbos_instance

    import bot.workflows.rollout

    world = world_db
    async with world.bot():
        await start(world)
        await world.wait_button(OWNER, "co:eligible")
        system_db = _get_dbos_instance()._sys_db
        key, _ = system_db._waiter("rollout-1", EVENT_TOPIC)  # tests/test_messages.py
        await eventually(lambda: system_db.notifications_map.get(key), what="the rollout waiting")

    async def broken() -> None:
        raise RuntimeError("fault injected into the replay")

    monkeypatch.setattr(bot.workflows.rollout, "settings_step", broken)
    async with world.bot() as running:
        index = running.deps.index

        async def over() -> bool:
            found = await index.get("rollout-1")
            return found is not None and not found.active

        await eventually(over, what="rollout-1 listed as over")
        found = await index.get("rollout-1")
        assert found is not None and found.state.step == "prereq"  # the newest state kept

        async def failed() -> bool:
            status = await DBOS.get_workflow_status_async("rollout-1")
            return status is not None and status.status == "ERROR"

        await eventually(failed, what="DBOS recording the workflow failed")
        # Both people and the channel are told, once, with where it stood (its newest
        # state: the replay had not caught up with it).
        died = "Rollout rollout-1 stopped on an unexpected error (RuntimeError)"

        def told(channel: str, words: str) -> list[str]:
            return [m.text or "" for m in world.slack.messages(channel) if words in (m.text or "")]

        await eventually(lambda: told(ENG, died), what="the engineering channel told")
        [devops] = told(world.dm(DEVOPS), died)
        assert "step `prereq`" in devops and "/creators-onboard start" in devops
        assert "fault injected" not in devops  # the error's name only, never its message
        [owner] = told(world.dm(OWNER), "stopped because of a problem on the bot's side")
        assert f"<@{DEVOPS}>" in owner
        assert len(told(ENG, died)) == 1
        monkeypatch.undo()
        answer = await world.command("start", DEVOPS)
        assert "rollout-2" in answer["text"], answer


async def test_a_stop_while_the_rollout_opens_its_dms_is_not_taken_for_an_unreachable_person(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    from structlog.testing import capture_logs

    world.slack.stall_next("conversations.open", 2.0)  # the owner's DM opens slowly
    with capture_logs() as logs:
        async with world.bot():
            answer = await world.command("start", DEVOPS)
            assert "rollout-1 started" in answer["text"], answer
            await eventually(
                lambda: any(c.method == "conversations.open" for c in world.slack.calls()),
                what="the rollout opening the owner's DM",
            )
            runtime.stop()  # the bot stopping, as `running_bot` does it
            DBOS.destroy(workflow_completion_timeout_sec=0)
            with caplog.at_level(logging.ERROR, logger="dbos"):
                await eventually(
                    lambda: "Exception encountered in asynchronous workflow" in caplog.text,
                    what="the rollout failing as DBOS stops",
                )
        assert [e for e in logs if e["event"] == "person_unreachable"] == []

    async with world.bot():  # resumed: the DMs are opened, the owner gets the first step
        await world.wait_button(OWNER, "co:eligible")
        found = await world.state()
        assert found is not None and found.status == "active"
