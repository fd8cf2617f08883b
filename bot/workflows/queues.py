"""DBOS queues. They live in the system database, so they are registered after launch."""

from __future__ import annotations

from typing import Any

from dbos import DBOS, Queue, WorkflowHandleAsync

from bot.watches.model import WATCHES
from bot.workflows import polling

# Smoke tests reach Amazon's Creators API through the BFF: 1 TPS per credential triple.
SMOKE = "creators-api-smoke"
# Edits of the one rollout-log comment must land in order, even across Linear outages.
LINEAR_LOG = "linear-rollout-log"
# One queue per watch, one run at a time across replicas: a run compares what it finds with
# the previous run's result, so two runs of one watch must never overlap (a tick and a run
# by hand, or two ticks after a backfill).
WATCH_QUEUE_PREFIX = "watch-"
WATCH_QUEUES = tuple(f"{WATCH_QUEUE_PREFIX}{name}" for name in WATCHES)


# How often each queue's worker polls the database while the queues are busy, in seconds
# (bot.workflows.polling: work the bot queues starts at once, and the queues rest while
# nothing is queued). These pace a backlog held back by a queue's limit: the second of
# four probes starts up to half a second after the limit lets it, the next rollout-log
# edit up to a second after the one before, a second run of a watch up to two.
SMOKE_POLL_SECONDS = 0.5
LINEAR_LOG_POLL_SECONDS = 1.0
WATCH_POLL_SECONDS = 2.0


async def register_queues() -> None:
    await DBOS.register_queue_async(
        SMOKE,
        limiter={"limit": 1, "period": 1.0},
        polling_interval_sec=SMOKE_POLL_SECONDS,
        on_conflict="always_update",
    )
    await DBOS.register_queue_async(
        LINEAR_LOG,
        global_concurrency=1,
        polling_interval_sec=LINEAR_LOG_POLL_SECONDS,
        on_conflict="always_update",
    )
    for name in WATCH_QUEUES:
        await DBOS.register_queue_async(
            name,
            global_concurrency=1,
            polling_interval_sec=WATCH_POLL_SECONDS,
            on_conflict="always_update",
        )


async def enqueue(name: str, workflow: Any, *args: Any) -> WorkflowHandleAsync[Any]:
    """Put `workflow(*args)` on the queue `name` and have the queues polled now
    (bot.workflows.polling): it starts at once if the queue's limits allow."""
    handle: WorkflowHandleAsync[Any] = await (await queue(name)).enqueue_async(workflow, *args)
    polling.poll_now()
    return handle


async def queue(name: str) -> Queue:
    found = await DBOS.retrieve_queue_async(name)
    if found is None:
        raise RuntimeError(f"DBOS queue {name!r} is not registered (launch_dbos registers it)")
    return found
