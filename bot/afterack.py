"""Work after the ack: Bolt's lazy listeners, and what a listener hands over once it has
acked, run as tasks the app keeps track of so that shutdown can let them finish."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.lazy_listener.async_internals import to_runnable_function
from slack_bolt.lazy_listener.asyncio_runner import AsyncioLazyListenerRunner
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.logging import get_logger

log = get_logger(__name__)


class TrackedLazyRunner(AsyncioLazyListenerRunner):
    """Bolt's asyncio lazy runner, keeping its tasks so shutdown can let them finish."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger)
        self.tasks: set[asyncio.Future[None]] = set()

    def start(self, function: Callable[..., Awaitable[None]], request: AsyncBoltRequest) -> None:
        task = asyncio.ensure_future(
            to_runnable_function(internal_func=function, logger=self.logger, request=request)
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def spawn(self, work: Awaitable[None]) -> None:
        """Run work after the ack, tracked like a lazy listener but without Bolt's deep
        copy of the request (most of an ack's cost): the listener passes what it needs."""
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(_log_failure)

    async def drain(self, within: float) -> None:
        """Wait (up to `within` seconds) for presses already acked to be handed over."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=within)


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("after_ack_failed", exc_info=task.exception())


def lazy_runner(app: AsyncApp) -> TrackedLazyRunner:
    runner = app.listener_runner.lazy_listener_runner
    assert isinstance(runner, TrackedLazyRunner)
    return runner
