"""Replicas on one PostgreSQL database: they start together, and one that dies for good
is taken over by the others (bot/takeover.py). Real processes, kill -9."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from bot.blocks.deploy import COMPLETE_TEXT
from tests.scenario import DEVOPS, ENG, PARTITIONS, World, eventually
from tests.scenarios.test_durability import bot_process, drive_owner_http, thread_replies
from tests.scenarios.test_handover import start
from tests.scenarios.test_rollout import deploy
from tests.test_cli import log_lines

pytestmark = pytest.mark.postgres


def log_events(log: Path) -> list[dict[str, Any]]:
    return log_lines(log.read_text(errors="replace"))


async def test_two_replicas_start_together_on_a_fresh_database_ten_times(
    tmp_path: Path, fresh_pg: Callable[[], str]
) -> None:
    for attempt in range(10):
        async with World(tmp_path / f"try{attempt}", database_url=fresh_pg()) as world:
            logs = [tmp_path / f"try{attempt}-{n}.log" for n in range(2)]
            async with AsyncExitStack() as stack:
                starting = [
                    stack.enter_async_context(
                        bot_process(world, log, extra_env={"DBOS__VMID": f"replica-{n}"})
                    )
                    for n, log in enumerate(logs)
                ]
                procs = await asyncio.gather(*starting)
                assert all(p.poll() is None for p in procs)
            for log in logs:
                text = log.read_text(errors="replace")
                assert "Traceback" not in text and "UniqueViolation" not in text, text[-3000:]
                assert any(e.get("event") == "listening" for e in log_events(log))


async def test_a_replica_killed_for_good_is_taken_over(
    tmp_path: Path, fresh_pg: Callable[[], str]
) -> None:
    takeover_after = 3
    async with World(tmp_path, database_url=fresh_pg()) as world:
        world.config_overrides["workflow"] = {"takeover_after_seconds": takeover_after}
        # dev's run stays in progress long enough to kill its replica while it follows it.
        world.github.script_run(
            {"partition": "dev"}, ["queued"] + ["in_progress"] * 60 + ["completed:success"]
        )
        survivor_log, victim_log = tmp_path / "survivor.log", tmp_path / "victim.log"
        async with bot_process(world, survivor_log, extra_env={"DBOS__VMID": "survivor"}):
            survivor_url = world.base_url
            async with bot_process(world, victim_log, extra_env={"DBOS__VMID": "victim"}) as vic:
                await start(world)
                await drive_owner_http(world)
                await deploy(world, "dev")
                await eventually(lambda: world.github.dispatches, timeout=30, what="dispatch")
                await asyncio.sleep(0.3)
                vic.send_signal(signal.SIGKILL)
                vic.wait(timeout=10)
            # Only the survivor is left; people keep pressing buttons, now served by it.
            world.base_url = survivor_url
            await eventually(
                lambda: thread_replies(world, DEVOPS, "dev is green"),
                timeout=90,
                what="dev green, followed by the survivor",
            )
            for partition in PARTITIONS[1:]:
                await deploy(world, partition)
                await eventually(
                    lambda p=partition: thread_replies(world, DEVOPS, f"{p} is green"),
                    timeout=60,
                    what=f"{partition} green",
                )
            await world.wait_text(ENG, COMPLETE_TEXT, timeout=60)
        dispatched = [d["inputs"]["partition"] for d in world.github.dispatches]
        assert dispatched == list(PARTITIONS)
        takeovers = [
            e for e in log_events(survivor_log) if e.get("event") == "workflows_taken_over"
        ]
        assert len(takeovers) == 1, takeovers
        assert takeovers[0]["dead_executor"] == "victim"
        assert int(str(takeovers[0]["workflows"])) >= 1
        world.slack.assert_no_violations()
