"""The HTTP site's defences against slow and numerous clients.

* A client has `header_timeout` seconds from connecting (or from its previous answer)
  to send a whole request head; then the connection is closed (aiohttp's keep-alive
  timer, which also fires on a connection that has sent only part of a request).
* At most `max_connections` connections are held at once. When a new one would go over,
  the oldest connection that is not in the middle of a request is closed to make room:
  a crowd of idle or half-sent connections can never lock out `/healthz` or Slack.
* When the process runs out of file descriptors anyway, asyncio reports every failed
  `accept()`; those reports are kept to one line a minute with a count.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from bot.logging import get_logger

log = get_logger(__name__)

ACCEPT_ERROR = "out of system resource"


def default_max_connections() -> int:
    """Half the descriptors this process may open (the rest are for the database, the
    outside systems and `op`), at most 1024."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1024
    return max(8, min(1024, soft // 2))


class ConnectionGuard:
    """Wraps an aiohttp `Server` so it never holds more than `limit` connections."""

    def __init__(self, server: web.Server, limit: int) -> None:
        self.server = server
        self.limit = limit
        self.evicted = 0
        self._connection_made = server.connection_made

    def install(self) -> None:
        # The server's own bookkeeping first, then the bound: assigned on the instance
        # because aiohttp builds its Server inside the runner.
        self.server.connection_made = self.connection_made  # type: ignore[method-assign]

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        self._connection_made(handler, transport)
        over = len(self.server.connections) - self.limit
        if over <= 0:
            return
        for old in self.server.connections:
            if over <= 0:
                break
            if old is handler or not _idle(old):
                continue
            old.force_close()
            over -= 1
            self.evicted += 1
        if over > 0:  # every other connection is busy answering: refuse the new one
            handler.force_close()
            self.evicted += 1


def _idle(handler: RequestHandler) -> bool:
    """Not answering a request right now (waiting for, or part-way through, a head)."""
    return handler.transport is not None and getattr(handler, "_current_request", None) is None


class GuardedRunner(web.AppRunner):
    """An AppRunner whose server has a header timeout and a connection bound."""

    def __init__(
        self,
        app: web.Application,
        *,
        header_timeout: float,
        max_connections: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, keepalive_timeout=header_timeout, **kwargs)
        self.max_connections = max_connections
        self.guard: ConnectionGuard | None = None

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        self.guard = ConnectionGuard(server, self.max_connections)
        self.guard.install()
        return server


class AcceptErrorThrottle(logging.Filter):
    """Lets one "socket.accept() out of system resource" report through per `every`
    seconds, saying how many were held back, and drops the rest."""

    def __init__(self, every: float = 60.0) -> None:
        super().__init__()
        self.every = every
        self.suppressed = 0
        self._last = float("-inf")

    def filter(self, record: logging.LogRecord) -> bool:
        if ACCEPT_ERROR not in str(record.msg):
            return True
        now = time.monotonic()
        if now - self._last < self.every:
            self.suppressed += 1
            return False
        self._last = now
        if self.suppressed:
            record.msg = f"{record.msg} ({self.suppressed} more held back in the last minute)"
            self.suppressed = 0
        # One line, no traceback: the cause is always the same (EMFILE).
        record.exc_info = None
        record.exc_text = None
        return True


def throttle_accept_errors() -> AcceptErrorThrottle:
    """Install (once) the throttle on asyncio's logger."""
    asyncio_log = logging.getLogger("asyncio")
    for existing in asyncio_log.filters:
        if isinstance(existing, AcceptErrorThrottle):
            return existing
    throttle = AcceptErrorThrottle()
    asyncio_log.addFilter(throttle)
    return throttle
