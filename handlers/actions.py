"""Button presses. Ack at once; then (a task the app tracks) the press is parsed into a
request and submitted. The service judges it against the rollout's current state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from hashlib import sha256
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.afterack import lazy_runner
from bot.blocks.ids import (
    ABORT,
    DEPLOY,
    OLD_BUTTON,
    PING_DEVOPS,
    REDEPLOY,
    RERUN_VERIFY,
    RETRY,
    ROLLOUT_PRESSES,
    RUNBOOK_ACTION_PATTERN,
    RUNBOOK_ACTION_PREFIX,
    STUCK,
    UNKNOWN_BUTTON,
    ButtonRef,
    PartitionButton,
    RolloutButton,
    decode_value,
)
from bot.integrations.slack import SlackNotifier
from bot.rollout.events import (
    AbortRequest,
    DeployRequest,
    HelpRequest,
    Request,
    RetryRequest,
    StepAction,
    VerifyRequest,
)
from bot.rollout.port import Service, now_iso

Listener = Callable[[AsyncAck, dict[str, Any], AsyncRespond], Awaitable[None]]


def press_listener(app: AsyncApp, service: Service, notifier: SlackNotifier) -> Listener:
    """Ack, then hand the press to `handle_press` after the ack."""
    after_ack = lazy_runner(app)

    async def dm(user: str, text: str) -> None:
        await notifier.post(user, text)

    async def on_press(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        after_ack.spawn(handle_press(service, body, respond, dm))

    return on_press


def register(app: AsyncApp, service: Service, notifier: SlackNotifier) -> None:
    app.action(ROLLOUT_PRESSES)(press_listener(app, service, notifier))


def request_for(action_id: str, ref: ButtonRef, base: dict[str, Any]) -> Request | None:
    """The request a button press makes; None for a button we don't know."""
    if isinstance(ref, RolloutButton):
        return None  # Reply opens a modal (handlers.relay): no request by itself
    if isinstance(ref, PartitionButton):
        if action_id == DEPLOY and ref.action == "deploy":
            return DeployRequest(partition=ref.partition, **base)
        if action_id == RETRY and ref.action == "retry":
            return RetryRequest(**base)
        if action_id == REDEPLOY and ref.action == "redeploy":
            return RetryRequest(redeploy=True, **base)
        if action_id == ABORT and ref.action == "abort":
            return AbortRequest(reason=f"Abort pressed on the {ref.partition} halt card", **base)
        return None
    if action_id in (STUCK, PING_DEVOPS):
        kind = "stuck" if action_id == STUCK else "ping_devops"
        return HelpRequest(step=ref.step_id, kind=kind, **base)
    if action_id == RERUN_VERIFY:
        return VerifyRequest(**base)
    action = action_id.removeprefix(RUNBOOK_ACTION_PREFIX)
    if RUNBOOK_ACTION_PATTERN.match(action_id) and action == ref.action:
        return StepAction(step=ref.step_id, action=action, **base)
    return None


async def handle_press(
    service: Service,
    body: dict[str, Any],
    respond: AsyncRespond,
    dm: Callable[[str, str], Awaitable[None]] | None = None,
) -> None:
    action = (body.get("actions") or [{}])[0]
    user = str((body.get("user") or {}).get("id", ""))
    action_id = str(action.get("action_id", ""))
    value = str(action.get("value", ""))

    async def say(text: str) -> None:
        if body.get("response_url"):
            await respond(text=text, response_type="ephemeral", replace_original=False)
        elif dm is not None and user:
            # A press in App Home comes without a response_url: answer by DM.
            await dm(user, text)

    try:
        ref = decode_value(value)
    except ValueError:
        await service.reject(user, action_id[:64], OLD_BUTTON)
        await say(OLD_BUTTON)
        return
    base = {
        "user": user,
        "at": now_iso(),
        "channel": (body.get("channel") or {}).get("id"),
        "response_url": body.get("response_url"),
    }
    request = request_for(action_id, ref, base)
    if request is None:
        await service.reject(user, action_id[:64], UNKNOWN_BUTTON, rollout_id=ref.rollout_id)
        await say(UNKNOWN_BUTTON)
        return
    # A Slack retry repeats action_ts: the same key, so the rollout hears it once.
    digest = sha256(value.encode()).hexdigest()[:16]
    key = f"{user}:{action.get('action_ts', '')}:{action_id}:{digest}"
    answer = await service.submit(request, rollout_id=ref.rollout_id, key=key)
    if not answer.accepted:
        await say(f":no_entry: {answer.text}")
