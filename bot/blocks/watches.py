"""Block Kit for ongoing operations (pure): the completion hand-off, the monthly check-in,
alerts with their diagnosis, the rotation reminder, the leak warning and the watch board."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock

from bot.blocks.common import button, context, escape_mrkdwn, header, section, sections
from bot.blocks.ids import (
    CHECKIN_NO_SALES,
    CHECKIN_NORMAL,
    START_ROTATION,
    checkin_value,
    rotation_value,
)
from bot.rollout.roles import Role
from bot.runbook.problem import Problem
from bot.watches import texts
from bot.watches.model import OWNERS, TITLES, WHAT, WatchStatus

START_ROTATION_LABEL = "Start rotation"


def owner_line(role: Role, people: Mapping[Role, str]) -> str:
    user = people.get(role)
    return f"owner: <@{user}> ({role})" if user else f"owner: {role}"


def handoff_blocks(
    items: Sequence[texts.HandoffItem],
    people: Mapping[Role, str],
    *,
    title: bool = True,
    reader: Role | None = None,
) -> list[Block]:
    """What each person keeps after the rollout; every item names its owner. For the
    accountOwner (`reader`), devOps' items are one plain sentence instead of the
    technical details, which are devOps' to read."""
    blocks: list[Block] = [header("What's yours to keep")] if title else []
    blocks.append(section(texts.HANDOFF_INTRO))
    shown = [i for i in items if reader != "accountOwner" or i.owner == "accountOwner"]
    for n, item in enumerate(shown, 1):
        blocks += sections(f"*{n}. {item.title}* — {owner_line(item.owner, people)}\n{item.body}")
    if len(shown) < len(items):
        blocks.append(section(texts.devops_keeps_for_owner(people.get("devOps", ""))))
    return blocks


def checkin_blocks(checkin: str, owner: str, scheduled: str) -> list[Block]:
    """The monthly eligibility check-in, with its two answers."""
    return [
        header(texts.CHECKIN_TITLE),
        section(texts.checkin_text(owner)),
        ActionsBlock(
            elements=[
                button(
                    texts.CHECKIN_NORMAL,
                    CHECKIN_NORMAL,
                    checkin_value(checkin, "normal"),
                    style="primary",
                ),
                button(
                    texts.CHECKIN_NO_SALES, CHECKIN_NO_SALES, checkin_value(checkin, "no_sales")
                ),
            ]
        ),
        context(f"{texts.CHECKIN_WHY}\nCheck-in of {escape_mrkdwn(scheduled)}."),
    ]


def answered_checkin_blocks(owner: str, label: str, by: str, at: str) -> list[Block]:
    """The check-in once answered: the question, no buttons, who answered what and when."""
    return [
        header(texts.CHECKIN_TITLE),
        section(texts.checkin_text(owner)),
        context(f"✅ {escape_mrkdwn(label)} — <@{by}>, {escape_mrkdwn(at)}"),
    ]


def rotation_button(reason: str) -> ActionsBlock:
    return ActionsBlock(
        elements=[
            button(START_ROTATION_LABEL, START_ROTATION, rotation_value(reason), style="primary")
        ]
    )


def problem_blocks(
    title: str,
    problem: Problem,
    *,
    steps: Sequence[str] = (),
    rotate: str | None = None,
) -> list[Block]:
    """An alert: symptom → cause → fix, numbered steps if any, and (`rotate`) the Start
    rotation button with that reason."""
    blocks: list[Block] = [
        header(title),
        section(
            f"*Symptom:* {problem.symptom}\n*Likely cause:* {problem.cause}\n*Fix:* {problem.fix}"
        ),
    ]
    if steps:
        blocks += sections("\n".join(f"{n}. {line}" for n, line in enumerate(steps, 1)))
    if rotate:
        blocks.append(rotation_button(rotate))
    return blocks


def notice_blocks(text: str, *, rotate: str | None = None) -> list[Block]:
    """A plain notice, with the Start rotation button when `rotate` names a reason."""
    blocks: list[Block] = list(sections(text))
    if rotate:
        blocks.append(rotation_button(rotate))
    return blocks


def _last(status: WatchStatus) -> str:
    last = status.last
    if last is None:
        return "not run yet"
    mark = {True: "✅", False: "⚠️", None: "•"}[last.ok]
    return f"{mark} {last.summary} ({escape_mrkdwn(last.at)})"


def board_lines(statuses: Sequence[WatchStatus]) -> str:
    """One line per watch: whose it is, its last result and its next run."""
    lines = []
    for status in statuses:
        nxt = (
            f"next {status.next_run}" if status.next_run else "switched off (`watch:` in the YAML)"
        )
        lines.append(
            f"*{TITLES[status.name]}* ({OWNERS[status.name]}; `{status.name}`) — "
            f"{WHAT[status.name]}.\nLast: {_last(status)} · {nxt}"
        )
    return "\n".join(lines)


def board_blocks(statuses: Sequence[WatchStatus]) -> list[Block]:
    """The watch board for App Home and `status`."""
    if not statuses:
        return []
    return [
        DividerBlock(),
        section("*Ongoing watches* (`/creators-onboard watch <name>` runs one now)"),
        *sections(board_lines(statuses)),
    ]
