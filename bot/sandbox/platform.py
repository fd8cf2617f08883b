"""The supervisor standing in for Slack towards the bot: what a person does in the page
becomes the request Slack would send — built from what the fake Slack holds (the message
and its button, the open modal), signed with the app's signing secret, and posted to the
bot's `/slack/events`. The bot's answers (the ack's body, posts to a response_url) come
back as ephemeral messages, as Slack shows them."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.sandbox.fakes.signing import (
    block_action_payload,
    event_body,
    interactivity_body,
    signed_headers,
    slash_command_body,
    view_closed_payload,
    view_submission_payload,
)
from bot.sandbox.fakes.slack import FakeSlack

NOT_RESPONDING = (
    "creators-onboard did not respond. (The bot process is not running: restart it from "
    "the rehearsal strip. Real Slack shows this when the app is down.)"
)


class PlatformError(ValueError):
    """The page asked for something Slack would not let a person do."""


@dataclass
class Ephemeral:
    """Shown to one person in one conversation, under everything posted before it."""

    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None
    after_ts: str
    seq: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "user": self.user,
            "text": self.text,
            "blocks": self.blocks,
            "after_ts": self.after_ts,
            "seq": self.seq,
        }


@dataclass
class Platform:
    slack: FakeSlack
    signing_secret: str
    http: aiohttp.ClientSession
    bot_url: Callable[[], str | None]
    ephemerals: list[Ephemeral] = field(default_factory=list)
    on_ephemeral: Callable[[Ephemeral], None] = lambda _: None
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------------- sending

    async def _send(self, body: str) -> tuple[int, str] | None:
        """Post a signed body to the bot; None when the bot does not answer."""
        url = self.bot_url()
        if url is None:
            return None
        headers = signed_headers(body, self.signing_secret)
        try:
            async with self.http.post(
                f"{url}/slack/events",
                data=body.encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=3),  # Slack gives an app 3 seconds
            ) as resp:
                return resp.status, await resp.text()
        except (aiohttp.ClientError, TimeoutError):
            return None

    def _response_url(self, user: str, channel: str) -> str:
        return self.slack.response_url(f"{user}.{channel}.{next(self._seq)}")

    def tell(self, user: str, channel: str, text: str, blocks: Any = None) -> Ephemeral:
        """Show an ephemeral message to `user` in `channel`."""
        newest = self.slack.messages(channel)
        eph = Ephemeral(
            channel,
            user,
            text,
            blocks if isinstance(blocks, list) else None,
            newest[-1].ts if newest else "0",
            next(self._seq),
        )
        self.ephemerals.append(eph)
        self.on_ephemeral(eph)
        return eph

    def answered(self, user: str, channel: str, sent: tuple[int, str] | None) -> None:
        """Show what the bot's ack said (if anything), as Slack does."""
        if sent is None or sent[0] >= 500:
            self.tell(user, channel, NOT_RESPONDING)
            return
        status, text = sent
        if status != 200:
            self.tell(user, channel, f"Slack could not deliver this to the app ({status}).")
            return
        if not text.strip():
            return
        body = json.loads(text)
        if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            self.tell(user, channel, str(body.get("text") or ""), body.get("blocks"))

    def responded(self, response_id: str, body: dict[str, Any]) -> None:
        """The bot posted to a response_url this platform handed out."""
        user, _, rest = response_id.partition(".")
        channel = rest.partition(".")[0]
        if body.get("delete_original"):
            return
        self.tell(user, channel, str(body.get("text") or ""), body.get("blocks"))

    # ------------------------------------------------------------- what people do

    async def command(self, user: str, channel: str, text: str) -> None:
        """`/creators-onboard <text>` typed by `user` in `channel`."""
        channel = self.slack.dm_channel(user) if channel == "dm" else channel
        body = slash_command_body(
            text,
            user,
            response_url=self._response_url(user, channel),
            channel_id=channel,
            channel_name="directmessage" if channel.startswith("D") else "engineering",
            trigger_id=self.slack.issue_trigger(user),
        )
        self.answered(user, channel, await self._send(body))

    async def press(self, user: str, where: dict[str, Any], action_id: str, block_id: str) -> None:
        """A button pressed in a message (`where` = channel and ts), in the user's App Home
        (`where` = home) or in an open modal (`where` = view_id)."""
        message: dict[str, Any] | None = None
        view: dict[str, Any] | None = None
        channel: str | None = None
        if "ts" in where:
            channel = str(where["channel"])
            found = self.slack.message(channel, str(where["ts"]))
            if found is None:
                raise PlatformError("that message is gone")
            message = found.to_api()
            blocks = found.blocks or []
        elif "view_id" in where:
            view = next((v for v in self.slack.modals(user) if v["id"] == where["view_id"]), None)
            if view is None:
                raise PlatformError("that modal is closed")
            blocks = view["blocks"]
        else:
            view = self.slack.home_view(user)
            if view is None:
                raise PlatformError("the App Home tab has nothing to press")
            blocks = view["blocks"]
        element = _find_element(blocks, block_id, action_id)
        payload = block_action_payload(
            user,
            action_id,
            str(element.get("value", "")),
            channel_id=channel,
            message_ts=str(where["ts"]) if message else None,
            response_url=self._response_url(user, channel) if channel else None,
            block_id=block_id,
            action_text=str((element.get("text") or {}).get("text", "")),
            message=message,
            view=view,
            trigger_id=self.slack.issue_trigger(user),
        )
        if view is not None and "view_id" in where:
            payload["container"] = {"type": "view", "view_id": view["id"]}
        body = interactivity_body(payload)
        self.answered(user, channel or self.slack.dm_channel(user), await self._send(body))

    async def submit(self, user: str, view_id: str, values: dict[str, dict[str, Any]]) -> None:
        """The user's open modal submitted with `values` (block_id → action_id → value)."""
        view = next((v for v in self.slack.modals(user) if v["id"] == view_id), None)
        if view is None:
            raise PlatformError("that modal is closed")
        payload = view_submission_payload(
            user, view, values, trigger_id=self.slack.issue_trigger(user)
        )
        sent = await self._send(interactivity_body(payload))
        dm = self.slack.dm_channel(user)
        if sent is None or sent[0] != 200:
            self.answered(user, dm, sent)
            return
        answer = json.loads(sent[1]) if sent[1].strip() else {}
        self.slack.answer_submission(user, view_id, answer if isinstance(answer, dict) else {})

    async def close(self, user: str, view_id: str) -> None:
        """The person closed the modal (Slack tells the app only when it asked)."""
        view = next((v for v in self.slack.modals(user) if v["id"] == view_id), None)
        if view is None:
            return
        self.slack.close_modal(user, view_id)
        if view.get("notify_on_close"):
            await self._send(interactivity_body(view_closed_payload(user, view)))

    async def open_home(self, user: str) -> None:
        """The person opened the app's Home tab (`app_home_opened`)."""
        event = {
            "type": "app_home_opened",
            "user": user,
            "channel": self.slack.dm_channel(user),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        await self._send(event_body(event))

    async def message(self, user: str, channel: str, text: str, thread_ts: str | None) -> None:
        """The person typed a message (a `message` event reaches the app for its DMs)."""
        channel = self.slack.dm_channel(user) if channel == "dm" else channel
        posted = self.slack.post_as_user(user, channel, text, thread_ts)
        event = {
            **posted.to_api(),
            "channel": channel,
            "channel_type": "im" if channel.startswith("D") else "channel",
            "event_ts": posted.ts,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        sent = await self._send(event_body(event))
        if sent is None:
            self.tell(user, channel, NOT_RESPONDING)


def _find_element(blocks: list[dict[str, Any]], block_id: str, action_id: str) -> dict[str, Any]:
    """The interactive element `action_id` in block `block_id` (Slack gives blocks without
    an id one of its own; the page sends the block's position as `#n` for those)."""
    for n, block in enumerate(blocks):
        if block.get("block_id", f"#{n}") != block_id:
            continue
        candidates = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if element.get("action_id") == action_id:
                return dict(element)
    raise PlatformError(f"no {action_id} in block {block_id}")
