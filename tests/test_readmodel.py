"""The read model: versions only grow, every process's copy follows the table, and reads
fall back to the table while a copy cannot be trusted. Real SQLite files and the real
local PostgreSQL (two indexes on one database stand for two replicas)."""

from __future__ import annotations

import pytest

from bot.readmodel import RolloutIndex, rollout_number
from bot.rollout.state import RolloutState
from bot.store import Store
from tests.scenario import eventually

AT = "2026-01-01T00:00:00+00:00"


def state(step: str, rollout_id: str = "rollout-1", **kwargs: object) -> RolloutState:
    return RolloutState(
        rollout_id=rollout_id,
        owner="U0OWNER1",
        devops="U0DEVOPS1",
        started_by="U0DEVOPS1",
        started_at=AT,
        step=step,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(autouse=True)
async def schema(database_url: str) -> None:
    """The bot migrates before the read model starts; so do these tests."""
    store = Store(database_url)
    try:
        await store.migrate()
    finally:
        store.dispose()


async def test_an_older_version_never_overwrites_a_newer_one(database_url: str) -> None:
    index = RolloutIndex(database_url)
    await index.start()
    try:
        assert await index.write(state("prereq"), 0, active=True)
        assert await index.write(state("register_app"), 2, active=True)
        # A replayed workflow republishes its earlier states: nothing changes.
        assert not await index.write(state("register_sign_in"), 1, active=True)
        assert not await index.write(state("register_app"), 2, active=True)
        held = await index.get("rollout-1")
        assert held is not None and (held.version, held.state.step) == (2, "register_app")
    finally:
        await index.close()
    # What the table holds, read by a process that has no copy yet.
    cold = RolloutIndex(database_url)
    try:
        assert not cold.live
        found = await cold.get("rollout-1")
        assert found is not None and (found.version, found.state.step) == (2, "register_app")
    finally:
        await cold.close()


async def test_newest_active_and_the_highest_number(database_url: str) -> None:
    index = RolloutIndex(database_url)
    await index.start()
    try:
        assert await index.newest(active=False) is None
        assert await index.highest_number() == 0
        await index.write(state("prereq", "rollout-9"), 0, active=True)
        await index.write(state("prereq", "rollout-10"), 0, active=True)
        await index.write(state("prereq", "rollout-10", status="aborted"), 1, active=False)
        for live in (True, False):
            index._live = live  # the copy and the table answer alike
            newest = await index.newest(active=False)
            active = await index.newest(active=True)
            assert newest is not None and newest.rollout_id == "rollout-10"
            assert active is not None and active.rollout_id == "rollout-9"
            assert await index.highest_number() == 10
    finally:
        await index.close()


async def test_a_rollout_that_died_in_its_replay_is_listed_as_over(database_url: str) -> None:
    """A workflow dying while DBOS replays it lists itself as over at a version its replay
    counted from 0: below the stored one, so that changes nothing. `delist` lists it as over
    past the stored version, keeping the newest state, on every replica."""
    index = RolloutIndex(database_url)
    other = RolloutIndex(database_url)  # another replica (its copy follows on PostgreSQL)
    await index.start()
    await other.start()
    try:
        await index.write(state("deploy_gate"), 27, active=True)
        assert not await index.write(state("populate"), 25, active=False)  # the replay's
        assert await index.delist("rollout-1")
        for live in (True, False):
            index._live = live
            found = await index.get("rollout-1")
            assert found is not None
            assert (found.version, found.active, found.state.step) == (28, False, "deploy_gate")
            assert await index.newest(active=True) is None
        if index.postgres:

            async def seen() -> bool:
                found = await other.get("rollout-1")
                return found is not None and not found.active

            await eventually(seen, what="the other replica's copy")
        assert not await index.delist("rollout-1")  # over already: nothing more
        assert not await index.delist("rollout-404")
    finally:
        await index.close()
        await other.close()


def test_rollout_numbers() -> None:
    assert rollout_number("rollout-12") == 12
    assert rollout_number("other") == 0


async def test_replicas_see_each_others_writes_and_survive_a_lost_listener(
    database_url: str,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several processes share a database only on PostgreSQL")
    import psycopg

    writer, reader = RolloutIndex(database_url), RolloutIndex(database_url)
    await writer.start()
    await reader.start()
    try:
        assert reader.live
        await writer.write(state("prereq"), 1, active=True)

        async def reader_at(step: str) -> bool:
            found = await reader.get("rollout-1")
            return found is not None and found.state.step == step

        await eventually(lambda: reader_at("prereq"), what="the notification")
        # Cut every listening connection: the reader stops trusting its copy …
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
        await eventually(lambda: not reader.live, what="the reader noticing")
        await writer.write(state("register_sign_in"), 2, active=True)
        # … and answers from the table meanwhile, then listens and reloads again.
        assert await reader_at("register_sign_in")
        await eventually(lambda: reader.live, what="the listener coming back", timeout=15)
        await writer.write(state("register_app"), 3, active=True)
        await eventually(lambda: reader_at("register_app"), what="the next notification")
    finally:
        await writer.close()
        await reader.close()
