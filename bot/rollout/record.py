"""What every transition shares: recording it, refusing a request, closing a used card."""

from __future__ import annotations

from bot.rollout import effects as fx
from bot.rollout.events import Request
from bot.rollout.state import (
    CardSlot,
    RolloutState,
    Transition,
)

Effects = list[fx.Effect]


def refuse(state: RolloutState, request: Request, why: str) -> Effects:
    """The answer to a refused request, and its audit row."""
    key = f"{state.rollout_id}:refused:{request.user}:{request.name}:{request.at}"
    return [
        fx.Reply(request, why),
        fx.Audit(request.user, request.name, "refused", why[:200], key),
    ]


def record(
    state: RolloutState, *, actor: str, action: str, at: str, to_step: str | None, note: str = ""
) -> fx.Audit:
    """Append a transition to the history; its audit row is the returned effect."""
    entry = Transition(
        at=at, actor=actor, action=action, from_step=state.step, to_step=to_step, note=note
    )
    state.history.append(entry)
    detail = f"{entry.from_step} -> {to_step or entry.from_step}" + (f" ({note})" if note else "")
    return fx.Audit(actor, action, "done", detail, f"{state.rollout_id}:{len(state.history)}")


def close_card(state: RolloutState, slot: CardSlot, note: str, at: str = "") -> Effects:
    """Take the buttons off a used card (the open gate or halt card) so nobody presses them
    again; `note` says who did what, `at` when."""
    card = state.card(slot)
    if slot == "gate":
        state.gate = None
    else:
        state.halt_card = None
    return [fx.CloseCard(card, note, at)] if card is not None else []
