"""What people and the ticket are told: each notice of the rollout's machine rendered as
Slack messages and Linear comments (see `threads` for where they go)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot.blocks.common import slack_date
from bot.blocks.deploy import (
    COMPLETE_TEXT,
    OWNER_COMPLETE_TEXT,
    complete_blocks,
    deploy_gate_blocks,
    halt_card_blocks,
    partition_green_blocks,
    run_message,
)
from bot.blocks.relay import relayed_blocks
from bot.blocks.smoke import smoke_report_blocks
from bot.blocks.steps import stuck_blocks, to_dicts
from bot.blocks.verification import verification_blocks
from bot.blocks.watches import handoff_blocks
from bot.commands import as_text
from bot.integrations.bff import SmokeReport
from bot.integrations.vaults import VerificationReport
from bot.rollout import effects as fx
from bot.rollout.events import CardPosted, Event, RunPosted
from bot.rollout.roles import Role
from bot.rollout.state import PartitionState, RolloutState
from bot.runbook.model import Persona
from bot.runbook.rollback import RollbackContext, rollback_steps
from bot.watches.model import WATCHES, schedule_of
from bot.watches.rules import next_run
from bot.watches.texts import handoff_items, handoff_plain
from bot.workflows.steps import now_step
from bot.workflows.steps.linear import start_linear_log
from bot.workflows.steps.slack import dm_step, update_step
from bot.workflows.threads import (
    Audience,
    linear,
    post_in_thread,
    render_context,
    safe,
    tell_engineering,
)

Teller = Callable[[Any, RolloutState, Audience], Awaitable[Event | None]]


async def _verifying(notice: fx.Told, state: RolloutState, aud: Audience) -> None:
    await post_in_thread(state, "devOps", "Checking the four vaults now…")


async def _verification(
    notice: fx.VerificationReported, state: RolloutState, aud: Audience
) -> None:
    report = VerificationReport.model_validate(state.verification)
    blocks = verification_blocks(report, rollout_id=state.rollout_id)
    text = "Vault verification: all green" if report.ok else "Vault verification found problems"
    await post_in_thread(state, "devOps", text, to_dicts(blocks))
    if not notice.told_apart:
        await tell_engineering(state, aud.config, f"{'✅' if report.ok else '❌'} {text}.")


async def _troubleshooting(notice: fx.StepNews, state: RolloutState, aud: Audience) -> None:
    step = aud.runbook.step(notice.step)
    persona: Persona = "devOps" if step.persona == "bot" else step.persona
    context = render_context(state, aud.config)
    blocks = to_dicts(stuck_blocks(step, state.rollout_id, context))
    await post_in_thread(state, persona, f"Troubleshooting: {step.title}", blocks)


async def _pinged(notice: fx.DevopsPinged, state: RolloutState, aud: Audience) -> None:
    step = aud.runbook.step(notice.step)
    text = f":sos: <@{state.devops}>, <@{notice.by}> is stuck at *{step.title}* and asks for help."
    await post_in_thread(state, "accountOwner", text)
    await post_in_thread(state, "devOps", text, broadcast=True)


async def _relayed(notice: fx.Relayed, state: RolloutState, aud: Audience) -> None:
    """One person's words in the other's thread, as text (no ping, no link), with a Reply
    button; the sender hears they were passed on."""
    owner_speaks = notice.by == state.owner
    to: Persona = "devOps" if owner_speaks else "accountOwner"
    verb = "asks" if owner_speaks else "answers"
    shown = as_text(notice.text, limit=2800)
    blocks = to_dicts(relayed_blocks(state.rollout_id, notice.by, verb, shown))
    await post_in_thread(state, to, f"<@{notice.by}> {verb}: {shown}", blocks)
    other = state.devops if owner_speaks else state.owner
    sender: Persona = "accountOwner" if owner_speaks else "devOps"
    await post_in_thread(
        state, sender, f"✉️ Passed on to <@{other}>. Their answer will appear in this thread."
    )


async def _sent(notice: fx.CredentialsSent, state: RolloutState, aud: Audience) -> None:
    """The owner has sent the credentials: tell devOps, the ticket and engineering."""
    how = notice.how or "the channel you agreed on"
    text = (
        f":package: <@{state.devops}>, <@{state.owner}> has sent the Amazon Creators API "
        f"credentials via *{how}*. Your steps follow in this thread."
    )
    await post_in_thread(state, "devOps", text, broadcast=True)
    issue = aud.config.linear.issue
    body = (
        f"Amazon Creators API credentials ready via {how}: sent by the account owner "
        f"to devOps at {notice.at} (rollout {state.rollout_id}). devOps now confirms receipt "
        "and populates the four partition vaults."
    )
    await linear(state, "credentials-sent", body)
    await tell_engineering(
        state,
        aud.config,
        f":package: Credentials handed over via {how}; "
        f"devOps <@{state.devops}> is receiving ({issue}).",
    )


async def _gate(notice: fx.PartitionNews, state: RolloutState, aud: Audience) -> Event | None:
    done = [p.name for p in state.partitions if p.status == "green"]
    part = aud.config.partition(notice.partition)
    amplify = part is not None and part.amplify is not None
    blocks = to_dicts(
        deploy_gate_blocks(
            state.rollout_id, notice.partition, order=state.order, done=done, amplify=amplify
        )
    )
    text = f"Ready to deploy {notice.partition}"
    ts = await post_in_thread(state, "devOps", text, blocks)
    return CardPosted(slot="gate", ts=ts, text=text, blocks=blocks) if ts else None


# What a retry repeats, by the stage it resumes at.
_RESUMED = {
    "dispatch": "with a new `amm.yml` run",
    "run": "following the same run again",
    "amplify": "from the Amplify check (no new run)",
    "smoke": "from the smoke test (no new run)",
}


def _started(
    partition: str, attempt: int, by: str, resumed: str | None, run: str | None = None
) -> str:
    """Engineering's line for a deploy or retry: who asked, which attempt, and the run."""
    on = f": `amm.yml` {run}" if run else "."
    if resumed is None:
        return f"🔄 Deploying *{partition}* (attempt {attempt}), started by <@{by}>{on}"
    how = _RESUMED.get(resumed, "")
    return f"🔁 Retrying *{partition}* {how} (attempt {attempt}), asked by <@{by}>{on}"


