"""Takeover bookkeeping on a real database: who is dead, who takes over, exactly once.

Time is a clock the test moves (after=60: a heartbeat every 10 s, stale after 50 s)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.store import Store
from bot.tables import seen
from bot.takeover import SEEN_KEEP_SECONDS, Takeover
from tests.pg_cluster import LocalPostgres


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def replicas(store: Store, clock: Clock, recovered: list[tuple[str, str]]) -> dict[str, Takeover]:
    def replica(name: str) -> Takeover:
        async def recover(dead: str) -> int:
            recovered.append((name, dead))
            return 1

        return Takeover(store, name, after=60, recover=recover, clock=clock)

    return {name: replica(name) for name in ("dead", "a", "b", "c")}


@asynccontextmanager
async def cluster(
    database_url: str, start: float
) -> AsyncIterator[tuple[Clock, dict[str, Takeover], list[tuple[str, str]]]]:
    """A migrated store, the clock at `start`, the replicas and whom each recovered."""
    store = Store(database_url)
    await store.migrate()
    recovered: list[tuple[str, str]] = []
    clock = Clock(start)
    try:
        yield clock, replicas(store, clock, recovered), recovered
    finally:
        store.dispose()


async def beat(clock: Clock, first: float, last: float, *live: Takeover) -> list[str]:
    """Every 10 s from `first` to `last`, each of `live` ticks; whom they took over."""
    taken = []
    clock.now = first
    while clock.now <= last:
        for replica in live:
            taken += await replica.tick()
        clock.now += 10
    clock.now = last
    return taken


async def test_a_silent_executor_is_taken_over_once_and_reclaims_itself(tmp_path: Path) -> None:
    async with cluster(f"sqlite:///{tmp_path / 't.sqlite'}", 1_000.0) as (clock, r, recovered):
        dead, a, b = r["dead"], r["a"], r["b"]
        await dead.tick()  # its last heartbeat; a and b start with it
        # Taken over 60 s after its last heartbeat (the first look past 50 s), by exactly
        # one of them.
        assert await beat(clock, 1_000, 1_050, a, b) == []
        clock.now = 1_060
        taken = await asyncio.gather(a.tick(), b.tick(), a.tick(), b.tick())
        assert [x for found in taken for x in found] == ["dead"]
        assert len(recovered) == 1 and recovered[0][1] == "dead"
        # Live ones are never taken: both keep beating.
        assert await beat(clock, 1_070, 1_200, a, b) == []
        # The dead executor comes back under its own id: its claim is cleared, and it is
        # only taken over again once it falls silent again.
        await dead.tick()
        assert await beat(clock, 1_210, 1_250, a, b) == []
        assert await beat(clock, 1_260, 1_260, a, b) == ["dead"]
        assert len(recovered) == 2


async def test_after_a_database_outage_only_a_peer_still_silent_is_taken_over(
    database_url: str,
) -> None:
    """No replica could beat while the database was away, so every heartbeat is stale
    when it comes back. Here a's beat hung (or its process stalled) through it: its next
    one goes through 55 s after the last. b is alive and beats again; c died meanwhile."""
    async with cluster(database_url, 900.0) as (clock, r, recovered):
        a, b, c = r["a"], r["b"], r["c"]
        assert await beat(clock, 900, 1_000, a, b, c) == []  # steady, all of them
        # The database is back; nobody beat since 1000. b and c look dead, but so does a
        # to them.
        assert await beat(clock, 1_055, 1_055, a) == []
        # b beats on and is never taken; c is, once a has beaten for 50 s without it.
        assert await beat(clock, 1_060, 1_100, b, a) == []
        assert await beat(clock, 1_105, 1_105, a) == ["c"]
        assert await beat(clock, 1_110, 1_300, a, b) == []
        assert recovered == [("a", "c")]


@pytest.mark.postgres
async def test_a_postgres_outage_does_not_make_live_replicas_look_dead(
    own_postgres: LocalPostgres,
) -> None:
    """The same with a real outage: the server stops, a's heartbeats fail, it starts."""
    async with cluster(own_postgres.url, 900.0) as (clock, r, recovered):
        a, b, c = r["a"], r["b"], r["c"]
        assert await beat(clock, 900, 1_000, a, b, c) == []
        await asyncio.to_thread(own_postgres.stop)
        for clock.now in (1_010, 1_020, 1_030, 1_040, 1_050, 1_060):
            with pytest.raises(sa.exc.OperationalError):
                await a.tick()
        await asyncio.to_thread(own_postgres.start)
        assert await beat(clock, 1_070, 1_070, a) == []
        assert await beat(clock, 1_075, 1_115, b, a) == []
        assert await beat(clock, 1_120, 1_120, a) == ["c"]
        assert recovered == [("a", "c")]


async def test_a_failed_recovery_gives_the_claim_back(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.sqlite'}")
    await store.migrate()

    async def broken(dead: str) -> int:
        raise OSError("database went away")

    async def works(dead: str) -> int:
        return 2

    clock = Clock(1_000.0)
    try:
        await Takeover(store, "dead", 60, works, clock).tick()
        a = Takeover(store, "a", 60, broken, clock)
        b = Takeover(store, "b", 60, works, clock)
        assert await beat(clock, 1_000, 1_050, a, b) == []
        clock.now = 1_060
        try:
            await a.tick()
        except OSError:
            pass
        else:
            raise AssertionError("the recovery error was swallowed")
        assert await b.tick() == ["dead"]
    finally:
        store.dispose()


async def test_handled_keys_are_forgotten_after_a_week(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.sqlite'}")
    await store.migrate()

    async def never(dead: str) -> int:
        raise AssertionError("nobody is dead")

    try:
        assert await store.claim("event:old")
        with store.engine.begin() as conn:
            conn.execute(seen.update().values(at=time.time() - SEEN_KEEP_SECONDS - 60))
        assert await store.claim("event:new")
        await Takeover(store, "a", 60, never).tick()
        assert await store.claim("event:old") is True  # forgotten: claimable again
        assert await store.claim("event:new") is False  # kept
    finally:
        store.dispose()
