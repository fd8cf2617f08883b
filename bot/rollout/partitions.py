"""Transitions of phases 7–9: each partition in order — dispatch, run, Amplify, smoke —
then green (the next gate, or completion) or a halt that touches nothing later.

A halt records the check that failed; a retry repeats that check and what follows it
(`RESUME`). Only a failed dispatch or a failed run is dispatched again — or any halt
when devOps explicitly asks to redeploy.
"""

from __future__ import annotations

from typing import Any

from bot.rollout import effects as fx
from bot.rollout.events import (
    BOT,
    AmplifyChecked,
    DeployRequest,
    Dispatched,
    PrGateChecked,
    ReadyChecked,
    RetryRequest,
    RunConcluded,
    RunMoved,
    RunPosted,
    SmokeDone,
    SmokeRequest,
)
from bot.rollout.record import Effects, close_card, record, refuse
from bot.rollout.rules import Rules, refusal
from bot.rollout.state import (
    CheckResult,
    FailedCheck,
    PartitionState,
    RolloutState,
    RunProgress,
    Stage,
    amplify_not_checked,
)
from bot.runbook.problem import Problem


def open_gate(state: RolloutState) -> Effects:
    """Offer devOps the next partition (the one primary button on the message)."""
    nxt = state.next_partition
    return [fx.PartitionNews("gate_opened", nxt.name)] if nxt is not None else []


def on_deploy(state: RolloutState, event: DeployRequest, rules: Rules) -> Effects:
    assert event.partition is not None
    return [fx.CheckReady(event, event.partition)]


def on_retry(state: RolloutState, event: RetryRequest, rules: Rules) -> Effects:
    red = next(p for p in state.partitions if p.status == "red")
    return [fx.CheckReady(event, red.name)]


def on_ready_checked(state: RolloutState, event: ReadyChecked, rules: Rules) -> Effects:
    """Start only what cannot fail for a configuration reason; else say what to fix."""
    request = event.request
    why = refusal(state, request, rules)
    if why is not None:  # the rollout moved while it was checked
        return refuse(state, request, why)
    if event.problems:
        return refuse(state, request, not_ready(event, rules))
    if isinstance(request, RetryRequest):
        return start_partition(
            state,
            event.partition,
            actor=request.user,
            at=request.at,
            retry=True,
            redeploy=request.redeploy,
        )
    if rules.pr_gate and not any(p.attempts for p in state.partitions):
        return [fx.CheckPrGate(request)]
    return start_partition(state, event.partition, actor=request.user, at=request.at, retry=False)


def not_ready(event: ReadyChecked, rules: Rules) -> str:
    """Why nothing was started, each problem with its fix, and how to try again. A check
    Slack did not answer is one of them, and not a configuration reason: the header says
    only that the checks did not pass, each line says why."""
    name = event.partition
    verb = "retry" if isinstance(event.request, RetryRequest) else "deploy"
    lines = [f"I did not {verb} *{name}*: the checks made before starting it did not pass."]
    lines += [f"• {p.symptom} ({p.cause.rstrip('.')}). Fix: {p.fix}" for p in event.problems]
    again = (
        "`/creators-onboard retry`"
        if verb == "retry"
        else f"the *Deploy {name}* button (or `/creators-onboard deploy {name}`)"
    )
    lines.append(f"Nothing was started. When it is fixed (or has passed), use {again} again.")
    return "\n".join(lines)


def on_pr_gate_checked(state: RolloutState, event: PrGateChecked, rules: Rules) -> Effects:
    request = event.request
    if event.problem is not None:
        return refuse(state, request, f"{event.problem.symptom} {event.problem.fix}")
    why = refusal(state, request, rules)
    if why is not None:  # the rollout moved while the pull request was checked
        return refuse(state, request, why)
    assert request.partition is not None
    return start_partition(state, request.partition, actor=request.user, at=request.at, retry=False)


# Where a retry starts again, by the check that failed: the same check, then what follows.
RESUME: dict[FailedCheck, Stage] = {
    "dispatch": "dispatch",  # look for the run the failed attempt started, else dispatch
    "run": "dispatch",  # the run itself failed: a new run
    "follow": "run",  # follow the same run again (no second dispatch)
    "amplify": "amplify",
    "smoke": "smoke",
    "aborted": "dispatch",
}


