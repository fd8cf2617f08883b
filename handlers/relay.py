"""The human bridge: what one person on the rollout types for the other.

Free text in a person's DM with the bot (their rollout thread) and the Reply modal both
become a `RelayRequest`, submitted like any request: the rollout passes the words on to
the other person's thread, as text, with a Reply button. Parse → submit → ack.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.afterack import lazy_runner
from bot.blocks.ids import REPLY, REPLY_BLOCK, REPLY_INPUT, REPLY_MODAL, decode_value
from bot.blocks.relay import reply_modal
from bot.integrations.slack import SlackNotifier
from bot.rollout.events import RelayRequest
from bot.rollout.port import Found, Service, now_iso


def register(app: AsyncApp, service: Service) -> None:
    after_ack = lazy_runner(app)

    async def on_reply(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        after_ack.spawn(open_reply(service, body, client, respond))

    async def on_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await submit_reply(service, ack, body, view)

    app.action(REPLY)(on_reply)
    app.view(REPLY_MODAL)(on_submit)


def _other(found: Found | None, user: str) -> str | None:
    """Whom `user`'s words go to on the active rollout (None: not one of its two people)."""
    state = found.state if found else None
    if state is None or state.finished or state.owner == state.devops:
        return None
    if user == state.owner:
        return "devOps"
    return "the account owner" if user == state.devops else None


async def relay_dm(service: Service, notifier: SlackNotifier, event: dict[str, Any]) -> bool:
    """Pass on what a person on the active rollout typed in their DM with the bot. False
    when it is not for the rollout (someone else, no rollout): the caller answers."""
    user = str(event.get("user") or "")
    channel = str(event.get("channel") or "")
    found = await service.latest()
    if found is None or _other(found, user) is None:
        return False
    assert found.state is not None
    mine = [t for t in found.state.threads.values() if t.user == user]
    if not any(t.channel == channel for t in mine):
        return False
    request = RelayRequest(user=user, text=str(event.get("text") or ""), at=now_iso())
    key = f"dm:{user}:{event.get('client_msg_id') or event.get('ts')}"
    answer = await service.submit(request, rollout_id=found.rollout_id, key=key)
    if not answer.accepted:
        thread = str(event.get("thread_ts") or event.get("ts"))
        await notifier.post(channel, f":no_entry: {answer.text}", thread_ts=thread)
    return True


async def open_reply(
    service: Service, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
) -> None:
    """The Reply button: the modal, for one of the rollout's two people."""
    user = str((body.get("user") or {}).get("id", ""))
    action = (body.get("actions") or [{}])[0]
    try:
        ref = decode_value(str(action.get("value", "")))
    except ValueError:
        ref = None
    found = await service.latest()
    to = _other(found, user)
    if ref is None or found is None or to is None or ref.rollout_id != found.rollout_id:
        why = "That Reply button belongs to a rollout that is over, or is not yours to answer."
        await service.reject(user, "reply", why, rollout_id=found.rollout_id if found else None)
        await respond(text=f":no_entry: {why}", response_type="ephemeral", replace_original=False)
        return
    await client.views_open(
        trigger_id=str(body.get("trigger_id", "")), view=reply_modal(found.rollout_id, to)
    )


async def submit_reply(
    service: Service, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
) -> None:
    """The modal's Send: submitted at once (a database round trip); a refusal is shown in
    the modal itself."""
    user = str((body.get("user") or {}).get("id", ""))
    values = (view.get("state") or {}).get("values") or {}
    text = str(((values.get(REPLY_BLOCK) or {}).get(REPLY_INPUT) or {}).get("value") or "")
    request = RelayRequest(user=user, text=text, at=now_iso())
    key = f"view:{view.get('id')}:{view.get('hash')}"
    rollout_id = str(view.get("private_metadata") or "") or None
    answer = await service.submit(request, rollout_id=rollout_id, key=key)
    if answer.accepted:
        await ack()
    else:
        await ack(response_action="errors", errors={REPLY_BLOCK: answer.text[:150]})