async def _deploy_started(notice: fx.DeployStarted, state: RolloutState, aud: Audience) -> None:
    if notice.resumed in ("dispatch", "run", None):
        return  # said with the run, once it is known (`_run_started`): one line, not two
    line = _started(notice.partition, notice.attempt, notice.by, notice.resumed)
    await tell_engineering(state, aud.config, line)


async def _run_started(notice: fx.PartitionNews, state: RolloutState, aud: Audience) -> None:
    """Engineering hears that a run started (who asked, which attempt, the run); devOps'
    message about it comes with the run's first progress (`_run_progress`)."""
    ps = state.partition(notice.partition)
    assert ps is not None and ps.run_id is not None
    link = f"<{ps.run_url}|run {ps.run_id}>" if ps.run_url else f"run {ps.run_id}"
    by = ps.started_by or state.devops
    line = _started(ps.name, ps.attempts, by, ps.resumed, run=link)
    await tell_engineering(state, aud.config, line)


async def _run_progress(
    notice: fx.PartitionNews, state: RolloutState, aud: Audience
) -> Event | None:
    """The run's message in devOps' thread: posted with where the run first stands, then
    edited as it moves and when it ends."""
    ps = state.partition(notice.partition)
    thread = state.threads.get("devOps")
    if ps is None or ps.run_id is None or thread is None:
        return None
    text = run_message(ps.name, ps.run_id, ps.run_url, ps.progress)
    if ps.run_ts is not None:
        await safe(update_step(thread.channel, ps.run_ts, text, None))
        return None
    ts = await post_in_thread(state, "devOps", text)
    return RunPosted(partition=ps.name, run_id=ps.run_id, ts=ts) if ts else None


