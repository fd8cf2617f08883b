"""Progress while the bot works: the run's message is edited as the run moves, and
`status` says who is acting now and since when."""

from __future__ import annotations

from typing import Any

from tests.scenario import DEVOPS, World, eventually
from tests.scenarios.test_rollout import deploy, to_gate, wait_partition

# A 3-minute run stood in for at 1/45 of its pace: 4.5 s, of which 1.5 s queued. The
# intervals are scaled alike: the message is edited at most every 30 s (0.67 s here) and
# GitHub is polled every 10 s (0.22 s). The defaults stay 30 s and 10 s.
SCALE = 1 / 45
RUN = [("queued", 67 * SCALE), ("in_progress", 135 * SCALE), ("completed:success", 0.0)]


def run_message(world: World) -> Any:
    for message in world.slack.messages(world.dm(DEVOPS)):
        if "`amm.yml` for *dev*" in (message.text or "") and message.thread_ts:
            return message
    return None


async def test_a_long_run_is_shown_moving_and_status_names_the_bot_as_acting(
    world: World,
) -> None:
    github = world.config()["github"]
    world.config_overrides["github"] = {
        **github,
        "poll_interval_seconds": 10 * SCALE,
        "progress_interval_seconds": 30 * SCALE,
    }
    world.github.script_timed_run({"partition": "dev"}, RUN)
    async with world.bot():
        await to_gate(world)
        await deploy(world, "dev")
        state = await world.wait(
            lambda s: (p := s.partition("dev")).progress is not None and p.progress.job,
            "the run in progress at a job and step",
        )
        dev = state.partition("dev")
        assert dev.progress.status == "in_progress" and dev.progress.step in world.github.job_steps

        # `status` names the bot as the one acting, and since when (Slack's date format).
        answer = await world.command("status", DEVOPS)
        assert "The bot is following the `amm.yml` run of *dev*" in answer["text"], answer
        assert "since <!date^" in answer["text"]
        assert "waiting on" not in answer["text"].lower()

        await wait_partition(world, "dev", "green")
        message = await eventually(lambda: run_message(world), what="the run's message")
        shown = [v["text"] for v in message.versions] + [message.text]
        # Edited as the run moved: queued, then running a job's step, then concluded —
        # each with the time so far.
        assert message.edits >= 3, shown
        assert any("is queued" in t and "so far" in t for t in shown), shown
        assert any("is running job *deploy*, step *" in t and "so far" in t for t in shown), shown
        assert "succeeded after" in message.text, shown
        order = [
            next(i for i, t in enumerate(shown) if needle in t)
            for needle in ("is queued", "is running", "succeeded")
        ]
        assert order == sorted(order), shown
        world.slack.assert_no_violations()
        world.github.assert_no_violations()
        # One run, one message (edited, never re-posted).
        runs = [
            m for m in world.slack.messages(world.dm(DEVOPS)) if "`amm.yml` for *dev*" in m.text
        ]
        assert len(runs) == 1
