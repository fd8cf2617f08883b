"""The audit trail as devOps reads it in Slack (`/creators-onboard audit`). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from slack_sdk.models.blocks import Block

from bot.blocks.common import SECTION_TEXT_MAX, context, header, pack, slack_date, truncate
from bot.commands import as_text

_MARK = {"done": "▶️", "refused": "⛔", "green": "✅", "red": "❌"}


class AuditRow(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def detail(self) -> str: ...


def audit_line(row: AuditRow) -> str:
    """One transition or refusal: when, who, what, how it ended and why."""
    who = "the bot" if row.actor == "bot" else f"<@{row.actor}>"
    mark = _MARK.get(row.outcome, "•")
    detail = f" — {as_text(row.detail, 300)}" if row.detail else ""
    when = slack_date(row.at.isoformat(), "{date_short} {time}")
    return f"{mark} {when} · {who} · *{as_text(row.action, 80)}* ({row.outcome}){detail}"


def audit_blocks(rollout_id: str, rows: Sequence[AuditRow], *, total: int) -> list[Block]:
    """The last `len(rows)` of a rollout's `total` audit rows, oldest first."""
    if not rows:
        return [context(f"No audit rows for {rollout_id} yet.")]
    shown = f"the last {len(rows)} of {total}" if total > len(rows) else f"all {total}"
    lines = [truncate(audit_line(r), SECTION_TEXT_MAX) for r in rows]
    return [
        header(f"Audit trail of {rollout_id}"),
        context(
            f"{shown} transitions and refusals, oldest first. Export them all with "
            f"`creators-onboard audit --rollout {rollout_id} --format csv`."
        ),
        *pack(lines, room=1, joiner="\n"),
    ]