async def _green(notice: fx.PartitionNews, state: RolloutState, aud: Audience) -> None:
    ps = state.partition(notice.partition)
    assert ps is not None and ps.finished_at is not None
    checks: list[tuple[str, bool | None, str]] = [
        (c.name, None if c.skipped else True, c.detail) for c in ps.checks
    ]
    blocks = partition_green_blocks(
        ps.name, finished_at=ps.finished_at, run_url=ps.run_url, checks=checks
    )
    await post_in_thread(state, "devOps", f"{ps.name} is green", to_dicts(blocks))
    skipped = "".join(f" ⚠️ {c.detail}." for c in ps.checks if c.skipped)
    await tell_engineering(
        state, aud.config, f"✅ *{ps.name}* green since {slack_date(ps.finished_at)}.{skipped}"
    )


async def _halted(notice: fx.Halted, state: RolloutState, aud: Audience) -> Event | None:
    name = notice.partition
    part = aud.config.partition(name)
    ps = state.partition(name)
    assert part is not None and ps is not None
    later = state.order[state.order.index(name) + 1 :]
    gh = aud.config.github
    failed_at = failed_place(ps)
    rollback = rollback_steps(
        RollbackContext(
            partition=name,
            region=part.region,
            vault=part.vault,
            repository=gh.repository,
            workflow=gh.workflow,
            ref=gh.ref,
            run_url=ps.run_url,
            later=later,
            failed_check=ps.failed_check,
            failed_at=failed_at,
            log_url=ps.log_url,
            item_title=aud.config.onepassword.item_title,
        )
    )
    problem = notice.problem
    if notice.smoke_report is not None:
        report = SmokeReport.model_validate(notice.smoke_report)
        blocks = to_dicts(smoke_report_blocks(name, report))
        await post_in_thread(state, "devOps", f"Smoke test of {name}", blocks)
    card_text = f"Rollout halted at {name}: {notice.title}"
    card_blocks = to_dicts(
        halt_card_blocks(
            state.rollout_id,
            name,
            check=notice.title,
            symptom=problem.symptom,
            cause=problem.cause,
            fix=problem.fix,
            rollback=rollback,
            untouched=later,
            failed_check=ps.failed_check,
            failed_at=failed_at,
            log_url=ps.log_url,
        )
    )
    ts = await post_in_thread(state, "devOps", card_text, card_blocks, broadcast=True)
    await tell_engineering(
        state,
        aud.config,
        f":octagonal_sign: Rollout halted at *{name}*: {notice.title}. {problem.symptom} "
        "Later partitions untouched.",
    )
    at = state.history[-1].at if state.history else state.started_at
    body = (
        f"Rollout {state.rollout_id} HALTED at {name} ({at}): {notice.title}.\n"
        f"Symptom: {problem.symptom}\nCause: {problem.cause}\nFix: {problem.fix}\n"
        f"Later partitions not touched: {', '.join(later) or 'none'}."
    )
    await linear(state, f"halt-{name}-{ps.attempts}", body)
    if not ts:
        return None
    return CardPosted(slot="halt", ts=ts, text=card_text, blocks=card_blocks)


def failed_place(ps: PartitionState) -> str | None:
    """Where a failed run failed, in words ("job *deploy*, step *Check for drift*")."""
    if not ps.failed_job:
        return None
    return f"job *{ps.failed_job}*" + (f", step *{ps.failed_step}*" if ps.failed_step else "")


async def _smoke_reported(notice: fx.SmokeReported, state: RolloutState, aud: Audience) -> None:
    report = SmokeReport.model_validate(notice.report)
    blocks = to_dicts(smoke_report_blocks(notice.partition, report))
    text = f"Smoke test of {notice.partition}: {'green' if notice.ok else 'red'}"
    await post_in_thread(state, "devOps", text, blocks)
    await tell_engineering(state, aud.config, f"{'✅' if notice.ok else '❌'} {text} (on demand).")


