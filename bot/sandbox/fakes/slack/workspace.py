"""The workspace the fake Web API keeps: identity, messages, DMs, users, channels, App
Home views, modals; what tests and the sandbox read of it; the checks every method shares."""

from __future__ import annotations

import asyncio
import collections
import itertools
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any

from bot.integrations.slack import BOT_SCOPES
from bot.sandbox.fakes.signing import BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID
from bot.sandbox.fakes.slack.records import (
    CHANNEL_ID,
    FIRST_TS,
    USER_ID,
    Call,
    Ephemeral,
    Fault,
    Message,
    SlackError,
    Violation,
    present,
)

Listener = Callable[[str, dict[str, Any]], None]
View = dict[str, Any]


def _by_key() -> collections.defaultdict[str, list[View]]:
    return collections.defaultdict(list)


@dataclass(eq=False, repr=False)
class SlackWorkspace:
    """State and shared checks; `FakeSlack` serves it (``server.py``)."""

    token: str = "xoxb-test"  # noqa: S105 (the stand-in bot token)
    _: KW_ONLY
    team_id: str = TEAM_ID
    team: str = "Fake Team"
    team_domain: str = TEAM_DOMAIN
    bot_user_id: str = BOT_USER_ID
    bot_id: str = BOT_ID
    bot_name: str = "creators-onboard"
    spec: Path | None = None
    violations: list[Violation] = field(default_factory=list, init=False)
    app_token: str | None = field(default=None, init=False)
    # What the server received and was told to do.
    _calls: list[Call] = field(default_factory=list, init=False)
    _faults: collections.defaultdict[str, collections.deque[Fault]] = field(
        default_factory=lambda: collections.defaultdict(collections.deque), init=False
    )
    _stalls: list[tuple[str, str, float]] = field(default_factory=list, init=False)
    _drops: list[tuple[str, str]] = field(default_factory=list, init=False)
    _closing: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    # How far Slack's clock is ahead of this host's (negative: behind), in every answer's
    # `Date` (`clock_off_by`); 0: the Date aiohttp stamps.
    _clock_offset: float = field(default=0.0, init=False)
    # The bot token's scopes, listed in every answer's `x-oauth-scopes` as Slack lists them.
    scopes: tuple[str, ...] = field(default=BOT_SCOPES, init=False)
    _responses: collections.defaultdict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: collections.defaultdict(list), init=False
    )
    # The workspace.
    _store: collections.defaultdict[str, dict[str, Message]] = field(
        default_factory=lambda: collections.defaultdict(dict), init=False
    )
    _ephemerals: list[Ephemeral] = field(default_factory=list, init=False)
    _dms: dict[str, str] = field(default_factory=dict, init=False)
    _home: collections.defaultdict[str, list[View]] = field(default_factory=_by_key, init=False)
    _users: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)
    _channels: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)
    _opened: list[View] = field(default_factory=list, init=False)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1), init=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), init=False)
    _issue_socket_url: Callable[[], str] | None = field(default=None, init=False)
    _listeners: list[Listener] = field(default_factory=list, init=False)
    _triggers: dict[str, str] = field(default_factory=dict, init=False)
    _modals: collections.defaultdict[str, list[View]] = field(default_factory=_by_key, init=False)

    # ---------------------------------------------------------- what it holds

    def messages(self, channel: str | None = None) -> list[Message]:
        """Current, undeleted messages (top-level and replies), oldest first."""
        channels = [channel] if channel is not None else list(self._store)
        found = [
            m
            for ch in channels
            for m in self._store.get(self._dms.get(ch, ch), {}).values()
            if not m.deleted
        ]
        return sorted(found, key=lambda m: (m.ts, m.channel))

    def message(self, channel: str, ts: str) -> Message | None:
        msg = self._store.get(self._dms.get(channel, channel), {}).get(ts)
        return msg if msg is not None and not msg.deleted else None

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The replies in the thread under ``ts`` (the parent is not included)."""
        return [m for m in self.messages(channel) if m.thread_ts == ts and m.ts != ts]

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[Ephemeral]:
        return [
            e
            for e in self._ephemerals
            if (channel is None or e.channel == channel) and (user is None or e.user == user)
        ]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The App Home view last published for ``user_id``."""
        views = self._home.get(user_id)
        return views[-1] if views else None

    def opened_views(self) -> list[dict[str, Any]]:
        """Modals opened with views.open, oldest first (with the trigger_id used)."""
        return list(self._opened)

    def home_views(self, user_id: str) -> list[dict[str, Any]]:
        return list(self._home.get(user_id, []))

    def dm_channel(self, user_id: str) -> str:
        """The DM channel id the fake uses for the bot's DM with ``user_id``."""
        if user_id not in self._dms:
            self._dms[user_id] = "D" + user_id[1:]
        return self._dms[user_id]

    def attach_socket_mode(self, app_token: str, issue_url: Callable[[], str]) -> None:
        """Enable ``apps.connections.open`` for ``app_token``; ``issue_url()`` gives the
        WebSocket URL to answer with (see ``bot/sandbox/fakes/socket_mode.py``)."""
        self.app_token = app_token
        self._issue_socket_url = issue_url

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        member: bool = True,
        private: bool = False,
        archived: bool = False,
    ) -> None:
        """A channel of the workspace; `member`: whether the bot is in it."""
        self._channels[channel_id] = {
            "name": name,
            "is_member": member,
            "is_private": private,
            "is_archived": archived,
        }

    def set_member(self, channel_id: str, member: bool) -> None:
        """The bot joins (is invited to) or leaves a known channel."""
        self._channels[channel_id]["is_member"] = member

    def add_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        """Register a user for ``users.info`` (fields override the synthesised ones)."""
        user = self._synth_user(user_id)
        user.update(fields)
        if "real_name" in fields:
            user["profile"]["real_name"] = fields["real_name"]
        self._users[user_id] = user
        return user

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(method, result)`` after every call carried out; returns the
        function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, method: str, result: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(method, result)

    def post_as_user(
        self, user_id: str, channel: str, text: str, thread_ts: str | None = None
    ) -> Message:
        """A message a person typed, stored as Slack stores it before it sends the
        ``message`` event to the app; subscribers see it as ``"message.user"``."""
        channel = self._channel(channel)
        msg = Message(channel, self._next_ts(), text, None, thread_ts=thread_ts, user=user_id)
        self._store[channel][msg.ts] = msg
        self._emit("message.user", {"channel": channel, "ts": msg.ts, "message": msg.to_api()})
        return msg

    def issue_trigger(self, user_id: str) -> str:
        """A ``trigger_id`` for an interaction of ``user_id`` (what Slack puts in a
        payload); a modal opened with it belongs to that user."""
        trigger = f"{FIRST_TS}.{next(self._ids)}.fakeTrigger{user_id}"
        self._triggers[trigger] = user_id
        return trigger

    # ------------------------------------------------------ shared by methods

    def _violate(self, method: str, problem: str, args: dict[str, Any]) -> None:
        self.violations.append(Violation(method, problem, dict(args)))

    def _require_by_slack(self, method: str, args: dict[str, Any], *names: str) -> None:
        for name in names:
            if not present(args.get(name)):
                self._violate(
                    method,
                    f"missing argument '{name}': required by Slack (the spec does not mark it)",
                    args,
                )
                raise SlackError("invalid_arguments")

    def _next_ts(self) -> str:
        micros = FIRST_TS * 1_000_000 + 100 * next(self._ts)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel(self, value: Any) -> str:
        channel = str(value)
        if USER_ID.match(channel):
            return self.dm_channel(channel)  # posting to a user id goes to the app's DM
        if not CHANNEL_ID.match(channel):
            raise SlackError("channel_not_found")
        known = self._channels.get(channel)
        if known is not None and not known["is_member"]:
            raise SlackError("channel_not_found" if known["is_private"] else "not_in_channel")
        return channel

    def _existing(self, channel: str, ts: Any) -> Message:
        msg = self._store.get(channel, {}).get(str(ts))
        if msg is None or msg.deleted:
            raise SlackError("message_not_found")
        return msg

    @staticmethod
    def _blocks(method: str, value: Any, limit: int) -> list[dict[str, Any]] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(b, dict) for b in value):
            raise SlackError("invalid_blocks_format")
        if len(value) > limit:
            raise SlackError(
                "invalid_blocks",
                response_metadata={"messages": [f"[ERROR] no more than {limit} items allowed"]},
            )
        return value

    def _synth_user(self, user_id: str) -> dict[str, Any]:
        is_bot = user_id == self.bot_user_id
        name = self.bot_name if is_bot else f"user-{user_id.lower()}"
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": name,
            "tz": "America/Los_Angeles",
            "tz_label": "Pacific Standard Time",
            "tz_offset": -28800,
            "is_admin": False,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": FIRST_TS,
            "profile": {
                "real_name": name,
                "display_name": name,
                "team": self.team_id,
            },
        }
