"""The pure rules: `state.decide` (what an event means) and `deploy.refusal` (why not now)."""

from __future__ import annotations

import pytest

from bot.runbook import load_runbook
from bot.runbook.model import Runbook
from bot.workflows.deploy import refusal
from bot.workflows.state import Event, PartitionState, RolloutState, Transition, decide

ORDER = ("dev", "stage", "demo", "prod")


@pytest.fixture(scope="module")
def runbook() -> Runbook:
    return load_runbook()


def state_at(step: str, **kwargs: object) -> RolloutState:
    state = RolloutState(
        rollout_id="rollout-1",
        owner="U0OWNER1",
        devops="U0DEVOPS1",
        started_by="U0DEVOPS1",
        started_at="2025-01-01T00:00:00+00:00",
        step=step,
        partitions=[PartitionState(name=p) for p in ORDER],
    )
    for key, value in kwargs.items():
        setattr(state, key, value)
    return state


def at_gate(**statuses: str) -> RolloutState:
    """At the deploy gate, verification green, partitions in the given statuses."""
    state = state_at("deploy_gate", verification_ok=True)
    for name, status in statuses.items():
        p = state.partition(name)
        assert p is not None
        p.status = status  # type: ignore[assignment]
        p.attempts = 1
        if status == "green":
            p.finished_at = "2025-01-01T01:00:00+00:00"
    return state


def action(name: str, step: str | None) -> Event:
    return Event(kind="action", name=name, user="U0OWNER1", at="2025-01-01T00:00:01Z", step=step)


def command(name: str, *args: str) -> Event:
    return Event(
        kind="command", name=name, user="U0DEVOPS1", at="2025-01-01T00:00:01Z", args=list(args)
    )


# -------------------------------------------------------------------------- decide


def test_advance_moves_to_the_actions_goto_and_records_its_value(runbook: Runbook) -> None:
    state = state_at("handover_choose")
    decision = decide(state, action("choose_send", "handover_choose"), runbook)
    assert decision.kind == "advance"
    assert decision.from_step == "handover_choose"
    assert decision.to_step == "handover_send"
    assert decision.value == "1Password Send"
    assert decision.action_label  # the label shown on the done message


def test_advance_without_goto_follows_next(runbook: Runbook) -> None:
    decision = decide(state_at("register_sign_in"), action("done", "register_sign_in"), runbook)
    assert decision.kind == "advance" and decision.to_step == "register_app"
    assert decision.value is None


def test_effect_runs_only_for_the_primary_action(runbook: Runbook) -> None:
    sent = decide(state_at("handover_send"), action("sent", "handover_send"), runbook)
    assert sent.kind == "advance" and sent.run_effect is True and sent.to_step == "receive"


def test_a_stale_button_is_refused_and_says_where_the_rollout_is(runbook: Runbook) -> None:
    state = state_at("register_app")
    state.history.append(
        Transition(at="t", actor="U0OWNER1", action="eligible", from_step="prereq")
    )
    done = decide(state, action("eligible", "prereq"), runbook)
    assert done.kind == "reply"
    assert "already done" in done.reply and runbook.step("register_app").title in done.reply
    other = decide(state, action("received", "receive"), runbook)
    assert other.kind == "reply" and "not for the current step" in other.reply


def test_an_unknown_action_on_the_current_step_is_refused(runbook: Runbook) -> None:
    decision = decide(state_at("prereq"), action("launch_rockets", "prereq"), runbook)
    assert decision.kind == "reply"
    assert "`launch_rockets` is not an action" in decision.reply


def test_abort_needs_a_reason(runbook: Runbook) -> None:
    for args in ((), ("   ",)):
        decision = decide(state_at("prereq"), command("abort", *args), runbook)
        assert decision.kind == "reply" and "abort <reason>" in decision.reply
    ok = decide(state_at("prereq"), command("abort", "owner left the company"), runbook)
    assert ok.kind == "abort" and ok.reason == "owner left the company"


def test_verify_before_populate_is_refused(runbook: Runbook) -> None:
    for step in ("prereq", "register_tag", "receive"):
        decision = decide(state_at(step), command("verify"), runbook)
        assert decision.kind == "reply", step
        assert "populated" in decision.reply and runbook.step(step).title in decision.reply
    for step in ("populate", "verify", "deploy_gate"):
        assert decide(state_at(step), command("verify"), runbook).kind == "verify", step


def test_finished_rollouts_refuse_everything(runbook: Runbook) -> None:
    for status in ("complete", "aborted"):
        state = at_gate()
        state.status = status
        for event in (command("deploy", "dev"), command("abort", "x"), action("done", "prereq")):
            decision = decide(state, event, runbook)
            assert decision.kind == "reply" and status in decision.reply


