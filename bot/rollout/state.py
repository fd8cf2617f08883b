"""What a rollout is at one moment: the step it stands on, the people, the partitions.

Pure data (pydantic), JSON-serialisable, so the workflow can publish it for the status
board and the handlers can judge a request against it. Only `bot.rollout.machine`
changes it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from bot.runbook.model import Persona, Runbook

RolloutKind = Literal["onboarding", "rotation"]
RolloutStatus = Literal["active", "halted", "complete", "aborted"]
PartitionStatusName = Literal["pending", "running", "green", "red"]
# What the bot is doing for a running partition, in order.
Stage = Literal["dispatch", "run", "amplify", "smoke"]
# The check a halt stopped at: a stage, or "follow" (the run could not be followed to its
# end), or "aborted".
FailedCheck = Literal["dispatch", "follow", "run", "amplify", "smoke", "aborted"]
# The messages whose buttons must go once used.
CardSlot = Literal["gate", "halt"]


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


class CheckResult(BaseModel):
    """One check of a partition, as listed when it goes green: passed, or (`skipped`)
    not made, with the reason in `detail`."""

    name: str
    detail: str
    skipped: bool = False


def amplify_not_checked(partition: str) -> str:
    """Said wherever the Amplify check would appear for a partition without `amplify`."""
    return f"Amplify not checked: not configured for {partition}"


class RunProgress(BaseModel):
    """Where a followed run stands: its status (queued, in_progress, completed), the job and
    step in progress (or that failed), when it started and when this was seen."""

    status: str
    conclusion: str | None = None
    job: str | None = None
    step: str | None = None
    run_started: str | None = None
    at: str


class PartitionState(BaseModel):
    name: str
    status: PartitionStatusName = "pending"
    stage: Stage | None = None
    run_id: int | None = None
    run_url: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    failed_check: FailedCheck | None = None
    detail: str | None = None
    # Where a failed run failed: its job, its step and the job's log.
    failed_job: str | None = None
    failed_step: str | None = None
    log_url: str | None = None
    # The `not_before` of the latest dispatch: a retried dispatch looks for a run from then
    # on, so it adopts a run the failed attempt may have started.
    dispatched_since: str | None = None
    # The run's message in devOps' thread, edited as the run moves, and what it shows.
    run_ts: str | None = None
    progress: RunProgress | None = None
    attempts: int = 0
    # Who started the latest attempt, and the check it resumed from (None: a deploy).
    started_by: str | None = None
    resumed: Stage | None = None
    # Every run dispatched for this partition, so a retry never adopts an old one.
    earlier_runs: list[int] = Field(default_factory=list)
    checks: list[CheckResult] = Field(default_factory=list)


class PostedCard(BaseModel):
    """A message with buttons, kept so it can be edited once its buttons are used."""

    ts: str
    text: str
    blocks: list[dict[str, Any]]


class RolloutState(BaseModel):
    rollout_id: str
    kind: RolloutKind = "onboarding"
    # Why a rotation was started (told to the accountOwner first); empty for onboarding.
    reason: str = ""
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
    gate: PostedCard | None = None
    halt_card: PostedCard | None = None
    # On-demand smoke tests asked for so far (each gets its own durable id).
    smoke_requests: int = 0

    @property
    def since(self) -> str:
        """When whoever acts now began: the running partition's start, else the last
        transition (the step people stand on, a halt), else the rollout's start."""
        running = self.running
        if running is not None and running.started_at:
            return running.started_at
        return self.history[-1].at if self.history else self.started_at

    def waiting_on(self, runbook: Runbook) -> Persona | None:
        if self.status != "active":
            return None
        return runbook.step(self.step).persona

    def partition(self, name: str) -> PartitionState | None:
        return next((p for p in self.partitions if p.name == name), None)

    @property
    def finished(self) -> bool:
        return self.status in ("complete", "aborted")

    @property
    def running(self) -> PartitionState | None:
        return next((p for p in self.partitions if p.status == "running"), None)

    @property
    def next_partition(self) -> PartitionState | None:
        """The first partition in order that is not green yet."""
        return next((p for p in self.partitions if p.status != "green"), None)

    @property
    def order(self) -> list[str]:
        return [p.name for p in self.partitions]

    def card(self, slot: CardSlot) -> PostedCard | None:
        return self.gate if slot == "gate" else self.halt_card

    def user_for(self, persona: Persona) -> str:
        return self.owner if persona == "accountOwner" else self.devops
