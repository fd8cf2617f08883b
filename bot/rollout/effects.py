"""What the machine asks the workflow to do. Pure data; the workflow performs them in order.

Two kinds: *actions* reach other systems and may report back with an event (a vault
check reports `VaultsChecked`; a run being followed reports `RunConcluded` later), and
*notices* are what people and the ticket are told, rendered by the notifier from the
notice and the rollout's state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.rollout.events import DeployRequest, Request
from bot.rollout.state import PostedCard
from bot.runbook.problem import Problem


@dataclass(frozen=True)
class Effect:
    """Base of every effect."""

    # Whether it shows people buttons: the state is published first, so that a press is
    # never judged against an older state.
    @property
    def has_buttons(self) -> bool:
        return False


# ----------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class OpenThreads(Effect):
    """Open both DMs, post each person's progress message and the status board."""


@dataclass(frozen=True)
class PostStep(Effect):
    """Post a runbook step in the thread of the person whose step it is."""

    step: str

    @property
    def has_buttons(self) -> bool:
        return True


@dataclass(frozen=True)
class MarkDone(Effect):
    """Edit a step's message: no more buttons, who did it and when."""

    step: str
    actor: str
    label: str
    at: str


@dataclass(frozen=True)
class VerifyVaults(Effect):
    requested_by: str


@dataclass(frozen=True)
class CheckPrGate(Effect):
    request: DeployRequest


@dataclass(frozen=True)
class Dispatch(Effect):
    partition: str
    not_before: str
    earlier_runs: tuple[int, ...]


@dataclass(frozen=True)
class FollowRun(Effect):
    partition: str
    run_id: int


@dataclass(frozen=True)
class CancelFollow(Effect):
    run_id: int


@dataclass(frozen=True)
class CheckAmplify(Effect):
    partition: str


@dataclass(frozen=True)
class Smoke(Effect):
    """Smoke-test a partition through the 1-per-second queue; `key` makes it durable-once."""

    partition: str
    key: str
    on_demand: bool = False


@dataclass(frozen=True)
class CloseCard(Effect):
    card: PostedCard
    note: str


@dataclass(frozen=True)
class Reply(Effect):
    """Answer the person who asked, only to them."""

    request: Request
    text: str


@dataclass(frozen=True)
class Audit(Effect):
    actor: str
    action: str
    outcome: str
    detail: str
    key: str


@dataclass(frozen=True)
class Sync(Effect):
    """Bring the status board and the published state up to date now (slow work follows)."""


# ----------------------------------------------------------------------------- notices


@dataclass(frozen=True)
class Notice(Effect):
    """Something people (and maybe the ticket) are told."""


@dataclass(frozen=True)
class VerifyingNow(Notice):
    pass


@dataclass(frozen=True)
class VerificationReported(Notice):
    ok: bool

    @property
    def has_buttons(self) -> bool:
        return True


@dataclass(frozen=True)
class TroubleshootingShown(Notice):
    step: str


@dataclass(frozen=True)
class DevopsPinged(Notice):
    step: str
    by: str


@dataclass(frozen=True)
class CredentialsSent(Notice):
    how: str
    at: str


@dataclass(frozen=True)
class GateOpened(Notice):
    partition: str

    @property
    def has_buttons(self) -> bool:
        return True


@dataclass(frozen=True)
class DeployStarted(Notice):
    partition: str
    attempt: int
    by: str


@dataclass(frozen=True)
class RunStarted(Notice):
    partition: str


@dataclass(frozen=True)
class PartitionGreen(Notice):
    partition: str


@dataclass(frozen=True)
class Halted(Notice):
    partition: str
    title: str
    problem: Problem
    smoke_report: dict[str, Any] | None = None

    @property
    def has_buttons(self) -> bool:
        return True


@dataclass(frozen=True)
class SmokeReported(Notice):
    """An on-demand smoke test's report (changes nothing)."""

    partition: str
    ok: bool
    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Completed(Notice):
    pass


@dataclass(frozen=True)
class Aborted(Notice):
    by: str
    reason: str
    at: str
    running: str | None = None
    run_url: str | None = None


@dataclass(frozen=True)
class Unreachable(Notice):
    user: str
    persona: str
    error: str


@dataclass(frozen=True)
class Nudged(Notice):
    step: str


@dataclass(frozen=True)
class NudgedHalted(Notice):
    pass


@dataclass(frozen=True)
class DeployLogUpdated(Notice):
    """The one rollout-log comment on the ticket, kept current."""
