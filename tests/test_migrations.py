"""Schema migrations: applied once, in order, by any number of replicas at once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.migrations import MIGRATIONS, migrate, schema_table
from bot.store import Store, sqlalchemy_url

pytestmark = pytest.mark.postgres

LATEST = [m.version for m in MIGRATIONS]


def applied_versions(url: str) -> list[int]:
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(schema_table.c.version)).scalars())
    finally:
        engine.dispose()


def race(url: str, replicas: int) -> list[BaseException]:
    """`replicas` engines migrate the same database at the same instant."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(replicas)
    engines = [sa.create_engine(sqlalchemy_url(url)) for _ in range(replicas)]

    def run(engine: sa.Engine) -> None:
        barrier.wait()
        try:
            migrate(engine)
        except BaseException as exc:  # collected and reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    return errors


def test_replicas_migrating_together_never_collide(fresh_pg: Callable[[], str]) -> None:
    for _ in range(10):
        url = fresh_pg()
        assert race(url, 4) == []
        assert sorted(applied_versions(url)) == LATEST


def test_sqlite_migrates_and_a_second_run_applies_nothing(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert migrate(engine) == LATEST
    assert migrate(engine) == []


async def test_a_database_from_before_migrations_is_widened(fresh_pg: Callable[[], str]) -> None:
    """The audit table as create_all made it before (actor varchar(32), action
    varchar(64)): migrated in place, and an over-long id is still audited."""
    url = fresh_pg()
    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE creators_onboard_audit (id serial PRIMARY KEY, "
                "at timestamptz NOT NULL, rollout_id varchar(64), actor varchar(32) NOT NULL, "
                "action varchar(64) NOT NULL, outcome varchar(16) NOT NULL, detail text NOT NULL, "
                "dedupe_key varchar(128) UNIQUE)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO creators_onboard_audit (at, actor, action, outcome, detail) "
                "VALUES (now(), 'U0OLD', 'start', 'done', '')"
            )
        )
    engine.dispose()
    store = Store(url)
    try:
        assert await store.migrate() == LATEST
        long = "U" + "X" * 300
        await store.record(
            actor=long,
            action="co:" + "a" * 400,
            outcome="refused" * 5,
            rollout_id="rollout-" + "9" * 200,
            detail="why",
            dedupe_key="k" * 500,
        )
        entries = await store.entries()
        assert entries[0].actor == "U0OLD"
        row = entries[1]
        assert row.actor.startswith("UXXX") and len(row.actor) <= 64
        assert len(row.action) <= 255 and row.detail == "why"
    finally:
        store.dispose()


async def test_claims_are_first_come_once(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'c.sqlite'}")
    try:
        await store.migrate()
        results = await asyncio.gather(*(store.claim("event:Ev1") for _ in range(5)))
        assert sorted(results) == [False, False, False, False, True]
        assert await store.claim("x" * 1000) is True
        assert await store.claim("x" * 1000) is False
    finally:
        store.dispose()
