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

from bot.blocks.common import button, duration, slack_date
from bot.blocks.ids import ABORT, DEPLOY, REDEPLOY, RETRY, partition_value
from bot.rollout.state import RunProgress, amplify_not_checked
from bot.runbook.rollback import REDEPLOY_AFTER, retry_words

COMPLETE_TEXT = (
    "Amazon Creators API rollout complete: dev/stage/demo/prod all green, smoke tests pass"
)
# The same news for the account owner, in plain words.
OWNER_COMPLETE_TEXT = (
    "🎉 All done: Arda's Amazon Creators API connection is live everywhere, production "
    "included, and every check on it passed. Thank you for your part!"
)

SECTION_MAX = 3000


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text[:SECTION_MAX]))


def deploy_gate_blocks(
    rollout_id: str,
    partition: str,
    *,
    order: Sequence[str],
    done: Sequence[str],
    amplify: bool = True,
) -> list[Block]:
    """The one primary button that moves the rollout: deploy the next partition. Without
    an `amplify` section for the partition, the card says the Amplify check is skipped."""
    position = order.index(partition) + 1
    lead = (
        "The four vaults are verified. " if not done else f"{', '.join(done)} green. "
    ) + f"Next: *{partition}* ({position} of {len(order)}; order {' → '.join(order)})."
    then = (
        "check the Amplify variables and smoke-test the BFF"
        if amplify
        else "and smoke-test the BFF"
    )
    plan = f"\nWhen you're ready, deploy it: I'll run `amm.yml`, follow the run, {then} "
    plan += "before the next partition can go."
    if not amplify:
        plan += f"\n⚠️ {amplify_not_checked(partition)} (no `amplify` section in the YAML)."
    return [
        _section(lead + plan),
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


def run_message(
    partition: str, run_id: int | None, run_url: str | None, progress: RunProgress | None
) -> str:
    """The run's message in devOps' thread, edited as the run moves: queued, the job and
    step in progress, then how it ended — each with the time since the run started."""
    link = f"<{run_url}|run {run_id}>" if run_url else f"run {run_id}"
    lead = f"`amm.yml` for *{partition}*: {link}"
    if progress is None:
        return f"🔄 {lead}. I'm following it."
    took = duration(progress.run_started, progress.at)
    so_far = f" ({took} so far)" if took else ""
    where = ""
    if progress.job:
        where = f" job *{progress.job}*" + (f", step *{progress.step}*" if progress.step else "")
    if progress.status == "queued":
        return f"🕒 {lead} is queued, waiting for a runner{so_far}."
    if progress.status == "lost":
        return f"⚠️ {lead}: I could not follow it to its end (see the halt card)."
    if progress.status != "completed":
        doing = f"is running{where}" if where else "is running"
        return f"🔄 {lead} {doing}{so_far}."
    after = f" after {took}" if took else ""
    if progress.conclusion == "success":
        return f"✅ {lead} succeeded{after}."
    at = f" at{where}" if where else ""
    return f"❌ {lead} ended with '{progress.conclusion}'{at}{after}."


def used_card(blocks: Sequence[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    """A card whose buttons were used: same text, no buttons, who did what and when."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    kept = [b for b in kept if "/creators-onboard" not in str(b.get("elements", ""))]
    note_block = ContextBlock(elements=[MarkdownTextObject(text=note)]).to_dict()
    return [*kept, note_block]


def check_lines(checks: Sequence[tuple[str, bool | None, str]]) -> str:
    """One line per check: ✅ passed, ❌ failed, ⚠️ not made (`ok` None)."""
    marks = {True: "✅", False: "❌", None: "⚠️"}
    return "\n".join(f"{marks[ok]} *{name}* — {detail}" for name, ok, detail in checks)


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
    failed_check: str | None = "run",
    failed_at: str | None = None,
    log_url: str | None = None,
) -> list[Block]:
    """The halt card: what failed (the job and step of a failed run, with its log), why, the
    fix, the rollback procedure, and Retry (the failed check again) / Redeploy / Abort."""
    later = ", ".join(untouched) if untouched else "no later partitions"
    label, what = retry_words(failed_check, partition)
    redeploy = failed_check in REDEPLOY_AFTER
    where = ""
    if failed_at:
        log = f" — <{log_url}|its log>" if log_url else ""
        where = f"*Failed at:* {failed_at}{log}\n"
    buttons = [
        button(label, RETRY, partition_value(rollout_id, partition, "retry"), style="primary")
    ]
    choices = f"*{label}* (`/creators-onboard retry`) {what}, then carries on in order."
    if redeploy:
        buttons.append(
            button(
                f"Redeploy {partition}",
                REDEPLOY,
                partition_value(rollout_id, partition, "redeploy"),
            )
        )
        choices += (
            f"\n*Redeploy {partition}* (`/creators-onboard retry redeploy`) dispatches a new "
            f"`amm.yml` run for {partition} first — the run reads the vaults when it runs, so "
            "use it after changing a vault value — then carries on in order."
        )
    buttons.append(
        button(
            "Abort rollout", ABORT, partition_value(rollout_id, partition, "abort"), style="danger"
        )
    )
    commands = "`/creators-onboard retry`" + (
        " / `/creators-onboard retry redeploy`" if redeploy else ""
    )
    return [
        HeaderBlock(text=f"Rollout halted at {partition}: {check}"[:150]),
        _section(
            f"{where}*Symptom:* {symptom}\n*Likely cause:* {cause}\n*Fix:* {fix}\n\n"
            f"Nothing after {partition} was touched ({later})."
        ),
        _section(
            f"*Rollback procedure for {partition}*\n"
            + "\n".join(f"{n}. {line}" for n, line in enumerate(rollback, 1))
        ),
        _section(choices),
        ActionsBlock(elements=buttons),
        ContextBlock(
            elements=[
                MarkdownTextObject(text=f"Or type {commands} / `/creators-onboard abort <reason>`.")
            ]
        ),
    ]


def partition_green_blocks(
    partition: str,
    *,
    finished_at: str,
    run_url: str | None,
    checks: Sequence[tuple[str, bool | None, str]],
) -> list[Block]:
    run = f" (<{run_url}|run>)" if run_url else ""
    when = slack_date(finished_at)
    return [
        _section(f"✅ *{partition}* is green since {when}{run}.\n" + check_lines(checks)),
    ]


def complete_blocks(timestamps: Sequence[tuple[str, str]]) -> list[Block]:
    return [
        HeaderBlock(text="Rollout complete 🎉"),
        _section(
            f"{COMPLETE_TEXT}.\n"
            + "\n".join(f"• *{name}* deployed {slack_date(when)}" for name, when in timestamps)
        ),
    ]
