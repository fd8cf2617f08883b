"""Everything that can happen to a rollout, as data.

People's requests come from the handlers (a button, a command); the bot's own results
come from the workflow's steps and child workflows (a vault check, a dispatched run, a
concluded run, a smoke test). Both travel as JSON through the workflow's inbox and are
judged by the same machine. `Event` is the tagged union of them all.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from bot.rollout.state import CardSlot, PersonaThread
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
    type: Literal["retry"] = "retry"


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


class PrGateChecked(_Result):
    type: Literal["pr_gate_checked"] = "pr_gate_checked"
    request: DeployRequest
    problem: Problem | None = None


class Dispatched(_Result):
    """`amm.yml` was started for a partition (`run_id`), or could not be (`problem`)."""

    type: Literal["dispatched"] = "dispatched"
    partition: str
    run_id: int | None = None
    url: str | None = None
    problem: Problem | None = None


class RunConcluded(_Result):
    """A followed run ended: `problem` is None when it succeeded. `followed` is False
    when the run could not be followed to its end (GitHub unreachable, timeout)."""

    type: Literal["run_concluded"] = "run_concluded"
    partition: str
    run_id: int
    conclusion: str | None = None
    url: str | None = None
    problem: Problem | None = None
    followed: bool = True


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
    | Dispatched
    | RunConcluded
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
    AbortRequest,
)
