"""DBOS queues. They live in the system database, so they are registered after launch."""

from __future__ import annotations

from dbos import DBOS, Queue

from bot.watches.model import WATCHES

# Smoke tests reach Amazon's Creators API through the BFF: 1 TPS per credential triple.
SMOKE = "creators-api-smoke"
# Edits of the one rollout-log comment must land in order, even across Linear outages.
LINEAR_LOG = "linear-rollout-log"
# One queue per watch, one run at a time across replicas: a run compares what it finds with
# the previous run's result, so two runs of one watch must never overlap (a tick and a run
# by hand, or two ticks after a backfill).
WATCH_QUEUE_PREFIX = "watch-"
WATCH_QUEUES = tuple(f"{WATCH_QUEUE_PREFIX}{name}" for name in WATCHES)


async def register_queues() -> None:
    await DBOS.register_queue_async(
        SMOKE,
        limiter={"limit": 1, "period": 1.0},
        polling_interval_sec=0.2,
        on_conflict="always_update",
    )
    await DBOS.register_queue_async(
        LINEAR_LOG, global_concurrency=1, polling_interval_sec=0.2, on_conflict="always_update"
    )
    for name in WATCH_QUEUES:
        await DBOS.register_queue_async(
            name, global_concurrency=1, polling_interval_sec=1.0, on_conflict="always_update"
        )


async def queue(name: str) -> Queue:
    found = await DBOS.retrieve_queue_async(name)
    if found is None:
        raise RuntimeError(f"DBOS queue {name!r} is not registered (launch_dbos registers it)")
    return found
