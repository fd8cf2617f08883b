"""The app's Bolt middleware, one concern per module, each an `AsyncMiddleware` (Bolt calls
it directly; a function middleware has its arguments worked out on every request).

* `observe`: the listener a request goes to, for logs and metrics, and its ack time.
* `ratelimited`: Slack's notice that it drops the app's events, answered 200 and logged.
* `once`: a request Slack retries or someone replays is handled once (`bot.afterack`).
* `respond`: `respond()` over the app's own HTTP session, scrubbed.
* `failed`: a command or press that fails is answered in words (Bolt's error handler).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

Next = Callable[[], Awaitable[BoltResponse]]


class Middleware(AsyncMiddleware):
    """Bolt's middleware interface, reduced to what ours use: the request and `next`."""

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Next
    ) -> BoltResponse | None:
        return await self.around(req, next)

    @abstractmethod
    async def around(self, req: AsyncBoltRequest, next: Next) -> BoltResponse | None:
        """Call `next()` to go on; return a response to answer instead."""
