"""How many Slack Web API calls one whole rollout makes, by method: a count, not a time.

The whole happy path — start, the owner's handover, devOps's confirmations, the vault
check and four deploys to completion — against the fake Slack, which records every call.
The ceiling is half of what the bot made before it learned to skip edits and App Home
publishes that change nothing (170: 79 chat.update, 44 chat.postMessage, 44
views.publish, …), with nothing a person sees lost: the scenario tests check what they see.
"""

from __future__ import annotations

import json
from collections import Counter

from bot.blocks.deploy import COMPLETE_TEXT, OWNER_COMPLETE_TEXT
from tests.scenario import DEVOPS, ENG, OWNER, PARTITIONS, World, eventually
from tests.scenarios.test_rollout import deploy, to_gate, wait_partition

BEFORE = 170
CEILING = BEFORE // 2


def calls_by_method(world: World) -> Counter[str]:
    return Counter(call.method for call in world.slack.calls())


async def test_a_whole_rollout_makes_at_most_half_the_slack_calls_it_used_to(
    world: World,
) -> None:
    async with world.bot():
        # devOps keeps the Home tab open; the owner never opens it.
        await world.open_home(DEVOPS)
        await to_gate(world)
        for partition in PARTITIONS:
            await deploy(world, partition)
            await wait_partition(world, partition, "green")
        await world.wait(lambda s: s.status == "complete", "completion")
        await world.wait_text(ENG, COMPLETE_TEXT)
        await world.wait_text(world.dm(OWNER), OWNER_COMPLETE_TEXT)
        # Let coalesced edits and App Home publishes land before counting.
        await eventually(
            lambda: "Rollout complete" in json.dumps(world.slack.home_view(DEVOPS) or {}),
            what="devOps's App Home showing the completed rollout",
        )
        await eventually(
            lambda: "All done" in world.slack.messages(world.dm(OWNER))[0].text,
            what="the owner's progress message showing completion (in plain words)",
        )
        counted = calls_by_method(world)
        assert world.slack.home_views(OWNER) == []  # not opened: never published
    print("Slack calls per rollout:", dict(sorted(counted.items())), "total", counted.total())
    world.slack.assert_no_violations()
    assert counted.total() <= CEILING, dict(counted)
