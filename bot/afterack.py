"""Work after the ack: what a listener hands over once it has acked, run as tasks the app
keeps track of so that shutdown can let them finish. (No listener uses Bolt's lazy
listeners, which deep-copy the request before the ack: tests/test_manifest_handlers.py.)

A request Slack may deliver again (an event's retry, a press or a command replayed) carries
a once-key (`bot.inbound.once_key`). The key is claimed right after the ack, before any of
the request's work runs: a delivery that is not the first runs none of it (a command's
author is told so). Claiming it before the ack would put a database write in every ack's
path; only a command whose answer reports a write it made before the ack (a start) claims
first, with `first_delivery`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.lazy_listener.asyncio_runner import AsyncioLazyListenerRunner
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.failures import report
from bot.integrations.errors import IntegrationError
from bot.logging import get_logger

log = get_logger(__name__)


class Once:
    """One request's once-key, claimed (by whichever replica is first) when its first piece
    of after-ack work starts; every piece of that request's work waits on the same claim."""

    def __init__(self, key: str, claim: Callable[[str], Awaitable[bool]]) -> None:
        self.key = key
        self._claim = claim
        self._first: asyncio.Future[bool] | None = None
        self._answer: bool | None = None

    async def first(self) -> bool:
        if self._answer is not None:
            return self._answer
        if self._first is None:
            self._first = asyncio.ensure_future(self._claimed())
        answer = await asyncio.shield(self._first)
        # The claim's task holds a copy of the request's context, which holds this Once:
        # a cycle only the garbage collector would free. Keeping the answer instead of
        # the task breaks it, so a request's after-ack objects go as soon as its work is
        # done (a thousand refusals left a thousand such cycles for the collector).
        self._answer, self._first = answer, None
        return answer

    async def _claimed(self) -> bool:
        try:
            return await self._claim(self.key)
        except (SQLAlchemyError, OSError) as exc:
            # Without the database nothing is deduplicated here; the rollout's own
            # idempotency keys still hold.
            log.warning("dedupe_unavailable", key=self.key, error=type(exc).__name__)
            return True


# A request arriving within QUIET_SECONDS of the last one's arrival or answer (or while
# one is being answered) is part of a burst: work after the ack waits for the burst to
# end, but never longer than LONGEST_WAIT_SECONDS, nor behind more than MOST_WAITING.
QUIET_SECONDS = 0.01
LONGEST_WAIT_SECONDS = 0.5
MOST_WAITING = 500