def test_buttons_are_refused_while_halted_but_commands_reach_the_deploy_rules(
    runbook: Runbook,
) -> None:
    state = at_gate(dev="red")
    state.status = "halted"
    pressed = decide(state, action("anything", "deploy_gate"), runbook)
    assert pressed.kind == "reply" and "halted" in pressed.reply
    assert decide(state, command("retry"), runbook).kind == "retry"
    assert decide(state, command("deploy", "stage"), runbook).partition == "stage"


def test_unknown_command_is_refused(runbook: Runbook) -> None:
    decision = decide(state_at("prereq"), command("rotate"), runbook)
    assert decision.kind == "reply" and "`rotate`" in decision.reply


# ------------------------------------------------------------------------- refusal


def test_the_next_partition_in_order_is_allowed(runbook: Runbook) -> None:
    assert refusal(at_gate(), runbook, "deploy", "dev") is None
    assert refusal(at_gate(dev="green"), runbook, "deploy", "stage") is None
    assert refusal(
        at_gate(dev="green", stage="green", demo="green"), runbook, "deploy", "prod"
    ) is (None)


def test_deploy_before_verification_is_refused(runbook: Runbook) -> None:
    why = refusal(state_at("populate"), runbook, "deploy", "dev")
    assert why is not None and "verify green" in why
    assert runbook.step("populate").title in why
    # At the gate but verification went red again (a re-run): still refused.
    red = at_gate()
    red.verification_ok = False
    why = refusal(red, runbook, "deploy", "dev")
    assert why is not None and "verify green" in why


def test_out_of_order_names_the_order_and_the_next_partition(runbook: Runbook) -> None:
    why = refusal(at_gate(dev="green"), runbook, "deploy", "prod")
    assert why is not None
    assert "Out of order" in why and "dev → stage → demo → prod" in why and "*stage*" in why


def test_an_already_green_partition_is_refused_with_its_time(runbook: Runbook) -> None:
    why = refusal(at_gate(dev="green"), runbook, "deploy", "dev")
    assert why is not None and "already green" in why and "2025-01-01T01:00:00" in why


def test_anything_while_a_partition_runs_is_refused(runbook: Runbook) -> None:
    state = at_gate(dev="green", stage="running")
    for name, partition in (("deploy", "demo"), ("deploy", "stage"), ("retry", None)):
        why = refusal(state, runbook, name, partition)
        assert why is not None and "stage is deploying" in why, name
    why = refusal(state, runbook, "smoke", "dev")
    assert why is not None and "stage is deploying" in why


def test_retry_needs_a_halt(runbook: Runbook) -> None:
    why = refusal(at_gate(dev="green"), runbook, "retry", None)
    assert why is not None and "Nothing is halted" in why
    halted = at_gate(dev="green", stage="red")
    halted.status = "halted"
    halted.halt_reason = "stage: amm.yml run failure"
    assert refusal(halted, runbook, "retry", None) is None


def test_deploy_while_halted_says_retry_or_abort(runbook: Runbook) -> None:
    halted = at_gate(dev="green", stage="red")
    halted.status = "halted"
    halted.halt_reason = "stage: amm.yml run failure"
    why = refusal(halted, runbook, "deploy", "demo")
    assert why is not None and "halted" in why and "stage: amm.yml run failure" in why
    assert "Retry or abort" in why


def test_unknown_or_missing_partition_lists_the_choices(runbook: Runbook) -> None:
    for partition in (None, "qa"):
        why = refusal(at_gate(), runbook, "deploy", partition)
        assert why is not None and "dev, stage, demo, prod" in why


def test_smoke_only_on_a_partition_that_was_deployed(runbook: Runbook) -> None:
    state = at_gate(dev="green")
    assert refusal(state, runbook, "smoke", "dev") is None
    why = refusal(state, runbook, "smoke", "stage")
    assert why is not None and "has not been deployed" in why and "stage" in why
    # A red (halted) partition can be smoke-tested again: it was deployed.
    state = at_gate(dev="green", stage="red")
    state.status = "halted"
    assert refusal(state, runbook, "smoke", "stage") is None


def test_every_partition_green_refuses_a_further_deploy(runbook: Runbook) -> None:
    state = at_gate(dev="green", stage="green", demo="green", prod="green")
    why = refusal(state, runbook, "deploy", "prod")
    assert why is not None and "already green" in why


def test_rerun_button_of_an_older_card_verifies_again_at_the_deploy_gate() -> None:
    from bot.runbook import load_runbook
    from bot.workflows.state import Event, RolloutState, decide

    state = RolloutState(
        rollout_id="rollout-1",
        owner="U0OWNER1",
        devops="U0DEVOPS1",
        started_by="U0DEVOPS1",
        started_at="2026-11-22T00:00:00+00:00",
        step="deploy_gate",
    )
    event = Event(kind="action", name="rerun_verify", user="U0DEVOPS1", at="t", step="verify")
    assert decide(state, event, load_runbook()).kind == "verify"
