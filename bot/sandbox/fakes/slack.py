"""A local stand-in for the Slack Web API (``https://slack.com/api/``).

Start it, point a client at it, drive the bot, then look at what was sent::

    async with FakeSlack(token="xoxb-test") as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
        await client.chat_postMessage(channel="C0ENG123", text="hi")
        assert fake.calls("chat.postMessage")[0].args["text"] == "hi"
        fake.assert_no_violations()

It listens on 127.0.0.1 on an ephemeral port and only there.

What it checks, on every call to ``/api/{method}``:

* the method exists in the official OpenAPI description of the Web API
  (``bot/sandbox/specs/slack-web-openapi-v2.json``), else ``unknown_method``;
* a token came with it (``Authorization: Bearer …`` as slack_sdk sends it, or a
  ``token`` form/query field) and it is the configured bot token, else
  ``not_authed`` / ``invalid_auth``;
* every parameter the spec marks ``required`` for that operation is present,
  else ``invalid_arguments``.

Unknown methods and missing arguments are also kept in ``fake.violations`` so a
test can fail on them with ``fake.assert_no_violations()`` even when the bot
swallowed the error.

Notes on the spec, as followed here:

* The spec describes the token as a required parameter named ``token`` that lives
  ``in: header`` for most methods and ``in: query`` for some (``users.info``,
  ``chat.getPermalink``). Real Slack takes it from ``Authorization: Bearer`` or
  from a ``token`` form/query field, whatever the spec says, and so does the fake.
* The spec lists some methods under ``get`` with query parameters
  (``views.publish``, ``auth.test``, ``users.info``) although Slack accepts, and
  slack_sdk sends, POST with a JSON or form body too. The fake does not check the
  HTTP verb; it merges query, form and JSON arguments and checks presence only.
* Everything the spec marks required for the methods the bot uses is something
  real Slack needs as well (``chat.postMessage``: channel; ``chat.update``:
  channel, ts; ``chat.postEphemeral``: channel, user; ``views.publish``: user_id,
  view; ``chat.getPermalink``: channel, message_ts; ``auth.test``: only the token).
  The reverse gaps (Slack needs it, the spec does not say so) are checked too and
  reported as violations worded "required by Slack (the spec does not mark it)":
  ``users.info`` needs ``user``, ``chat.delete`` needs ``channel`` and ``ts``,
  ``conversations.open`` needs ``users`` or ``channel``, and
  ``chat.postMessage``/``chat.postEphemeral`` need one of text, blocks,
  attachments (Slack answers ``no_text``).

Parameters newer than the bundled spec, described from Slack's method pages and
checked like Slack does: ``chat.postMessage``'s ``metadata`` (``{"event_type": …,
"event_payload": {…}}``; anything else is ``invalid_metadata_format``), and
``conversations.history``/``conversations.replies``' ``include_all_metadata`` (messages
carry their ``metadata`` only when it is true) with ``limit``/``cursor`` paging
(history newest first, replies oldest first, the parent included).

``stall_next(method, seconds, text=…)`` stores what the call carries, then holds the
answer back: a test can kill the bot while Slack has the post but the bot has no answer.

Beyond the spec, the methods the bot relies on behave like Slack: a message store
(post, update in place, thread replies, delete), DM channels per user, the App
Home view per user, permalinks, users, channels (``add_channel``): ``conversations.info``
answers a channel as the spec's example does with the bot's ``is_member``, and
``channel_not_found`` for one it does not know (or a private one the bot is not in); posting
to a known channel the bot is not a member of answers ``not_in_channel`` (a bot without
``chat:write.public``). Channels never added are accepted for posting, as before. ``fail_next`` injects errors, including a
429 with ``Retry-After`` as Slack rate-limits. ``response_url(id)`` gives a URL on
the fake for slash-command payloads; what the bot posts there is in
``responses(id)``.

Modals: ``views.open`` / ``views.push`` / ``views.update`` keep each user's stack of open
modals (``modals(user)``); the user is the one ``issue_trigger(user)`` gave the
``trigger_id`` to (Slack ties a trigger to the person whose action made it, and a trigger
lasts 3 seconds: the fake does not expire them). ``close_modal(user, view_id)`` is what
Slack does when a submission is acked without ``response_action`` (or the person closes it).

Watching: ``subscribe(listener)`` calls ``listener(method, result)`` after every call the
fake carried out (``chat.postMessage``, ``chat.update``, ``views.open``, …; ``result`` is
the answer's payload) and ``listener("response_url", {"id": …, "body": …})`` for posts to a
``response_url`` and ``listener("modals", {"user": …, "modals": […]})`` when a user's
modals change, so a viewer can show messages and edits as they happen.

Socket Mode: ``apps.connections.open`` is not in the bundled spec (it predates the
method), so the fake describes it from Slack's method page: POST, the app-level
token (``xapp-…``, not the bot token) in ``Authorization: Bearer`` only (Slack
rejects it as a body field), answering ``{"ok": true, "url": "wss://…/link/?ticket=…"}``.
``attach_socket_mode(app_token, issue_url)`` turns it on; a bot token gets
``not_allowed_token_type``, another app token ``invalid_auth``. The WebSocket server
behind the URL is ``bot/sandbox/fakes/socket_mode.py``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import hashlib
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from aiohttp import web

from bot.sandbox.fakes.server import LoopbackFake
from bot.sandbox.specs import spec

from .signing import API_APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID

_SPEC_NAME = "slack-web-openapi-v2.json"

# Arguments slack_sdk serialises to JSON strings when it form-encodes a call.
_JSON_ARGS = frozenset({"blocks", "attachments", "view", "metadata", "unfurls", "user_auth_blocks"})
_CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_FIRST_TS = 1_732_262_400  # 2024-11-22T08:00:00Z
_MAX_MESSAGE_BLOCKS = 50
_MAX_VIEW_BLOCKS = 100
_MAX_TEXT = 40_000
# Slack's rule for a metadata event_type: letters, digits, underscores, dots, ≤ 255.
_EVENT_TYPE = re.compile(r"^[A-Za-z0-9_.]{1,255}$")


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class MethodSpec:
    """What the OpenAPI description says about one Web API method."""

    name: str
    http_verbs: tuple[str, ...]
    required: frozenset[str]
    parameters: frozenset[str]
    scopes: tuple[str, ...]


_SPEC_CACHE: dict[Path, dict[str, MethodSpec]] = {}

# Methods newer than the bundled spec, described from Slack's method pages.
_EXTRA_METHODS = {
    "apps.connections.open": MethodSpec(
        "apps.connections.open",
        ("POST",),
        frozenset({"token"}),
        frozenset({"token"}),
        ("connections:write",),
    ),
}
# Methods that take the app-level token (xapp-…), and only as a header.
_APP_LEVEL_METHODS = frozenset({"apps.connections.open"})


def spec_path() -> Path:
    """The vendored Slack Web API OpenAPI file."""
    return spec(_SPEC_NAME)


def load_method_specs(path: Path | None = None) -> dict[str, MethodSpec]:
    """Parse the spec once per process (it is 1.2 MB) into a per-method table."""
    path = (path or spec_path()).resolve()
    cached = _SPEC_CACHE.get(path)
    if cached is not None:
        return cached
    with path.open(encoding="utf-8") as fh:
        raw = json.load(fh)
    methods: dict[str, MethodSpec] = {}
    for route, operations in raw["paths"].items():
        name = route.lstrip("/")
        verbs: list[str] = []
        required: set[str] = set()
        params: set[str] = set()
        scopes: list[str] = []
        for verb, op in operations.items():
            if not isinstance(op, dict) or verb.startswith("x-"):
                continue
            verbs.append(verb.upper())
            for p in op.get("parameters", []):
                params.add(p["name"])
                if p.get("required"):
                    required.add(p["name"])
            for sec in op.get("security", []):
                for granted in sec.values():
                    scopes.extend(granted)
        methods[name] = MethodSpec(
            name, tuple(verbs), frozenset(required), frozenset(params), tuple(scopes)
        )
    _SPEC_CACHE[path] = methods
    return methods


@functools.cache
def _conversation_example_json() -> str:
    spec = json.loads(spec_path().read_text(encoding="utf-8"))
    example = spec["paths"]["/conversations.info"]["get"]["responses"]["200"]["examples"]
    return json.dumps(example["application/json"]["channel"])


def _conversation_example() -> dict[str, Any]:
    """The spec's example answer of conversations.info (a fresh copy)."""
    found: dict[str, Any] = json.loads(_conversation_example_json())
    return found


