"""The rollout's transitions: (state, event) → (new state, effects). Pure.

Every event — a person's request or a result the bot found out — goes through
`handle()`. A request is judged first (`rules.refusal`); a refused one changes nothing
and yields only the answer and its audit row. Each accepted event has a named
transition (`people.py` for phases 1–6, `partitions.py` for 7–9) that changes a copy of
the state and returns the effects to perform; the workflow performs them and feeds
their results back in as events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.rollout import effects as fx
from bot.rollout.events import (
    REQUESTS,
    AbortRequest,
    AmplifyChecked,
    CardPosted,
    DeployRequest,
    Dispatched,
    Event,
    HelpRequest,
    PersonUnreachable,
    PrGateChecked,
    Quiet,
    RetryRequest,
    RunConcluded,
    SmokeDone,
    SmokeRequest,
    StepAction,
    StepPosted,
    ThreadsOpened,
    VaultsChecked,
    VerifyRequest,
)
from bot.rollout.partitions import (
    on_amplify_checked,
    on_deploy,
    on_dispatched,
    on_pr_gate_checked,
    on_retry,
    on_run_concluded,
    on_smoke,
    on_smoke_done,
)
from bot.rollout.people import (
    on_abort,
    on_card_posted,
    on_help,
    on_person_unreachable,
    on_quiet,
    on_step_action,
    on_step_posted,
    on_threads_opened,
    on_vaults_checked,
    on_verify,
)
from bot.rollout.record import Effects, refuse
from bot.rollout.rules import Rules, refusal
from bot.rollout.state import (
    PartitionState,
    RolloutState,
)


@dataclass
class Outcome:
    state: RolloutState
    effects: Effects = field(default_factory=list)
    refused: str | None = None


def begin(state: RolloutState, rules: Rules) -> Outcome:
    """A new rollout: its partitions in order, then reach both people."""
    new = state.model_copy(deep=True)
    new.partitions = [PartitionState(name=name) for name in rules.partitions]
    return Outcome(new, [fx.OpenThreads()])


def handle(state: RolloutState, event: Event, rules: Rules) -> Outcome:
    """What `event` does to `state`. `state` itself is never changed."""
    if isinstance(event, REQUESTS):
        why = refusal(state, event, rules)
        if why is not None:
            return Outcome(state, refuse(state, event, why), refused=why)
    new = state.model_copy(deep=True)
    transition = _TRANSITIONS[type(event)]
    return Outcome(new, transition(new, event, rules))


Transition = Callable[[RolloutState, Any, Rules], Effects]

_TRANSITIONS: dict[type, Transition] = {
    ThreadsOpened: on_threads_opened,
    PersonUnreachable: on_person_unreachable,
    StepPosted: on_step_posted,
    CardPosted: on_card_posted,
    StepAction: on_step_action,
    HelpRequest: on_help,
    VerifyRequest: on_verify,
    VaultsChecked: on_vaults_checked,
    AbortRequest: on_abort,
    Quiet: on_quiet,
    DeployRequest: on_deploy,
    PrGateChecked: on_pr_gate_checked,
    RetryRequest: on_retry,
    Dispatched: on_dispatched,
    RunConcluded: on_run_concluded,
    AmplifyChecked: on_amplify_checked,
    SmokeRequest: on_smoke,
    SmokeDone: on_smoke_done,
}
