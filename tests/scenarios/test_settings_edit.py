"""The YAML edited while a rollout is under way, and the bot restarted (as many fixes say).

DBOS replays a resumed rollout from its first step; a replay that decides differently
from the first time (an `amplify` section added to a partition already deployed, a person
removed from `slack.devops`, the engineering channel set) calls another step than the one
recorded, and DBOS stops the workflow for good. The rollout reads the YAML through a
recorded step per event: the replay decides as before, new events see the edit.
"""

from __future__ import annotations

from typing import Any

import structlog
from dbos import DBOS

from bot.sandbox.fakes.amplify import APP_ID
from tests.scenario import DEVOPS, World, eventually
from tests.scenarios.test_rollout import deploy, to_gate, wait_partition

SECOND_DEVOPS = "U0DEVOPS2"


def edited(world: World) -> None:
    """What a person does after reading dev's card ("Amplify not checked: not configured
    for dev"), and a colleague added to devOps for the evening."""
    cfg = world.config()
    partitions: list[dict[str, Any]] = cfg["partitions"]
    partitions[0]["amplify"] = {"app_id": APP_ID, "branch": "main"}
    world.config_overrides["partitions"] = partitions
    world.config_overrides["slack"] = {**cfg["slack"], "devops": [DEVOPS, SECOND_DEVOPS]}


async def test_a_yaml_edit_and_a_restart_keep_the_rollout_going(world: World) -> None:
    async with world.bot():
        await to_gate(world)
        await deploy(world, "dev")
        await wait_partition(world, "dev", "green")
    edited(world)
    async with world.bot() as running:
        # The replay takes dev's events with the YAML they were taken with.
        answer = await world.command("deploy stage", SECOND_DEVOPS)
        assert answer["text"].startswith("On it: `deploy` sent to rollout-1"), answer
        await wait_partition(world, "stage", "green")
        status = await DBOS.get_workflow_status_async("rollout-1")
        assert status is not None and status.status == "PENDING", status
        listed = await running.deps.index.get("rollout-1")
        assert listed is not None and listed.active
        entries = await running.deps.store.entries()
    deploys = [e for e in entries if e.action == "deploy:stage"]
    assert [e.actor for e in deploys] == [SECOND_DEVOPS]


async def test_a_partition_list_edit_waits_for_the_next_rollout(world: World) -> None:
    async with world.bot():
        await to_gate(world)
    cfg = world.config()
    world.config_overrides["partitions"] = cfg["partitions"][:2]  # demo and prod dropped
    with structlog.testing.capture_logs() as logs:
        async with world.bot():
            await deploy(world, "dev")
            await wait_partition(world, "dev", "green")
            state = await world.wait(lambda s: True, "the state")
            assert [p.name for p in state.partitions] == ["dev", "stage", "demo", "prod"]
            await eventually(
                lambda: any(e["event"] == "rollout_partitions_kept" for e in logs),
                what="the warning",
            )
            status = await DBOS.get_workflow_status_async("rollout-1")
            assert status is not None and status.status == "PENDING", status
    # Once per execution of the rollout's workflow that reads the edit (DBOS's recovery
    # at start may run a second one beside the first until it meets the first's record).
    kept = [e for e in logs if e["event"] == "rollout_partitions_kept"]
    assert kept and all(e["yaml"] == ["dev", "stage"] for e in kept), kept
    assert all(e["partitions"] == ["dev", "stage", "demo", "prod"] for e in kept)
