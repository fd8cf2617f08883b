"""The app factory: the Bolt app, and the aiohttp web app that serves it with health checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot import inbound
from bot.afterack import Once, TrackedLazyRunner, claim_after_ack
from bot.commands import BY_NAME
from bot.deps import Deps
from bot.inbound import check_signature
from bot.logging import bind_request, clear_request, get_logger
from bot.rollout.port import Service
from bot.settings import Settings
from bot.watches.port import WatchPort

log = get_logger(__name__)


# Label values are only ever one of these (or "unknown"): whatever a client sends, the
# metrics keep a fixed size.
_EVENTS = frozenset({"app_home_opened", "message"})
_KINDS = frozenset({"block_actions", "event_callback", "url_verification", "ssl_check"})


def known_action_ids() -> frozenset[str]:
    from bot.blocks.ids import DEPLOY_ACTIONS, PING_DEVOPS, STUCK, runbook_action_id
    from bot.runbook import load_runbook

    runbook = load_runbook()
    ids = {runbook_action_id(a.id) for step in runbook.steps for a in step.actions}
    return frozenset({*ids, *DEPLOY_ACTIONS, STUCK, PING_DEVOPS})


def listener_key(body: dict[str, Any], actions: frozenset[str] = frozenset()) -> str:
    """A short label for the listener a request goes to, for metrics and logs. Bounded:
    anything not ours is "unknown"."""
    if "command" in body:
        sub = str(body.get("text", "")).strip().split(" ", 1)[0].lower() or "help"
        return f"command:{sub if sub in BY_NAME else 'unknown'}"
    kind = body.get("type")
    if kind == "block_actions":
        first = (body.get("actions") or [{}])[0]
        action_id = str(first.get("action_id", ""))
        return f"action:{action_id if action_id in actions else 'unknown'}"
    if kind == "event_callback":
        event = str((body.get("event") or {}).get("type", ""))
        return f"event:{event if event in _EVENTS else 'unknown'}"
    return str(kind) if kind in _KINDS else "other"


def _observe(deps: Deps) -> Callable[..., Awaitable[BoltResponse | None]]:
    actions = known_action_ids()

    async def middleware(
        body: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        key = listener_key(body, actions)
        user = (
            body.get("user_id")
            or (body.get("user") or {}).get("id")
            or (body.get("event") or {}).get("user")
        )
        bind_request(listener=key, user=user)
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await next()
        except BaseException:
            outcome = "error"
            raise
        finally:
            deps.metrics.requests.labels(key, outcome).inc()
            deps.metrics.ack_seconds.labels(key).observe(time.perf_counter() - started)

    return middleware


def _once(deps: Deps) -> Callable[..., Awaitable[BoltResponse | None]]:
    """A request Slack retries (same event_id) or someone replays inside the signature's
    5-minute window (same trigger_id) is handled once, whichever replica gets it.

    The key is claimed right after the ack, before the request's work (`bot.afterack`): no
    ack waits for the database. A command whose answer reports a write made before its
    ack (`start`) claims first (`first_delivery`); a repeated command's author is told it
    was already handled; `help` and `status` change nothing and claim nothing."""

    async def middleware(
        body: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        key = inbound.once_key(body)
        needed = key is not None and not inbound.reads_only(body)
        claim_after_ack(Once(key, deps.store.claim) if key and needed else None)
        return await next()

    return middleware


def create_app(
    settings: Settings,
    deps: Deps,
    service: Service | None = None,
    watches: WatchPort | None = None,
) -> AsyncApp:
    """Build the Bolt app with every listener registered. Does no I/O."""
    from bot.workflows.service import DbosRollouts, RolloutService
    from bot.workflows.watch_service import WatchService
    from handlers import register

    env = settings.env
    app = AsyncApp(
        client=deps.slack,
        signing_secret=(
            env.slack_signing_secret.get_secret_value() if env.slack_signing_secret else None
        ),
        # Listeners only parse, authorise, hand off and ack: answering after they return
        # is safe and takes the ack from ~10 ms polling to well under 1 ms.
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        # Socket Mode needs no signature (Slack authenticates the socket); HTTP always
        # does. Without a secret, the HTTP endpoint is not served at all (server.py).
        request_verification_enabled=not settings.socket_mode or bool(env.slack_signing_secret),
    )
    app.listener_runner.lazy_listener_runner = TrackedLazyRunner(app.logger)
    app.middleware(_observe(deps))
    app.middleware(_once(deps))
    register(
        app,
        deps,
        service or RolloutService(settings.config, deps.store, DbosRollouts(deps.index)),
        watches or WatchService(settings.config, deps.store, deps.watch_board),
    )
    return app


def create_web_app(
    bolt: AsyncApp,
    deps: Deps,
    ready: Callable[[], Awaitable[bool]],
    *,
    slack_endpoint: bool = True,
    github_events: Callable[[web.Request], Awaitable[web.Response]] | None = None,
) -> web.Application:
    """One aiohttp server: Slack's endpoint, health, readiness and metrics, and GitHub's
    webhook (`bot.webhooks`) when it is configured."""

    secret = deps.settings.env.slack_signing_secret
    body_timeout = deps.settings.config.http.body_timeout_seconds

    async def slack_events(request: web.Request) -> web.Response:
        rid = request.headers.get("X-Request-Id", "")[:64] or f"{time.time_ns():x}"
        clear_request()
        bind_request(request_id=rid)
        try:
            async with asyncio.timeout(body_timeout):
                body = await request.read()
        except TimeoutError:
            return web.Response(status=408, text="the body did not arrive in time")
        refused = (
            check_signature(secret.get_secret_value(), body, request.headers) if secret else None
        )
        parsed = refused or inbound.parse(body, request.content_type)
        if isinstance(parsed, inbound.Refusal):
            log.info("slack_request_refused", status=parsed.status, reason=parsed.reason)
            return web.Response(status=parsed.status, text=parsed.reason)
        bolt_req: AsyncBoltRequest = await to_bolt_request(request)
        bolt_resp = await bolt.async_dispatch(bolt_req)
        return await to_aiohttp_response(bolt_resp)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        if await ready():
            return web.json_response({"status": "ready"})
        return web.json_response(
            {"status": "not ready", "reason": "the database does not answer (DATABASE_URL)"},
            status=503,
        )

    async def metrics(_: web.Request) -> web.Response:
        payload, content_type = deps.metrics.render()
        return web.Response(body=payload, headers={"Content-Type": content_type})

    web_app = web.Application()
    if slack_endpoint:  # off in Socket Mode without a signing secret: nothing to verify with
        web_app.router.add_post("/slack/events", slack_events)
    if github_events is not None:
        web_app.router.add_post("/github/events", github_events)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/readyz", readyz)
    web_app.router.add_get("/metrics", metrics)
    return web_app
