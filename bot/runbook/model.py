"""The runbook as data: phases, steps, actions and troubleshooting cards.

The onboarding workflow is an interpreter of this graph: it stands on one step at a
time, and a press of one of that step's actions moves it to the action's `goto` (or the
step's `next`). `effect` names the side effect the workflow runs when the step's primary
action is pressed. Nothing here imports Slack.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.runbook.problem import Problem

Persona = Literal["accountOwner", "devOps", "bot"]

# Side effects the workflow knows how to run when a step is completed.
#   notify_sent    – the owner has sent the credentials: DM devOps, comment on Linear,
#                    status line in the engineering channel (uses the chosen channel)
#   verify_vaults  – read the four vaults with `op` and report
#   deploy_gate    – the handover part is over: wait for deploy commands
Effect = Literal["notify_sent", "verify_vaults", "deploy_gate"]


class TroubleRow(Problem):
    """A troubleshooting card of the runbook: a Problem written in advance."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(max_length=75)  # Slack button text limit
    primary: bool = False
    # Step to move to; None means the step's `next`.
    goto: str | None = None
    # Recorded with the transition (e.g. the handover channel the owner chose).
    value: str | None = None
    # Whether pressing it runs the step's effect (default: only the primary action does).
    runs_effect: bool | None = None

    @property
    def effect_runs(self) -> bool:
        return self.primary if self.runs_effect is None else self.runs_effect


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    phase: int = Field(ge=1, le=9)
    persona: Persona
    title: str = Field(max_length=150)
    # Slack mrkdwn, kept short: one small thing to do.
    body: str
    actions: list[Action] = Field(default_factory=list)
    next: str | None = None
    effect: Effect | None = None
    troubleshooting: list[TroubleRow] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_primary(self) -> Step:
        primaries = [a.id for a in self.actions if a.primary]
        if len(primaries) > 1:
            raise ValueError(f"step {self.id}: at most one primary action, got {primaries}")
        ids = [a.id for a in self.actions]
        if len(ids) != len(set(ids)):
            raise ValueError(f"step {self.id}: action ids repeat")
        return self

    def action(self, action_id: str) -> Action | None:
        return next((a for a in self.actions if a.id == action_id), None)

    @property
    def primary_action(self) -> Action | None:
        return next((a for a in self.actions if a.primary), None)


class Phase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    number: int = Field(ge=1, le=9)
    name: str
    persona: Persona
    summary: str


class Runbook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    phases: list[Phase]
    steps: list[Step]
    # The step every rollout starts on, and the one a credential rotation starts on.
    start: str
    rotation_start: str

    @model_validator(mode="after")
    def _graph(self) -> Runbook:
        ids = [s.id for s in self.steps]
        if len(ids) != len(set(ids)):
            raise ValueError("step ids repeat")
        known = set(ids)
        for ref in (self.start, self.rotation_start):
            if ref not in known:
                raise ValueError(f"unknown start step {ref!r}")
        numbers = {p.number for p in self.phases}
        for step in self.steps:
            if step.phase not in numbers:
                raise ValueError(f"step {step.id}: phase {step.phase} is not defined")
            targets = [a.goto for a in step.actions if a.goto] + ([step.next] if step.next else [])
            for target in targets:
                if target not in known:
                    raise ValueError(f"step {step.id}: goes to unknown step {target!r}")
            if step.persona != "bot" and not step.troubleshooting:
                raise ValueError(f"step {step.id}: a person's step needs a troubleshooting card")
        return self

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def phase(self, number: int) -> Phase:
        return next(p for p in self.phases if p.number == number)
