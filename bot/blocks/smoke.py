"""The smoke-test report (pure Block Kit): one line per check, symptom → cause → fix when red."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.integrations.bff import SmokeReport

SECTION_MAX = 3000


def smoke_report_blocks(partition: str, report: SmokeReport) -> list[Block]:
    lines = [f"*Smoke test of {partition}* — {'green' if report.ok else 'RED'} ({report.bff_url})"]
    for check in report.checks:
        status = f" HTTP {check.status}" if check.status is not None else ""
        code = f" `{check.code}`" if check.code else ""
        lines.append(f"{'✅' if check.ok else '❌'} *{check.name}*{status}{code} — {check.symptom}")
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines)[:SECTION_MAX]))
    ]
    for check in report.failed:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=(
                        f"*{check.name}*\n*Symptom:* {check.symptom}\n*Cause:* {check.cause}\n"
                        f"*Fix:* {check.fix}"
                    )[:SECTION_MAX]
                )
            )
        )
    return blocks[:50]