# The owner's copies, once the four vaults hold the values and are verified.
OWNER_CLEANUP = (
    ":broom: {owner}, the four vaults hold the values now and passed every check, so your "
    "own copies aren't needed any more. If you made the *Amazon Creators API Handover* note "
    "in 1Password, delete it (select it → ⋯ → *Delete*), and delete any file you downloaded "
    "from Amazon with the values, then empty your computer's Trash or Recycle Bin. Nothing "
    "is lost: devOps has the values, and Amazon can always make a new credential."
)
# After a rotation, for the owner: the credential it replaced still works until deleted.
OLD_CREDENTIAL_TEXT = (
    ":wastebasket: One last step: the credential this rotation replaced still works until "
    "it is deleted. In Associates Central, open *Tools* → *Creators API* → *Arda Cards* and "
    "delete every credential except the one you made for this rotation (its Credential ID "
    "is the one you sent devOps). If you're not sure which one is new, press *Ping devOps* "
    "in this thread before deleting anything."
)


async def _completed(notice: fx.Told, state: RolloutState, aud: Audience) -> None:
    stamps = [(p.name, p.finished_at or "?") for p in state.partitions]
    blocks = to_dicts(complete_blocks(stamps))
    await post_in_thread(state, "accountOwner", OWNER_COMPLETE_TEXT, broadcast=True)
    if state.kind == "rotation":
        await post_in_thread(state, "accountOwner", OLD_CREDENTIAL_TEXT)
    await post_in_thread(state, "devOps", COMPLETE_TEXT, blocks)
    await tell_engineering(state, aud.config, f"🎉 {COMPLETE_TEXT}.", broadcast=True)
    body = f"{COMPLETE_TEXT}.\n\nPer-partition deploy timestamps:\n" + "\n".join(
        f"- {name}: {when}" for name, when in stamps
    )
    await linear(state, "complete", body)


async def _handoff(notice: fx.Told, state: RolloutState, aud: Audience) -> None:
    """What each person keeps from now on, each item naming its owner: both DMs, the
    ticket (App Home shows it too, once the rollout is complete)."""
    now = datetime.fromisoformat(await now_step())
    next_runs: dict[str, str | None] = {}
    for name in WATCHES:
        enabled, cron = schedule_of(aud.config, name)
        next_runs[name] = next_run(cron, now).strftime("%Y-%m-%d") if enabled else None
    items = handoff_items(systems_vault=aud.config.onepassword.systems_vault, next_runs=next_runs)
    people: dict[Role, str] = {"accountOwner": state.owner, "devOps": state.devops}
    text = "What's yours to keep from now on"
    for reader in people:
        blocks = to_dicts(handoff_blocks(items, people, reader=reader))
        await post_in_thread(state, reader, text, blocks)
    await linear(state, "handoff", handoff_plain(items))


async def _vaults_ready(notice: fx.Told, state: RolloutState, aud: Audience) -> None:
    """Runbook order: the vaults are filled before the infrastructure PR merges."""
    number = aud.config.github.pull_request
    pr = (
        f"infrastructure PR #{number} ({aud.config.github.repository})"
        if number
        else ("infrastructure PR")
    )
    vaults = ", ".join(p.vault for p in aud.config.partitions)
    await tell_engineering(
        state,
        aud.config,
        f":white_check_mark: The vaults are filled and verified green ({vaults}): the {pr} "
        "may merge now. Deploys follow, one partition at a time.",
        broadcast=True,
    )
    await post_in_thread(state, "accountOwner", OWNER_CLEANUP.format(owner=f"<@{state.owner}>"))
    at = state.history[-1].at if state.history else state.started_at
    await linear(
        state,
        "vaults-ready",
        f"Vaults verified green at {at} (rollout {state.rollout_id}): {vaults} each hold the "
        f"{aud.config.onepassword.item_title} item with all four fields. The {pr} may now "
        "merge; deploys follow in order " + " → ".join(state.order) + ".",
    )


async def _delete_dm(notice: fx.Told, state: RolloutState, aud: Audience) -> None:
    """The values came by Slack DM and devOps has them: both delete that message now."""
    await post_in_thread(
        state,
        "accountOwner",
        f":wastebasket: <@{state.owner}>, <@{state.devops}> has all four values. Please delete "
        "your Slack message with the credentials now (hover over it → More actions → Delete "
        "message). Slack may still keep an archived copy, so this only limits who can see it.",
    )
    await post_in_thread(
        state,
        "devOps",
        f":wastebasket: <@{state.devops}>, <@{state.owner}> is deleting their Slack message "
        "with the credentials now. Check it is gone from your DM with them, and delete any "
        "reply of yours that repeats a value.",
    )


