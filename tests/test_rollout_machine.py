"""The rollout's pure state machine: every (step, request, role) judged, every transition.

No DBOS, Slack or I/O: states are built by hand and `machine.handle` is called directly.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import FileConfig
from bot.rollout import effects as fx
from bot.rollout import machine
from bot.rollout.events import (
    AbortRequest,
    AmplifyChecked,
    CardPosted,
    DeployRequest,
    Dispatched,
    HelpRequest,
    PrGateChecked,
    Quiet,
    ReadyChecked,
    RelayRequest,
    Request,
    RetryRequest,
    RunConcluded,
    RunMoved,
    RunPosted,
    SmokeDone,
    SmokeRequest,
    StepAction,
    VaultsChecked,
    VerifyRequest,
    parse_event,
)
from bot.rollout.rules import Rules, refusal
from bot.rollout.state import (
    CheckResult,
    PartitionState,
    PostedCard,
    RolloutState,
    RunProgress,
    Transition,
)
from bot.runbook import load_runbook
from bot.runbook.problem import Problem

OWNER, DEVOPS, STRANGER = "U0OWNER1", "U0DEVOPS1", "U0STRANGER"
ORDER = ("dev", "stage", "demo", "prod")
AT = "2026-01-01T00:00:01+00:00"
RUNBOOK = load_runbook()
PROBLEM = Problem(symptom="It broke.", cause="A cause.", fix="A fix.")


def rules(**config: Any) -> Rules:
    cfg = {"slack": {"account_owners": [OWNER], "devops": [DEVOPS]}, **config}
    return Rules(runbook=RUNBOOK, config=FileConfig.model_validate(cfg))


RULES = rules()


def state_at(step: str, **kwargs: Any) -> RolloutState:
    state = RolloutState(
        rollout_id="rollout-1",
        owner=OWNER,
        devops=DEVOPS,
        started_by=DEVOPS,
        started_at="2026-01-01T00:00:00+00:00",
        step=step,
        partitions=[PartitionState(name=p) for p in ORDER],
    )
    for key, value in kwargs.items():
        setattr(state, key, value)
    return state


def at_gate(**statuses: str) -> RolloutState:
    """At the deploy gate, vaults green, partitions in the given statuses."""
    state = state_at("deploy_gate", verification_ok=True)
    for name, status in statuses.items():
        p = state.partition(name)
        assert p is not None
        p.status = status  # type: ignore[assignment]
        p.attempts = 1
        if status == "green":
            p.finished_at = "2026-01-01T01:00:00+00:00"
        if status == "red":
            state.status = "halted"
            state.halt_reason = f"{name}: amm.yml run failure"
            p.failed_check = "run"
    return state


def running(name: str, doing: str, run_id: int | None = 7, **done: str) -> RolloutState:
    """`name` running, the bot at stage `doing`; the partitions in `done` as given."""
    state = at_gate(**done)
    p = state.partition(name)
    assert p is not None
    p.status, p.stage, p.run_id, p.attempts = "running", doing, run_id, 1  # type: ignore[assignment]
    return state


def kinds(effects: list[fx.Effect]) -> list[str]:
    """Each effect by name (a notice by its key)."""
    return [e.key if isinstance(e, fx.Notice) else type(e).__name__ for e in effects]


def ask(
    state: RolloutState, request: DeployRequest | RetryRequest, rules_: Rules = RULES
) -> machine.Outcome:
    """A deploy or retry, through its readiness check (found ready) to what it starts."""
    asked = machine.handle(state, request, rules_)
    assert asked.refused is None, asked.refused
    (check,) = asked.effects
    assert isinstance(check, fx.CheckReady)
    ready = ReadyChecked(at=AT, request=request, partition=check.partition)
    return machine.handle(asked.state, ready, rules_)


def requests(user: str, step: str) -> dict[str, Request]:
    """One request of each kind, as `user` would send it while the rollout is at `step`."""
    s = RUNBOOK.step(step)
    action = s.primary_action or (s.actions[0] if s.actions else None)
    base = {"user": user, "at": AT}
    return {
        "step_action": StepAction(step=step, action=action.id if action else "none", **base),
        "help": HelpRequest(step=step, kind="stuck", **base),
        "verify": VerifyRequest(**base),
        "deploy": DeployRequest(partition="dev", **base),
        "smoke": SmokeRequest(partition="dev", **base),
        "retry": RetryRequest(**base),
        "abort": AbortRequest(reason="changed our minds", **base),
    }


# -------------------------------------------------- the table: every step × request × role


# Who may ask for each kind of request, whatever the state. A step's own buttons belong to
# the person of the *current* step (devOps for the bot's steps).
def allowed_role(kind: str, step: str) -> set[str]:
    if kind == "help":
        return {OWNER, DEVOPS}
    if kind == "step_action":
        return {OWNER} if RUNBOOK.step(step).persona == "accountOwner" else {DEVOPS}
    return {DEVOPS}


# For the person allowed: accepted, or refused with these words, on a fresh rollout.
def verdict(kind: str, step: str) -> str | None:
    s = RUNBOOK.step(step)
    if kind == "step_action":
        return None if s.actions else "not an action"
    if kind == "verify":
        return (
            None if step in ("populate", "verify", "deploy_gate") else "once devOps has populated"
        )
    if kind == "deploy":
        return None if step == "deploy_gate" else "Deploys open only after"
    if kind == "smoke":
        return "has not been deployed" if step == "deploy_gate" else "Deploys open only after"
    if kind == "retry":
        return "Nothing is halted" if step == "deploy_gate" else "Deploys open only after"
    return None  # help on the current step, abort with a reason


CASES = [
    (step.id, kind, user)
    for step in RUNBOOK.steps
    for kind in ("step_action", "help", "verify", "deploy", "smoke", "retry", "abort")
    for user in (OWNER, DEVOPS, STRANGER)
]


@pytest.mark.parametrize(("step", "kind", "user"), CASES)
def test_every_step_request_and_role(step: str, kind: str, user: str) -> None:
    state = at_gate() if step == "deploy_gate" else state_at(step)
    before = state.model_dump()
    request = requests(user, step)[kind]
    outcome = machine.handle(state, request, RULES)
    assert state.model_dump() == before  # the input state is never changed

    if user not in allowed_role(kind, step):
        assert outcome.refused is not None
        assert "you are not listed as" in outcome.refused
    else:
        expected = verdict(kind, step)
        if expected is None:
            assert outcome.refused is None, outcome.refused
        else:
            assert outcome.refused is not None and expected in outcome.refused
    if outcome.refused is not None:
        # A refusal changes nothing, answers the person and writes one audit row.
        assert outcome.state.model_dump() == before
        assert kinds(outcome.effects) == ["Reply", "Audit"]
        reply, audit = outcome.effects
        assert isinstance(reply, fx.Reply) and reply.request == request
        assert isinstance(audit, fx.Audit) and audit.outcome == "refused"
        assert audit.actor == user
        # The same rule answers at ack time, before the request reaches the workflow.
        assert refusal(state, request, RULES) == outcome.refused
    else:
        assert outcome.effects, "an accepted request does something"


def test_the_table_covers_every_step_and_request() -> None:
    assert len(CASES) == len(RUNBOOK.steps) * 7 * 3
    assert {c[0] for c in CASES} == {s.id for s in RUNBOOK.steps}


@pytest.mark.parametrize("status", ["complete", "aborted"])
@pytest.mark.parametrize("kind", ["step_action", "help", "verify", "deploy", "abort"])
def test_finished_rollouts_refuse_everything(status: str, kind: str) -> None:
    state = at_gate()
    state.status = status  # type: ignore[assignment]
    user = OWNER if kind == "help" else DEVOPS
    outcome = machine.handle(state, requests(user, "deploy_gate")[kind], RULES)
    assert outcome.refused is not None and status in outcome.refused


def test_the_role_comes_from_the_current_state_not_from_the_button() -> None:
    # The owner presses a verification button whose value says "prereq": it is devOps' call.
    state = state_at("verify")
    outcome = machine.handle(state, VerifyRequest(user=OWNER, at=AT), RULES)
    assert outcome.refused is not None and "Only devOps" in outcome.refused
    # devOps presses a button of the owner's current step (a tampered step id is stale).
    state = state_at("register_app")
    press = StepAction(user=DEVOPS, at=AT, step="register_app", action="done")
    assert "Only accountOwner" in (machine.handle(state, press, RULES).refused or "")


def test_stale_and_tampered_presses_say_where_the_rollout_is() -> None:
    state = state_at("register_app")
    state.history.append(Transition(at="t", actor=OWNER, action="eligible", from_step="prereq"))
    done = machine.handle(
        state, StepAction(user=OWNER, at=AT, step="prereq", action="eligible"), RULES
    )
    assert done.refused is not None and "already done" in done.refused
    assert RUNBOOK.step("register_app").title in done.refused
    other = machine.handle(
        state, StepAction(user=OWNER, at=AT, step="receive", action="received"), RULES
    )
    assert other.refused is not None and "not for the current step" in other.refused
    unknown = machine.handle(
        state, StepAction(user=OWNER, at=AT, step="register_app", action="launch_rockets"), RULES
    )
    assert unknown.refused is not None and "not an action" in unknown.refused
    help_elsewhere = machine.handle(
        state, HelpRequest(user=OWNER, at=AT, step="populate", kind="stuck"), RULES
    )
    assert help_elsewhere.refused is not None


def test_abort_needs_a_reason() -> None:
    for reason in ("", "   "):
        outcome = machine.handle(
            state_at("prereq"), AbortRequest(user=DEVOPS, at=AT, reason=reason), RULES
        )
        assert outcome.refused is not None and "abort <reason>" in outcome.refused


# -------------------------------------------------------------------- phases 1–6


def test_begin_opens_the_threads_with_the_configured_partitions() -> None:
    outcome = machine.begin(state_at("prereq", partitions=[]), RULES)
    assert [p.name for p in outcome.state.partitions] == list(ORDER)
    assert kinds(outcome.effects) == ["OpenThreads"]


def test_a_press_marks_the_step_done_records_it_and_posts_the_next_step() -> None:
    outcome = machine.handle(
        state_at("handover_choose"),
        StepAction(user=OWNER, at=AT, step="handover_choose", action="choose_send"),
        RULES,
    )
    new = outcome.state
    assert new.step == "handover_send" and new.handover_channel == "1Password share link"
    assert new.history[-1].from_step == "handover_choose"
    assert new.history[-1].to_step == "handover_send"
    assert kinds(outcome.effects) == ["MarkDone", "Audit", "PostStep"]


def test_sent_notifies_devops_the_ticket_and_engineering() -> None:
    state = state_at("handover_send", handover_channel="1Password Send")
    outcome = machine.handle(
        state, StepAction(user=OWNER, at=AT, step="handover_send", action="sent"), RULES
    )
    assert outcome.state.step == "receive"
    sent = [e for e in outcome.effects if isinstance(e, fx.CredentialsSent)]
    assert sent == [fx.CredentialsSent("1Password Send", AT)]


def test_populated_verifies_and_a_green_report_opens_the_gate() -> None:
    outcome = machine.handle(
        state_at("populate"),
        StepAction(user=DEVOPS, at=AT, step="populate", action="vaults_populated"),
        RULES,
    )
    assert kinds(outcome.effects) == ["MarkDone", "VerifyVaults"]
    green = VaultsChecked(at=AT, ok=True, report={"ok": True}, requested_by=DEVOPS)
    after = machine.handle(outcome.state, green, RULES)
    assert after.state.step == "deploy_gate" and after.state.verification_ok
    assert [t.action for t in after.state.history] == ["vaults_populated", "verified"]
    assert kinds(after.effects) == [
        "Audit",
        "VerificationReported",
        "Audit",
        "Audit",
        "vaults_ready",  # the infrastructure PR may merge now
        "PostStep",
        "gate_opened",
    ]
    assert after.effects[-1] == fx.PartitionNews("gate_opened", "dev")


@pytest.mark.parametrize(
    ("kind", "fingerprint", "expected"),
    [
        # Onboarding: arm the leak guard, and tell engineering the infrastructure PR may merge.
        ("onboarding", "ab12", ["ArmLeakGuard", "vaults_ready"]),
        ("onboarding", None, ["vaults_ready"]),
        # A rotation's infrastructure PR merged long ago: only the guard learns the new secret.
        ("rotation", "cd34", ["ArmLeakGuard"]),
    ],
)
def test_a_green_verification_arms_the_leak_guard_and_signals_the_merge(
    kind: str, fingerprint: str | None, expected: list[str]
) -> None:
    green = VaultsChecked(at=AT, ok=True, report={"ok": True}, fingerprint=fingerprint)
    after = machine.handle(state_at("verify", kind=kind), green, RULES)
    assert [k for k in kinds(after.effects) if k in ("ArmLeakGuard", "vaults_ready")] == expected
    if fingerprint:
        assert fx.ArmLeakGuard(fingerprint) in after.effects
    # The fingerprint never reaches the state people and handlers read.
    assert fingerprint is None or fingerprint not in after.state.model_dump_json()


def test_a_reverification_at_the_gate_does_not_signal_the_merge_again() -> None:
    green = VaultsChecked(at=AT, ok=True, report={"ok": True}, fingerprint="ab12")
    after = machine.handle(at_gate(), green, RULES)
    assert "vaults_ready" not in kinds(after.effects)
    assert "ArmLeakGuard" in kinds(after.effects)
    red = VaultsChecked(at=AT, ok=False, report={"ok": False}, fingerprint=None)
    assert "ArmLeakGuard" not in kinds(machine.handle(state_at("verify"), red, RULES).effects)


@pytest.mark.parametrize(
    ("channel", "reminded"),
    [("Slack DM", True), ("1Password share link", False), ("phone or in person", False)],
)
def test_receipt_of_a_slack_dm_reminds_both_to_delete_it(channel: str, reminded: bool) -> None:
    state = state_at("receive", handover_channel=channel)
    outcome = machine.handle(
        state, StepAction(user=DEVOPS, at=AT, step="receive", action="received"), RULES
    )
    assert outcome.state.step == "populate"
    assert ("delete_dm_reminder" in kinds(outcome.effects)) is reminded


def test_a_partition_without_amplify_says_amplify_was_not_checked() -> None:
    done = machine.handle(
        running("dev", "run"),
        RunConcluded(at=AT, partition="dev", run_id=7, conclusion="success"),
        RULES,
    )
    ps = done.state.partition("dev")
    assert ps is not None
    skipped = [c for c in ps.checks if c.skipped]
    assert [(c.name, c.detail) for c in skipped] == [
        ("Amplify", "Amplify not checked: not configured for dev")
    ]


def test_a_red_report_stays_at_verify() -> None:
    red = VaultsChecked(at=AT, ok=False, red_vaults=["Arda-StageOAM"], report={"ok": False})
    after = machine.handle(state_at("populate"), red, RULES)
    assert after.state.step == "verify" and not after.state.verification_ok
    audits = [e for e in after.effects if isinstance(e, fx.Audit) and e.action == "verify_vaults"]
    assert audits[0].outcome == "red" and audits[0].detail == "Arda-StageOAM"


def test_quiet_nudges_the_person_whose_turn_it_is_and_never_during_a_run() -> None:
    assert kinds(machine.handle(state_at("register_app"), Quiet(at=AT), RULES).effects) == [
        "nudged"
    ]
    assert machine.handle(running("dev", "run"), Quiet(at=AT), RULES).effects == []
    assert kinds(machine.handle(at_gate(dev="red"), Quiet(at=AT), RULES).effects) == [
        "nudged_halted"
    ]


# ------------------------------------------------------------------- phases 7–9


def test_deploy_closes_the_gate_and_dispatches() -> None:
    state = at_gate()
    state.gate = PostedCard(ts="1.1", text="Ready to deploy dev", blocks=[])
    outcome = ask(state, DeployRequest(user=DEVOPS, at=AT, partition="dev"))
    dev = outcome.state.partition("dev")
    assert dev is not None and dev.status == "running" and dev.stage == "dispatch"
    assert outcome.state.gate is None
    assert kinds(outcome.effects) == ["Audit", "CloseCard", "Sync", "DeployStarted", "Dispatch"]


def test_pr_gate_is_checked_before_the_first_deploy_only() -> None:
    gated = rules(github={"pull_request": 438})
    first = ask(at_gate(), DeployRequest(user=DEVOPS, at=AT, partition="dev"), gated)
    assert kinds(first.effects) == ["CheckPrGate"]
    request = DeployRequest(user=DEVOPS, at=AT, partition="dev")
    blocked = machine.handle(
        first.state, PrGateChecked(at=AT, request=request, problem=PROBLEM), gated
    )
    assert kinds(blocked.effects) == ["Reply", "Audit"]
    assert blocked.state.partition("dev").status == "pending"  # type: ignore[union-attr]
    ok = machine.handle(first.state, PrGateChecked(at=AT, request=request), gated)
    assert "Dispatch" in kinds(ok.effects)
    later = ask(at_gate(dev="green"), DeployRequest(user=DEVOPS, at=AT, partition="stage"), gated)
    assert "Dispatch" in kinds(later.effects)


def test_a_dispatched_run_is_followed_and_its_conclusion_comes_back_as_an_event() -> None:
    state = running("dev", "dispatch", run_id=None)
    outcome = machine.handle(state, Dispatched(at=AT, partition="dev", run_id=41, url="u"), RULES)
    dev = outcome.state.partition("dev")
    assert dev is not None and dev.run_id == 41 and dev.earlier_runs == [41] and dev.stage == "run"
    assert kinds(outcome.effects) == ["run_started", "Sync", "FollowRun"]
    done = machine.handle(
        outcome.state, RunConcluded(at=AT, partition="dev", run_id=41, conclusion="success"), RULES
    )
    assert kinds(done.effects) == ["run_progress", "Smoke"]  # no Amplify configured


def test_amplify_is_checked_when_configured() -> None:
    with_amplify = rules(
        partitions=[
            {"name": p, "vault": f"V{p}", "amplify": {"app_id": "d1", "branch": "main"}}
            for p in ORDER
        ]
    )
    done = machine.handle(
        running("dev", "run"),
        RunConcluded(at=AT, partition="dev", run_id=7, conclusion="success"),
        with_amplify,
    )
    assert kinds(done.effects) == ["run_progress", "CheckAmplify"]
    red = machine.handle(
        done.state, AmplifyChecked(at=AT, partition="dev", problem=PROBLEM), with_amplify
    )
    assert red.state.status == "halted" and red.state.partition("dev").failed_check == "amplify"  # type: ignore[union-attr]
    green = machine.handle(done.state, AmplifyChecked(at=AT, partition="dev"), with_amplify)
    assert kinds(green.effects) == ["Smoke"]


def test_a_late_word_from_an_earlier_run_changes_nothing() -> None:
    state = running("dev", "run", run_id=8)
    outcome = machine.handle(
        state,
        RunConcluded(at=AT, partition="dev", run_id=7, conclusion="failure", problem=PROBLEM),
        RULES,
    )
    assert outcome.effects == [] and outcome.state == state


def test_a_failed_run_halts_with_the_problem_and_touches_nothing_later() -> None:
    outcome = machine.handle(
        running("stage", "run", dev="green"),
        RunConcluded(at=AT, partition="stage", run_id=7, conclusion="failure", problem=PROBLEM),
        RULES,
    )
    new = outcome.state
    assert new.status == "halted" and new.halt_reason == "stage: amm.yml run failure"
    assert [p.status for p in new.partitions] == ["green", "red", "pending", "pending"]
    halted = [e for e in outcome.effects if isinstance(e, fx.Halted)]
    assert halted == [fx.Halted("stage", "amm.yml run failure", PROBLEM, None)]


def test_a_run_that_could_not_be_followed_halts_and_a_retry_resumes_following_it() -> None:
    outcome = machine.handle(
        running("dev", "run"),
        RunConcluded(at=AT, partition="dev", run_id=7, problem=PROBLEM, followed=False),
        RULES,
    )
    assert outcome.state.partition("dev").failed_check == "follow"  # type: ignore[union-attr]
    retried = ask(outcome.state, RetryRequest(user=DEVOPS, at=AT))
    assert "Dispatch" not in kinds(retried.effects)
    assert kinds(retried.effects)[-1] == "FollowRun"


def test_dispatch_failure_halts_and_retry_dispatches_again() -> None:
    outcome = machine.handle(
        running("dev", "dispatch", run_id=None),
        Dispatched(at=AT, partition="dev", problem=PROBLEM),
        RULES,
    )
    assert outcome.state.status == "halted"
    retried = ask(outcome.state, RetryRequest(user=DEVOPS, at=AT))
    assert kinds(retried.effects)[-1] == "Dispatch"
    assert retried.state.status == "active"


LATER = "2026-01-01T00:05:00+00:00"

# The result that halts dev at each check (dev running at the stage before it).
HALTS: dict[str, tuple[str, Any]] = {
    "dispatch": ("dispatch", Dispatched(at=AT, partition="dev", problem=PROBLEM)),
    "run": (
        "run",
        RunConcluded(at=AT, partition="dev", run_id=7, conclusion="failure", problem=PROBLEM),
    ),
    "follow": (
        "run",
        RunConcluded(at=AT, partition="dev", run_id=7, problem=PROBLEM, followed=False),
    ),
    "amplify": ("amplify", AmplifyChecked(at=AT, partition="dev", problem=PROBLEM)),
    "smoke": ("smoke", SmokeDone(at=AT, partition="dev", ok=False, problem=PROBLEM)),
}


def halted_at(failed: str) -> RolloutState:
    stage, result = HALTS[failed]
    state = running("dev", stage, run_id=None if stage == "dispatch" else 7)
    dev = state.partition("dev")
    assert dev is not None
    dev.dispatched_since = AT
    if stage in ("amplify", "smoke"):
        dev.checks = [CheckResult(name="amm.yml", detail="run succeeded")]
    outcome = machine.handle(state, result, RULES)
    assert outcome.state.status == "halted"
    assert outcome.state.partition("dev").failed_check == failed  # type: ignore[union-attr]
    return outcome.state


# failed check, redeploy → the effect the retry ends with (what it starts doing)
RETRIES = [
    ("dispatch", False, "Dispatch"),
    ("run", False, "Dispatch"),
    ("follow", False, "FollowRun"),
    ("amplify", False, "CheckAmplify"),
    ("smoke", False, "Smoke"),
    ("follow", True, "Dispatch"),
    ("amplify", True, "Dispatch"),
    ("smoke", True, "Dispatch"),
    ("run", True, "Dispatch"),
]


@pytest.mark.parametrize(("failed", "redeploy", "last"), RETRIES)
def test_retry_repeats_the_failed_check_and_dispatches_only_when_it_must(
    failed: str, redeploy: bool, last: str
) -> None:
    retried = ask(halted_at(failed), RetryRequest(user=DEVOPS, at=LATER, redeploy=redeploy))
    assert retried.refused is None and retried.state.status == "active"
    effects = kinds(retried.effects)
    assert effects[-1] == last
    assert effects.count("Dispatch") == (last == "Dispatch")
    dev = retried.state.partition("dev")
    assert dev is not None and dev.status == "running" and dev.failed_check is None
    assert dev.attempts == 2
    started = next(e for e in retried.effects if isinstance(e, fx.DeployStarted))
    assert started.resumed == {"Dispatch": "dispatch", "FollowRun": "run"}.get(
        last, last.removeprefix("Check").lower()
    )
    audit = next(e for e in retried.effects if isinstance(e, fx.Audit))
    assert audit.action == ("redeploy:dev" if redeploy else "retry:dev")
    if last == "Dispatch":
        dispatch = retried.effects[-1]
        assert isinstance(dispatch, fx.Dispatch)
        # A failed dispatch is looked for from its own start (it may have started a run);
        # anything else dispatches anew from now.
        keep = failed == "dispatch" and not redeploy
        assert dispatch.not_before == (AT if keep else LATER)
        assert dev.run_id is None and dev.checks == []
    else:
        assert dev.run_id == 7
    if last in ("CheckAmplify", "Smoke"):
        # What went green before the repeated check stays listed for the green message.
        assert [c.name for c in dev.checks] == ["amm.yml"]
    if last == "Smoke":
        smoke = retried.effects[-1]
        assert isinstance(smoke, fx.Smoke) and smoke.key == "dev:2"  # a fresh durable id


def test_a_failed_run_names_its_failing_job_and_step() -> None:
    outcome = machine.handle(
        running("prod", "run", dev="green", stage="green", demo="green"),
        RunConcluded(
            at=AT,
            partition="prod",
            run_id=7,
            conclusion="failure",
            problem=PROBLEM,
            failed_job="deploy",
            failed_step="Check for drift",
            log_url="https://github.com/o/r/actions/runs/7/job/71",
        ),
        RULES,
    )
    prod = outcome.state.partition("prod")
    assert prod is not None and prod.failed_check == "run"
    assert (prod.failed_job, prod.failed_step) == ("deploy", "Check for drift")
    assert prod.log_url == "https://github.com/o/r/actions/runs/7/job/71"
    assert outcome.state.halt_reason == "prod: amm.yml run failure at Check for drift"
    retried = ask(outcome.state, RetryRequest(user=DEVOPS, at=LATER))
    prod = retried.state.partition("prod")
    assert prod is not None and prod.failed_job is prod.failed_step is prod.log_url is None


def test_a_run_moving_edits_its_message_and_its_end_is_shown_too() -> None:
    state = running("dev", "run")
    posted = machine.handle(state, RunPosted(partition="dev", run_id=7, ts="5.5"), RULES)
    assert posted.effects == [] and posted.state.partition("dev").run_ts == "5.5"  # type: ignore[union-attr]
    progress = RunProgress(
        status="in_progress", job="deploy", step="Check for drift", run_started=AT, at=LATER
    )
    moved = machine.handle(
        posted.state, RunMoved(at=LATER, partition="dev", run_id=7, progress=progress), RULES
    )
    assert kinds(moved.effects) == ["run_progress"]
    assert moved.state.partition("dev").progress == progress  # type: ignore[union-attr]
    # A report about another run (an earlier attempt) changes nothing.
    stale = machine.handle(
        moved.state, RunMoved(at=LATER, partition="dev", run_id=6, progress=progress), RULES
    )
    assert stale.effects == [] and stale.state == moved.state
    ended = machine.handle(
        moved.state,
        RunConcluded(at=LATER, partition="dev", run_id=7, conclusion="success", run_started=AT),
        RULES,
    )
    assert kinds(ended.effects)[0] == "run_progress"
    final = ended.state.partition("dev").progress  # type: ignore[union-attr]
    assert final is not None and (final.status, final.conclusion) == ("completed", "success")
    assert final.run_started == AT


def test_a_deploy_that_would_fail_for_a_configuration_reason_starts_nothing() -> None:
    """The readiness check before a dispatch: problems → refused with each fix, the gate
    stays; the rollout moved meanwhile → refused with the current reason."""
    state = at_gate()
    state.gate = PostedCard(ts="1.1", text="Ready to deploy dev", blocks=[])
    request = DeployRequest(user=DEVOPS, at=AT, partition="dev")
    asked = machine.handle(state, request, RULES)
    assert asked.effects == [fx.CheckReady(request, "dev")] and asked.state == state
    token = Problem(
        symptom="BFF_TOKEN_DEV is not set.", cause="It is unset.", fix="Set BFF_TOKEN_DEV."
    )
    not_ready = machine.handle(
        state, ReadyChecked(at=AT, request=request, partition="dev", problems=[token]), RULES
    )
    assert kinds(not_ready.effects) == ["Reply", "Audit"]
    reply = not_ready.effects[0]
    assert isinstance(reply, fx.Reply)
    assert "I did not deploy *dev*" in reply.text and "Fix: Set BFF_TOKEN_DEV." in reply.text
    assert "Nothing was started" in reply.text and "*Deploy dev* button" in reply.text
    assert not_ready.state == state  # the gate is still open, nothing is running
    moved = running("dev", "run")
    late = machine.handle(moved, ReadyChecked(at=AT, request=request, partition="dev"), RULES)
    assert kinds(late.effects) == ["Reply", "Audit"] and late.state == moved
    retry = RetryRequest(user=DEVOPS, at=AT)
    halted = halted_at("smoke")
    asked = machine.handle(halted, retry, RULES)
    assert asked.effects == [fx.CheckReady(retry, "dev")]
    refused = machine.handle(
        halted, ReadyChecked(at=AT, request=retry, partition="dev", problems=[token]), RULES
    )
    assert refused.state == halted
    assert "`/creators-onboard retry` again" in refused.effects[0].text  # type: ignore[attr-defined]


@pytest.mark.parametrize("step", ["prereq", "populate", "deploy_gate"])
def test_either_person_may_pass_words_to_the_other_and_nobody_else(step: str) -> None:
    state = state_at(step)
    for user, to in ((OWNER, "devOps"), (DEVOPS, "accountOwner")):
        outcome = machine.handle(state, RelayRequest(user=user, at=AT, text="a question"), RULES)
        assert outcome.refused is None and outcome.state == state
        relayed, audit = outcome.effects
        assert relayed == fx.Relayed(user, "a question")
        assert isinstance(audit, fx.Audit) and audit.detail == f"to {to} (10 characters)"
        assert "question" not in audit.detail
    stranger = machine.handle(state, RelayRequest(user=STRANGER, at=AT, text="hi"), RULES)
    assert stranger.refused is not None and "Only" in stranger.refused
    other_devops = rules(slack={"account_owners": [OWNER], "devops": [DEVOPS, "U0OTHER1"]})
    outsider = machine.handle(state, RelayRequest(user="U0OTHER1", at=AT, text="hi"), other_devops)
    assert outsider.refused is not None and "two people on this rollout" in outsider.refused
    empty = machine.handle(state, RelayRequest(user=OWNER, at=AT, text="  "), RULES)
    assert empty.refused is not None and "nothing to pass on" in empty.refused
    done = state_at(step, status="complete")
    assert machine.handle(done, RelayRequest(user=OWNER, at=AT, text="x"), RULES).refused


def test_green_smoke_opens_the_next_gate_and_prod_completes() -> None:
    done = SmokeDone(at=AT, partition="dev", ok=True, asin="B08N5WRWNW")
    outcome = machine.handle(running("dev", "smoke"), done, RULES)
    assert outcome.state.partition("dev").status == "green"  # type: ignore[union-attr]
    assert kinds(outcome.effects) == ["Audit", "green", "deploy_log", "gate_opened"]
    last = SmokeDone(at=AT, partition="prod", ok=True)
    final = machine.handle(
        running("prod", "smoke", dev="green", stage="green", demo="green"), last, RULES
    )
    assert final.state.status == "complete" and final.state.finished
    assert kinds(final.effects)[-2:] == ["completed", "handoff"]


def test_red_smoke_halts_with_the_report() -> None:
    done = SmokeDone(
        at=AT,
        partition="dev",
        ok=False,
        failed="import (AMAZON_RATE_LIMITED)",
        problem=PROBLEM,
        report={"ok": False},
    )
    outcome = machine.handle(running("dev", "smoke"), done, RULES)
    assert outcome.state.halt_reason == "dev: smoke test: import (AMAZON_RATE_LIMITED)"
    halted = next(e for e in outcome.effects if isinstance(e, fx.Halted))
    assert halted.smoke_report == {"ok": False}


def test_on_demand_smoke_only_reports() -> None:
    state = at_gate(dev="green")
    outcome = machine.handle(state, SmokeRequest(user=DEVOPS, at=AT, partition="dev"), RULES)
    smoke = outcome.effects[0]
    assert isinstance(smoke, fx.Smoke) and smoke.on_demand and smoke.key == "dev:on-demand:1"
    report = machine.handle(
        outcome.state, SmokeDone(at=AT, partition="dev", ok=False, on_demand=True), RULES
    )
    assert kinds(report.effects) == ["SmokeReported"]
    assert report.state.status == "active"


def test_abort_during_a_run_cancels_following_and_closes_the_cards() -> None:
    state = running("dev", "run")
    state.halt_card = PostedCard(ts="2.2", text="halt", blocks=[])
    outcome = machine.handle(state, AbortRequest(user=DEVOPS, at=AT, reason="wrong account"), RULES)
    assert outcome.state.status == "aborted" and outcome.state.halt_card is None
    assert outcome.state.partition("dev").failed_check == "aborted"  # type: ignore[union-attr]
    assert kinds(outcome.effects) == ["Audit", "CloseCard", "CancelFollow", "Aborted"]


@pytest.mark.parametrize(
    ("state", "request_", "needle"),
    [
        (at_gate(dev="green"), DeployRequest(user=DEVOPS, at=AT, partition="prod"), "Out of order"),
        (at_gate(dev="green"), DeployRequest(user=DEVOPS, at=AT, partition="dev"), "already green"),
        (at_gate(), DeployRequest(user=DEVOPS, at=AT, partition="qa"), "dev, stage, demo, prod"),
        (at_gate(), DeployRequest(user=DEVOPS, at=AT, partition=None), "Which partition"),
        (
            running("stage", "run", dev="green"),
            DeployRequest(user=DEVOPS, at=AT, partition="demo"),
            "stage is deploying",
        ),
        (
            running("stage", "run", dev="green"),
            RetryRequest(user=DEVOPS, at=AT),
            "stage is deploying",
        ),
        (
            running("stage", "run", dev="green"),
            SmokeRequest(user=DEVOPS, at=AT, partition="dev"),
            "stage is deploying",
        ),
        (
            at_gate(dev="green", stage="red"),
            DeployRequest(user=DEVOPS, at=AT, partition="demo"),
            "Retry or abort",
        ),
        (
            at_gate(dev="green", stage="green", demo="green", prod="green"),
            DeployRequest(user=DEVOPS, at=AT, partition="prod"),
            "already green",
        ),
        (
            at_gate(dev="green", stage="red"),
            StepAction(user=DEVOPS, at=AT, step="deploy_gate", action="x"),
            "halted",
        ),
    ],
)
def test_deploy_rules(state: RolloutState, request_: Request, needle: str) -> None:
    outcome = machine.handle(state, request_, RULES)
    assert outcome.refused is not None and needle in outcome.refused


def test_deploy_after_a_red_reverification_is_refused() -> None:
    red = at_gate()
    red.verification_ok = False
    outcome = machine.handle(red, DeployRequest(user=DEVOPS, at=AT, partition="dev"), RULES)
    assert outcome.refused is not None and "verify green" in outcome.refused


def test_retry_and_smoke_of_the_halted_partition_are_allowed() -> None:
    halted = at_gate(dev="green", stage="red")
    assert refusal(halted, RetryRequest(user=DEVOPS, at=AT), RULES) is None
    assert refusal(halted, SmokeRequest(user=DEVOPS, at=AT, partition="stage"), RULES) is None


def test_posted_cards_are_remembered() -> None:
    posted = CardPosted(slot="halt", ts="3.3", text="t", blocks=[{"type": "divider"}])
    outcome = machine.handle(at_gate(dev="red"), posted, RULES)
    assert outcome.state.halt_card == PostedCard(ts="3.3", text="t", blocks=[{"type": "divider"}])


def test_events_round_trip_through_json() -> None:
    for event in (
        RunConcluded(at=AT, partition="dev", run_id=1, problem=PROBLEM),
        StepAction(user=OWNER, at=AT, step="prereq", action="eligible"),
        PrGateChecked(at=AT, request=DeployRequest(user=DEVOPS, at=AT, partition="dev")),
        RetryRequest(user=DEVOPS, at=AT, redeploy=True),
        ReadyChecked(at=AT, request=RetryRequest(user=DEVOPS, at=AT), partition="dev"),
        ReadyChecked(
            at=AT, request=DeployRequest(user=DEVOPS, at=AT, partition="dev"), partition="dev"
        ),
    ):
        assert parse_event(event.model_dump(mode="json")) == event


# ------------------------------------------- every result the bot reports, at every step

RESULTS = [
    Dispatched(at=AT, partition="dev", run_id=1),
    Dispatched(at=AT, partition="dev", problem=PROBLEM),
    RunConcluded(at=AT, partition="dev", run_id=1, conclusion="success"),
    RunConcluded(at=AT, partition="dev", run_id=1, conclusion="failure", problem=PROBLEM),
    RunConcluded(at=AT, partition="dev", run_id=1, problem=PROBLEM, followed=False),
    AmplifyChecked(at=AT, partition="dev"),
    AmplifyChecked(at=AT, partition="dev", problem=PROBLEM),
    SmokeDone(at=AT, partition="dev", ok=True),
    SmokeDone(at=AT, partition="dev", ok=False, problem=PROBLEM),
    RunMoved(at=AT, partition="dev", run_id=1, progress=RunProgress(status="queued", at=AT)),
]


@pytest.mark.parametrize("step", [s.id for s in RUNBOOK.steps])
@pytest.mark.parametrize("result", RESULTS, ids=lambda r: f"{r.type}")
def test_a_result_for_a_partition_that_is_not_running_changes_nothing(
    step: str, result: Any
) -> None:
    """A late, repeated or stray result (a run followed before an abort, a smoke test of an
    earlier attempt) never moves a rollout, wherever it stands."""
    for state in (state_at(step), at_gate(dev="green"), at_gate(dev="red")):
        outcome = machine.handle(state, result, RULES)
        assert outcome.refused is None
        assert outcome.effects == [] and outcome.state == state
