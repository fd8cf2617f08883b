"""A restart while the rollout waits for a press: the rollout stays active through it,
and the press made after it is applied."""

from __future__ import annotations

import logging

import pytest
from dbos import DBOS

from bot.workflows import runtime
from bot.workflows.steps import EVENT_TOPIC
from tests.scenario import DEVOPS, OWNER, World, eventually
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


async def test_a_rollout_listed_as_over_by_an_earlier_stop_is_listed_again(
    world_db: World,
) -> None:
    """A database from before that fix: the rollout listed itself as over (one version up)
    as the bot stopped. The next start lists it as active again, and says so."""
    from dbos._dbos import _get_dbos_instance
    from structlog.testing import capture_logs

    from bot.readmodel import RolloutIndex

    world = world_db
    async with world.bot():
        await start(world)
        message, button = await world.wait_button(OWNER, "co:eligible")
        # Stopped once the rollout waits (its state published after posting the step):
        # a publish still under way would land after this test's listing, on its version.
        system_db = _get_dbos_instance()._sys_db
        key, _ = system_db._waiter("rollout-1", EVENT_TOPIC)  # tests/test_messages.py
        await eventually(lambda: system_db.notifications_map.get(key), what="the rollout waiting")
    index = RolloutIndex(world.database_url)
    try:
        held = await index.get("rollout-1")
        assert held is not None and held.active
        assert await index.write(held.state, held.version + 1, active=False)
    finally:
        await index.close()

    with capture_logs() as logs:
        async with world.bot():
            relisted = [e for e in logs if e["event"] == "rollout_relisted"]
            assert [e["rollout_id"] for e in relisted] == ["rollout-1"]
            assert "listed as active again" in relisted[0]["meaning"]
            status = await world.command("status", OWNER)
            assert "rollout-1" in str(status) and "no longer active" not in str(status)
            press, _ = await world.press(OWNER, button, message)
            assert press == 200
            # Its next state is listed too: the listing went back to the version before.
            await world.wait_step("register_sign_in")


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
