"""Phases 7–9: ordered deploys, halts with rollback guidance, completion."""

from __future__ import annotations

import itertools
import re
from typing import Any

from bot.blocks.deploy import COMPLETE_TEXT, OWNER_COMPLETE_TEXT
from bot.blocks.ids import DEPLOY, RETRY
from tests.scenario import DEVOPS, ENG, OWNER, PARTITIONS, World, eventually
from tests.scenarios.test_handover import drive_devops_to_gate, drive_owner, start


async def to_gate(world: World) -> None:
    await start(world)
    await drive_owner(world)
    await drive_devops_to_gate(world)


async def deploy(world: World, partition: str) -> None:
    def gate() -> object:
        found = world.find_button(DEVOPS, DEPLOY)
        return found if found and found[1]["text"]["text"] == f"Deploy {partition}" else None

    message, button = await eventually(gate, what=f"the Deploy {partition} button")
    assert button.get("style") == "primary"
    status, _ = await world.press(DEVOPS, button, message, response_id=f"deploy-{partition}")
    assert status == 200


def owner_words(world: World) -> str:
    """Everything the owner can read in their DM (texts, not button values)."""

    def texts(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [
                t
                for k, v in node.items()
                if k not in ("value", "action_id", "block_id")
                for t in ([v] if k == "text" and isinstance(v, str) else texts(v))
            ]
        return [t for item in node for t in texts(item)] if isinstance(node, list) else []

    messages = world.slack.messages(world.dm(OWNER))
    return "\n".join(t for m in messages for t in [m.text or "", *texts(m.blocks or [])])


async def wait_partition(world: World, partition: str, status: str) -> object:
    return await world.wait(
        lambda s: s.partition(partition).status == status, f"{partition} {status}", timeout=40
    )


async def test_happy_path_deploys_in_order_and_completes(world: World) -> None:
    async with world.bot():
        await to_gate(world)
        for partition in PARTITIONS:
            await deploy(world, partition)
            await wait_partition(world, partition, "green")
            # Nothing later was dispatched before this one went green.
            assert [d["inputs"]["partition"] for d in world.github.dispatches] == list(
                PARTITIONS[: PARTITIONS.index(partition) + 1]
            )
        state = await world.wait(lambda s: s.status == "complete", "completion")
        assert all(p.finished_at for p in state.partitions)
        # Used gates lose their buttons: nothing is left to press twice.
        await eventually(lambda: world.find_button(DEVOPS, DEPLOY) is None, what="gates closed")
        world.github.assert_no_violations()
        world.slack.assert_no_violations()

        assert COMPLETE_TEXT in world.texts(ENG)
        # No partition has an `amplify` section here: every card where the check would
        # appear says it was not made, instead of promising it.
        devops_text = world.texts(world.dm(DEVOPS))
        for partition in PARTITIONS:
            assert f"Amplify not checked: not configured for {partition}" in devops_text
        assert "⚠️ *Amplify* — Amplify not checked: not configured for prod" in devops_text
        assert "check the Amplify variables" not in devops_text
        assert "green since" in world.texts(ENG)
        assert "Amplify not checked: not configured for dev" in world.texts(ENG)
        # The owner hears it in plain words: no ids, partitions, tests or ISO times.
        await eventually(
            lambda: OWNER_COMPLETE_TEXT in owner_words(world), what="the owner's completion"
        )
        owner = owner_words(world)
        for jargon in ("rollout-1", "smoke", "dev/stage", "partition", "amm.yml"):
            assert jargon not in owner, jargon
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", owner), owner
        # The status message is edited, never re-posted.
        top = [m for m in world.slack.messages(ENG) if not m.thread_ts or m.thread_ts == m.ts]
        assert len([m for m in top if not m.thread_ts]) == 1

        def complete_comment() -> object:
            return [c for c in world.linear.comments_on("PDEV-446") if COMPLETE_TEXT in c.body]

        comments = await eventually(complete_comment, what="the completion comment")
        body = comments[0].body
        for p in state.partitions:
            assert f"{p.name}: {p.finished_at}" in body
        # BFF smoke requests went to every partition.
        for partition in PARTITIONS:
            assert world.bff.requests_for(partition)


async def test_stage_failure_halts_then_retry_continues(world: World) -> None:
    world.github.set_conclusion(inputs={"partition": "stage"}, conclusion="failure")
    async with world.bot():
        await to_gate(world)
        await deploy(world, "dev")
        await wait_partition(world, "dev", "green")
        await deploy(world, "stage")
        state = await world.wait(lambda s: s.status == "halted", "a halt")
        assert state.partition("stage").status == "red"
        text = await world.wait_text(world.dm(DEVOPS), "Rollout halted at stage")
        assert "Rollback procedure for stage" in text
        await eventually(lambda: "Rollout halted at *stage*" in world.texts(ENG), what="eng told")
        # Out-of-order and later partitions are refused while halted.
        answer = await world.command("deploy demo", DEVOPS)
        assert "halted" in answer["text"]
        assert [d["inputs"]["partition"] for d in world.github.dispatches] == ["dev", "stage"]

        world.github.set_conclusion(inputs={"partition": "stage"}, conclusion="success")
        message, button = await world.wait_button(DEVOPS, RETRY)
        await world.press(DEVOPS, button, message)
        await wait_partition(world, "stage", "green")
        assert world.find_button(DEVOPS, RETRY) is None  # the used halt card lost its buttons
        await deploy(world, "demo")
        await wait_partition(world, "demo", "green")
        partitions = [d["inputs"]["partition"] for d in world.github.dispatches]
        assert partitions == ["dev", "stage", "stage", "demo"]
        assert "prod" not in partitions


async def test_demo_smoke_upstream_unavailable_halts_with_diagnosis(world: World) -> None:
    world.bff.set_behaviour("demo", "error:AMAZON_UPSTREAM_UNAVAILABLE")
    async with world.bot():
        await to_gate(world)
        for partition in ("dev", "stage", "demo"):
            await deploy(world, partition)
            if partition != "demo":
                await wait_partition(world, partition, "green")
        state = await world.wait(lambda s: s.status == "halted", "a halt")
        assert state.partition("demo").failed_check == "smoke"
        text = await world.wait_text(world.dm(DEVOPS), "Rollback procedure for demo")
        assert "AMAZON_UPSTREAM_UNAVAILABLE" in text
        assert [d["inputs"]["partition"] for d in world.github.dispatches] == [
            "dev",
            "stage",
            "demo",
        ]
        halts = [c for c in world.linear.comments_on("PDEV-446") if "HALTED" in c.body]
        assert halts or await eventually(
            lambda: [c for c in world.linear.comments_on("PDEV-446") if "HALTED" in c.body],
            what="halt comment",
        )


async def test_dispatch_204_and_502s_still_one_dispatch(world: World) -> None:
    world.github.mode = "204"
    async with world.bot():
        await to_gate(world)
        world.github.fail_next("/dispatches", status=502, times=2)
        await deploy(world, "dev")
        state = await wait_partition(world, "dev", "green")
        assert state.partition("dev").run_id is not None  # type: ignore[attr-defined]
        assert len(world.github.dispatches) == 1


async def test_out_of_order_and_before_verification_are_refused(world: World) -> None:
    async with world.bot():
        await start(world)
        answer = await world.command("deploy dev", DEVOPS)
        await world.refused(answer, "verify green")
        await drive_owner(world)
        await drive_devops_to_gate(world)
        answer = await world.command("deploy prod", DEVOPS)
        assert "Out of order" in answer["text"] and "Deploy *dev* next" in answer["text"]
        assert world.github.dispatches == []


async def test_people_are_answered_while_a_run_is_in_progress(world: World) -> None:
    world.github.script_run(
        {"partition": "dev"}, ["queued"] + ["in_progress"] * 400 + ["completed:success"]
    )
    async with world.bot():
        await to_gate(world)
        await deploy(world, "dev")
        await wait_partition(world, "dev", "running")
        await eventually(lambda: world.github.dispatches, what="the dev dispatch")
        # A second deploy is refused at once; verify and abort are handled mid-run.
        answer = await world.command("deploy dev", DEVOPS)
        assert "deploying right now" in answer["text"]
        await world.command("verify", DEVOPS)
        await eventually(
            lambda: (
                len(
                    [
                        m
                        for m in world.slack.messages(world.dm(DEVOPS))
                        if "Vault verification" in (m.text or "")
                    ]
                )
                >= 2
            ),
            what="a second verification during the run",
        )
        await world.command("abort the vendor asked us to wait", DEVOPS)
        state = await world.wait(lambda s: s.status == "aborted", "the abort, mid-run")
        assert state.partition("dev").status == "red"
        assert "keeps going on GitHub" in world.texts(world.dm(DEVOPS))
        assert len(world.github.dispatches) == 1


async def test_the_infrastructure_pr_must_be_merged_before_the_first_deploy(world: World) -> None:
    world.config_overrides["github"] = {
        **world.config()["github"],
        "pull_request": 438,
    }
    world.github.pulls[438] = False
    async with world.bot():
        await to_gate(world)
        await deploy(world, "dev")
        text = await eventually(
            lambda: [
                r for r in world.slack.responses("deploy-dev") if "#438" in (r.get("text") or "")
            ],
            what="the PR gate refusal",
        )
        assert "not merged" in text[0]["text"]
        assert world.github.dispatches == []
        world.github.pulls[438] = True
        await world.command("deploy dev", DEVOPS)
        await wait_partition(world, "dev", "green")
        assert len(world.github.dispatches) == 1


async def test_smoke_tests_start_at_most_one_per_second(world: World) -> None:
    """The Creators API allows 1 TPS per credential triple: the queue enforces it."""
    from bot.workflows.queues import SMOKE, enqueue
    from bot.workflows.steps.checks import smoke_workflow

    async with world.bot():
        handles = [await enqueue(SMOKE, smoke_workflow, p, True, None) for p in PARTITIONS[:3]]
        for handle in handles:
            await handle.get_result()
    imports = sorted(
        r.at
        for r in world.bff.requests
        if r.path.endswith("/api/amazon/import")
        and r.url
        and "amazon.com/dp/" in r.url
        and r.auth == "ok"
    )
    assert len(imports) == 3
    gaps = [b - a for a, b in itertools.pairwise(imports)]
    assert all(gap >= 0.9 for gap in gaps), gaps  # a lower bound: a slow machine only widens it


async def test_each_queue_polls_at_its_own_interval(world: World) -> None:
    """Every poll of a DBOS queue is a transaction: the queues poll no more often than
    what waits on them needs (bot.workflows.queues)."""
    from bot.workflows import queues

    expected = {
        queues.SMOKE: queues.SMOKE_POLL_SECONDS,
        queues.LINEAR_LOG: queues.LINEAR_LOG_POLL_SECONDS,
        **{name: queues.WATCH_POLL_SECONDS for name in queues.WATCH_QUEUES},
    }
    async with world.bot():
        polled = {
            name: await (await queues.queue(name)).get_polling_interval_sec_async()
            for name in expected
        }
    assert polled == expected
    assert min(polled.values()) >= 0.5