def resume_stage(ps: PartitionState, *, redeploy: bool = False) -> Stage:
    """The stage a retry of `ps` starts at (a redeploy always dispatches)."""
    if redeploy or ps.failed_check is None:
        return "dispatch"
    stage = RESUME[ps.failed_check]
    if stage != "dispatch" and ps.run_id is None:
        return "dispatch"  # nothing to resume from
    return stage


def start_partition(
    state: RolloutState,
    name: str,
    *,
    actor: str,
    at: str,
    retry: bool,
    redeploy: bool = False,
) -> Effects:
    ps = _partition(state, name)
    stage = resume_stage(ps, redeploy=redeploy) if retry else "dispatch"
    # A dispatch that failed is looked for from its own start: it may have started a run.
    since = (
        ps.dispatched_since if retry and ps.failed_check == "dispatch" and not redeploy else None
    )
    ps.attempts += 1
    ps.status = "running"
    ps.started_at = at
    ps.started_by = actor
    ps.resumed = stage if retry else None
    ps.failed_check = ps.detail = None
    ps.failed_job = ps.failed_step = ps.log_url = None
    if stage in ("dispatch", "run"):
        ps.checks = []  # what went green before the resumed check stays listed
        ps.run_ts = ps.progress = None
    state.status = "active"
    state.halt_reason = None
    verb = "Redeploy" if redeploy else "Retry" if retry else "Deploy"
    effects: Effects = [
        record(state, actor=actor, action=f"{verb.lower()}:{name}", at=at, to_step=None),
        *close_card(state, "halt" if retry else "gate", f"▶️ {verb} {name} — <@{actor}>", at),
        fx.Sync(),
        fx.DeployStarted(name, ps.attempts, actor, stage if retry else None),
    ]
    if stage == "run":
        assert ps.run_id is not None
        ps.stage = "run"
        return [
            *effects,
            fx.PartitionNews("run_started", name),
            fx.Sync(),
            fx.FollowRun(name, ps.run_id, ps.attempts),
        ]
    if stage == "amplify":
        ps.stage = "amplify"
        return [*effects, fx.CheckAmplify(name)]
    if stage == "smoke":
        return [*effects, *smoke_next(ps)]
    ps.run_id = ps.run_url = None
    ps.stage = "dispatch"
    ps.dispatched_since = since or at
    dispatch = fx.Dispatch(
        name, not_before=ps.dispatched_since, earlier_runs=tuple(ps.earlier_runs)
    )
    return [*effects, dispatch]


def _in_stage(state: RolloutState, name: str, stage: str) -> PartitionState | None:
    """The partition, if the bot is at `stage` for it (a late or repeated result is not)."""
    ps = state.partition(name)
    return ps if ps is not None and ps.status == "running" and ps.stage == stage else None


def on_dispatched(state: RolloutState, event: Dispatched, rules: Rules) -> Effects:
    ps = _in_stage(state, event.partition, "dispatch")
    if ps is None:
        return []
    if event.run_id is None:
        problem = event.problem or _unknown("amm.yml could not be started.")
        return halt(
            state, ps.name, "dispatch", "amm.yml could not be started", problem, at=event.at
        )
    ps.run_id = event.run_id
    ps.run_url = event.url
    ps.earlier_runs.append(event.run_id)
    ps.stage = "run"
    return [
        fx.PartitionNews("run_started", ps.name),
        fx.Sync(),
        fx.FollowRun(ps.name, event.run_id, ps.attempts),
    ]


def on_run_posted(state: RolloutState, event: RunPosted, rules: Rules) -> Effects:
    ps = state.partition(event.partition)
    if ps is not None and ps.run_id == event.run_id:
        ps.run_ts = event.ts
    return []


def on_run_moved(state: RolloutState, event: RunMoved, rules: Rules) -> Effects:
    """The run moved (or time passed): its message shows where it stands now."""
    ps = _in_stage(state, event.partition, "run")
    if ps is None or ps.run_id != event.run_id:
        return []
    ps.progress = event.progress
    return [fx.PartitionNews("run_progress", ps.name)]


