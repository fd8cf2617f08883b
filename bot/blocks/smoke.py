"""The smoke-test report (pure Block Kit): one line per check, symptom → cause → fix when red."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.blocks.common import MAX_BLOCKS, SECTION_TEXT_MAX, truncate
from bot.integrations.bff import SmokeReport


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_MAX)))


def smoke_report_blocks(partition: str, report: SmokeReport) -> list[Block]:
    lines = [f"*Smoke test of {partition}* — {'green' if report.ok else 'RED'} ({report.bff_url})"]
    for check in report.checks:
        status = f" HTTP {check.status}" if check.status is not None else ""
        code = f" `{check.code}`" if check.code else ""
        lines.append(f"{'✅' if check.ok else '❌'} *{check.name}*{status}{code} — {check.summary}")
    blocks: list[Block] = [_section("\n".join(lines))]
    for check in report.checks:
        problem = check.problem
        if problem is None:
            continue
        blocks.append(
            _section(
                f"*{check.name}*\n*Symptom:* {problem.symptom}\n*Cause:* {problem.cause}\n"
                f"*Fix:* {problem.fix}"
            )
        )
    return blocks[:MAX_BLOCKS]
