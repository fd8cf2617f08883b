"""The fake Web API's server: ``/api/{method}`` checked against the spec (method, token,
required arguments), dispatched to the methods, with injected faults and stalls; and the
``response_url`` endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, ClassVar, Self

from aiohttp import web

from bot.sandbox.fakes.server import LoopbackFake
from bot.sandbox.fakes.slack.methods import SlackMethods
from bot.sandbox.fakes.slack.modals import SlackModals
from bot.sandbox.fakes.slack.openapi import APP_LEVEL_METHODS, EXTRA_METHODS, load_method_specs
from bot.sandbox.fakes.slack.records import Call, Fault, SlackError, decode, present

Handler = Callable[["FakeSlack", dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(eq=False, repr=False)
class FakeSlack(SlackMethods, SlackModals, LoopbackFake):
    """The fake Web API server; use as ``async with FakeSlack(token=...) as fake``."""

    HANDLERS: ClassVar[dict[str, Handler]] = {
        "auth.test": SlackMethods._auth_test,
        "conversations.open": SlackMethods._conversations_open,
        "conversations.history": SlackMethods._conversations_history,
        "conversations.replies": SlackMethods._conversations_replies,
        "chat.postMessage": SlackMethods._chat_post_message,
        "chat.update": SlackMethods._chat_update,
        "chat.delete": SlackMethods._chat_delete,
        "chat.postEphemeral": SlackMethods._chat_post_ephemeral,
        "chat.getPermalink": SlackMethods._chat_get_permalink,
        "views.publish": SlackMethods._views_publish,
        "users.info": SlackMethods._users_info,
        "conversations.info": SlackMethods._conversations_info,
        "apps.connections.open": SlackMethods._apps_connections_open,
        "views.open": SlackModals._views_open,
        "views.push": SlackModals._views_push,
        "views.update": SlackModals._views_update,
    }

    # ----------------------------------------------------------- lifecycle

    async def start(self) -> Self:
        load_method_specs(self.spec)  # fail fast if the spec is missing
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
        html: bool = False,
        plain: bool = False,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` with ``error``.

        ``status=429`` adds ``Retry-After: retry_after`` as Slack does when it
        rate-limits; ``status=200`` is an ordinary ``{"ok": false}`` answer. ``html``
        answers with an HTML error page instead of Slack's JSON, as the load balancers
        in front of Slack do during an outage (``status=503``). ``plain`` answers with
        ``error`` itself as a text/plain body, as a proxy in front of Slack does when it
        loses its upstream (Envoy's ``upstream connect error or disconnect/reset before
        headers``, ``status=503``).
        """
        self._faults[method].append(
            Fault(error, status, retry_after if status == 429 else None, times, html, plain)
        )

    def pending_faults(self, method: str) -> int:
        """Faults armed with ``fail_next`` for ``method`` and not yet served."""
        return sum(f.times for f in self._faults.get(method, ()))

    def clock_off_by(self, seconds: float) -> None:
        """Answer with a `Date` `seconds` ahead of this host's clock (negative: behind), as
        Slack's answers look from a host whose clock is that far off."""
        self._clock_offset = seconds

    def stall_next(self, method: str, seconds: float, *, text: str = "") -> None:
        """Hold back the answer to the next call of ``method`` whose text contains
        ``text`` (the call itself takes effect at once)."""
        self._stalls.append((method, text, seconds))

    def drop_next(self, method: str, *, text: str = "") -> None:
        """Carry out the next call of ``method`` whose text contains ``text``, then close
        the connection without answering (a load balancer reset after Slack took it)."""
        self._drops.append((method, text))

    def _take_drop(self, method: str, args: dict[str, Any]) -> bool:
        for i, (wanted, text) in enumerate(self._drops):
            if wanted == method and text in str(args.get("text", "")):
                del self._drops[i]
                return True
        return False

    def _take_stall(self, method: str, args: dict[str, Any]) -> float:
        for i, (wanted, text, seconds) in enumerate(self._stalls):
            if wanted == method and text in str(args.get("text", "")):
                del self._stalls[i]
                return seconds
        return 0.0

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
        args = {k: decode(k, v) for k, v in args.items()}
        if "token" in args:
            body_token = str(args.pop("token"))
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else body_token
        self._calls.append(Call(method, args, dict(request.headers), token, request.method))

        spec = load_method_specs(self.spec).get(method) or EXTRA_METHODS.get(method)
        if spec is None:
            self._violate(method, "unknown method: not a path in the Web API spec", args)
            return self._reply(method, {"ok": False, "error": "unknown_method"})
        if not token:
            if "token" in spec.required:
                self._violate(method, "missing required argument 'token'", args)
            return self._reply(method, {"ok": False, "error": "not_authed"})
        if method in APP_LEVEL_METHODS:
            refused = self._check_app_token(
                method, token, auth_header=auth.lower().startswith("bearer "), args=args
            )
            if refused is not None:
                return self._reply(method, {"ok": False, "error": refused})
        elif token != self.token:
            return self._reply(method, {"ok": False, "error": "invalid_auth"})

        fault = self._take_fault(method)
        missing = sorted(n for n in spec.required - {"token"} if not present(args.get(n)))
        for name in missing:
            self._violate(method, f"missing required argument '{name}'", args)
        if fault is not None and fault.html:
            page = f"<html><body><h1>{fault.status} {fault.error}</h1></body></html>"
            return web.Response(status=fault.status, text=page, content_type="text/html")
        if fault is not None and fault.plain:
            return web.Response(status=fault.status, text=fault.error, content_type="text/plain")
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
        handler = self.HANDLERS.get(method)
        if handler is None:
            return self._reply(method, {"ok": True})
        try:
            result = await handler(self, args)
        except SlackError as exc:
            return self._reply(method, {"ok": False, "error": exc.error, **exc.extra})
        stall = self._take_stall(method, args)
        if stall:
            # Held back until the time is up or the fake closes, whichever comes first.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), stall)
        self._emit(method, result)
        if self._take_drop(method, args) and request.transport is not None:
            request.transport.close()  # taken, never answered: the client sees a disconnect
        return self._reply(method, {"ok": True, **result})

    def _reply(
        self,
        method: str,
        payload: dict[str, Any],
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        headers = {**(headers or {}), "x-oauth-scopes": ",".join(self.scopes)}
        if self._clock_offset:
            headers["Date"] = formatdate(time.time() + self._clock_offset, usegmt=True)
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

    def _take_fault(self, method: str) -> Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        return fault

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        rid = request.match_info["id"]
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        self._responses[rid].append(body if isinstance(body, dict) else {"_raw": body})
        self._emit("response_url", {"id": rid, "body": self._responses[rid][-1]})
        return web.Response(text="ok")