def on_run_concluded(state: RolloutState, event: RunConcluded, rules: Rules) -> Effects:
    ps = _in_stage(state, event.partition, "run")
    if ps is None or ps.run_id != event.run_id:
        return []  # a late word from an earlier, abandoned run
    ps.progress = RunProgress(
        status="completed" if event.followed else "lost",
        conclusion=event.conclusion,
        job=event.failed_job,
        step=event.failed_step,
        run_started=event.run_started or (ps.progress.run_started if ps.progress else None),
        at=event.at,
    )
    ended = [fx.PartitionNews("run_progress", ps.name)]
    if not event.followed:
        problem = event.problem or _unknown("The run could not be followed.")
        title = "the amm.yml run could not be followed"
        return ended + halt(state, ps.name, "follow", title, problem, at=event.at)
    ps.run_url = event.url or ps.run_url
    if event.problem is not None:
        ps.failed_job, ps.failed_step = event.failed_job, event.failed_step
        ps.log_url = event.log_url
        title = f"amm.yml run {event.conclusion}"
        if event.failed_step:
            title += f" at {event.failed_step}"
        return ended + halt(state, ps.name, "run", title, event.problem, at=event.at)
    ps.checks.append(CheckResult(name="amm.yml", detail="run succeeded"))
    if rules.has_amplify(ps.name):
        ps.stage = "amplify"
        return [*ended, fx.CheckAmplify(ps.name)]
    ps.checks.append(CheckResult(name="Amplify", detail=amplify_not_checked(ps.name), skipped=True))
    return ended + smoke_next(ps)


def smoke_next(ps: PartitionState) -> Effects:
    ps.stage = "smoke"
    return [fx.Smoke(ps.name, key=f"{ps.name}:{ps.attempts}")]


def on_amplify_checked(state: RolloutState, event: AmplifyChecked, rules: Rules) -> Effects:
    ps = _in_stage(state, event.partition, "amplify")
    if ps is None:
        return []
    if event.problem is not None:
        return halt(
            state, ps.name, "amplify", "Amplify variables missing", event.problem, at=event.at
        )
    ps.checks.append(CheckResult(name="Amplify", detail="the four AMAZON_* variables are set"))
    return smoke_next(ps)


def on_smoke(state: RolloutState, event: SmokeRequest, rules: Rules) -> Effects:
    assert event.partition is not None
    state.smoke_requests += 1
    key = f"{event.partition}:on-demand:{state.smoke_requests}"
    return [fx.Smoke(event.partition, key=key, on_demand=True)]


def on_smoke_done(state: RolloutState, event: SmokeDone, rules: Rules) -> Effects:
    if event.on_demand:
        return [fx.SmokeReported(event.partition, event.ok, event.report)]
    ps = _in_stage(state, event.partition, "smoke")
    if ps is None:
        return []
    if not event.ok:
        problem = event.problem or _unknown("The smoke test failed.")
        title = f"smoke test: {event.failed or 'failed'}"
        return halt(state, ps.name, "smoke", title, problem, at=event.at, smoke_report=event.report)
    detail = f"import of {event.asin} and error paths behave"
    ps.checks.append(CheckResult(name="smoke test", detail=detail))
    return green(state, ps, at=event.at)


def green(state: RolloutState, ps: PartitionState, *, at: str) -> Effects:
    ps.status = "green"
    ps.stage = None
    ps.finished_at = at
    effects: Effects = [
        record(state, actor=BOT, action=f"green:{ps.name}", at=at, to_step=None),
        fx.PartitionNews("green", ps.name),
        fx.Told("deploy_log"),
    ]
    if state.next_partition is None:
        state.status = "complete"
        return [*effects, fx.Told("completed"), fx.Told("handoff")]
    return effects + open_gate(state)


def halt(
    state: RolloutState,
    name: str,
    check: FailedCheck,
    title: str,
    problem: Problem,
    *,
    at: str,
    smoke_report: dict[str, Any] | None = None,
) -> Effects:
    ps = _partition(state, name)
    ps.status = "red"
    ps.stage = None
    ps.failed_check = check
    ps.detail = title
    state.status = "halted"
    state.halt_reason = f"{name}: {title}"
    return [
        record(state, actor=BOT, action=f"halt:{name}", at=at, to_step=None, note=title),
        fx.Halted(name, title, problem, smoke_report),
        fx.Told("deploy_log"),
    ]


def _partition(state: RolloutState, name: str) -> PartitionState:
    ps = state.partition(name)
    assert ps is not None, name
    return ps


def _unknown(symptom: str) -> Problem:
    return Problem(
        symptom=symptom,
        cause="No details were reported.",
        fix="Look at the run on GitHub, then `/creators-onboard retry`.",
    )