async def _aborted(notice: fx.Aborted, state: RolloutState, aud: Audience) -> None:
    text = f":octagonal_sign: Rollout {state.rollout_id} aborted by <@{notice.by}>: {notice.reason}"
    if notice.running:
        link = f" (<{notice.run_url}|run>)" if notice.run_url else ""
        text += (
            f"\nThe `amm.yml` run for {notice.running} keeps going on GitHub{link}: "
            "cancel it there if it must not finish."
        )
    owner = (
        f":octagonal_sign: <@{notice.by}> stopped this setup: {notice.reason}\n"
        "Nothing more to do for now: you'll hear from devOps if it starts again."
    )
    await post_in_thread(state, "accountOwner", owner)
    await post_in_thread(state, "devOps", text)
    await tell_engineering(state, aud.config, text)
    body = f"Rollout {state.rollout_id} aborted at {notice.at}: {notice.reason}"
    await linear(state, "aborted", body)


async def _unreachable(notice: fx.Unreachable, state: RolloutState, aud: Audience) -> None:
    why = (
        f"I could not send <@{notice.user}> ({notice.persona}) a direct message: Slack said "
        f"`{notice.error}`. Check that the user ID in the YAML is right, that they are in "
        "this workspace and can receive DMs from the app (App Home → Messages tab enabled), "
        "then start again."
    )
    text = f":warning: Rollout {state.rollout_id} could not start. {why}"
    await tell_engineering(state, aud.config, text)
    await safe(dm_step(state.started_by, text))


async def _nudged(notice: fx.StepNews, state: RolloutState, aud: Audience) -> None:
    step = aud.runbook.step(notice.step)
    persona: Persona = "devOps" if step.persona == "bot" else step.persona
    await post_in_thread(
        state,
        persona,
        f":wave: <@{state.user_for(persona)}>, a gentle reminder: the rollout is waiting for "
        f"you at *{step.title}*. If something is in the way, press *I'm stuck* on that step.",
        broadcast=True,
    )


async def _nudged_halted(notice: fx.Told, state: RolloutState, aud: Audience) -> None:
    await post_in_thread(
        state,
        "devOps",
        f":wave: <@{state.devops}>, the rollout is still halted: {state.halt_reason}. "
        "Retry or abort when you're ready.",
    )


async def _deploy_log(notice: fx.Told, state: RolloutState, aud: Audience) -> None:
    lines = [f"Creators API rollout {state.rollout_id} — deploy log (kept current by the bot)", ""]
    for p in state.partitions:
        when = f" at {p.finished_at}" if p.finished_at else ""
        run = f" — {p.run_url}" if p.run_url else ""
        lines.append(f"- {p.name}: {p.status}{when}{run}")
    await safe(start_linear_log(state.rollout_id, len(state.history), "\n".join(lines)))


TELLERS: dict[str, Teller] = {
    "verifying_now": _verifying,
    "VerificationReported": _verification,
    "troubleshooting": _troubleshooting,
    "DevopsPinged": _pinged,
    "Relayed": _relayed,
    "CredentialsSent": _sent,
    "gate_opened": _gate,
    "DeployStarted": _deploy_started,
    "run_started": _run_started,
    "run_progress": _run_progress,
    "green": _green,
    "Halted": _halted,
    "SmokeReported": _smoke_reported,
    "completed": _completed,
    "handoff": _handoff,
    "vaults_ready": _vaults_ready,
    "delete_dm_reminder": _delete_dm,
    "Aborted": _aborted,
    "Unreachable": _unreachable,
    "nudged": _nudged,
    "nudged_halted": _nudged_halted,
    "deploy_log": _deploy_log,
}


async def tell(notice: fx.Notice, state: RolloutState, aud: Audience) -> Event | None:
    return await TELLERS[notice.key](notice, state, aud)
