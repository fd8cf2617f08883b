"""A process killed while Slack takes its post does not post it again after recovery:
the post carries its idempotency key as message metadata, and the re-run step finds it."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.scenario import OWNER, World, eventually
from tests.scenarios.test_durability import bot_process, thread_replies

SIGN_IN = "Sign in to Amazon Associates"


async def sign_in_post_held(world: World) -> None:
    """Start, and have Slack take the owner's next step's post at once but hold back its
    answer (for the whole test)."""
    answer = await world.command("start")
    assert "rollout-1 started" in answer["text"]
    world.slack.stall_next("chat.postMessage", 120, text=SIGN_IN)
    await world.click(OWNER, "co:eligible", timeout=30)
    await eventually(
        lambda: thread_replies(world, OWNER, SIGN_IN), timeout=30, what="the post in Slack"
    )


async def sign_in_done_once(world: World) -> None:
    """The owner presses Done on the sign-in step: the next step follows, and the sign-in
    step was posted once."""
    await world.click(OWNER, "co:done", timeout=30)
    await eventually(
        lambda: thread_replies(world, OWNER, "Create the “Arda Cards” application"),
        timeout=30,
        what="the step after sign-in",
    )
    assert len(thread_replies(world, OWNER, SIGN_IN)) == 1


async def test_a_post_interrupted_by_kill_9_is_not_repeated(world: World, tmp_path: Path) -> None:
    log = tmp_path / "bot.log"
    async with bot_process(world, log) as proc:
        await sign_in_post_held(world)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    async with bot_process(world, log):
        # The recovered rollout carries on from the post it found: its button works.
        await sign_in_done_once(world)
    lookups = [
        c for c in world.slack.calls("conversations.replies") if c.args.get("include_all_metadata")
    ]
    assert lookups, "the re-run step did not look for its post"
    posted = [c for c in world.slack.calls("chat.postMessage") if SIGN_IN in c.args.get("text", "")]
    assert len(posted) == 1
    assert posted[0].args["metadata"]["event_type"] == "creators_onboard_post"
    world.slack.assert_no_violations()


async def test_a_post_cut_short_by_a_redeploy_is_no_false_alarm_and_not_lost(
    world: World, tmp_path: Path
) -> None:
    """SIGTERM (a redeploy) while Slack holds the answer to a step's post: the cut-off post
    is left for the restart without an ERROR and without Slack being called again by the
    stopping process; after the restart the step is there once and its button works.
    (What the stopping process says about work cut short: tests/test_shutdown_notices.py.)"""
    log = tmp_path / "bot.log"
    async with bot_process(world, log) as proc:
        await sign_in_post_held(world)
        calls_before = len(world.slack.calls("chat.postMessage"))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    stopped = log.read_text()
    assert "notification_failed" not in stopped, stopped[-3000:]
    assert len(world.slack.calls("chat.postMessage")) == calls_before  # no retry while stopping

    async with bot_process(world, log):
        await sign_in_done_once(world)
    world.slack.assert_no_violations()


async def test_a_post_whose_answer_is_lost_on_the_wire_is_not_posted_twice(world: World) -> None:
    """Slack carries out the post, then the connection drops before the answer (a load
    balancer reset). The client does not send the same chat.postMessage again blindly;
    the step tries again, finds its post by its key, and the owner sees it once."""
    async with world.bot():
        answer = await world.command("start")
        assert "rollout-1 started" in answer["text"]
        await world.wait_step("prereq")
        world.slack.drop_next("chat.postMessage", text=SIGN_IN)
        await world.click(OWNER, "co:eligible")
        await world.wait_step("register_sign_in", timeout=30)
        await world.click(OWNER, "co:done")
        await world.wait_step("register_app")
    assert len(thread_replies(world, OWNER, SIGN_IN)) == 1
    lookups = [
        c for c in world.slack.calls("conversations.replies") if c.args.get("include_all_metadata")
    ]
    assert lookups, "the step did not look for its post before posting again"
    world.slack.assert_no_violations()
