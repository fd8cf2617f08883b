"""The rollout: one durable DBOS workflow per rollout, interpreting the runbook.

The workflow id is the rollout id. It waits for people with `recv` (nudging after a
quiet period), and every outside call is a step, so after a crash or a redeploy DBOS
replays the function, skips the steps already done and keeps waiting where it stood.
Phases 1–6 live here; phases 7–9 in deploy.py.
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from bot.blocks.ids import encode_value
from bot.blocks.status import status_board_blocks, status_summary
from bot.blocks.steps import done_step_blocks, progress_blocks, step_blocks, stuck_blocks, to_dicts
from bot.blocks.verification import verification_blocks
from bot.integrations.slack import SlackCallError
from bot.integrations.vaults import VerificationReport
from bot.logging import bind_request, clear_request, get_logger
from bot.runbook import load_runbook
from bot.runbook.model import Persona, Runbook
from bot.workflows import deploy as deploy_phase
from bot.workflows.common import (
    audit_step,
    dm_step,
    ephemeral_step,
    open_dm_step,
    post_in_thread,
    post_step,
    publish,
    refresh,
    render_context,
    safe,
    start_linear,
    tell_engineering,
    thread_for,
    transition,
    update_step,
    verify_vaults_step,
)
from bot.workflows.runtime import current
from bot.workflows.state import (
    EVENT_TOPIC,
    Decision,
    Event,
    PartitionState,
    PersonaThread,
    RolloutState,
    decide,
)

log = get_logger(__name__)

ROLLOUT_WORKFLOW = "rollout"


def slack_error(exc: BaseException) -> str:
    """Slack's own error code (e.g. user_not_found) from an exception chain."""
    pending: list[BaseException] = [exc]
    while pending:
        seen = pending.pop()
        if isinstance(seen, SlackCallError):
            return seen.code
        # DBOS gathers the error of every attempt when a step runs out of retries.
        pending.extend(getattr(seen, "errors", None) or [])
        pending.extend(e for e in (seen.__cause__, seen.__context__) if e is not None)
    return type(exc).__name__


async def setup(state: RolloutState, runbook: Runbook) -> str | None:
    """Open both DMs, post one parent per persona and the status board.

    Returns why the rollout cannot go on when a person cannot be reached by DM.
    """
    summary = status_summary(state, runbook)
    people: tuple[tuple[Persona, str], ...] = (
        ("accountOwner", state.owner),
        ("devOps", state.devops),
    )
    for persona, user in people:
        try:
            channel = await open_dm_step(user)
            blocks = progress_blocks(
                runbook, persona, state.step, state.rollout_id, status_line=summary
            )
            ts = await post_step(channel, summary, to_dicts(blocks))
        except Exception as exc:  # any failure here ends this rollout cleanly, logged
            log.exception("cannot reach a person by DM", user=user, persona=persona)
            return (
                f"I could not send <@{user}> ({persona}) a direct message: Slack said "
                f"`{slack_error(exc)}`. Check that the user ID in the YAML is right, that they "
                "are in this workspace and can receive DMs from the app (App Home → Messages "
                "tab enabled), then start again."
            )
        state.threads[persona] = PersonaThread(user=user, channel=channel, parent_ts=ts)
    channel = current().settings.config.slack.engineering_channel
    if channel:
        state.status_ts = await safe(
            post_step(channel, summary, to_dicts(status_board_blocks(state, runbook)))
        )
    return None


async def arrive(state: RolloutState, runbook: Runbook, step_id: str, at: str) -> None:
    """Stand on a new step: post it to the person whose turn it is (or run it)."""
    state.step = step_id
    step = runbook.step(step_id)
    ctx = render_context(state)
    if step.effect == "verify_vaults" and step.persona == "bot":
        await post_in_thread(state, "devOps", "Checking the four vaults now…")
        await run_verification(state, runbook, actor="bot", at=at)
        return
    persona: Persona = "devOps" if step.persona == "bot" else step.persona
    blocks = to_dicts(step_blocks(step, state.rollout_id, ctx))
    ts = await post_in_thread(state, persona, step.title, blocks)
    if ts:
        state.step_ts[step.id] = ts
    if step.effect == "deploy_gate":
        state.halt_reason = None
        await deploy_phase.open_gate(state, runbook)


