"""The live status board (engineering channel, App Home, `status`) — pure Block Kit."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.common import slack_date
from bot.rollout.state import PartitionState, RolloutState
from bot.runbook.model import Runbook

_STATUS_TITLE = {
    "active": "in progress",
    "halted": "HALTED",
    "complete": "complete",
    "aborted": "aborted",
}

_PARTITION_MARK = {"pending": "◻️", "running": "🔄", "green": "✅", "red": "❌"}


def _phase_lines(state: RolloutState, runbook: Runbook) -> list[str]:
    current = runbook.step(state.step).phase
    lines = []
    for phase in runbook.phases:
        if state.status == "complete" or phase.number < current:
            mark = "✅"
        elif phase.number == current:
            mark = "❌" if state.status == "halted" else "▶️"
        else:
            mark = "◻️"
        lines.append(f"{mark} {phase.number}. {phase.name} — {phase.persona}")
    return lines


def partition_line(p: PartitionState) -> str:
    text = f"{_PARTITION_MARK[p.status]} *{p.name}* — {p.status}"
    if p.run_url:
        text += f" (<{p.run_url}|run>)"
    if p.status == "green" and p.finished_at:
        text += f" since {slack_date(p.finished_at)}"
    if p.status == "red" and p.failed_check:
        text += f": {p.failed_check}"
    return text


# What the bot is doing for a running partition, by stage.
_DOING = {
    "dispatch": "starting `amm.yml` for",
    "run": "following the `amm.yml` run of",
    "amplify": "checking the Amplify variables of",
    "smoke": "smoke-testing",
}


def acting_now(state: RolloutState, runbook: Runbook) -> str:
    """Who is acting now — the bot, or a person — and since when (Slack-formatted)."""
    since = slack_date(state.since)
    running = state.running
    if running is not None:
        doing = _DOING.get(running.stage or "", "deploying")
        where = ""
        progress = running.progress
        if running.stage == "run" and progress is not None and progress.job:
            where = f" (job *{progress.job}*" + (
                f", step *{progress.step}*)" if progress.step else ")"
            )
        return f"The bot is {doing} *{running.name}*{where}, since {since}."
    if state.status == "halted":
        return f"Waiting on <@{state.devops}> (devOps) to retry or abort, since {since}."
    step = runbook.step(state.step)
    if step.persona == "bot":
        return f"The bot is working on *{step.title}*, since {since}."
    who = state.owner if step.persona == "accountOwner" else state.devops
    return f"Waiting on <@{who}> ({step.persona}) since {since}."


def status_summary(state: RolloutState, runbook: Runbook) -> str:
    if state.status == "active":
        step = runbook.step(state.step)
        return f"Now at *{step.title}*. {acting_now(state, runbook)}"
    if state.status == "halted":
        return f"Halted: {state.halt_reason or 'a check failed'}. {acting_now(state, runbook)}"
    if state.status == "aborted":
        return f"Aborted: {state.abort_reason or 'no reason given'}."
    return "Rollout complete: all partitions green, smoke tests pass."


def owner_summary(state: RolloutState, runbook: Runbook) -> str:
    """Where things stand, for the account owner: plain words, no ids, no partitions."""
    step = runbook.step(state.step)
    if state.status == "complete":
        return "🎉 All done: Arda's Amazon Creators API connection is live. Thank you!"
    if state.status == "aborted":
        return f"<@{state.devops}> stopped this setup. Nothing more to do for now."
    if state.status == "active" and state.running is None and step.persona == "accountOwner":
        return (
            f"It's your turn: *{step.title}*, in the thread below (click *replies* under "
            "this message to open it)."
        )
    if state.status == "halted":
        who = f"<@{state.devops}> is looking into a problem on their side"
    elif state.running is not None or step.persona == "bot":
        who = "The bot is setting things up"
    else:
        who = f"<@{state.devops}> is taking care of the next part"
    return f"{who}. Nothing for you to do right now: I'll message you here if that changes."


def summary_for(persona: str, state: RolloutState, runbook: Runbook) -> str:
    """The status line each person's progress message shows."""
    if persona == "accountOwner":
        return owner_summary(state, runbook)
    return status_summary(state, runbook)


def status_board_blocks(state: RolloutState, runbook: Runbook) -> list[Block]:
    title = f"Creators API rollout {state.rollout_id} — {_STATUS_TITLE[state.status]}"
    blocks: list[Block] = [
        HeaderBlock(text=title[:150]),
        SectionBlock(text=MarkdownTextObject(text=status_summary(state, runbook))),
        SectionBlock(text=MarkdownTextObject(text="\n".join(_phase_lines(state, runbook)))),
    ]
    if state.partitions:
        blocks.append(DividerBlock())
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text="*Partitions* (in order, prod last)\n"
                    + "\n".join(partition_line(p) for p in state.partitions)
                )
            )
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"accountOwner <@{state.owner}> · devOps <@{state.devops}> · "
                    f"started by <@{state.started_by}> {slack_date(state.started_at)}"
                )
            ]
        )
    )
    return blocks
