"""Block Kit for phases 7–9: the deploy gate, runs, smoke reports, halt and completion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.common import button
from bot.blocks.ids import ABORT, DEPLOY, RETRY, partition_value

COMPLETE_TEXT = (
    "Amazon Creators API rollout complete: dev/stage/demo/prod all green, smoke tests pass"
)

SECTION_MAX = 3000


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text[:SECTION_MAX]))


def deploy_gate_blocks(
    rollout_id: str, partition: str, *, order: Sequence[str], done: Sequence[str]
) -> list[Block]:
    """The one primary button that moves the rollout: deploy the next partition."""
    position = order.index(partition) + 1
    lead = (
        "The four vaults are verified. " if not done else f"{', '.join(done)} green. "
    ) + f"Next: *{partition}* ({position} of {len(order)}; order {' → '.join(order)})."
    return [
        _section(
            lead + "\nWhen you're ready, deploy it: I'll run `amm.yml`, follow the run, check "
            "the Amplify variables and smoke-test the BFF before the next partition can go."
        ),
        ActionsBlock(
            elements=[
                button(
                    f"Deploy {partition}",
                    DEPLOY,
                    partition_value(rollout_id, partition, "deploy"),
                    style="primary",
                )
            ]
        ),
        ContextBlock(
            elements=[MarkdownTextObject(text=f"Or type `/creators-onboard deploy {partition}`.")]
        ),
    ]


def used_card(blocks: Sequence[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    """A card whose buttons were used: same text, no buttons, who did what and when."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    kept = [b for b in kept if "/creators-onboard" not in str(b.get("elements", ""))]
    note_block = ContextBlock(elements=[MarkdownTextObject(text=note)]).to_dict()
    return [*kept, note_block]


def check_lines(checks: Sequence[tuple[str, bool, str]]) -> str:
    return "\n".join(f"{'✅' if ok else '❌'} *{name}* — {detail}" for name, ok, detail in checks)


def halt_card_blocks(
    rollout_id: str,
    partition: str,
    *,
    check: str,
    symptom: str,
    cause: str,
    fix: str,
    rollback: Sequence[str],
    untouched: Sequence[str],
) -> list[Block]:
    later = ", ".join(untouched) if untouched else "no later partitions"
    blocks: list[Block] = [
        HeaderBlock(text=f"Rollout halted at {partition}: {check}"[:150]),
        _section(
            f"*Symptom:* {symptom}\n*Likely cause:* {cause}\n*Fix:* {fix}\n\n"
            f"Nothing after {partition} was touched ({later})."
        ),
        _section(
            f"*Rollback procedure for {partition}*\n"
            + "\n".join(f"{n}. {line}" for n, line in enumerate(rollback, 1))
        ),
        ActionsBlock(
            elements=[
                button(
                    f"Retry {partition}",
                    RETRY,
                    partition_value(rollout_id, partition, "retry"),
                    style="primary",
                ),
                button(
                    "Abort rollout",
                    ABORT,
                    partition_value(rollout_id, partition, "abort"),
                    style="danger",
                ),
            ]
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Or type `/creators-onboard retry` / `/creators-onboard abort <reason>`."
                )
            ]
        ),
    ]
    return blocks


def partition_green_blocks(
    partition: str,
    *,
    finished_at: str,
    run_url: str | None,
    checks: Sequence[tuple[str, bool, str]],
) -> list[Block]:
    run = f" (<{run_url}|run>)" if run_url else ""
    return [
        _section(f"✅ *{partition}* is green at {finished_at}{run}.\n" + check_lines(checks)),
    ]


def complete_blocks(timestamps: Sequence[tuple[str, str]]) -> list[Block]:
    return [
        HeaderBlock(text="Rollout complete 🎉"),
        _section(
            f"{COMPLETE_TEXT}.\n"
            + "\n".join(f"• *{name}* deployed {when}" for name, when in timestamps)
        ),
    ]
