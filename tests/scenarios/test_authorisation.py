"""The role comes from the rollout's current state, never from the button pressed."""

from __future__ import annotations

import asyncio

from bot.blocks.ids import RERUN_VERIFY, step_value
from bot.sandbox.fakes.signing import block_action_body
from tests.scenario import OWNER, World, eventually
from tests.scenarios.test_handover import drive_devops_to_gate, drive_owner, start


async def test_owner_cannot_rerun_verification_with_a_tampered_value(world_db: World) -> None:
    """Reproduced before the state machine: the owner pressed co:rerun_verify with a
    value whose step said `prereq` (an owner step) and ran four more `op` reads."""
    world = world_db
    async with world.bot() as running:
        await start(world)
        await drive_owner(world)
        await drive_devops_to_gate(world)
        reads_before = len(world.op.item_reads())
        audit_before = len(await running.deps.store.entries())
        message = world.slack.messages(world.dm(OWNER))[-1]
        for value in (
            step_value("rollout-1", "prereq", "eligible"),
            step_value("rollout-1", "verify", "rerun_verify"),
        ):
            body = block_action_body(
                OWNER,
                RERUN_VERIFY,
                value,
                channel_id=message.channel,
                message_ts=message.ts,
                response_url=world.slack.response_url(f"tamper-{len(value)}"),
            )
            status, _ = await world.post(body)
            assert status == 200
            answers = await eventually(
                lambda v=value: world.slack.responses(f"tamper-{len(v)}"), what="the refusal"
            )
            assert answers[0]["text"].startswith(":no_entry:"), answers

        async def two_refusals() -> list[object]:
            rows = (await running.deps.store.entries())[audit_before:]
            return rows if len(rows) == 2 else []

        rows = await eventually(two_refusals, what="one audit row per press")
        assert all(r.actor == OWNER and r.outcome == "refused" for r in rows)  # type: ignore[attr-defined]
        await asyncio.sleep(0.5)
        assert len(world.op.item_reads()) == reads_before, "op was run for the owner"
        state = await world.state()
        assert state.step == "deploy_gate"