async def run_verification(state: RolloutState, runbook: Runbook, *, actor: str, at: str) -> None:
    raw = await verify_vaults_step()
    report = VerificationReport.model_validate(raw)
    state.verification = raw
    state.verification_ok = report.ok
    if state.step == "populate":
        await transition(state, actor=actor, action="vaults_populated", at=at, to_step="verify")
        state.step = "verify"
    blocks = verification_blocks(
        report,
        rollout_id=state.rollout_id,
        rerun_value=encode_value(state.rollout_id, "verify", "rerun_verify"),
    )
    text = "Vault verification: all green" if report.ok else "Vault verification found problems"
    await post_in_thread(state, "devOps", text, to_dicts(blocks))
    await tell_engineering(state, f"{'✅' if report.ok else '❌'} {text}.")
    await safe(
        audit_step(
            state.rollout_id,
            actor,
            "verify_vaults",
            "green" if report.ok else "red",
            ", ".join(r.vault for r in report.rows if not r.ok),
            f"{state.rollout_id}:verify:{len(state.history)}:{at}",
        )
    )
    if report.ok and state.step == "verify":
        step = runbook.step("verify")
        await transition(state, actor=actor, action="verified", at=at, to_step=step.next)
        if step.next:
            await arrive(state, runbook, step.next, at)


async def notify_sent(state: RolloutState, at: str) -> None:
    """The owner has sent the credentials: tell devOps, the ticket and engineering."""
    how = state.handover_channel or "the channel you agreed on"
    text = (
        f":package: <@{state.devops}>, <@{state.owner}> has sent the Amazon Creators API "
        f"credentials via *{how}*. Your steps follow in this thread."
    )
    await post_in_thread(state, "devOps", text, broadcast=True)
    issue = current().settings.config.linear.issue
    body = (
        f"Amazon Creators API credentials ready via {how}: sent by the account owner "
        f"to devOps at {at} (rollout {state.rollout_id}). devOps now confirms receipt and "
        "populates the four partition vaults."
    )
    await start_linear(state, "credentials-sent", body)
    await tell_engineering(
        state,
        f":package: Credentials handed over via {how}; "
        f"devOps <@{state.devops}> is receiving ({issue}).",
    )


async def handle(state: RolloutState, runbook: Runbook, event: Event, decision: Decision) -> None:
    at = event.at
    if decision.kind == "reply":
        await safe(ephemeral_step(event.user, decision.reply, event.channel, event.response_url))
        await safe(
            audit_step(
                state.rollout_id,
                event.user,
                event.name,
                "refused",
                decision.reply[:200],
                f"{state.rollout_id}:refused:{event.user}:{event.name}:{at}",
            )
        )
        return
    if decision.kind == "stuck" and decision.from_step:
        step = runbook.step(decision.from_step)
        persona: Persona = "devOps" if step.persona == "bot" else step.persona
        blocks = to_dicts(stuck_blocks(step, state.rollout_id, render_context(state)))
        await post_in_thread(state, persona, f"Troubleshooting: {step.title}", blocks)
        return
    if decision.kind == "ping" and decision.from_step:
        step = runbook.step(decision.from_step)
        text = (
            f":sos: <@{state.devops}>, <@{event.user}> is stuck at *{step.title}* "
            "and asks for help."
        )
        await post_in_thread(state, "accountOwner", text)
        await post_in_thread(state, "devOps", text, broadcast=True)
        return
    if decision.kind == "abort":
        await transition(
            state, actor=event.user, action="abort", at=at, to_step=None, note=decision.reason
        )
        state.status = "aborted"
        state.abort_reason = f"{decision.reason} (by <@{event.user}>)"
        await deploy_phase.close_card(state, state.halt_card, f"⏹ Aborted — <@{event.user}>, {at}")
        await deploy_phase.close_card(state, state.gate, f"⏹ Aborted — <@{event.user}>, {at}")
        state.halt_card = state.gate = None
        text = (
            f":octagonal_sign: Rollout {state.rollout_id} aborted by <@{event.user}>: "
            f"{decision.reason}"
        )
        running = [p for p in state.partitions if p.status == "running"]
        if running:
            text += (
                f"\nThe `amm.yml` run for {running[0].name} keeps going on GitHub"
                + (f" (<{running[0].run_url}|run>)" if running[0].run_url else "")
                + ": cancel it there if it must not finish."
            )
        await post_in_thread(state, "accountOwner", text)
        await post_in_thread(state, "devOps", text)
        await tell_engineering(state, text)
        await start_linear(
            state, "aborted", f"Rollout {state.rollout_id} aborted at {at}: {decision.reason}"
        )
        return
    if decision.kind == "verify":
        if event.kind == "action" and decision.from_step == "populate":
            await mark_done(
                state, runbook, "populate", actor=event.user, label=decision.action_label, at=at
            )
        await run_verification(state, runbook, actor=event.user, at=at)
        return
    if decision.kind in ("deploy", "smoke", "retry"):
        await deploy_phase.handle(state, runbook, event, decision)
        return
    # advance
    step = runbook.step(state.step)
    await mark_done(state, runbook, step.id, actor=event.user, label=decision.action_label, at=at)
    if decision.value:
        state.handover_channel = decision.value
    await transition(
        state,
        actor=event.user,
        action=event.name,
        at=at,
        to_step=decision.to_step,
        note=decision.value or "",
    )
    if decision.run_effect and step.effect == "notify_sent":
        await notify_sent(state, at)
    if decision.to_step:
        await arrive(state, runbook, decision.to_step, at)


