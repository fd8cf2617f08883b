"""Block Kit messages for runbook steps: the step itself, its done state, its
troubleshooting card and the per-persona progress message. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    DividerBlock,
)

from bot.blocks.common import (
    ACTIONS_ELEMENTS_MAX,
    MAX_BLOCKS,
    button,
    escape_mrkdwn,
    header,
    pack,
    section,
    sections,
    truncate,
)
from bot.blocks.common import context as context_block
from bot.blocks.ids import PING_DEVOPS, STUCK, runbook_action_id, step_value
from bot.runbook import placeholders_in
from bot.runbook.model import Persona, Phase, Runbook, Step

__all__ = [
    "PERSONA_NAMES",
    "done_step_blocks",
    "progress_blocks",
    "render_text",
    "step_blocks",
    "stuck_blocks",
    "to_dicts",
]

PERSONA_NAMES: Mapping[Persona, str] = {
    "accountOwner": "Amazon account owner",
    "devOps": "devOps person",
    "bot": "bot",
}

STUCK_LABEL = "I'm stuck"
PING_DEVOPS_LABEL = "Ping devOps in this thread"
PROGRESS_TITLE = "Amazon Creators API onboarding"


def render_text(template: str, context: Mapping[str, str]) -> str:
    """Fill `{name}` placeholders from `context` (`{{`/`}}` are literal braces).

    Raises ValueError naming the placeholder when the template uses one the context
    lacks (or uses attribute/index/positional syntax, which the runbook never needs).
    """
    try:
        names = placeholders_in(template)
    except ValueError as exc:
        raise ValueError(f"cannot render {truncate(template, 60)!r}: {exc}") from exc
    unknown = sorted(n for n in names if n not in context)
    if unknown:
        shown = ", ".join("{" + n + "}" for n in unknown)
        raise ValueError(f"unknown placeholder {shown} in {truncate(template, 60)!r}")
    return template.format_map(context)


def step_blocks(
    step: Step,
    rollout_id: str,
    context: Mapping[str, str],
    *,
    number: int | None = None,
    total: int | None = None,
) -> list[Block]:
    """The thread reply for one step: header, body, the step's buttons and "I'm stuck"."""
    blocks: list[Block] = [header(render_text(step.title, context))]
    if number is not None:
        blocks.append(context_block(f"Step {number} of {total}" if total else f"Step {number}"))
    blocks += sections(render_text(step.body, context))
    buttons = [
        button(
            action.label,
            runbook_action_id(action.id),
            step_value(rollout_id, step.id, action.id),
            style="primary" if action.primary else None,
        )
        for action in step.actions
    ]
    if step.persona != "bot":
        buttons.append(button(STUCK_LABEL, STUCK, step_value(rollout_id, step.id, "stuck")))
    if len(buttons) > ACTIONS_ELEMENTS_MAX:
        raise ValueError(f"step {step.id}: {len(buttons)} buttons (max {ACTIONS_ELEMENTS_MAX})")
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return _checked(blocks, step)


def done_step_blocks(
    step: Step,
    context: Mapping[str, str],
    *,
    actor: str,
    action_label: str,
    when: str,
) -> list[Block]:
    """A finished step: the same text, no buttons, and who did what when."""
    blocks: list[Block] = [header(render_text(step.title, context))]
    blocks += sections(render_text(step.body, context))
    who = actor if actor.startswith("<") else f"<@{actor}>"
    blocks.append(context_block(f"✅ {escape_mrkdwn(action_label)} — {who}, {escape_mrkdwn(when)}"))
    return _checked(blocks, step)


def stuck_blocks(step: Step, rollout_id: str, context: Mapping[str, str]) -> list[Block]:
    """The step's troubleshooting card: one "what you see / why / what to do" row each."""
    blocks: list[Block] = [
        header(f"Help: {render_text(step.title, context)}"),
        section("Find the line that matches what you see. Each one says why and what to do."),
    ]
    rows = [
        f"*You see:* {render_text(row.symptom, context)}\n"
        f"*Why:* {render_text(row.cause, context)}\n"
        f"*What to do:* {render_text(row.fix, context)}"
        for row in step.troubleshooting
    ]
    tail: list[Block]
    if step.persona == "accountOwner":
        tail = [
            context_block("Still stuck? Press the button and devOps will help you right here."),
            ActionsBlock(
                elements=[
                    button(
                        PING_DEVOPS_LABEL,
                        PING_DEVOPS,
                        step_value(rollout_id, step.id, "ping_devops"),
                    )
                ]
            ),
        ]
    else:
        tail = [context_block("`/creators-onboard status` shows where the rollout stands.")]
    if not rows:
        blocks.append(section("No known problems are listed for this step yet."))
    else:
        room = MAX_BLOCKS - len(blocks) - len(tail)
        if 2 * len(rows) - 1 <= room:
            for i, row_text in enumerate(rows):
                if i:
                    blocks.append(DividerBlock())
                blocks += sections(row_text)
        else:
            blocks += pack(rows, room=room)
    blocks += tail
    return _checked(blocks, step)


def progress_blocks(
    runbook: Runbook,
    persona: Persona,
    current_step_id: str | None,
    rollout_id: str,
    *,
    status_line: str = "",
    finished: bool = False,
) -> list[Block]:
    """The parent DM message for one persona, edited in place as the rollout moves.

    Lists the phases the persona takes part in (the account owner: their own phases;
    devOps: every phase from their first one on, since they oversee the bot's work; the
    bot persona: all phases) as ✅ done, ▶️ current or ◻️ to come.
    """
    current_phase: int | None = None
    if current_step_id is not None:
        try:
            current_phase = runbook.step(current_step_id).phase
        except KeyError:
            raise ValueError(f"unknown step {current_step_id!r}") from None
    lines = []
    for phase in phases_for(runbook, persona):
        if finished or (current_phase is not None and phase.number < current_phase):
            icon = "✅"
        elif phase.number == current_phase:
            icon = "▶️"
        else:
            icon = "◻️"
        lines.append(f"{icon} *{escape_mrkdwn(phase.name)}* — {escape_mrkdwn(phase.summary)}")
    blocks: list[Block] = [
        header(PROGRESS_TITLE),
        context_block(
            f"Your part as the {PERSONA_NAMES[persona]} · rollout `{escape_mrkdwn(rollout_id)}`"
            if persona != "bot"
            else f"All phases · rollout `{escape_mrkdwn(rollout_id)}`"
        ),
    ]
    blocks += sections("\n".join(lines))
    status = status_line or ("🎉 All done. Thank you!" if finished else "")
    if status:
        blocks += sections(status)
    return _checked(blocks, None)


def phases_for(runbook: Runbook, persona: Persona) -> list[Phase]:
    """The phases shown in a persona's progress message, in order."""
    phases = sorted(runbook.phases, key=lambda p: p.number)
    if persona == "bot":
        return phases
    own = {p.number for p in phases if p.persona == persona}
    own |= {s.phase for s in runbook.steps if s.persona == persona}
    if not own:
        return []
    if persona == "devOps":
        first = min(own)
        return [p for p in phases if p.number >= first]
    return [p for p in phases if p.number in own]


def to_dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Blocks as the JSON-ready dicts Slack's Web API takes (validates each block)."""
    return [block.to_dict() for block in blocks]


def _checked(blocks: list[Block], step: Step | None) -> list[Block]:
    where = f"step {step.id}: " if step else ""
    if len(blocks) > MAX_BLOCKS:
        raise ValueError(f"{where}{len(blocks)} blocks in one message (max {MAX_BLOCKS})")
    return blocks
