"""Button presses. Ack at once; a lazy listener authorises and hands the press over.

Every press is checked against the role of the step it belongs to: the wrong person
gets an ephemeral refusal and an audit entry, and the rollout never hears of it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.blocks.deploy import DEPLOY_ACTIONS
from bot.blocks.ids import PING_DEVOPS, RUNBOOK_ACTION_PATTERN, STUCK, decode_value
from bot.deps import Deps
from bot.logging import get_logger
from bot.roles import Role, require, roles_of
from bot.runbook import load_runbook
from bot.workflows import service
from bot.workflows.state import Event

log = get_logger(__name__)


async def _ack(ack: AsyncAck) -> None:
    await ack()


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_press(body: dict[str, Any], respond: AsyncRespond) -> None:
        await handle_press(deps, body, respond)

    for matcher in (RUNBOOK_ACTION_PATTERN, STUCK, PING_DEVOPS, *DEPLOY_ACTIONS):
        app.action(matcher)(ack=_ack, lazy=[on_press])


async def handle_press(deps: Deps, body: dict[str, Any], respond: AsyncRespond) -> None:
    action = (body.get("actions") or [{}])[0]
    user = str((body.get("user") or {}).get("id", ""))
    try:
        ref = decode_value(str(action.get("value", "")))
    except ValueError:
        await respond(
            text="That button is from an older version of the bot and no longer works. "
            "Use `/creators-onboard status` to see where the rollout stands.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    action_id = str(action.get("action_id", ""))
    if action_id in DEPLOY_ACTIONS:
        role: Role = "devOps"
        what = f"press “{action.get('text', {}).get('text', action_id)}”"
        name, step = ref.a, None
        args = [ref.s] if ref.a != "abort" else [f"Abort pressed on the {ref.s} halt card"]
    else:
        runbook = load_runbook()
        try:
            step_def = runbook.step(ref.s)
        except KeyError:
            await respond(
                text="That step no longer exists in the runbook; use `/creators-onboard status`.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        role = "accountOwner" if step_def.persona == "accountOwner" else "devOps"
        what = f"act on “{step_def.title}”"
        name = {STUCK: "stuck", PING_DEVOPS: "ping_devops"}.get(action_id, ref.a)
        step, args = ref.s, []
    decision = require(deps.settings.config, user, role, what=what)
    if not decision.allowed and name in ("stuck", "ping_devops"):
        # Asking for help is open to either person on the rollout.
        other: Role = "devOps" if role == "accountOwner" else "accountOwner"
        decision = (
            require(deps.settings.config, user, other, what=what)
            if roles_of(deps.settings.config, user)
            else decision
        )
    if not decision.allowed:
        await deps.store.record(
            actor=user, action=name, outcome="refused", rollout_id=ref.r, detail=decision.reason
        )
        await respond(
            text=f":no_entry: {decision.reason}", response_type="ephemeral", replace_original=False
        )
        return
    if await service.active_rollout_id() != ref.r:
        await respond(
            text=f"{ref.r} is no longer active, so this button does nothing now. "
            "`/creators-onboard status` shows the latest rollout.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    event = Event(
        kind="action" if action_id not in DEPLOY_ACTIONS else "command",
        name=name,
        user=user,
        at=service.now_iso(),
        step=step,
        args=args,
        channel=(body.get("channel") or {}).get("id"),
        response_url=body.get("response_url"),
    )
    # A Slack retry repeats action_ts: the same key, so DBOS delivers it once.
    key = f"{user}:{action.get('action_ts', '')}:{action_id}:{ref.s}"
    await service.send(ref.r, event, idempotency_key=key)
