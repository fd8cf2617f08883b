"""Button presses. Ack at once; a lazy listener authorises and hands the press over.

Every press is checked against the role of the step it belongs to: the wrong person
gets an ephemeral refusal and an audit entry, and the rollout never hears of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.blocks.deploy import DEPLOY_ACTIONS
from bot.blocks.ids import PING_DEVOPS, RUNBOOK_ACTION_PATTERN, STUCK, ButtonRef, decode_value
from bot.deps import Deps
from bot.roles import Decision, Role, require, roles_of
from bot.runbook import load_runbook
from bot.workflows import service
from bot.workflows.state import Event

HELP_ACTIONS = {STUCK: "stuck", PING_DEVOPS: "ping_devops"}


@dataclass(frozen=True)
class Press:
    """What a button press asks for, once decoded."""

    name: str
    role: Role
    what: str
    step: str | None
    args: list[str]
    is_command: bool


async def _ack(ack: AsyncAck) -> None:
    await ack()


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_press(body: dict[str, Any], respond: AsyncRespond) -> None:
        await handle_press(deps, body, respond)

    for matcher in (RUNBOOK_ACTION_PATTERN, STUCK, PING_DEVOPS, *DEPLOY_ACTIONS):
        app.action(matcher)(ack=_ack, lazy=[on_press])


def interpret(action_id: str, label: str, ref: ButtonRef) -> Press | None:
    """Map a button to an event for the rollout; None when its step no longer exists."""
    if action_id in DEPLOY_ACTIONS:
        args = [ref.s] if ref.a != "abort" else [f"Abort pressed on the {ref.s} halt card"]
        return Press(ref.a, "devOps", f"press “{label}”", None, args, True)
    try:
        step = load_runbook().step(ref.s)
    except KeyError:
        return None
    role: Role = "accountOwner" if step.persona == "accountOwner" else "devOps"
    name = HELP_ACTIONS.get(action_id, ref.a)
    return Press(name, role, f"act on “{step.title}”", ref.s, [], False)


def authorise(deps: Deps, user: str, press: Press) -> Decision:
    decision = require(deps.settings.config, user, press.role, what=press.what)
    if not decision.allowed and press.name in HELP_ACTIONS.values():
        # Asking for help is open to either person on the rollout.
        if roles_of(deps.settings.config, user):
            return Decision(True)
    return decision


async def handle_press(deps: Deps, body: dict[str, Any], respond: AsyncRespond) -> None:
    action = (body.get("actions") or [{}])[0]
    user = str((body.get("user") or {}).get("id", ""))
    action_id = str(action.get("action_id", ""))

    async def say(text: str) -> None:
        await respond(text=text, response_type="ephemeral", replace_original=False)

    try:
        ref = decode_value(str(action.get("value", "")))
    except ValueError:
        await say(
            "That button is from an older version of the bot and no longer works. "
            "Use `/creators-onboard status` to see where the rollout stands."
        )
        return
    label = str((action.get("text") or {}).get("text", action_id))
    press = interpret(action_id, label, ref)
    if press is None:
        await say("That step no longer exists in the runbook; use `/creators-onboard status`.")
        return
    decision = authorise(deps, user, press)
    if not decision.allowed:
        await deps.store.record(
            actor=user,
            action=press.name,
            outcome="refused",
            rollout_id=ref.r,
            detail=decision.reason,
        )
        await say(f":no_entry: {decision.reason}")
        return
    active = await service.active_rollout()
    if active is None or active[0] != ref.r:
        await say(
            f"{ref.r} is no longer active, so this button does nothing now. "
            "`/creators-onboard status` shows the latest rollout."
        )
        return
    if press.is_command:
        why = service.deploy_refusal(active[1], press.name, press.args[0] if press.args else None)
        if why:
            await deps.store.record(
                actor=user, action=press.name, outcome="refused", rollout_id=ref.r, detail=why
            )
            await say(f":no_entry: {why}")
            return
    event = Event(
        kind="command" if press.is_command else "action",
        name=press.name,
        user=user,
        at=service.now_iso(),
        step=press.step,
        args=press.args,
        channel=(body.get("channel") or {}).get("id"),
        response_url=body.get("response_url"),
    )
    # A Slack retry repeats action_ts: the same key, so DBOS delivers it once.
    key = f"{user}:{action.get('action_ts', '')}:{action_id}:{ref.s}"
    await service.send(ref.r, event, idempotency_key=key)
