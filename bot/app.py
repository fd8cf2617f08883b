"""The app factory: the Bolt app, and the aiohttp web app that serves it with health checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.authorization.async_single_team_authorization import (
    AsyncSingleTeamAuthorization,
)
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError

from bot import inbound
from bot.afterack import AcksFirst, TrackedLazyRunner
from bot.deps import Deps
from bot.inbound import check_signature
from bot.integrations.slack import slack_error_code
from bot.logging import Hush, bind_request, clear_request, get_logger
from bot.middleware.failed import answer_failures
from bot.middleware.observe import Observe
from bot.middleware.once import OnceOnly
from bot.middleware.ratelimited import RateLimitedNotice
from bot.middleware.respond import RespondOverSession
from bot.rollout.port import Service
from bot.settings import Settings
from bot.watches.port import WatchPort

log = get_logger(__name__)

# Logged with a recent request signed with a secret that is not ours (at most once a
# minute, with how many were held back).
MISMATCH_MEANING = (
    "refused: signed recently, but not with SLACK_SIGNING_SECRET. One alone may be "
    "someone else's request. If every request from Slack is refused like this (each "
    "command fails in Slack with dispatch_failed, and Event Subscriptions cannot verify "
    "the Request URL), SLACK_SIGNING_SECRET is not this app's Signing Secret: copy it "
    "from api.slack.com/apps → this app → Basic Information → App Credentials → Signing "
    "Secret (not the Client Secret or the Verification Token) and restart the bot."
)
# Logged with a request Slack signed with our secret but dated outside its 5-minute window
# (`seconds_old` by this host's clock), which is refused as Slack's docs require.
STALE_MEANING = (
    "refused: signed with our signing secret but dated outside Slack's 5-minute window. "
    "One alone may be an old request sent again (a replay). If every request from Slack "
    "is refused like this (each command then fails in Slack with dispatch_failed), this "
    "host's clock is off by about seconds_old: set it right (NTP: `timedatectl "
    "set-ntp true`; Docker Desktop's clock after the laptop slept: restart Docker "
    "Desktop); `creators-onboard check` compares it with Slack's."
)


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
        # Over the app's HTTP session. Bolt deep-copies the request of a lazy listener, a
        # client on a live session included, which fails: no listener is lazy
        # (tests/test_manifest_handlers.py); they ack and hand their work to spawn.
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
    app.middleware(Observe(deps.metrics))
    app.middleware(RateLimitedNotice())
    app.middleware(OnceOnly(deps.store.claim))
    app.middleware(RespondOverSession(deps.session))
    app.error(answer_failures(app))
    register(
        app,
        deps,
        service or RolloutService(settings.config, deps.store, DbosRollouts(deps.index)),
        watches or WatchService(settings.config, deps.store, deps.watch_board),
    )
    return app


# Logged when Slack did not say who the bot is before it started listening.
AUTH_DEFERRED_MEANING = (
    "Slack did not answer auth.test as the bot started, so Bolt asks it again inside the "
    "first request's ack (Slack gives an ack 3 seconds): that request may be slow, or "
    "fail if Slack is still not answering. Nothing else is affected. If it persists, "
    "`creators-onboard check` says whether SLACK_BOT_TOKEN is accepted and Slack reachable."
)


async def know_the_bot(app: AsyncApp, *, within: float = 5.0) -> bool:
    """Ask Slack who the bot is (`auth.test`) before the first request arrives.

    Bolt's single-workspace authorization asks on the first request and keeps the answer
    for the life of the process: after every restart, the first command or press would
    wait inside its ack (3 seconds, Slack's limit) for a round trip to Slack, and fail
    when Slack answers slowly then. The answer is given to Bolt to keep, as it keeps its
    own. False (logged) when Slack did not answer within `within` seconds or refused:
    Bolt then asks on the first request, as it would have."""
    authorizing = [
        m
        for m in getattr(app, "_async_middleware_list", [])
        if isinstance(m, AsyncSingleTeamAuthorization)
    ]
    if not authorizing or authorizing[0].auth_test_result is not None:
        return bool(authorizing)
    try:
        async with asyncio.timeout(within):
            answer = await app.client.auth_test()
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        # Slack's own error code when it answered; else what kind of failure (never the token).
        said = slack_error_code(exc)[0] if isinstance(exc, SlackApiError) else None
        log.warning(
            "slack_auth_deferred",
            error=said or type(exc).__name__,
            meaning=AUTH_DEFERRED_MEANING,
        )
        return False
    authorizing[0].auth_test_result = answer
    return True


def checked_request(body: dict[str, Any], request: web.Request) -> AsyncBoltRequest:
    """The request for Bolt, from the body `slack_events` has already checked: its
    signature verified (`inbound.check_signature`, as Bolt's own check does it) and its
    shape validated (`inbound.parse`, which reads it as Bolt does). Bolt takes it parsed,
    as it takes a Socket Mode payload, and does neither again (a tenth of an ack's time
    went to parsing and verifying the same body twice)."""
    return AsyncBoltRequest(
        body=body,
        query=request.query_string,
        headers=dict(request.headers),
        mode="socket_mode",  # Bolt's name for "parsed, authenticated already"
    )


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
    # Work left for after the acks waits while requests are arriving (`AcksFirst`); a Bolt
    # app not built by `create_app` spawns no such work, so nothing waits on its own order.
    after_ack = bolt.listener_runner.lazy_listener_runner
    turns = after_ack.turns if isinstance(after_ack, TrackedLazyRunner) else AcksFirst()

    async def slack_events(request: web.Request) -> web.Response:
        with turns.answering():
            return await answer(request)

    async def answer(request: web.Request) -> web.Response:
        rid = request.headers.get("X-Request-Id", "")[:64] or f"{time.time_ns():x}"
        clear_request()
        bind_request(request_id=rid)
        try:
            async with asyncio.timeout(body_timeout):
                body = await request.read()
        except TimeoutError:
            return web.Response(status=408, text="the body did not arrive in time")
        if inbound.is_ssl_check(body):
            return web.Response(status=200)
        # Bolt does not check the signature again (`checked_request`): without a secret to
        # check it with, nothing is dispatched (serve does not route here then at all).
        refused = (
            check_signature(secret.get_secret_value(), body, request.headers)
            if secret
            else inbound.Refusal(401, "no signing secret is set (SLACK_SIGNING_SECRET)")
        )
        parsed = refused or inbound.parse(body, request.content_type)
        if isinstance(parsed, inbound.Refusal):
            report_refusal(parsed)
            return web.Response(status=parsed.status, text=parsed.reason)
        bolt_resp = await bolt.async_dispatch(checked_request(parsed, request))
        return await to_aiohttp_response(bolt_resp)

    hush = Hush()

    def report_refusal(refused: inbound.Refusal) -> None:
        """Logged; a refusal that points at this bot's configuration (its clock, its
        signing secret) as a warning saying so, at most once a minute."""
        fields: dict[str, Any] = {"status": refused.status}
        event: str | None = None
        if refused.skew is not None:
            event = "slack_request_stale"
            fields.update(seconds_old=round(refused.skew), meaning=STALE_MEANING)
        elif refused.other_secret:
            event = "slack_signature_mismatch"
            fields.update(meaning=MISMATCH_MEANING)
        held = hush.due(event) if event is not None else None
        if event is None or held is None:
            log.info("slack_request_refused", reason=refused.reason, **fields)
        else:
            log.warning(event, held_back=held, **fields)

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
