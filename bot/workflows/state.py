"""The rollout's state and the pure rules that move it. No I/O, no Slack, no DBOS.

The workflow (onboarding.py) owns one `RolloutState`, feeds every incoming `Event` to
`decide()`, and carries out the `Decision` with durable steps. Keeping the rules pure
keeps them testable and keeps the workflow deterministic on replay.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from bot.runbook.model import Persona, Runbook, Step

RolloutKind = Literal["onboarding", "rotation"]
RolloutStatus = Literal["active", "halted", "complete", "aborted"]
PartitionStatusName = Literal["pending", "running", "green", "red"]

EVENT_TOPIC = "events"
STATE_EVENT = "state"


class Transition(BaseModel):
    at: str
    actor: str
    action: str
    from_step: str
    to_step: str | None = None
    note: str = ""


class PersonaThread(BaseModel):
    user: str
    channel: str
    parent_ts: str


class PartitionState(BaseModel):
    name: str
    status: PartitionStatusName = "pending"
    run_id: int | None = None
    run_url: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    failed_check: str | None = None
    detail: str | None = None
    attempts: int = 0
    # Every run dispatched for this partition, so a retry never adopts an old one.
    earlier_runs: list[int] = Field(default_factory=list)


class PostedCard(BaseModel):
    """A message with buttons, kept so it can be edited once its buttons are used."""

    ts: str
    text: str
    blocks: list[dict[str, Any]]


class RolloutState(BaseModel):
    rollout_id: str
    kind: RolloutKind = "onboarding"
    owner: str
    devops: str
    started_by: str
    started_at: str
    status: RolloutStatus = "active"
    step: str
    handover_channel: str | None = None
    threads: dict[str, PersonaThread] = Field(default_factory=dict)
    step_ts: dict[str, str] = Field(default_factory=dict)
    history: list[Transition] = Field(default_factory=list)
    verification: dict[str, Any] | None = None
    verification_ok: bool = False
    partitions: list[PartitionState] = Field(default_factory=list)
    status_ts: str | None = None
    abort_reason: str | None = None
    halt_reason: str | None = None
    # Messages whose buttons must go once used: the open deploy gate, the open halt card.
    gate: PostedCard | None = None
    halt_card: PostedCard | None = None

    def waiting_on(self, runbook: Runbook) -> Persona | None:
        if self.status != "active":
            return None
        return runbook.step(self.step).persona

    def partition(self, name: str) -> PartitionState | None:
        return next((p for p in self.partitions if p.name == name), None)


class Event(BaseModel):
    """Something a person did, as delivered to the workflow by a handler."""

    kind: Literal["action", "command"]
    name: str
    user: str
    at: str
    step: str | None = None
    args: list[str] = Field(default_factory=list)
    channel: str | None = None
    response_url: str | None = None


DecisionKind = Literal[
    "advance", "reply", "stuck", "ping", "verify", "abort", "deploy", "smoke", "retry"
]


class Decision(BaseModel):
    kind: DecisionKind
    reply: str = ""
    # advance
    from_step: str | None = None
    to_step: str | None = None
    action_label: str = ""
    value: str | None = None
    run_effect: bool = False
    # deploy / smoke / retry / abort
    partition: str | None = None
    reason: str = ""


def _where(runbook: Runbook, state: RolloutState) -> str:
    step = runbook.step(state.step)
    return f"*{step.title}* (step for {step.persona})"


def decide(state: RolloutState, event: Event, runbook: Runbook) -> Decision:
    """What an event means in the current state. Refusals are `reply` decisions."""
    if state.status in ("complete", "aborted"):
        return Decision(kind="reply", reply=f"This rollout is {state.status}; nothing more to do.")

    if event.kind == "command":
        return _command(state, event, runbook)

    if event.name == "stuck" and event.step:
        return Decision(kind="stuck", from_step=event.step)
    if event.name == "ping_devops" and event.step:
        return Decision(kind="ping", from_step=event.step)

    if event.name == "rerun_verify" and state.step in ("verify", "deploy_gate"):
        # The re-run button of any verification card, also after a later red re-check.
        return Decision(kind="verify", from_step=state.step, action_label="Re-run verification")
    if event.step != state.step:
        done = event.step and any(t.from_step == event.step for t in state.history)
        lead = "That step is already done" if done else "That button is not for the current step"
        return Decision(
            kind="reply", reply=f"{lead}. The rollout is now at {_where(runbook, state)}."
        )
    if state.status == "halted":
        return Decision(
            kind="reply",
            reply="The rollout is halted; use the Retry or Abort buttons on the halt card first.",
        )
    step: Step = runbook.step(state.step)
    action = step.action(event.name)
    if action is None:
        return Decision(
            kind="reply", reply=f"`{event.name}` is not an action of {_where(runbook, state)}."
        )
    target = action.goto or step.next
    run_effect = bool(step.effect) and action.effect_runs
    if step.effect == "verify_vaults" and run_effect:
        return Decision(kind="verify", from_step=step.id, action_label=action.label)
    return Decision(
        kind="advance",
        from_step=step.id,
        to_step=target,
        action_label=action.label,
        value=action.value,
        run_effect=run_effect,
    )


def _command(state: RolloutState, event: Event, runbook: Runbook) -> Decision:
    name = event.name
    if name == "abort":
        reason = " ".join(event.args).strip()
        if not reason:
            return Decision(kind="reply", reply="Say why: `/creators-onboard abort <reason>`.")
        return Decision(kind="abort", reason=reason)
    if name == "verify":
        if state.step not in ("populate", "verify", "deploy_gate") and not state.verification:
            return Decision(
                kind="reply",
                reply="The vaults can be verified once devOps has populated them. "
                f"The rollout is now at {_where(runbook, state)}.",
            )
        return Decision(kind="verify", from_step=state.step, action_label="verify command")
    if name in ("deploy", "smoke", "retry"):
        partition = event.args[0] if event.args else None
        kind: DecisionKind = (
            "deploy" if name == "deploy" else "smoke" if name == "smoke" else "retry"
        )
        return Decision(kind=kind, partition=partition)
    return Decision(kind="reply", reply=f"`{name}` is not something the rollout can do.")


def record(state: RolloutState, transition: Transition) -> None:
    state.history.append(transition)
