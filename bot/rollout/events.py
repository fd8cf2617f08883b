"""Everything that can happen to a rollout, as data.

People's requests come from the handlers (a button, a command); the bot's own results
come from the workflow's steps and child workflows (a vault check, a dispatched run, a
concluded run, a smoke test). Both travel as JSON through the workflow's inbox and are
judged by the same machine. `Event` is the tagged union of them all.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from bot.rollout.state import CardSlot, PersonaThread, RunProgress
from bot.runbook.problem import Problem

BOT = "bot"


class _Request(BaseModel):
    """Something a person asked for. `channel`/`response_url` say where to answer them."""

    user: str
    at: str
    channel: str | None = None
    response_url: str | None = None

    @property
    def name(self) -> str:
        """What was asked, for the audit trail."""
        return str(getattr(self, "type", "request"))


class StepAction(_Request):
    """A runbook button: `action` of the step `step`."""

    type: Literal["step_action"] = "step_action"
    step: str
    action: str

    @property
    def name(self) -> str:
        return self.action


class HelpRequest(_Request):
    """ "I'm stuck" (the step's troubleshooting card) or "ping devOps" on a step."""

    type: Literal["help"] = "help"
    step: str
    kind: Literal["stuck", "ping_devops"]

    @property
    def name(self) -> str:
        return self.kind


class VerifyRequest(_Request):
    type: Literal["verify"] = "verify"


class DeployRequest(_Request):
    type: Literal["deploy"] = "deploy"
    partition: str | None = None


class SmokeRequest(_Request):
    type: Literal["smoke"] = "smoke"
    partition: str | None = None


class RetryRequest(_Request):
    """Retry the halted partition from the check that failed; `redeploy` dispatches
    `amm.yml` again first, whatever failed."""

    type: Literal["retry"] = "retry"
    redeploy: bool = False

    @property
    def name(self) -> str:
        return "redeploy" if self.redeploy else "retry"


class RelayRequest(_Request):
    """Words one person on the rollout typed for the other (a reply in their DM thread,
    or the Reply modal), passed on as text."""

    type: Literal["relay"] = "relay"
    text: str


class AbortRequest(_Request):
    type: Literal["abort"] = "abort"
    reason: str = ""


Request = (
    StepAction
    | HelpRequest
    | VerifyRequest
    | DeployRequest
    | SmokeRequest
    | RetryRequest
    | RelayRequest
    | AbortRequest
)


class _Result(BaseModel):
    """Something the bot itself found out; `at` is when."""

    at: str


class ThreadsOpened(_Result):
    type: Literal["threads_opened"] = "threads_opened"
    threads: dict[str, PersonaThread]
    status_ts: str | None = None


class PersonUnreachable(_Result):
    type: Literal["person_unreachable"] = "person_unreachable"
    user: str
    persona: str
    error: str


class StepPosted(_Result):
    type: Literal["step_posted"] = "step_posted"
    at: str = ""
    step: str
    ts: str


class CardPosted(_Result):
    type: Literal["card_posted"] = "card_posted"
    at: str = ""
    slot: CardSlot
    ts: str
    text: str
    blocks: list[dict[str, Any]]


class VaultsChecked(_Result):
    type: Literal["vaults_checked"] = "vaults_checked"
    ok: bool
    red_vaults: list[str] = Field(default_factory=list)
    # The verification report, rendered for devOps by the notifier.
    report: dict[str, Any]
    requested_by: str = BOT
    # The keyed hash of the secret all four vaults agree on (never the value): what the
    # leak guard recognises the secret by.
    fingerprint: str | None = None


class PrGateChecked(_Result):
    type: Literal["pr_gate_checked"] = "pr_gate_checked"
    request: DeployRequest
    problem: Problem | None = None


class ReadyChecked(_Result):
    """Whether a deploy or retry of `partition` could fail for a configuration reason
    (`problems`, empty when none): asked right before anything is started."""

    type: Literal["ready_checked"] = "ready_checked"
    request: Annotated[DeployRequest | RetryRequest, Field(discriminator="type")]
    partition: str
    problems: list[Problem] = Field(default_factory=list)


class Dispatched(_Result):
    """`amm.yml` was started for a partition (`run_id`), or could not be (`problem`)."""

    type: Literal["dispatched"] = "dispatched"
    partition: str
    run_id: int | None = None
    url: str | None = None
    problem: Problem | None = None


class RunConcluded(_Result):
    """A followed run ended: `problem` is None when it succeeded. `followed` is False
    when the run could not be followed to its end (GitHub unreachable, timeout). A failed
    run names the job and step that failed and the job's log (`log_url`) when GitHub
    listed them."""

    type: Literal["run_concluded"] = "run_concluded"
    partition: str
    run_id: int
    conclusion: str | None = None
    url: str | None = None
    problem: Problem | None = None
    followed: bool = True
    failed_job: str | None = None
    failed_step: str | None = None
    log_url: str | None = None
    # When the run started, for the time it took.
    run_started: str | None = None


class RunPosted(_Result):
    """The message about a partition's run was posted (`ts`), to be edited as it moves."""

    type: Literal["run_posted"] = "run_posted"
    at: str = ""
    partition: str
    run_id: int
    ts: str


class RunMoved(_Result):
    """A followed run's progress, reported by the follow workflow at most once per
    `github.progress_interval_seconds`."""

    type: Literal["run_moved"] = "run_moved"
    partition: str
    run_id: int
    progress: RunProgress


class AmplifyChecked(_Result):
    type: Literal["amplify_checked"] = "amplify_checked"
    partition: str
    problem: Problem | None = None


class SmokeDone(_Result):
    type: Literal["smoke_done"] = "smoke_done"
    partition: str
    ok: bool
    on_demand: bool = False
    # The failed check's name (and error code) when red, e.g. "import (AMAZON_RATE_LIMITED)".
    failed: str | None = None
    problem: Problem | None = None
    asin: str = ""
    report: dict[str, Any] = Field(default_factory=dict)


class Quiet(_Result):
    """Nobody did anything for the configured quiet period."""

    type: Literal["quiet"] = "quiet"


Result = (
    ThreadsOpened
    | PersonUnreachable
    | StepPosted
    | CardPosted
    | VaultsChecked
    | PrGateChecked
    | ReadyChecked
    | Dispatched
    | RunConcluded
    | RunPosted
    | RunMoved
    | AmplifyChecked
    | SmokeDone
    | Quiet
)

Event = Request | Result

_EVENT: TypeAdapter[Event] = TypeAdapter(Annotated[Event, Field(discriminator="type")])


def parse_event(raw: Any) -> Event:
    """An event from its JSON form (as it arrives in the workflow's inbox)."""
    return _EVENT.validate_python(raw)


# For isinstance: what people ask for, as opposed to what the bot finds out.
REQUESTS = (
    StepAction,
    HelpRequest,
    VerifyRequest,
    DeployRequest,
    SmokeRequest,
    RetryRequest,
    RelayRequest,
    AbortRequest,
)
