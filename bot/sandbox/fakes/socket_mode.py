"""A local stand-in for Slack's Socket Mode WebSocket endpoint.

Slack's side of Socket Mode, as slack_sdk's clients (``slack_sdk/socket_mode/``)
expect it:

1. The app calls ``apps.connections.open`` with its app-level token (``xapp-…``)
   and gets a short-lived URL ``wss://…/link/?ticket=…&app_id=…``. Here the fake
   Web API (``bot/sandbox/fakes/slack.py``) answers that call with ``issue_url()`` of this
   server once ``attach(fake_slack)`` has been called.
2. The app opens a WebSocket to that URL; Slack sends
   ``{"type": "hello", "num_connections": 1, "debug_info": {…},
   "connection_info": {"app_id": …}}``.
3. Slack pushes envelopes ``{"envelope_id", "type", "payload",
   "accepts_response_payload"}`` with ``type`` one of ``slash_commands``,
   ``interactive``, ``events_api`` (events also carry ``retry_attempt`` and
   ``retry_reason``). The payload is what HTTP mode would post, as a JSON object: the
   slash-command form fields, the interactivity ``payload`` object, the
   ``event_callback`` envelope.
4. The app acknowledges each envelope with ``{"envelope_id": …}``, plus
   ``"payload": {…}`` when it answers with a message (a slash command's ack
   response); Slack wants it within 3 seconds.
5. Slack may send ``{"type": "disconnect", "reason": …}`` asking the app to move
   to a new connection (slack_sdk then calls ``apps.connections.open`` again).

Use::

    async with FakeSocketMode() as sm:
        sm.attach(fake_slack)                      # apps.connections.open → sm
        ...start the bot with SLACK_APP_TOKEN=sm.app_token...
        await sm.wait_connected()
        ack = await sm.request(sm.slash_command("help", "U0DEVOPS1"))
        assert "Usage" in ack.payload["text"]
        sm.assert_no_violations()

It listens on 127.0.0.1 on an ephemeral port and only there. Acks that name no
envelope sent, second acks, acks that are not JSON, and acks later than Slack's
3 seconds are kept in ``violations``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from .server import LoopbackFake
from .signing import (
    API_APP_ID,
    block_action_payload,
    event_body,
    slash_command_body,
)

if TYPE_CHECKING:
    from .slack import FakeSlack

# A stand-in app token (the shape Slack issues), accepted only by the stand-ins.
DEFAULT_APP_TOKEN = "xapp-1-A0FAKEAPP-1111111111-fakesocketmodeapptoken0123456789"  # noqa: S105
ACK_DEADLINE_SECONDS = 3.0


@dataclass(frozen=True)
class Ack:
    """What the app sent back for one envelope."""

    envelope_id: str
    payload: dict[str, Any] | None
    raw: dict[str, Any]
    elapsed: float  # seconds from sending the envelope to receiving this ack


@dataclass
class Connection:
    """One WebSocket the app opened."""

    ticket: str
    ws: web.WebSocketResponse
    opened_at: float = field(default_factory=time.monotonic)
    closed: bool = False


@dataclass
class _Sent:
    envelope: dict[str, Any]
    at: float
    done: asyncio.Future[Ack]


class FakeSocketMode(LoopbackFake):
    """The fake Socket Mode server; use as ``async with FakeSocketMode() as sm``."""

    def __init__(
        self,
        app_token: str = DEFAULT_APP_TOKEN,
        *,
        app_id: str = API_APP_ID,
        ack_deadline: float = ACK_DEADLINE_SECONDS,
    ) -> None:
        self.app_token = app_token
        self.app_id = app_id
        self.ack_deadline = ack_deadline
        self.connections: list[Connection] = []
        self.acks: list[Ack] = []
        # Every text frame the app sent, decoded when it was JSON.
        self.received: list[dict[str, Any] | str] = []
        self.violations: list[str] = []
        self._tickets: set[str] = set()
        self._sent: dict[str, _Sent] = {}
        self._connected = asyncio.Event()

    # ----------------------------------------------------------- lifecycle

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/link/", self._handle_ws)
        app.router.add_get("/link", self._handle_ws)

    async def close(self) -> None:
        for conn in self.connections:
            if not conn.ws.closed:
                await conn.ws.close()
        await super().close()
        for sent in self._sent.values():
            if not sent.done.done():
                sent.done.cancel()

    # ---------------------------------------------------------- public API

    @property
    def base_url(self) -> str:
        """The WebSocket base URL (``ws://127.0.0.1:<port>``)."""
        return "ws://" + super().base_url.removeprefix("http://")

    def issue_url(self) -> str:
        """A fresh WebSocket URL, as ``apps.connections.open`` hands out."""
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        return f"{self.base_url}/link/?ticket={ticket}&app_id={self.app_id}"

    def attach(self, slack: FakeSlack) -> None:
        """Make ``slack``'s ``apps.connections.open`` accept our app token and point here."""
        slack.attach_socket_mode(self.app_token, self.issue_url)

    @property
    def open_connections(self) -> list[Connection]:
        return [c for c in self.connections if not c.closed and not c.ws.closed]

    async def wait_connected(self, within: float = 10.0) -> Connection:
        """The newest open connection, waiting for the app to open one."""
        deadline = time.monotonic() + within
        while True:
            if self.open_connections:
                return self.open_connections[-1]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no Socket Mode connection within {within}s")
            self._connected.clear()
            try:
                await asyncio.wait_for(self._connected.wait(), remaining)
            except TimeoutError:
                continue

    async def send(self, envelope: dict[str, Any]) -> str:
        """Push an envelope to the newest connection; returns its envelope_id."""
        conn = await self.wait_connected()
        envelope_id = str(envelope["envelope_id"])
        if envelope_id in self._sent:
            raise ValueError(f"envelope {envelope_id} was already sent")
        loop = asyncio.get_running_loop()
        self._sent[envelope_id] = _Sent(envelope, time.monotonic(), loop.create_future())
        await conn.ws.send_str(json.dumps(envelope))
        return envelope_id

    async def ack(self, envelope_id: str, within: float = 10.0) -> Ack:
        """Wait for the app's acknowledgement of ``envelope_id``."""
        sent = self._sent.get(envelope_id)
        if sent is None:
            raise KeyError(f"envelope {envelope_id} was never sent")
        try:
            async with asyncio.timeout(within):
                return await asyncio.shield(sent.done)
        except TimeoutError:
            raise AssertionError(f"no ack for envelope {envelope_id} within {within}s") from None

    async def request(self, envelope: dict[str, Any], within: float = 10.0) -> Ack:
        """Send an envelope and wait for its ack."""
        return await self.ack(await self.send(envelope), within)

    async def disconnect(self, reason: str = "warning") -> None:
        """Ask the app to reconnect, as Slack does before it recycles a connection."""
        conn = await self.wait_connected()
        await conn.ws.send_str(
            json.dumps(
                {
                    "type": "disconnect",
                    "reason": reason,
                    "debug_info": {"host": "applink-fake-1"},
                }
            )
        )

    def assert_no_violations(self) -> None:
        if self.violations:
            lines = "\n".join(f"  - {v}" for v in self.violations)
            raise AssertionError(f"Socket Mode traffic Slack would not accept:\n{lines}")

    # ------------------------------------------------------ envelope builders

    @staticmethod
    def envelope(
        type: str, payload: dict[str, Any], *, accepts_response_payload: bool
    ) -> dict[str, Any]:
        """An envelope as Slack sends it over the socket."""
        env: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "payload": payload,
            "type": type,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":
            env["retry_attempt"] = 0
            env["retry_reason"] = ""
        return env

    def slash_command(self, text: str, user_id: str, **kwargs: Any) -> dict[str, Any]:
        """A ``slash_commands`` envelope; keyword arguments as for `slash_command_body`."""
        fields = dict(parse_qsl(slash_command_body(text, user_id, **kwargs)))
        return self.envelope("slash_commands", fields, accepts_response_payload=True)

    def block_action(
        self, user_id: str, action_id: str, value: str, **kwargs: Any
    ) -> dict[str, Any]:
        """An ``interactive`` envelope holding a ``block_actions`` payload (Slack sets
        ``accepts_response_payload`` only for view submissions and suggestions)."""
        payload = block_action_payload(user_id, action_id, value, **kwargs)
        return self.envelope("interactive", payload, accepts_response_payload=False)

    def event(self, event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """An ``events_api`` envelope around an ``event_callback`` for ``event``."""
        payload = json.loads(event_body(event, **kwargs))
        return self.envelope("events_api", payload, accepts_response_payload=False)

    # ------------------------------------------------------------- server

    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            # Slack refuses the upgrade for a ticket it did not issue.
            return web.Response(status=401, text="invalid_ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Connection(ticket, ws)
        self.connections.append(conn)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": len(self.open_connections),
                    "debug_info": {
                        "host": "applink-fake-1",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
        )
        self._connected.set()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            conn.closed = True
        return ws

    def _on_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            self.received.append(data)
            self.violations.append(f"not JSON: {data[:200]!r}")
            return
        self.received.append(message)
        if not isinstance(message, dict) or "envelope_id" not in message:
            self.violations.append(f"a message that is not an ack: {data[:200]!r}")
            return
        envelope_id = str(message["envelope_id"])
        sent = self._sent.get(envelope_id)
        if sent is None:
            self.violations.append(f"ack for an envelope never sent: {envelope_id}")
            return
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            self.violations.append(f"ack payload is not an object: {envelope_id}")
            payload = None
        ack = Ack(envelope_id, payload, message, time.monotonic() - sent.at)
        if sent.done.done():
            self.violations.append(f"second ack for envelope {envelope_id}")
            return
        if ack.elapsed > self.ack_deadline:
            self.violations.append(
                f"ack for {envelope_id} after {ack.elapsed:.2f}s (Slack waits {self.ack_deadline}s)"
            )
        self.acks.append(ack)
        sent.done.set_result(ack)
