"""Process lifecycle: build everything, launch DBOS, serve HTTP (and Socket Mode), shut down."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from dbos import DBOS, DBOSConfig
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot import webhooks
from bot.afterack import lazy_runner
from bot.app import create_app, create_web_app, know_the_bot
from bot.deps import Deps, build_deps
from bot.egress import http_session
from bot.httpguard import GuardedRunner, default_max_connections, throttle_accept_errors
from bot.integrations.slack import is_passing, slack_error_code
from bot.integrations.vaults.verify import derive_key, use_key
from bot.listen import cannot_listen
from bot.logging import get_logger
from bot.settings import Settings
from bot.takeover import Takeover, dbos_recover
from bot.webhooks import DeliveryLog
from bot.workflows import messages, polling

log = get_logger(__name__)

APP_NAME = "creators-onboard"
# Pinned so a rollout that spans days survives a redeploy of the same version. DBOS recovers
# only the workflows of its own application version, so a bump strands rollouts started by
# the previous one: bump only for a change to a workflow's sequence of steps, and say so in
# the README's "Upgrading". "2": the rollout became one event loop over the pure machine.
# "3": the rollout reads the YAML through a recorded step per event (`settings_step`).
WORKFLOW_VERSION = "3"


def dbos_config(settings: Settings) -> DBOSConfig:
    config: DBOSConfig = {
        "name": APP_NAME,
        "system_database_url": settings.database_url,
        "application_version": WORKFLOW_VERSION,
        # On SQLite: the fall-back poll for waiting workflows (bot.workflows.messages).
        "notification_listener_polling_interval_sec": messages.POLL_SECONDS,
        "log_level": settings.env.log_level,
    }
    if settings.env.dbos__vmid:
        config["executor_id"] = settings.env.dbos__vmid
    return config


async def launch_dbos(settings: Settings) -> None:
    """Launch DBOS inside the running loop and make its logs go through ours."""
    from bot.workflows import register_workflows
    from bot.workflows.queues import register_queues
    from bot.workflows.recheck import recheck_lost_messages
    from bot.workflows.watches import apply_schedules

    register_workflows()
    polling.install()
    DBOS(config=dbos_config(settings))
    DBOS.launch()
    # Before the first await: the workflows DBOS recovered as it launched run on this
    # loop, so none of them has begun waiting yet, and their first wait re-checks soon too
    # (tests/scenarios/test_database_away.py, "recovered").
    recheck_lost_messages(settings.database_url)
    await register_queues()
    polling.poll_now()  # the queue manager starts a thread for each queue now
    await apply_schedules(settings.config)
    dbos_log = logging.getLogger("dbos")
    for handler in list(dbos_log.handlers):
        dbos_log.removeHandler(handler)
    dbos_log.propagate = True


@dataclass
class Running:
    deps: Deps
    bolt: AsyncApp
    runner: web.AppRunner
    host: str
    port: int
    socket_handler: Any = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


async def socket_mode_url(client: Any) -> str:
    """The WebSocket URL Slack gives the app-level token (`apps.connections.open`), asked
    as slack_sdk's `issue_new_wss_url` asks it (waiting out a rate limit), except that a
    failure is read with `slack_error_code` (slack_sdk's `response["error"]` raises
    AttributeError on a proxy's text/plain 503) and ends the start with what to do."""
    while True:
        try:
            opened = await client.web_client.apps_connections_open(app_token=client.app_token)
            return str(opened["url"])
        except SlackApiError as exc:
            code, status = slack_error_code(exc)
            if code == "ratelimited":
                await asyncio.sleep(int(exc.response.headers.get("Retry-After", "30")))
                continue
            if is_passing(code, status):
                raise RuntimeError(
                    f"Slack did not answer apps.connections.open properly ({code}) as the "
                    "bot opened Socket Mode: a passing fault at Slack or at a proxy in front "
                    "of it, nothing wrong with SLACK_APP_TOKEN; start the bot again in a "
                    "minute, and if it keeps failing see https://slack-status.com"
                ) from None
            raise RuntimeError(
                f"SLACK_APP_TOKEN was refused by Slack (apps.connections.open: {code}); use "
                "the app-level token with connections:write from Basic Information → "
                "App-Level Tokens"
            ) from None


@asynccontextmanager
async def running_bot(settings: Settings, deps: Deps | None = None) -> AsyncIterator[Running]:
    """Everything up, yielded, then everything down. Used by `serve` and by tests."""
    owns_session = deps is None
    session = deps.session if deps else http_session()
    deps = deps or build_deps(settings, session)
    from bot.workflows.runtime import install
    from bot.workflows.runtime import stop as stop_workflows

    runner: web.AppRunner | None = None
    running: Running | None = None
    takeover: asyncio.Task[None] | None = None
    deliveries: DeliveryLog | None = None
    try:
        await deps.store.migrate()
        await deps.index.start()
        install(deps)
        # Every replica keys the secret's hash alike, so the leak guard can compare.
        use_key(derive_key(settings.env.slack_bot_token.get_secret_value()))
        await launch_dbos(settings)
        takeover = asyncio.create_task(
            Takeover(
                deps.store,
                DBOS.executor_id,
                settings.config.workflow.takeover_after_seconds,
                dbos_recover,
            ).run()
        )
        from bot.workflows.service import DbosRollouts, RolloutService, backfill

        if added := await backfill(deps.index, WORKFLOW_VERSION):
            log.info("readmodel_backfilled", rollouts=added)
        bolt = create_app(settings, deps)
        await know_the_bot(bolt)  # not inside the first request's ack
        hook_secret = settings.env.github_webhook_secret
        github_events = None
        if hook_secret is not None:
            deliveries = DeliveryLog(settings.database_url)
            service = RolloutService(settings.config, deps.store, DbosRollouts(deps.index))
            github_events = webhooks.github_events(
                hook_secret,
                deliveries,
                service.run_changed,
                body_timeout=settings.config.http.body_timeout_seconds,
            )
        web_app = create_web_app(
            bolt,
            deps,
            ready=deps.store.ping,
            slack_endpoint=settings.env.slack_signing_secret is not None,
            github_events=github_events,
        )
        http = settings.config.http
        throttle_accept_errors()
        runner = GuardedRunner(
            web_app,
            access_log=None,
            header_timeout=http.header_timeout_seconds,
            max_connections=http.max_connections or default_max_connections(),
        )
        await runner.setup()
        site = web.TCPSite(runner, settings.env.host, settings.env.port, backlog=http.backlog)
        try:
            await site.start()
        except OSError as exc:  # taken since `check_address` (the CLI's first step)
            raise cannot_listen(settings.env.host, settings.env.port, exc) from None
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        port = sockets[0].getsockname()[1] if sockets else settings.env.port
        running = Running(deps, bolt, runner, settings.env.host, port)
        log.info(
            "listening",
            host=settings.env.host,
            port=port,
            mode="socket" if settings.socket_mode else "http",
        )
        if settings.env.slack_app_token is not None:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            handler = AsyncSocketModeHandler(bolt, settings.env.slack_app_token.get_secret_value())
            running.socket_handler = handler
            # slack_sdk retries a refused token forever; ask once so startup fails instead.
            handler.client.wss_uri = await socket_mode_url(handler.client)
            await running.socket_handler.connect_async()  # untyped in slack_bolt
        yield running
    finally:
        if takeover is not None:
            takeover.cancel()
        if running is not None and running.socket_handler is not None:
            await running.socket_handler.close_async()
        if runner is not None:
            await runner.cleanup()
        if running is not None:
            # Presses already acked are handed to their rollout before DBOS stops.
            await lazy_runner(running.bolt).drain(within=5.0)
        stop_workflows()
        DBOS.destroy(workflow_completion_timeout_sec=0)
        await deps.index.close()
        if deliveries is not None:
            deliveries.close()
        deps.store.dispose()
        if owns_session and not session.closed:
            await session.close()


def freeze_startup_heap() -> int:
    """Put everything allocated while starting (modules, the runbook, DBOS, SQLAlchemy's
    metadata, Bolt's listeners, the specs) out of the cyclic garbage collector's reach.

    Otherwise every full collection walks all of it, 0.1–0.3 s during which the event
    loop answers nothing: the outliers of bench_ack's p99 under load. Frozen objects are
    still freed when their last reference goes; only a cycle among them is kept. Once,
    in `serve` (tests start many bots in one process and keep collecting normally)."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


# The youngest generation is collected after this many net allocations (CPython: 700).
# A full collection follows every 100 young ones, so at 700 a burst of requests (whose
# after-ack work waits in a queue, alive) met one every ~50 requests, each 0.1-0.3 s with
# the loop still. At 50,000 they are 70 times rarer; young garbage waits a little longer
# (a few MB). Measured with benchmarks/bench_ack.py: README -> Performance.
GEN0_THRESHOLD = 50_000


def tune_collector() -> tuple[int, int, int]:
    """Collect the youngest generation less often (`GEN0_THRESHOLD`); in `serve` only."""
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
    return gc.get_threshold()


async def serve(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM (CannotListen if HOST:PORT is taken as it binds)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with running_bot(settings):
        log.info(
            "startup_heap_frozen", objects=freeze_startup_heap(), gc_threshold=tune_collector()
        )
        await stop.wait()
        log.info("shutting_down")
