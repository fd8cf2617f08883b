"""Transitions of phases 1–6: the people's steps, the vault check, help, abort, nudges."""

from __future__ import annotations

from bot.rollout import effects as fx
from bot.rollout.events import (
    BOT,
    AbortRequest,
    CardPosted,
    HelpRequest,
    PersonUnreachable,
    Quiet,
    RelayRequest,
    StepAction,
    StepPosted,
    ThreadsOpened,
    VaultsChecked,
    VerifyRequest,
)
from bot.rollout.partitions import open_gate
from bot.rollout.record import Effects, close_card, record
from bot.rollout.rules import Rules
from bot.rollout.state import (
    PostedCard,
    RolloutState,
)

# The handover channel (the runbook's `choose_dm` value) whose message must be deleted
# once devOps has the values.
DM_HANDOVER = "Slack DM"


def on_threads_opened(state: RolloutState, event: ThreadsOpened, rules: Rules) -> Effects:
    state.threads = dict(event.threads)
    state.status_ts = event.status_ts
    return [*arrive(state, state.step, rules), fx.Sync()]


def on_person_unreachable(state: RolloutState, event: PersonUnreachable, rules: Rules) -> Effects:
    state.status = "aborted"
    state.abort_reason = (
        f"I could not send <@{event.user}> ({event.persona}) a direct message "
        f"(Slack said `{event.error}`)."
    )
    return [fx.Unreachable(event.user, event.persona, event.error)]


def on_step_posted(state: RolloutState, event: StepPosted, rules: Rules) -> Effects:
    state.step_ts[event.step] = event.ts
    return []


def on_card_posted(state: RolloutState, event: CardPosted, rules: Rules) -> Effects:
    card = PostedCard(ts=event.ts, text=event.text, blocks=event.blocks)
    if event.slot == "gate":
        state.gate = card
    else:
        state.halt_card = card
    return []


def arrive(state: RolloutState, step_id: str, rules: Rules) -> Effects:
    """Stand on a step: post it to the person whose turn it is (or do it, for the bot)."""
    state.step = step_id
    step = rules.runbook.step(step_id)
    if step.effect == "verify_vaults" and step.persona == "bot":
        return [fx.Told("verifying_now"), fx.VerifyVaults(requested_by=BOT)]
    effects: Effects = [fx.PostStep(step_id)]
    if step.effect == "deploy_gate":
        state.halt_reason = None
        effects += open_gate(state)
    return effects


def on_step_action(state: RolloutState, event: StepAction, rules: Rules) -> Effects:
    step = rules.runbook.step(state.step)
    action = step.action(event.action)
    assert action is not None  # judged by rules.refusal
    runs_effect = bool(step.effect) and action.effect_runs
    done = fx.MarkDone(step.id, event.user, action.label, event.at)
    if step.effect == "verify_vaults" and runs_effect:
        return [done, fx.VerifyVaults(requested_by=event.user)]
    if action.value:
        state.handover_channel = action.value
    target = action.goto or step.next
    effects: Effects = [
        done,
        record(
            state,
            actor=event.user,
            action=event.action,
            at=event.at,
            to_step=target,
            note=action.value or "",
        ),
    ]
    if runs_effect and step.effect == "notify_sent":
        effects.append(fx.CredentialsSent(state.handover_channel or "", event.at))
    if runs_effect and step.effect == "receipt_confirmed" and state.handover_channel == DM_HANDOVER:
        effects.append(fx.Told("delete_dm_reminder"))
    if target:
        effects += arrive(state, target, rules)
    return effects


def on_help(state: RolloutState, event: HelpRequest, rules: Rules) -> Effects:
    if event.kind == "stuck":
        return [fx.StepNews("troubleshooting", event.step)]
    return [fx.DevopsPinged(event.step, event.user)]


def on_relay(state: RolloutState, event: RelayRequest, rules: Rules) -> Effects:
    """One person's words for the other; the audit row says who to whom, not the words."""
    to = "devOps" if event.user == state.owner else "accountOwner"
    key = f"{state.rollout_id}:relay:{event.user}:{event.at}:{len(event.text)}"
    detail = f"to {to} ({len(event.text)} characters)"
    return [fx.Relayed(event.user, event.text), fx.Audit(event.user, "relay", "done", detail, key)]


def on_verify(state: RolloutState, event: VerifyRequest, rules: Rules) -> Effects:
    return [fx.VerifyVaults(requested_by=event.user)]


def on_vaults_checked(state: RolloutState, event: VaultsChecked, rules: Rules) -> Effects:
    state.verification = event.report
    state.verification_ok = event.ok
    actor = event.requested_by
    effects: Effects = []
    if state.step == "populate":
        effects.append(
            record(state, actor=actor, action="vaults_populated", at=event.at, to_step="verify")
        )
        state.step = "verify"
    if event.ok and event.fingerprint:
        effects.append(fx.ArmLeakGuard(event.fingerprint))
    # The first green check of an onboarding opens the gate with the merge signal, which
    # tells engineering that the vaults verified green: one line there, not two.
    merge_signal = event.ok and state.step == "verify" and state.kind == "onboarding"
    effects += [
        fx.VerificationReported(event.ok, told_apart=merge_signal),
        fx.Audit(
            actor,
            "verify_vaults",
            "green" if event.ok else "red",
            ", ".join(event.red_vaults),
            f"{state.rollout_id}:verify:{len(state.history)}:{event.at}",
        ),
    ]
    nxt = rules.runbook.step("verify").next
    if event.ok and state.step == "verify":
        effects.append(record(state, actor=actor, action="verified", at=event.at, to_step=nxt))
        if merge_signal:
            # Runbook order: the vaults are filled before the infrastructure PR merges.
            effects.append(fx.Told("vaults_ready"))
        if nxt:
            effects += arrive(state, nxt, rules)
    return effects


def on_abort(state: RolloutState, event: AbortRequest, rules: Rules) -> Effects:
    reason = event.reason.strip()
    effects: Effects = [
        record(state, actor=event.user, action="abort", at=event.at, to_step=None, note=reason)
    ]
    state.status = "aborted"
    state.abort_reason = f"{reason} (by <@{event.user}>)"
    note = f"⏹ Aborted — <@{event.user}>"
    effects += close_card(state, "halt", note, event.at) + close_card(state, "gate", note, event.at)
    running = state.running
    if running is not None:
        running.status = "red"
        running.stage = None
        running.failed_check = "aborted"
        running.detail = "rollout aborted while the run was in progress"
        if running.run_id is not None:
            effects.append(fx.CancelFollow(running.run_id, running.attempts))
    effects.append(
        fx.Aborted(
            by=event.user,
            reason=reason,
            at=event.at,
            running=running.name if running else None,
            run_url=running.run_url if running else None,
        )
    )
    return effects


def on_quiet(state: RolloutState, event: Quiet, rules: Rules) -> Effects:
    if state.running is not None or state.finished:
        return []  # the bot is the one working
    if state.status == "halted":
        return [fx.Told("nudged_halted")]
    if rules.runbook.step(state.step).persona == "bot":
        return []
    return [fx.StepNews("nudged", state.step)]