class AcksFirst:
    """Work after the ack waits while requests are arriving, so that it never shares the
    event loop (nor the GIL, for the store's thread) with an ack Slack is waiting for.

    Slack gives an ack 3 seconds, then shows the person an error; the work after it (the
    once-key's claim, the audit row, the answer by `response_url`, valid 30 minutes) can
    wait. One request alone waits QUIET_SECONDS. During a burst the work waits for it to
    end, and at most LONGEST_WAIT_SECONDS or behind MOST_WAITING others: under a load that
    never stops, the work runs as it would without this, after half a second, so nothing
    piles up without bound. What has begun is never held back: this only orders the start.
    """

    def __init__(
        self,
        quiet: float = QUIET_SECONDS,
        longest: float = LONGEST_WAIT_SECONDS,
        most: int = MOST_WAITING,
    ) -> None:
        self.quiet, self.longest, self.most = quiet, longest, most
        self._last = -math.inf  # when a request last arrived or was answered (loop's clock)
        self._answering = 0  # requests arrived and not answered yet
        self._waiting: deque[tuple[float, asyncio.Future[None]]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._open = False  # shutting down: nothing waits any more

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around answering one request (its ack), from the moment it arrives."""
        self._last = asyncio.get_running_loop().time()
        self._answering += 1
        try:
            yield
        finally:
            self._answering -= 1
            self._last = asyncio.get_running_loop().time()
            if not self._answering and self._waiting:
                self._stop_timer()  # set for the longest wait: the quiet may come sooner
                loop = asyncio.get_running_loop()
                self._wake_at(loop, loop.time())

    def waiting(self) -> int:
        """Pieces of work waiting for their turn."""
        return len(self._waiting)

    def answering_now(self) -> int:
        """Requests arrived and not answered yet."""
        return self._answering

    async def turn(self) -> None:
        """Return when work after an ack may start."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._open or (not self._waiting and self._quiet(now)):
            return
        turn: asyncio.Future[None] = loop.create_future()
        self._waiting.append((now, turn))
        while len(self._waiting) > self.most:
            self._release(self._waiting.popleft()[1])
        self._wake_at(loop, now)
        await turn

    def open(self) -> None:
        """Shutting down: everything waiting starts now, and nothing waits from now on."""
        self._open = True
        self._release_all()

    def _quiet(self, now: float) -> bool:
        return self._answering == 0 and now - self._last >= self.quiet

    def _wake_at(self, loop: asyncio.AbstractEventLoop, now: float) -> None:
        if self._timer is not None or not self._waiting:
            return
        when = self._waiting[0][0] + self.longest
        if not self._answering:  # else the last answer sets the timer again
            when = min(when, max(self._last + self.quiet, now))
        self._timer = loop.call_at(when, self._wake)

    def _wake(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._quiet(now):
            self._release_all()
            return
        while self._waiting and now - self._waiting[0][0] >= self.longest:
            self._release(self._waiting.popleft()[1])
        self._wake_at(loop, now)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _release_all(self) -> None:
        self._stop_timer()
        while self._waiting:
            self._release(self._waiting.popleft()[1])

    @staticmethod
    def _release(turn: asyncio.Future[None]) -> None:
        if not turn.done():  # a waiter cancelled (at shutdown) is passed over
            turn.set_result(None)


_ONCE: ContextVar[Once | None] = ContextVar("creators_onboard_once", default=None)
# How to tell the person behind the request being dispatched that its work failed after
# the ack (their `respond()`), set per request like the once-key; None: nobody to tell.
Tell = Callable[..., Awaitable[Any]]
_TELL: ContextVar[Tell | None] = ContextVar("creators_onboard_tell", default=None)


def tell_failures_to(respond: Tell | None) -> None:
    """After-ack work of the request being dispatched that fails is told to `respond`."""
    _TELL.set(respond)


async def tell_in_words(respond: Tell, text: str) -> None:
    """An ephemeral answer that leaves the message pressed alone; a failure to deliver it
    is logged (Slack itself may be what is failing)."""
    try:
        await respond(text=text, response_type="ephemeral", replace_original=False)
    except (SlackApiError, IntegrationError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("failure_untold", error=type(exc).__name__)


def claim_after_ack(once: Once | None) -> None:
    """The work the listeners of the request being dispatched leave for after the ack runs
    only if `once` is claimed first (None: no condition).

    Set by a global middleware for every request: Bolt runs the listeners after its
    middleware have returned, in the same task, so a context manager around `next()` would
    end too early; setting it for every request keeps one request's key from reaching the
    next one dispatched in the same task (Socket Mode)."""
    _ONCE.set(once)


async def first_delivery() -> bool:
    """Claim the once-key of the request being dispatched now, before its ack: False when
    another delivery of it (on any replica) came first. For a listener whose ack reports a
    write it makes before answering; its after-ack work waits on the same claim."""
    once = _ONCE.get()
    return once is None or await once.first()


Repeated = Callable[[], Coroutine[Any, Any, None]]


async def _gated(
    work: Coroutine[Any, Any, None],
    once: Once | None,
    repeated: Repeated | None = None,
    tell: Tell | None = None,
    turns: AcksFirst | None = None,
) -> None:
    started = False
    try:
        if turns is not None:
            await turns.turn()
        if once is None or await once.first():
            started = True
            try:
                await work
            except Exception as exc:  # noqa: BLE001 - reported: logged with its traceback
                # The ack has gone: the person hears of it here, or not at all.
                text = report(exc)
                if tell is not None:
                    await tell_in_words(tell, text)
        else:
            log.info("slack_duplicate_ignored", key=once.key)
            if repeated is not None:
                await repeated()
    finally:
        if not started:
            work.close()  # a repeat, or cancelled at shutdown before it began: nothing ran


# Told to a person whose acked request was cut short by the bot stopping (a restart or a
# new version rolling out): what may have happened, and how to see and mend it.
CUT_SHORT = (
    ":warning: I was restarting while I handled what you just did, so it may not have "
    "been done. In a minute, `/creators-onboard status` shows where things stand: if "
    "nothing changed, press the button or send the command again."
)


class TrackedLazyRunner(AsyncioLazyListenerRunner):
    """Where the after-ack work of the app's listeners runs, kept so shutdown can let it
    finish. It stands in Bolt's lazy-runner slot so every listener finds it from the app."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger)
        # Each piece of work still running, with how to tell its person (None: nobody).
        self.tasks: dict[asyncio.Future[None], Tell | None] = {}
        # When that work may start: once the acks Slack is waiting for are answered.
        self.turns = AcksFirst()

    def spawn(self, work: Coroutine[Any, Any, None], repeated: Repeated | None = None) -> None:
        """Run work after the ack, tracked like a lazy listener but without Bolt's deep
        copy of the request (most of an ack's cost): the listener passes what it needs.
        When the request turns out to be a repeat, `repeated` runs instead of `work`."""
        tell = _TELL.get()
        task = asyncio.ensure_future(_gated(work, _ONCE.get(), repeated, tell, self.turns))
        self.tasks[task] = tell
        task.add_done_callback(self._forget)
        task.add_done_callback(_log_failure)

    def _forget(self, task: asyncio.Future[None]) -> None:
        self.tasks.pop(task, None)

    async def drain(self, within: float, *, telling: float = 2.0) -> int:
        """Wait (up to `within` seconds) for presses already acked to be handed over, then
        cancel what is left, before the resources it needs close under it, and tell each
        person whose request was cut short (up to `telling` seconds, while the HTTP
        session is still open). Returns how many were cancelled (each acked, its work
        perhaps not done: logged as an error)."""
        self.turns.open()
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=within)
        left = {task: tell for task, tell in self.tasks.items() if not task.done()}
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left)
            tells = [tell for tell in left.values() if tell is not None]
            told = 0
            if tells:
                telling_them = [asyncio.ensure_future(tell_in_words(t, CUT_SHORT)) for t in tells]
                done, late = await asyncio.wait(telling_them, timeout=telling)
                for task in late:
                    task.cancel()
                told = len(done)
            log.error("after_ack_abandoned", count=len(left), told=told, waited_s=within)
        return len(left)


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("after_ack_failed", exc_info=task.exception())


def lazy_runner(app: AsyncApp) -> TrackedLazyRunner:
    runner = app.listener_runner.lazy_listener_runner
    assert isinstance(runner, TrackedLazyRunner)
    return runner
