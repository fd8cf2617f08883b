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
from bot.rollout import events as ev
from bot.rollout import partitions, people
from bot.rollout.events import REQUESTS, Event
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
    ev.ThreadsOpened: people.on_threads_opened,
    ev.PersonUnreachable: people.on_person_unreachable,
    ev.StepPosted: people.on_step_posted,
    ev.CardPosted: people.on_card_posted,
    ev.StepAction: people.on_step_action,
    ev.HelpRequest: people.on_help,
    ev.VerifyRequest: people.on_verify,
    ev.VaultsChecked: people.on_vaults_checked,
    ev.RelayRequest: people.on_relay,
    ev.AbortRequest: people.on_abort,
    ev.Quiet: people.on_quiet,
    ev.DeployRequest: partitions.on_deploy,
    ev.ReadyChecked: partitions.on_ready_checked,
    ev.PrGateChecked: partitions.on_pr_gate_checked,
    ev.RetryRequest: partitions.on_retry,
    ev.Dispatched: partitions.on_dispatched,
    ev.RunConcluded: partitions.on_run_concluded,
    ev.RunPosted: partitions.on_run_posted,
    ev.RunMoved: partitions.on_run_moved,
    ev.AmplifyChecked: partitions.on_amplify_checked,
    ev.SmokeRequest: partitions.on_smoke,
    ev.SmokeDone: partitions.on_smoke_done,
}
