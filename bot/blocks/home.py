"""The App Home tab: the status board, the viewer's own pending actions, the rollouts that
are over with their outcome, and after a completed rollout what each person keeps and the
watches that keep going (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.common import slack_date
from bot.blocks.status import owner_summary, status_board_blocks
from bot.blocks.watches import board_blocks, handoff_blocks
from bot.config import FileConfig
from bot.rollout.roles import Role, roles_of
from bot.rollout.rules import stranded_warning
from bot.rollout.state import RolloutState
from bot.runbook.model import Runbook
from bot.watches.model import WatchStatus
from bot.watches.texts import handoff_items


def pending_for(state: RolloutState, runbook: Runbook, viewer: str) -> list[str]:
    """What the viewer, and only the viewer, has to do now."""
    if state.status == "halted" and viewer == state.devops:
        return [f"Decide on the halt ({state.halt_reason}): retry or abort, in your DM thread."]
    if state.status != "active" or state.running is not None:
        return []  # nobody's turn: the bot is the one working
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
    state: RolloutState,
    config: FileConfig,
    watches: Sequence[WatchStatus] = (),
    *,
    viewer: str = "",
) -> list[Block]:
    """What each person keeps after the rollout, each item naming its owner."""
    next_runs: dict[str, str | None] = {w.name: w.next_run for w in watches}
    items = handoff_items(systems_vault=config.onepassword.systems_vault, next_runs=next_runs)
    people: dict[Role, str] = {"accountOwner": state.owner, "devOps": state.devops}
    reader: Role | None = "accountOwner" if viewer == state.owner != state.devops else None
    return handoff_blocks(items, people, reader=reader)


# How each kind of rollout is named for people.
_KIND = {"onboarding": "Onboarding", "rotation": "Credential rotation"}


def past_line(state: RolloutState, *, ids: bool) -> str:
    """A rollout that is over: what it was, how it ended and when (`ids`: its id too)."""
    name = f"`{state.rollout_id}` " if ids else ""
    when = slack_date(state.since)
    kind = _KIND.get(state.kind, state.kind)
    if state.status == "complete":
        return f"✅ {name}{kind}: complete, {when}"
    reason = f": {state.abort_reason}" if state.abort_reason else ""
    return f"⏹ {name}{kind}: stopped {when}{reason}"


def home_blocks(
    state: RolloutState | None,
    runbook: Runbook,
    *,
    viewer: str,
    config: FileConfig,
    watches: Sequence[WatchStatus] = (),
    past: Sequence[RolloutState] = (),
    stranded_by: str | None = None,
) -> list[Block]:
    """`stranded_by`: the workflow version that started `state`'s rollout when this bot
    cannot continue it; its warning then stands where the pending actions would."""
    blocks = _home(state, runbook, viewer=viewer, config=config, past=past, stranded=stranded_by)
    if state is not None and state.status == "complete":
        blocks += [DividerBlock(), *handoff_section(state, config, watches, viewer=viewer)]
    return blocks + board_blocks(watches)


def _home(
    state: RolloutState | None,
    runbook: Runbook,
    *,
    viewer: str,
    config: FileConfig,
    past: Sequence[RolloutState],
    stranded: str | None,
) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text="Creators API onboarding")]
    devops = "devOps" in roles_of(config, viewer)
    if state is None:
        hint = (
            "Start one with `/creators-onboard start`."
            if devops
            else "devOps starts one with `/creators-onboard start`."
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"No rollout yet. {hint}")))
    else:
        if stranded is not None:  # nothing anyone does moves it on: say so instead
            head = stranded_warning(state.rollout_id, stranded)
        else:
            mine = pending_for(state, runbook, viewer)
            text = "\n".join(f"• {line}" for line in mine) if mine else "Nothing is waiting on you."
            head = f"*Your pending actions*\n{text}"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=head)))
        blocks.append(DividerBlock())
        if devops or viewer != state.owner:
            blocks.extend(status_board_blocks(state, runbook))
        else:  # the owner: where things stand in plain words, no ids or partitions
            summary = owner_summary(state, runbook)
            blocks.append(SectionBlock(text=MarkdownTextObject(text=summary)))
    earlier = [p for p in past if state is None or p.rollout_id != state.rollout_id]
    if earlier:
        lines = "\n".join(past_line(p, ids=devops) for p in earlier)
        blocks.append(DividerBlock())
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=f"*Past rollouts*\n{lines}"[:3000]))
        )
    return blocks