async def mark_done(
    state: RolloutState, runbook: Runbook, step_id: str, *, actor: str, label: str, at: str
) -> None:
    """Edit the step's message in place: no more buttons, who did it and when."""
    step = runbook.step(step_id)
    ts = state.step_ts.get(step.id)
    where = thread_for(state, "devOps" if step.persona == "bot" else step.persona)
    if ts and where:
        done = done_step_blocks(
            step, render_context(state), actor=actor, action_label=label, when=at
        )
        await safe(update_step(where[0], ts, f"Done: {step.title}", to_dicts(done)))


async def nudge(state: RolloutState, runbook: Runbook) -> None:
    step = runbook.step(state.step)
    if state.status == "halted":
        await post_in_thread(
            state,
            "devOps",
            f":wave: <@{state.devops}>, the rollout is still halted: {state.halt_reason}. "
            "Retry or abort when you're ready.",
        )
        return
    if step.persona == "bot":
        return
    user = state.owner if step.persona == "accountOwner" else state.devops
    await post_in_thread(
        state,
        step.persona,
        f":wave: <@{user}>, a gentle reminder: the rollout is waiting for you at *{step.title}*. "
        "If something is in the way, press *I'm stuck* on that step.",
        broadcast=True,
    )


@DBOS.workflow(name=ROLLOUT_WORKFLOW)
async def rollout_workflow(spec: dict[str, Any]) -> dict[str, Any]:
    runbook = load_runbook()
    settings = current().settings
    state = RolloutState.model_validate(spec)
    # The workflow outlives the request that started it: log with its own context.
    clear_request()
    bind_request(rollout_id=state.rollout_id)
    state.partitions = [PartitionState(name=p.name) for p in settings.config.partitions]
    unreachable = await setup(state, runbook)
    if unreachable is not None:
        state.status = "aborted"
        state.abort_reason = unreachable
        notice = f":warning: Rollout {state.rollout_id} could not start. {unreachable}"
        await tell_engineering(state, notice)
        await safe(dm_step(state.started_by, notice))
        await publish(state)
        return state.model_dump(mode="json")
    await arrive(state, runbook, state.step, state.started_at)
    await refresh(state, runbook)
    await publish(state)
    quiet = settings.config.workflow.nudge_after_hours * 3600
    while state.status not in ("complete", "aborted"):
        raw = await DBOS.recv_async(EVENT_TOPIC, timeout_seconds=quiet)
        if raw is None:
            await nudge(state, runbook)
            continue
        event = Event.model_validate(raw)
        decision = decide(state, event, runbook)
        await handle(state, runbook, event, decision)
        if decision.kind not in ("reply", "stuck", "ping"):
            await refresh(state, runbook)
        await publish(state)
    return state.model_dump(mode="json")
