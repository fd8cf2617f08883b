"""The vault verification card (runbook phase 6), pure Block Kit, no I/O.

A per-vault table (✅/❌ and the four fields), then every problem as symptom → cause →
fix, then either the "Re-run verification" button (when something is wrong) or the
reminder to delete the temporary local note (when everything is green). Stays inside
Slack's limits: at most 50 blocks, at most 3000 characters per section text.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.blocks.common import MAX_BLOCKS, SECTION_TEXT_MAX, button, truncate
from bot.blocks.common import escape_mrkdwn as _esc
from bot.blocks.ids import RERUN_VERIFY, step_value
from bot.integrations.vaults import VaultRow, VerificationReport
from bot.runbook.problem import Problem

# Blocks other than problem cards: header, table, context, divider, actions, context.
_FIXED_BLOCKS = 6


def _clip(text: str, limit: int = SECTION_TEXT_MAX) -> str:
    return truncate(text, limit)


def _mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def _row_line(row: VaultRow) -> str:
    head = f"{_mark(row.ok)} *{_esc(row.vault)}*"
    if not row.read:
        first = row.problems[0].symptom if row.problems else "not read"
        return f"{head} — not read: {_esc(first)}"
    # A field can be fine on its own while the vault disagrees with the others.
    differs = {p.field for p in row.problems if p.code in {"value_mismatch", "secret_mismatch"}}
    parts = []
    for field in row.fields:
        part = f"{field.label} {_mark(field.ok and field.label not in differs)}"
        if field.shown:
            part += f" `{_esc(field.shown[:40])}`"
        parts.append(part)
    line = f"{head} — " + " · ".join(parts)
    if differs:
        line += " — differs from the other vaults"
    elif not row.ok and all(f.ok for f in row.fields):
        line += " — see below"
    return line


def _table(report: VerificationReport) -> str:
    lines = [_row_line(row) for row in report.rows]
    systems = _esc(report.systems_vault)
    if report.systems_vault_visible:
        lines.append(f"✅ *{systems}* — visible to the service account (systems vault)")
    else:
        lines.append(f"❌ *{systems}* — not visible to the service account (systems vault)")
    return _clip("\n".join(lines))


def _problem_text(problem: Problem) -> str:
    text = f"❌ *{_esc(problem.symptom)}*\n*Why:* {_esc(problem.cause)}\n*Fix:* {_esc(problem.fix)}"
    return _clip(text)


def verification_text(report: VerificationReport) -> str:
    """Plain fallback text for notifications (the `text` beside the blocks)."""
    if report.ok:
        return f"Vault verification passed: all {len(report.rows)} vaults agree."
    count = len(report.problems)
    return f"Vault verification found {count} problem{'s' if count != 1 else ''}."


def verification_blocks(report: VerificationReport, *, rollout_id: str) -> list[Block]:
    if report.ok:
        title = "✅ Vaults verified"
    else:
        n = len(report.problems)
        title = f"❌ Vault check: {n} problem{'s' if n != 1 else ''}"
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=title, emoji=True)),
        SectionBlock(text=MarkdownTextObject(text=_table(report))),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_clip(
                        f"Item '{_esc(report.item_title)}' · rollout `{_esc(rollout_id)}` · "
                        f"checked {report.checked_at:%Y-%m-%d %H:%M} UTC",
                        limit=2000,
                    )
                )
            ]
        ),
    ]

    if report.ok:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=(
                        "🧹 *One last thing:* every vault holds the same four values, so the "
                        "temporary local note with the credentials is no longer needed. "
                        "Delete it now (and empty the trash or recently-deleted folder), "
                        "so the vaults hold the only copies."
                    )
                )
            )
        )
        return blocks

    blocks.append(DividerBlock())
    room = MAX_BLOCKS - _FIXED_BLOCKS
    shown = report.problems if len(report.problems) <= room else report.problems[: room - 1]
    blocks.extend(SectionBlock(text=MarkdownTextObject(text=_problem_text(p))) for p in shown)
    rest = report.problems[len(shown) :]
    if rest:
        lines = [f"…and {len(rest)} more:"] + [f"• {_esc(p.symptom)}" for p in rest]
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_clip("\n".join(lines)))))

    rerun_value = step_value(rollout_id, "verify", "rerun_verify")
    rerun = button("Re-run verification", RERUN_VERIFY, rerun_value, style="primary")
    blocks.append(ActionsBlock(block_id=f"co:verify:{rollout_id}"[:255], elements=[rerun]))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=(
                        "Fix everything above first: each run reads every vault once more, "
                        "and 1Password limits how often the service account may read."
                    )
                )
            ]
        )
    )
    return blocks
