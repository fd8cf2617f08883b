"""The App Home tab: the status board plus the viewer's own pending actions, and after a
completed rollout what each person keeps and the watches that keep going (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.status import status_board_blocks
from bot.blocks.watches import board_blocks, handoff_blocks
from bot.rollout.roles import Role, roles_of
from bot.rollout.state import RolloutState
from bot.runbook.model import Runbook
from bot.settings import FileConfig
from bot.watches.model import WatchStatus
from bot.watches.texts import handoff_items


def pending_for(state: RolloutState, runbook: Runbook, viewer: str) -> list[str]:
    """What the viewer, and only the viewer, has to do now."""
    if state.status == "halted" and viewer == state.devops:
        return [f"Decide on the halt ({state.halt_reason}): retry or abort, in your DM thread."]
    if state.status != "active":
        return []
    step = runbook.step(state.step)
    if step.persona == "accountOwner" and viewer == state.owner:
        return [f"*{step.title}* — in your DM thread with me."]
    if step.persona == "devOps" and viewer == state.devops:
        if step.effect == "deploy_gate":
            nxt = next((p.name for p in state.partitions if p.status != "green"), None)
            return [f"Deploy *{nxt}* when ready (button in your DM thread)."] if nxt else []
        return [f"*{step.title}* — in your DM thread with me."]
    return []


def handoff_section(
    state: RolloutState, config: FileConfig, watches: Sequence[WatchStatus] = ()
) -> list[Block]:
    """What each person keeps after the rollout, each item naming its owner."""
    next_runs: dict[str, str | None] = {w.name: w.next_run for w in watches}
    items = handoff_items(systems_vault=config.onepassword.systems_vault, next_runs=next_runs)
    people: dict[Role, str] = {"accountOwner": state.owner, "devOps": state.devops}
    return handoff_blocks(items, people)


def home_blocks(
    state: RolloutState | None,
    runbook: Runbook,
    *,
    viewer: str,
    config: FileConfig,
    watches: Sequence[WatchStatus] = (),
) -> list[Block]:
    blocks = _home(state, runbook, viewer=viewer, config=config)
    if state is not None and state.status == "complete":
        blocks += [DividerBlock(), *handoff_section(state, config, watches)]
    return blocks + board_blocks(watches)


def _home(
    state: RolloutState | None, runbook: Runbook, *, viewer: str, config: FileConfig
) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text="Creators API onboarding")]
    if state is None:
        can_start = "devOps" in roles_of(config, viewer)
        hint = (
            "Start one with `/creators-onboard start`."
            if can_start
            else "devOps starts one with `/creators-onboard start`."
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"No rollout yet. {hint}")))
        return blocks
    mine = pending_for(state, runbook, viewer)
    text = "\n".join(f"• {line}" for line in mine) if mine else "Nothing is waiting on you."
    blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Your pending actions*\n{text}")))
    blocks.append(DividerBlock())
    blocks.extend(status_board_blocks(state, runbook))
    return blocks
