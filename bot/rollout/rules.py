"""Who may ask for what, and why a request is refused now. Pure.

`refusal()` is asked twice with the same answer: by the handlers' service before a
request is handed to the workflow (so a person hears at once), and by the machine when
the request arrives (the rollout may have moved meanwhile). The role needed is always
taken from the rollout's current state, never from the button that was pressed.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands import COMMAND
from bot.config import FileConfig
from bot.rollout.events import (
    AbortRequest,
    DeployRequest,
    HelpRequest,
    RelayRequest,
    Request,
    RetryRequest,
    SmokeRequest,
    StepAction,
    VerifyRequest,
)
from bot.rollout.roles import Role, refuse_role, roles_of
from bot.rollout.state import RolloutState
from bot.runbook.model import Runbook, Step

# The steps at which the vaults may be (re-)checked.
VERIFY_STEPS = ("populate", "verify", "deploy_gate")
GATE_STEP = "deploy_gate"


@dataclass(frozen=True)
class Rules:
    """What the rules need to know beyond the state: the runbook and the YAML's facts."""

    runbook: Runbook
    config: FileConfig

    @property
    def partitions(self) -> list[str]:
        return [p.name for p in self.config.partitions]

    def has_amplify(self, partition: str) -> bool:
        part = self.config.partition(partition)
        return part is not None and part.amplify is not None

    @property
    def pr_gate(self) -> bool:
        return self.config.github.pull_request is not None

    def roles_of(self, user: str) -> set[Role]:
        return roles_of(self.config, user)


def where(state: RolloutState, runbook: Runbook) -> str:
    step = runbook.step(state.step)
    return f"*{step.title}* (step for {step.persona})"


def required_role(request: Request, state: RolloutState | None, runbook: Runbook) -> Role | None:
    """The role a request needs; None when either person on the rollout may ask."""
    if isinstance(request, HelpRequest | RelayRequest):
        return None
    if isinstance(request, StepAction):
        if state is None:
            return None
        persona = runbook.step(state.step).persona
        return "accountOwner" if persona == "accountOwner" else "devOps"
    return "devOps"


def _what(request: Request, state: RolloutState | None, runbook: Runbook) -> str:
    if isinstance(request, StepAction):
        title = runbook.step(state.step).title if state is not None else "this step"
        return f"act on “{title}”"
    return {
        "verify": "verify the vaults",
        "deploy": "deploy a partition",
        "smoke": "run a smoke test",
        "retry": "retry a halted partition",
        "abort": "abort the rollout",
        "relay": "pass a message",
    }.get(request.type, "do that")


def refusal(state: RolloutState | None, request: Request, rules: Rules) -> str | None:
    """Why `request` cannot happen now (None when it can).

    `state` None means the rollout is still starting: requests that need no state pass
    (the workflow judges them again once it has one)."""
    runbook = rules.runbook
    denied = role_refusal(state, request, rules)
    if denied is not None:
        return denied
    if state is None:
        if isinstance(request, StepAction | HelpRequest | RelayRequest):
            return "The rollout is still starting; try again in a moment."
        return None
    if state.finished:
        return f"This rollout is {state.status}; nothing more to do."
    if isinstance(request, StepAction):
        return _step_action(state, request, runbook)
    if isinstance(request, HelpRequest):
        return _help(state, request, runbook)
    if isinstance(request, VerifyRequest):
        if state.step not in VERIFY_STEPS:
            return (
                "The vaults can be verified once devOps has populated them. "
                f"The rollout is now at {where(state, runbook)}."
            )
        return None
    if isinstance(request, AbortRequest):
        return None if request.reason.strip() else "Say why: `/creators-onboard abort <reason>`."
    if isinstance(request, RelayRequest):
        return _relay(state, request)
    return deploy_refusal(state, request, runbook)


