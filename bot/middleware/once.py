"""A request Slack retries (same event_id) or someone replays inside the signature's
5-minute window (same trigger_id) is handled once, whichever replica gets it.

The key is claimed right after the ack, before the request's work (`bot.afterack`): no
ack waits for the database. A command whose answer reports a write made before its ack
(`start`) claims first (`first_delivery`); a repeated command's author is told it was
already handled; `help` and `status` change nothing and claim nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot import inbound
from bot.afterack import Once, claim_after_ack
from bot.middleware import Middleware, Next


class OnceOnly(Middleware):
    def __init__(self, claim: Callable[[str], Awaitable[bool]]) -> None:
        self.claim = claim

    async def around(self, req: AsyncBoltRequest, next: Next) -> BoltResponse | None:
        key = inbound.once_key(req.body)
        needed = key is not None and not inbound.reads_only(req.body)
        claim_after_ack(Once(key, self.claim) if key and needed else None)
        return await next()