# ---------------------------------------------------------------------- records


@dataclass(frozen=True)
class Call:
    """One request the fake received at ``/api/{method}``.

    ``args`` merges query, form and JSON arguments (JSON strings such as ``blocks``
    decoded); the token is not in ``args`` but in ``token``.
    """

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    token: str | None
    http_method: str = "POST"
    at: float = field(default_factory=time.monotonic, compare=False)  # when it arrived


@dataclass(frozen=True)
class Violation:
    """A call that the spec (or Slack) would reject."""

    method: str
    problem: str
    args: dict[str, Any] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return f"{self.method}: {self.problem}"


@dataclass
class Message:
    """The current version of a message the bot posted (``versions`` holds earlier ones)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None = None
    attachments: list[dict[str, Any]] | None = None
    user: str = BOT_USER_ID
    metadata: dict[str, Any] | None = None
    versions: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    @property
    def edits(self) -> int:
        return len(self.versions)

    def to_api(self, *, with_metadata: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "user": self.user}
        if self.user == BOT_USER_ID:  # a person's message carries no bot or app id
            out.update(bot_id=BOT_ID, app_id=API_APP_ID)
        out.update(team=TEAM_ID, text=self.text, ts=self.ts)
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.attachments is not None:
            out["attachments"] = self.attachments
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
            out["parent_user_id"] = self.user
        if self.metadata is not None and with_metadata:
            out["metadata"] = self.metadata
        if self.versions:
            out["edited"] = {"user": self.user, "ts": self.versions[-1]["replaced_at"]}
        return out


@dataclass(frozen=True)
class Ephemeral:
    """A message only ``user`` sees in ``channel`` (chat.postEphemeral)."""

    channel: str
    user: str
    message_ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None = None


@dataclass
class _Fault:
    error: str
    status: int
    retry_after: int | None
    times: int


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != []


def _decode(key: str, value: Any) -> Any:
    if key in _JSON_ARGS and isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class _SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


# ------------------------------------------------------------------------ server

_Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
Listener = Callable[[str, dict[str, Any]], None]


class FakeSlack(LoopbackFake):
    """The fake Web API server; use as ``async with FakeSlack(token=...) as fake``."""

    def __init__(
        self,
        token: str = "xoxb-test",  # noqa: S107 - a fake's test token, not a secret
        *,
        team_id: str = TEAM_ID,
        team: str = "Fake Team",
        team_domain: str = TEAM_DOMAIN,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        bot_name: str = "creators-onboard",
        spec: Path | None = None,
    ) -> None:
        self.token = token
        self.team_id = team_id
        self.team = team
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self._spec_file = spec
        self.violations: list[Violation] = []
        self._calls: list[Call] = []
        self._faults: dict[str, collections.deque[_Fault]] = collections.defaultdict(
            collections.deque
        )
        self._store: dict[str, dict[str, Message]] = collections.defaultdict(dict)
        self._ephemerals: list[Ephemeral] = []
        self._stalls: list[tuple[str, str, float]] = []
        self._closing = asyncio.Event()
        self._dms: dict[str, str] = {}
        self._home: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._opened: list[dict[str, Any]] = []
        self._responses: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self.app_token: str | None = None
        self._issue_socket_url: Callable[[], str] | None = None
        self._listeners: list[Listener] = []
        self._triggers: dict[str, str] = {}
        self._modals: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        self._handlers: dict[str, _Handler] = {
            "auth.test": self._auth_test,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "apps.connections.open": self._apps_connections_open,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
        }

    # ----------------------------------------------------------- lifecycle

    async def start(self) -> Self:
        load_method_specs(self._spec_file)  # fail fast if the spec is missing
        return await super().start()

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{id}", self._handle_response_url)

    async def close(self) -> None:
        self._closing.set()
        await super().close()

    # ---------------------------------------------------------- public API

    @property
    def api_url(self) -> str:
        """Base URL for ``AsyncWebClient(base_url=...)``; ends with ``/api/``."""
        return f"{self.base_url}/api/"

    def response_url(self, id: str) -> str:
        """A ``response_url`` on the fake; posts to it land in ``responses(id)``."""
        return f"{self.base_url}/response/{id}"

    def responses(self, id: str) -> list[dict[str, Any]]:
        return list(self._responses.get(id, []))

    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self._calls if method is None or c.method == method]

    def clear_calls(self) -> None:
        self._calls.clear()

    def assert_no_violations(self) -> None:
        if self.violations:
            lines = "\n".join(f"  - {v}" for v in self.violations)
            raise AssertionError(f"calls the Slack Web API would reject:\n{lines}")

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` with ``error``.

        ``status=429`` adds ``Retry-After: retry_after`` as Slack does when it
        rate-limits; ``status=200`` is an ordinary ``{"ok": false}`` answer.
        """
        self._faults[method].append(
            _Fault(error, status, retry_after if status == 429 else None, times)
        )

    def pending_faults(self, method: str) -> int:
        """Faults armed with ``fail_next`` for ``method`` and not yet served."""
        return sum(f.times for f in self._faults.get(method, ()))

    def stall_next(self, method: str, seconds: float, *, text: str = "") -> None:
        """Hold back the answer to the next call of ``method`` whose text contains
        ``text`` (the call itself takes effect at once)."""
        self._stalls.append((method, text, seconds))

    def _take_stall(self, method: str, args: dict[str, Any]) -> float:
        for i, (wanted, text, seconds) in enumerate(self._stalls):
            if wanted == method and text in str(args.get("text", "")):
                del self._stalls[i]
                return seconds
        return 0.0

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
        trigger = f"{_FIRST_TS}.{next(self._ids)}.fakeTrigger{user_id}"
        self._triggers[trigger] = user_id
        return trigger

    def modals(self, user_id: str) -> list[dict[str, Any]]:
        """The user's open modals, bottom of the stack first."""
        return list(self._modals.get(user_id, []))

    def close_modal(self, user_id: str, view_id: str | None = None) -> None:
        """Close the modal ``view_id`` and those pushed above it (all when None)."""
        stack = self._modals.get(user_id, [])
        ids = [v["id"] for v in stack]
        keep = ids.index(view_id) if view_id in ids else 0
        del stack[keep:]
        self._modals_changed(user_id)

    def answer_submission(self, user_id: str, view_id: str, answer: dict[str, Any]) -> None:
        """What Slack does with the app's ack to a ``view_submission`` of ``view_id``:
        ``errors`` stay on the modal, ``update`` replaces it, ``push`` stacks a new one,
        ``clear`` closes them all, and no ``response_action`` closes the submitted one."""
        stack = self._modals.get(user_id, [])
        ids = [v["id"] for v in stack]
        if view_id not in ids:
            return
        at = ids.index(view_id)
        action = answer.get("response_action")
        if action == "errors":
            stack[at] = {**stack[at], "errors": dict(answer.get("errors") or {})}
        elif action == "update":
            stack[at] = self._modal({"view": answer.get("view")}, "response_action", stack[at])
        elif action == "push" and len(stack) < 3:
            pushed = self._modal({"view": answer.get("view")}, "response_action", None)
            pushed.update(root_view_id=stack[0]["id"], previous_view_id=stack[-1]["id"])
            stack.append(pushed)
        elif action == "clear":
            stack.clear()
        else:
            del stack[at:]
        self._modals_changed(user_id)

    def _modals_changed(self, user_id: str) -> None:
        self._emit("modals", {"user": user_id, "modals": self.modals(user_id)})

    # --------------------------------------------------------- dispatching

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        body_token: str | None = None
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    return self._reply(method, {"ok": False, "error": "invalid_json"})
                if isinstance(body, dict):
                    # Slack does not read a token from a JSON body: it must be a header.
                    body.pop("token", None)
                    args.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    args[key] = (
                        value
                        if isinstance(value, str)
                        else f"<file {getattr(value, 'filename', '')}>"
                    )
        args = {k: _decode(k, v) for k, v in args.items()}
        if "token" in args:
            body_token = str(args.pop("token"))
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else body_token
        self._calls.append(Call(method, args, dict(request.headers), token, request.method))

        spec = load_method_specs(self._spec_file).get(method) or _EXTRA_METHODS.get(method)
        if spec is None:
            self._violate(method, "unknown method: not a path in the Web API spec", args)
            return self._reply(method, {"ok": False, "error": "unknown_method"})
        if not token:
            if "token" in spec.required:
                self._violate(method, "missing required argument 'token'", args)
            return self._reply(method, {"ok": False, "error": "not_authed"})
        if method in _APP_LEVEL_METHODS:
            refused = self._check_app_token(
                method, token, auth_header=auth.lower().startswith("bearer "), args=args
            )
            if refused is not None:
                return self._reply(method, {"ok": False, "error": refused})
        elif token != self.token:
            return self._reply(method, {"ok": False, "error": "invalid_auth"})

        fault = self._take_fault(method)
        missing = sorted(n for n in spec.required - {"token"} if not _present(args.get(n)))
        for name in missing:
            self._violate(method, f"missing required argument '{name}'", args)
        if fault is not None:
            headers = (
                {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            )
            return self._reply(
                method, {"ok": False, "error": fault.error}, status=fault.status, headers=headers
            )
        if missing:
            return self._reply(
                method,
                {
                    "ok": False,
                    "error": "invalid_arguments",
                    "response_metadata": {
                        "messages": [f"[ERROR] missing required field: {n}" for n in missing]
                    },
                },
            )
        handler = self._handlers.get(method)
        if handler is None:
            return self._reply(method, {"ok": True})
        try:
            result = await handler(args)
        except _SlackError as exc:
            return self._reply(method, {"ok": False, "error": exc.error, **exc.extra})
        stall = self._take_stall(method, args)
        if stall:
            # Held back until the time is up or the fake closes, whichever comes first.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), stall)
        self._emit(method, result)
        return self._reply(method, {"ok": True, **result})

    def _reply(
        self,
        method: str,
        payload: dict[str, Any],
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        return web.json_response(payload, status=status, headers=headers)

    def _check_app_token(
        self, method: str, token: str, *, auth_header: bool, args: dict[str, Any]
    ) -> str | None:
        """The error for an app-level method's token, or None when it is accepted."""
        if not auth_header:
            self._violate(method, "the app-level token must be sent as Authorization: Bearer", args)
            return "not_authed"
        if not token.startswith("xapp-"):
            return "not_allowed_token_type"
        if self.app_token is None or token != self.app_token:
            return "invalid_auth"
        return None

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        return fault

    def _violate(self, method: str, problem: str, args: dict[str, Any]) -> None:
        self.violations.append(Violation(method, problem, dict(args)))

    def _require_by_slack(self, method: str, args: dict[str, Any], *names: str) -> None:
        for name in names:
            if not _present(args.get(name)):
                self._violate(
                    method,
                    f"missing argument '{name}': required by Slack (the spec does not mark it)",
                    args,
                )
                raise _SlackError("invalid_arguments")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        rid = request.match_info["id"]
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        self._responses[rid].append(body if isinstance(body, dict) else {"_raw": body})
        self._emit("response_url", {"id": rid, "body": self._responses[rid][-1]})
        return web.Response(text="ok")

    # ------------------------------------------------------------- helpers

    def _next_ts(self) -> str:
        micros = _FIRST_TS * 1_000_000 + 100 * next(self._ts)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel(self, value: Any) -> str:
        channel = str(value)
        if _USER_ID.match(channel):
            return self.dm_channel(channel)  # posting to a user id goes to the app's DM
        if not _CHANNEL_ID.match(channel):
            raise _SlackError("channel_not_found")
        known = self._channels.get(channel)
        if known is not None and not known["is_member"]:
            raise _SlackError("channel_not_found" if known["is_private"] else "not_in_channel")
        return channel

    def _existing(self, channel: str, ts: Any) -> Message:
        msg = self._store.get(channel, {}).get(str(ts))
        if msg is None or msg.deleted:
            raise _SlackError("message_not_found")
        return msg

    @staticmethod
    def _blocks(method: str, value: Any, limit: int) -> list[dict[str, Any]] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(b, dict) for b in value):
            raise _SlackError("invalid_blocks_format")
        if len(value) > limit:
            raise _SlackError(
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
            "updated": _FIRST_TS,
            "profile": {
                "real_name": name,
                "display_name": name,
                "team": self.team_id,
            },
        }

    # ------------------------------------------------------------ handlers

    async def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    async def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = args.get("users")
        if isinstance(users, str):
            users = [u.strip() for u in users.split(",") if u.strip()]
        if not users:
            if _present(args.get("channel")):
                return {
                    "channel": {"id": str(args["channel"])},
                    "no_op": True,
                    "already_open": True,
                }
            self._violate(
                "conversations.open",
                "needs 'users' or 'channel': required by Slack (the spec marks neither)",
                args,
            )
            raise _SlackError("users_list_not_supplied")
        for uid in users:
            if not _USER_ID.match(str(uid)):
                raise _SlackError("user_not_found")
        if len(users) > 1:
            key = ",".join(sorted(users))
            cid = "G" + hashlib.sha256(key.encode()).hexdigest()[:9].upper()
            return {"channel": {"id": cid, "is_mpim": True, "created": _FIRST_TS}}
        uid = str(users[0])
        existed = uid in self._dms
        cid = self.dm_channel(uid)
        out: dict[str, Any] = {
            "channel": {"id": cid, "created": _FIRST_TS, "is_im": True, "user": uid},
        }
        if existed:
            out.update(no_op=True, already_open=True)
        return out

    async def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        return self._post("chat.postMessage", channel, args)

    def _post(self, method: str, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        blocks = self._blocks(method, args.get("blocks"), _MAX_MESSAGE_BLOCKS)
        attachments = args.get("attachments")
        text = args.get("text")
        if not _present(text) and not blocks and not attachments:
            self._violate(
                method,
                "needs one of text, blocks, attachments: required by Slack "
                "(the spec does not mark it)",
                args,
            )
            raise _SlackError("no_text")
        if text is not None and len(str(text)) > _MAX_TEXT:
            raise _SlackError("msg_too_long")
        thread_ts = args.get("thread_ts")
        ts = self._next_ts()
        msg = Message(
            channel=channel,
            ts=ts,
            text=str(text or ""),
            blocks=blocks,
            thread_ts=str(thread_ts) if _present(thread_ts) else None,
            attachments=attachments if isinstance(attachments, list) else None,
            user=self.bot_user_id,
            metadata=self._metadata(method, args.get("metadata")),
        )
        self._store[channel][ts] = msg
        return {"channel": channel, "ts": ts, "message": msg.to_api()}

    async def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        msg = self._existing(channel, args["ts"])
        blocks = self._blocks("chat.update", args.get("blocks"), _MAX_MESSAGE_BLOCKS)
        if args.get("text") is not None and len(str(args["text"])) > _MAX_TEXT:
            raise _SlackError("msg_too_long")
        msg.versions.append(
            {
                "text": msg.text,
                "blocks": msg.blocks,
                "attachments": msg.attachments,
                "replaced_at": f"{time.time():.6f}",
            }
        )
        if "text" in args:
            msg.text = str(args["text"] or "")
        if "blocks" in args:
            msg.blocks = blocks
        if "attachments" in args:
            attachments = args["attachments"]
            msg.attachments = attachments if isinstance(attachments, list) else None
        return {"channel": channel, "ts": msg.ts, "text": msg.text, "message": msg.to_api()}

    async def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        self._require_by_slack("chat.delete", args, "channel", "ts")
        channel = self._channel(args["channel"])
        msg = self._existing(channel, args["ts"])
        msg.deleted = True
        return {"channel": channel, "ts": msg.ts}

    async def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        blocks = self._blocks("chat.postEphemeral", args.get("blocks"), _MAX_MESSAGE_BLOCKS)
        text = args.get("text")
        if not _present(text) and not blocks and not args.get("attachments"):
            self._violate(
                "chat.postEphemeral",
                "needs one of text, blocks, attachments: required by Slack "
                "(the spec does not mark it)",
                args,
            )
            raise _SlackError("no_text")
        ts = self._next_ts()
        thread_ts = args.get("thread_ts")
        self._ephemerals.append(
            Ephemeral(
                channel=channel,
                user=str(args["user"]),
                message_ts=ts,
                text=str(text or ""),
                blocks=blocks,
                thread_ts=str(thread_ts) if _present(thread_ts) else None,
            )
        )
        return {"message_ts": ts}

    async def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args["channel"])
        msg = self._existing(channel, args["message_ts"])
        link = f"https://{self.team_domain}.slack.com/archives/{channel}/p{msg.ts.replace('.', '')}"
        if msg.thread_ts and msg.thread_ts != msg.ts:
            link += f"?thread_ts={msg.thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    async def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args["user_id"])
        view = args["view"]
        if not isinstance(view, dict):
            raise _SlackError("invalid_arguments")
        if view.get("type") != "home":
            self._violate("views.publish", "view.type must be 'home' (Slack rejects others)", args)
            raise _SlackError(
                "invalid_arguments",
                response_metadata={
                    "messages": ["[ERROR] must be 'home' [json-pointer:/view/type]"]
                },
            )
        blocks = self._blocks("views.publish", view.get("blocks", []), _MAX_VIEW_BLOCKS)
        current = self.home_view(user_id)
        expected_hash = args.get("hash")
        if _present(expected_hash) and current is not None and expected_hash != current["hash"]:
            raise _SlackError("hash_conflict")
        n = next(self._ids)
        published = {
            "id": current["id"] if current else f"V0HOME{n:05d}",
            "team_id": self.team_id,
            "type": "home",
            "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{_FIRST_TS + n}.fakehash{n:04d}",
            "app_id": API_APP_ID,
            "bot_id": self.bot_id,
            "root_view_id": current["id"] if current else f"V0HOME{n:05d}",
            "previous_view_id": None,
        }
        self._home[user_id].append(published)
        return {"view": published}

    async def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        self._require_by_slack("users.info", args, "user")
        uid = str(args["user"])
        if uid in self._users:
            return {"user": self._users[uid]}
        if not _USER_ID.match(uid):
            raise _SlackError("user_not_found")
        return {"user": self._synth_user(uid)}

    async def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if channel in self._dms.values():
            user = next(u for u, c in self._dms.items() if c == channel)
            return {"channel": {"id": channel, "created": _FIRST_TS, "is_im": True, "user": user}}
        known = self._channels.get(channel)
        if known is None or (known["is_private"] and not known["is_member"]):
            raise _SlackError("channel_not_found")
        info = _conversation_example()
        info.update(
            id=channel,
            name=known["name"],
            name_normalized=known["name"],
            is_member=known["is_member"],
            is_private=known["is_private"],
            is_group=known["is_private"],
            is_channel=not known["is_private"],
            is_archived=known["is_archived"],
            is_general=False,
        )
        return {"channel": info}

    async def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if self._issue_socket_url is None:
            raise _SlackError("invalid_auth")
        return {"url": self._issue_socket_url()}

    def _metadata(self, method: str, value: Any) -> dict[str, Any] | None:
        """Slack's message metadata: an object with a string ``event_type`` and an object
        ``event_payload``; anything else is ``invalid_metadata_format``."""
        if value is None:
            return None
        if (
            not isinstance(value, dict)
            or not isinstance(value.get("event_type"), str)
            or not _EVENT_TYPE.match(value["event_type"])
            or not isinstance(value.get("event_payload"), dict)
        ):
            self._violate(method, f"metadata is not {{event_type, event_payload}}: {value!r}", {})
            raise _SlackError("invalid_metadata_format")
        return value

    def _page(self, messages: list[Message], args: dict[str, Any]) -> dict[str, Any]:
        """One page (``limit``, ``cursor``) of ``messages``, with metadata only when
        ``include_all_metadata`` is true, as Slack answers."""
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("true", "1")
        limit = int(args.get("limit") or 100)
        start = int(args.get("cursor") or 0)
        page = messages[start : start + limit]
        more = start + limit < len(messages)
        return {
            "messages": [m.to_api(with_metadata=with_metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    async def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel", ""))
        top = [m for m in self.messages(channel) if m.thread_ts in (None, m.ts)]
        return self._page(list(reversed(top)), args)  # newest first

    async def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel", ""))
        parent = self._existing(channel, args.get("ts", ""))
        return self._page([parent, *self.thread(channel, parent.ts)], args)  # oldest first

    # ----------------------------------------------------------------- modals

    def _modal(
        self, args: dict[str, Any], method: str, previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") != "modal":
            self._violate(method, "view.type must be 'modal'", args)
            raise _SlackError("invalid_arguments")
        blocks = self._blocks(method, view.get("blocks", []), _MAX_VIEW_BLOCKS)
        if not isinstance(view.get("title"), dict):
            self._violate(method, "view.title is required for a modal", args)
            raise _SlackError("invalid_arguments")
        n = next(self._ids)
        view_id = previous["id"] if previous is not None else f"V0MODAL{n:05d}"
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": "modal",
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "state": {"values": {}},
            "hash": f"{_FIRST_TS + n}.fakehash{n:04d}",
            "app_id": API_APP_ID,
            "bot_id": self.bot_id,
            "root_view_id": previous["root_view_id"] if previous else view_id,
            "previous_view_id": previous.get("previous_view_id") if previous else None,
        }

    async def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._triggers.get(str(args["trigger_id"]), "")
        view = self._modal(args, "views.open", None)
        self._opened.append(view)
        self._modals[user] = [view]
        self._modals_changed(user)
        return {"view": view}

    async def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._triggers.get(str(args["trigger_id"]), "")
        stack = self._modals[user]
        if not stack:
            raise _SlackError("not_found")
        if len(stack) >= 3:  # Slack keeps at most three modals in a stack
            raise _SlackError("push_limit_reached")
        view = self._modal(args, "views.push", None)
        view["root_view_id"] = stack[0]["id"]
        view["previous_view_id"] = stack[-1]["id"]
        stack.append(view)
        self._modals_changed(user)
        return {"view": view}

    async def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = args.get("view_id") or args.get("external_id")
        for user, stack in self._modals.items():
            for i, current in enumerate(stack):
                if wanted in (current["id"], current.get("external_id") or None):
                    if _present(args.get("hash")) and args["hash"] != current["hash"]:
                        raise _SlackError("hash_conflict")
                    stack[i] = self._modal(args, "views.update", current)
                    self._modals_changed(user)
                    return {"view": stack[i]}
        raise _SlackError("not_found")
