"""What the machine asks the workflow to do. Pure data; the workflow performs them in order.

Two kinds: *actions* reach other systems and may report back with an event (a vault
check reports `VaultsChecked`; a run being followed reports `RunConcluded` later), and
*notices* are what people and the ticket are told, rendered by the notifier from the
notice and the rollout's state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from bot.rollout.events import DeployRequest, Request, RetryRequest
from bot.rollout.state import PostedCard
from bot.runbook.problem import Problem


@dataclass(frozen=True)
class Effect:
    """Base of every effect."""

    # Whether it shows people buttons: the state is published first, so that a press is
    # never judged against an older state.
    buttons: ClassVar[bool] = False

    @property
    def has_buttons(self) -> bool:
        return self.buttons


# ----------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class OpenThreads(Effect):
    """Open both DMs, post each person's progress message and the status board."""


@dataclass(frozen=True)
class PostStep(Effect):
    """Post a runbook step in the thread of the person whose step it is."""

    step: str
    buttons: ClassVar[bool] = True


@dataclass(frozen=True)
class MarkDone(Effect):
    """Edit a step's message: no more buttons, who did it and when."""

    step: str
    actor: str
    label: str
    at: str


@dataclass(frozen=True)
class VerifyVaults(Effect):
    """Read the four vaults with `op`; reports `VaultsChecked`."""

    requested_by: str


@dataclass(frozen=True)
class CheckReady(Effect):
    """Would a deploy (or retry) of `partition` fail for a configuration reason — the
    engineering channel, the BFF token, AWS for Amplify, GitHub? Reports `ReadyChecked`."""

    request: DeployRequest | RetryRequest
    partition: str


@dataclass(frozen=True)
class CheckPrGate(Effect):
    """Is the infrastructure pull request merged? Reports `PrGateChecked`."""

    request: DeployRequest


@dataclass(frozen=True)
class Dispatch(Effect):
    """Start `amm.yml` for the partition (or adopt the run a crashed try started);
    reports `Dispatched`."""

    partition: str
    not_before: str
    earlier_runs: tuple[int, ...]


@dataclass(frozen=True)
class FollowRun(Effect):
    """Follow the run in a child workflow, which reports `RunConcluded` to the inbox.
    `attempt` tells a retried follow of the same run from the first one."""

    partition: str
    run_id: int
    attempt: int = 1


@dataclass(frozen=True)
class CancelFollow(Effect):
    """Stop following a run (the rollout was aborted); the run itself goes on."""

    run_id: int
    attempt: int = 1


@dataclass(frozen=True)
class CheckAmplify(Effect):
    """Are the four AMAZON_* variables set on the partition's Amplify app? Reports
    `AmplifyChecked`."""

    partition: str


@dataclass(frozen=True)
class Smoke(Effect):
    """Smoke-test a partition through the 1-per-second queue; `key` makes it durable-once."""

    partition: str
    key: str
    on_demand: bool = False


@dataclass(frozen=True)
class CloseCard(Effect):
    """Take the buttons off a used card (a deploy gate, a halt card): who did what (`note`)
    and when (`at`, shown in each reader's time)."""

    card: PostedCard
    note: str
    at: str = ""


@dataclass(frozen=True)
class Reply(Effect):
    """Answer the person who asked, only to them."""

    request: Request
    text: str


@dataclass(frozen=True)
class Audit(Effect):
    """One row of the audit trail; `key` keeps a repeated step from writing it twice."""

    actor: str
    action: str
    outcome: str
    detail: str
    key: str


@dataclass(frozen=True)
class ArmLeakGuard(Effect):
    """Remember the keyed hash of the verified secret, so the leak guard recognises the
    secret if someone pastes it into Slack (never the value)."""

    fingerprint: str


@dataclass(frozen=True)
class Sync(Effect):
    """Bring the status board and the published state up to date now (slow work follows)."""


# ----------------------------------------------------------------------------- notices


@dataclass(frozen=True)
class Notice(Effect):
    """Something people (and maybe the ticket) are told."""

    @property
    def key(self) -> str:
        """Which notice this is, for the notifier."""
        return type(self).__name__


@dataclass(frozen=True)
class Told(Notice):
    """A notice named by `what` that needs nothing but the rollout's state:
    "verifying_now", "completed", "handoff" (what each person keeps from now on),
    "vaults_ready" (the infrastructure PR may merge), "delete_dm_reminder" (both delete
    the Slack DM that carried the values), "nudged_halted", "deploy_log" (the ticket's
    log)."""

    what: str

    @property
    def key(self) -> str:
        return self.what


@dataclass(frozen=True)
class PartitionNews(Told):
    """About one partition: "gate_opened" (its deploy button), "run_started" (the run's
    message), "run_progress" (that message edited: where the run stands), "green"."""

    partition: str

    @property
    def has_buttons(self) -> bool:
        return self.what == "gate_opened"


@dataclass(frozen=True)
class StepNews(Told):
    """About one step: "troubleshooting" (its card), "nudged" (a reminder)."""

    step: str


@dataclass(frozen=True)
class VerificationReported(Notice):
    """The vault check's card for devOps, and a line for engineering (unless the merge
    signal that follows says it: `told_apart`)."""

    ok: bool
    told_apart: bool = False
    buttons: ClassVar[bool] = True


@dataclass(frozen=True)
class DevopsPinged(Notice):
    """The owner asks devOps for help on a step, in both threads."""

    step: str
    by: str


@dataclass(frozen=True)
class Relayed(Notice):
    """One person's words for the other, shown in the other's thread with a Reply
    button; the sender hears that they were passed on."""

    by: str
    text: str
    buttons: ClassVar[bool] = True


@dataclass(frozen=True)
class CredentialsSent(Notice):
    """The owner has sent the four values (`how`): devOps, the ticket, engineering."""

    how: str
    at: str


@dataclass(frozen=True)
class DeployStarted(Notice):
    """A deploy or retry of a partition began (engineering's thread); a retry names the
    stage it resumes at (`resumed`)."""

    partition: str
    attempt: int
    by: str
    resumed: str | None = None


@dataclass(frozen=True)
class Halted(Notice):
    """A check failed: the halt card with rollback guidance, engineering, the ticket."""

    partition: str
    title: str
    problem: Problem
    smoke_report: dict[str, Any] | None = None
    buttons: ClassVar[bool] = True


@dataclass(frozen=True)
class SmokeReported(Notice):
    """An on-demand smoke test's report (changes nothing)."""

    partition: str
    ok: bool
    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Aborted(Notice):
    """Someone stopped the rollout for good, with a reason everyone sees."""

    by: str
    reason: str
    at: str
    running: str | None = None
    run_url: str | None = None


@dataclass(frozen=True)
class Unreachable(Notice):
    """A person could not be sent a DM, so the rollout could not start."""

    user: str
    persona: str
    error: str
