"""Automatic takeover: a replica that dies for good does not leave its rollout stuck.

Every replica writes a heartbeat for its DBOS executor id (`DBOS__VMID`) to the shared
database every `after / 6` seconds. Every replica also looks for executors whose last
heartbeat is older than `after * 5/6` seconds, claims each one with a conditional update
(only one replica's update matches) and asks DBOS to recover that executor's pending
workflows (`DBOS._recover_pending_workflows`, DBOS 3.4's recovery API). DBOS puts them
back on a queue, where exactly one live executor dequeues each one and resumes it from
its last recorded step. A dead replica's rollout therefore moves again at most `after`
seconds (`workflow.takeover_after_seconds`, default 60) after its last heartbeat.

A replica only looks for dead ones once its own heartbeats have gone through in a row
for those `after * 5/6` seconds: a failed heartbeat, or one more than `after / 2` seconds after its
previous one (a connection that hung, a stalled process), starts the count again. After a
database outage every heartbeat is stale, the live replicas' too, because nobody could
write one; the count gives each live replica time to beat again before anyone is judged
dead. A replica that died during the outage is taken over at most `after` seconds after
the database is back; a freshly started replica likewise waits that long before it
takes anyone over.

A replica that comes back with the same executor id clears the claim with its first
heartbeat. The alternative that needs no takeover — a StatefulSet giving each pod a
stable `DBOS__VMID`, so a restarted pod recovers its own workflows — is in the README.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import sqlalchemy as sa

from bot.logging import get_logger
from bot.store import Store
from bot.tables import executors

log = get_logger(__name__)

Recover = Callable[[str], Awaitable[int]]

# Handled request and post keys (Store.claim) are forgotten after a week, checked hourly:
# a retry or a replay comes within minutes, a post step re-runs within the takeover time.
SEEN_KEEP_SECONDS = 7 * 24 * 3600
_FORGET_EVERY_SECONDS = 3600


async def dbos_recover(executor_id: str) -> int:
    """Hand `executor_id`'s pending workflows to the live executors; how many."""
    from dbos import DBOS

    from bot.workflows import polling

    handles = await asyncio.to_thread(DBOS._recover_pending_workflows, [executor_id])
    polling.poll_now()  # they are on a queue now: start them here at once
    return len(handles)


class Takeover:
    def __init__(
        self,
        store: Store,
        executor_id: str,
        after: float,
        recover: Recover,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.executor_id = executor_id
        self.after = after
        self.interval = after / 6
        self.recover = recover
        self.clock = clock
        self._forgot_at = float("-inf")
        # Our own heartbeats: the last one that went through (None after a failed one),
        # and the first of the unbroken run that ends with it.
        self._last_beat: float | None = None
        self._steady_since = float("inf")

    # ------------------------------------------------------------- database

    def _beat(self, now: float) -> None:
        with self.store.engine.begin() as conn:
            updated = conn.execute(
                executors.update()
                .where(executors.c.executor_id == self.executor_id)
                .values(heartbeat_at=now, taken_over_by=None, taken_over_at=None)
            ).rowcount
            if not updated:
                conn.execute(
                    executors.insert().values(executor_id=self.executor_id, heartbeat_at=now)
                )

    def _claim_dead(self, now: float) -> list[str]:
        cutoff = now - (self.after - self.interval)
        claimed = []
        with self.store.engine.begin() as conn:
            stale = conn.execute(
                sa.select(executors.c.executor_id).where(
                    executors.c.heartbeat_at < cutoff,
                    executors.c.taken_over_by.is_(None),
                    executors.c.executor_id != self.executor_id,
                )
            ).scalars()
            for executor_id in list(stale):
                won = conn.execute(
                    executors.update()
                    .where(
                        executors.c.executor_id == executor_id,
                        executors.c.taken_over_by.is_(None),
                        executors.c.heartbeat_at < cutoff,
                    )
                    .values(taken_over_by=self.executor_id, taken_over_at=now)
                ).rowcount
                if won:
                    claimed.append(executor_id)
        return claimed

    def _release(self, executor_id: str) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(
                executors.update()
                .where(
                    executors.c.executor_id == executor_id,
                    executors.c.taken_over_by == self.executor_id,
                )
                .values(taken_over_by=None, taken_over_at=None)
            )

    # ----------------------------------------------------------------- loop

    async def tick(self) -> list[str]:
        """One heartbeat and, once our own have gone through for the stale time, one look
        for dead executors; the ones taken over now. Also, hourly, forget handled keys
        older than a week."""
        now = self.clock()
        last, self._last_beat = self._last_beat, None  # stays None if this beat fails
        await asyncio.to_thread(self._beat, now)
        if last is None or now - last > self.after / 2:
            self._steady_since = now  # we could not beat for a while: nor could the others
        self._last_beat = now
        if now - self._forgot_at >= _FORGET_EVERY_SECONDS:
            await self.store.forget_seen(now - SEEN_KEEP_SECONDS)
            self._forgot_at = now
        if now - self._steady_since < self.after - self.interval:
            return []  # a stale heartbeat may be our own outage's doing, not a death
        taken = await asyncio.to_thread(self._claim_dead, now)
        for dead in taken:
            try:
                count = await self.recover(dead)
            except BaseException:
                # Give the claim back so that this or another replica tries again.
                await asyncio.to_thread(self._release, dead)
                raise
            log.warning(
                "workflows_taken_over",
                dead_executor=dead,
                by=self.executor_id,
                workflows=count,
                silent_for_seconds=self.after,
            )
        return taken

    async def run(self) -> None:
        """Forever, every `interval` seconds; a database outage is waited out."""
        while True:
            try:
                await self.tick()
            except (sa.exc.SQLAlchemyError, OSError) as exc:
                log.warning("heartbeat_failed", error=type(exc).__name__)
            await asyncio.sleep(self.interval)