def role_refusal(state: RolloutState | None, request: Request, rules: Rules) -> str | None:
    """Why the person may not ask for this at all (None when their role allows it)."""
    roles = rules.roles_of(request.user)
    needed = required_role(request, state, rules.runbook)
    if needed is None:
        if roles:
            return None
        return refuse_role(rules.config, "devOps", what="act on a rollout")
    if needed in roles:
        return None
    return refuse_role(rules.config, needed, what=_what(request, state, rules.runbook))


def _relay(state: RolloutState, request: RelayRequest) -> str | None:
    if request.user not in (state.owner, state.devops):
        return (
            f"Only the two people on this rollout (<@{state.owner}> and <@{state.devops}>) "
            "can pass messages to each other through me."
        )
    if state.owner == state.devops:
        return "You are both the account owner and devOps on this rollout: nobody to pass it to."
    if not request.text.strip():
        return "There is nothing to pass on: write your message, then send it."
    return None


def _visited(state: RolloutState, step_id: str) -> bool:
    return any(t.from_step == step_id for t in state.history)


def _step_action(state: RolloutState, request: StepAction, runbook: Runbook) -> str | None:
    if request.step != state.step:
        lead = (
            "That step is already done"
            if _visited(state, request.step)
            else "That button is not for the current step"
        )
        return f"{lead}. The rollout is now at {where(state, runbook)}."
    if state.status == "halted":
        return "The rollout is halted; use the Retry or Abort buttons on the halt card first."
    if runbook.step(state.step).action(request.action) is None:
        return f"That is not an action of {where(state, runbook)}."
    return None


def _help(state: RolloutState, request: HelpRequest, runbook: Runbook) -> str | None:
    if request.step == state.step or _visited(state, request.step):
        return None
    return (
        "That button is not for this rollout's steps. "
        f"The rollout is now at {where(state, runbook)}."
    )


def deploy_refusal(
    state: RolloutState, request: DeployRequest | SmokeRequest | RetryRequest, runbook: Runbook
) -> str | None:
    """Why a deploy, smoke test or retry cannot start now (None when it can)."""
    if state.step != GATE_STEP or not state.verification_ok:
        step: Step = runbook.step(state.step)
        return (
            "Deploys open only after the four vaults verify green. "
            f"The rollout is now at *{step.title}*."
        )
    running = state.running
    if running is not None:
        return f"{running.name} is deploying right now; wait for it to finish (status board)."
    if isinstance(request, RetryRequest):
        return (
            None if state.status == "halted" else "Nothing is halted, so there is nothing to retry."
        )
    target = state.partition(request.partition) if request.partition else None
    if target is None:
        return f"Which partition? One of: {', '.join(state.order)}."
    if isinstance(request, SmokeRequest):
        if target.attempts == 0:
            return f"{target.name} has not been deployed in this rollout yet; deploy it first."
        return None
    if state.status == "halted":
        return f"The rollout is halted ({state.halt_reason}). Retry or abort first."
    nxt = state.next_partition
    if target.status == "green":
        then = f"Deploy *{nxt.name}* next." if nxt else "Every partition is green."
        return f"{target.name} is already green (at {target.finished_at}). {then}"
    if nxt is None:
        return "Every partition is green already."
    if target.name != nxt.name:
        return (
            f"Out of order: partitions go {' → '.join(state.order)}, each only after the one "
            f"before is green. Deploy *{nxt.name}* next."
        )
    return None


def stranded_text(rollout_id: str, started_by: str) -> str:
    """What a person is told about a rollout this bot cannot move on, and the two ways out."""
    return (
        f"{rollout_id} was started by another version of this bot (workflow version "
        f"{started_by}) and this version cannot continue it, so nothing you press or ask for "
        f"it happens. Either run the image that started it to finish it, or end it here "
        f"with `{COMMAND} abort <reason>` (devOps; nothing is rolled back) and start again."
    )


def stranded_warning(rollout_id: str, started_by: str) -> str:
    """`stranded_text` as the warning `status` and App Home put above the board."""
    return f":warning: {stranded_text(rollout_id, started_by)}"
