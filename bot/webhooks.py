"""`POST /github/events`: GitHub's `workflow_run` events wake the run being followed.

Polling stays the fall-back; an event only makes the follow read its run at once, so a
concluded run is acted on within a second. The endpoint answers 401 to a delivery whose
signature is missing or wrong, 400 to one it cannot read, 200 otherwise (a delivery
already taken, an event about a run the bot is not following, `ping`) — never a 5xx:
nothing GitHub could redeliver would fix it, and polling catches up anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from aiohttp import web
from pydantic import SecretStr

from bot.integrations.github.webhook import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Malformed,
    signed_by,
    workflow_run,
)
from bot.logging import Hush, get_logger
from bot.store import engine_for
from bot.tables import github_deliveries, insert

log = get_logger(__name__)

# A workflow_run payload is tens of kilobytes; GitHub caps deliveries at 25 MB.
MAX_BODY = 2 * 1024 * 1024

# Logged (at most once a minute) with a delivery whose signature is not ours.
SIGNATURE_MEANING = (
    "refused: not signed with the secret the YAML's github.webhook_secret names. One alone "
    "may be someone else's request. If GitHub's deliveries all fail like this (the "
    "webhook's Recent Deliveries show 401), that variable and the webhook's Secret on "
    "GitHub (the repository's Settings → Webhooks → Edit) differ: set both to the same "
    "value. Meanwhile runs are still followed by polling, only less promptly."
)

# run id, delivery id -> whether a followed run was woken
Poke = Callable[[int, str], Awaitable[bool]]


class DeliveryLog:
    """The deliveries already taken (`creators_onboard_github_deliveries`), so a
    redelivery is recognised after a restart and on any replica."""

    def __init__(self, database_url: str) -> None:
        self._engine = engine_for(database_url)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deliveries")

    def close(self) -> None:
        self._engine.dispose()
        self._pool.shutdown(wait=False)

    async def take(self, delivery_id: str, event: str, run_id: int | None) -> bool:
        """Record a delivery; False when it was recorded before (a redelivery)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._take, delivery_id, event, run_id)

    def _take(self, delivery_id: str, event: str, run_id: int | None) -> bool:
        stmt = (
            insert(self._engine.dialect.name, github_deliveries)
            .values(
                delivery_id=delivery_id,
                event=event,
                run_id=run_id,
                received_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing(index_elements=[github_deliveries.c.delivery_id])
            .returning(github_deliveries.c.delivery_id)
        )
        with self._engine.begin() as conn:
            return conn.execute(stmt).first() is not None


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The whole body, however many pieces it arrives in; None once it passes `limit`
    bytes. (`StreamReader.read(n)` returns only what has arrived so far: a delivery split
    across reads was checked short and refused as badly signed.)"""
    if request.content_length is not None and request.content_length > limit:
        return None
    parts: list[bytes] = []
    size = 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


def github_events(
    secret: SecretStr, deliveries: DeliveryLog, poke: Poke, *, body_timeout: float = 10.0
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler of `POST /github/events`. A body that has not all arrived within
    `body_timeout` seconds is answered 408, so a client that sends headers and stops holds
    its connection (and the server's shutdown) no longer than Slack's endpoint allows."""

    def answer(status: int, outcome: str) -> web.Response:
        return web.json_response({"outcome": outcome}, status=status)

    hush = Hush()

    async def handle(request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(body_timeout):
                body = await read_body(request, MAX_BODY)
        except TimeoutError:
            return answer(408, "the body did not arrive in time")
        if body is None:
            return answer(413, f"the body is over {MAX_BODY} bytes")
        if not signed_by(secret.get_secret_value(), body, request.headers.get(SIGNATURE_HEADER)):
            held = hush.due("github_webhook_refused")
            if held is not None:
                log.warning(
                    "github_webhook_refused",
                    reason="signature",
                    held_back=held,
                    meaning=SIGNATURE_MEANING,
                )
            return answer(401, "the X-Hub-Signature-256 signature does not match")
        event = request.headers.get(EVENT_HEADER, "")
        delivery = request.headers.get(DELIVERY_HEADER, "")
        if not event or not delivery or len(delivery) > 64:
            return answer(400, "X-GitHub-Event and X-GitHub-Delivery are required")
        if event != "workflow_run":
            return answer(200, f"ignored: {event[:40]} events are not used")
        try:
            changed = workflow_run(body)
        except Malformed as exc:
            log.warning("github_webhook_malformed", delivery=delivery, problem=str(exc))
            return answer(400, f"malformed workflow_run payload: {exc}")
        try:
            if not await deliveries.take(delivery, event, changed.run_id):
                log.info("github_webhook_duplicate", delivery=delivery, run_id=changed.run_id)
                return answer(200, "duplicate delivery: already taken")
            woken = await poke(changed.run_id, delivery)
        except Exception:  # logged with its traceback; never a 5xx (module docstring)
            # The database is away: the follow's own polling notices the run instead.
            log.exception("github_webhook_not_taken", delivery=delivery)
            return answer(202, "not taken now: the run is still polled")
        log.info(
            "github_webhook_taken",
            delivery=delivery,
            run_id=changed.run_id,
            action=changed.action,
            woke=woken,
        )
        return answer(200, "woke the follow" if woken else "not a run the bot follows")

    return handle
