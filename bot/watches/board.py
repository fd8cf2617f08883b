"""The watches' newest results, held in memory for what answers before an ack.

`status` and App Home show every watch's newest result. Reading them is one database query
per watch (DBOS's workflow list), too slow for an ack. So each process keeps them here:
a result its own watch runs produce is put in at once (`put`); results produced elsewhere
(another replica) arrive by a reload once the copy is `ttl` seconds old, done in the
background so that no ack waits for it. Only the very first read loads before answering.
A newer result is never replaced by an older one, whichever way each arrives.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.logging import get_logger
from bot.watches.model import Outcome

log = get_logger(__name__)

Loader = Callable[[], Awaitable[dict[str, Outcome]]]

TTL_SECONDS = 10.0
FIRST_LOAD_WAIT = 2.0


class BoardUnavailable(Exception):
    """The watches' results could not be read in time: the database did not answer."""

    def __init__(self, waited: float) -> None:
        super().__init__(f"the watches' results were not read within {waited:g} s")
        self.reason = str(self)


class WatchBoard:
    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self._ttl = ttl
        self._lasts: dict[str, Outcome] = {}
        self._loaded_at: float | None = None
        self._loading: asyncio.Task[None] | None = None

    async def lasts(self, load: Loader) -> dict[str, Outcome]:
        """Each watch's newest result (watches that never ran are absent).

        The first read waits for the load at most `FIRST_LOAD_WAIT` seconds (the load
        waits for the database as long as it is away; Slack waits 3 s for an answer),
        then raises `BoardUnavailable`; the load goes on, and a later read has it."""
        if self._loaded_at is None:
            try:
                await asyncio.wait_for(asyncio.shield(self._reload(load)), FIRST_LOAD_WAIT)
            except TimeoutError:
                raise BoardUnavailable(FIRST_LOAD_WAIT) from None
        elif time.monotonic() - self._loaded_at > self._ttl:
            self._reload(load)  # in the background: this answer uses the copy
        return dict(self._lasts)

    def put(self, outcome: Outcome) -> None:
        """A result this process just produced."""
        self._merge({outcome.watch: outcome})

    def _reload(self, load: Loader) -> asyncio.Task[None]:
        if self._loading is None or self._loading.done():
            self._loading = asyncio.get_running_loop().create_task(self._load(load))
            self._loading.add_done_callback(_log_failure)
        return self._loading

    async def _load(self, load: Loader) -> None:
        started = time.monotonic()
        self._merge(await load())
        self._loaded_at = started

    def _merge(self, found: dict[str, Outcome]) -> None:
        for name, outcome in found.items():
            held = self._lasts.get(name)
            if held is None or outcome.at >= held.at:
                self._lasts[name] = outcome


def _log_failure(task: asyncio.Task[None]) -> None:
    # The copy stays as it was and the next read tries again; a first read that failed
    # has already raised to its caller.
    if not task.cancelled() and task.exception() is not None:
        log.warning("watch_board_reload_failed", exc_info=task.exception())
