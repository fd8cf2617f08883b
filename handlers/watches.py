"""Buttons outside a rollout: the eligibility check-in's two answers and Start rotation.
Ack at once; a lazy listener parses the press and hands it to the service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.afterack import lazy_runner
from bot.blocks.ids import (
    OLD_BUTTON,
    START_ROTATION,
    WATCH_PRESSES,
    decode_checkin,
    decode_rotation,
)
from bot.rollout.port import Answer, Service, StartRequest
from bot.watches.port import WatchPort
from bot.watches.texts import ROTATION_REASONS

T = TypeVar("T")


def register(app: AsyncApp, service: Service, watches: WatchPort) -> None:
    after_ack = lazy_runner(app)

    async def on_press(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if _press(body)[1] == START_ROTATION:
            after_ack.spawn(start_rotation(service, body, respond))
        else:
            after_ack.spawn(answer_checkin(watches, service, body, respond))

    app.action(WATCH_PRESSES)(on_press)


def _press(body: dict[str, Any]) -> tuple[str, str, str, str]:
    """(user, action id, value, message ts) of a press."""
    action = (body.get("actions") or [{}])[0]
    user = str((body.get("user") or {}).get("id", ""))
    ts = str((body.get("container") or {}).get("message_ts") or "")
    return user, str(action.get("action_id", "")), str(action.get("value", "")), ts


async def _say(respond: AsyncRespond, answer: Answer) -> None:
    text = answer.text if answer.accepted else f":no_entry: {answer.text}"
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def _decoded(
    service: Service, body: dict[str, Any], respond: AsyncRespond, decode: Callable[[str], T]
) -> T | None:
    """The button's value, decoded; None (the press refused and audited) when it can't be."""
    user, action_id, value, _ = _press(body)
    try:
        return decode(value)
    except ValueError:
        await _say(respond, await service.reject(user, action_id[:64], OLD_BUTTON))
        return None


async def answer_checkin(
    watches: WatchPort, service: Service, body: dict[str, Any], respond: AsyncRespond
) -> None:
    user, _, _, ts = _press(body)
    ref = await _decoded(service, body, respond, decode_checkin)
    if ref is None:
        return
    channel = str((body.get("channel") or {}).get("id", ""))
    answer = await watches.answer_checkin(
        user=user, checkin=ref.checkin, answer=ref.answer, channel=channel, ts=ts
    )
    if not answer.accepted:
        await _say(respond, answer)


async def start_rotation(service: Service, body: dict[str, Any], respond: AsyncRespond) -> None:
    why = await _decoded(service, body, respond, decode_rotation)
    if why is None:
        return
    started = await service.start(
        StartRequest(user=_press(body)[0], kind="rotation", reason=ROTATION_REASONS[why])
    )
    await _say(respond, started)
