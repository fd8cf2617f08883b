"""The workflows' own writes wait a database outage out (`bot.store.outlast`).

Before, a rollout whose read-model write landed in a PostgreSQL restart failed as a
whole (DBOS marked it ERROR and nothing moved it again). Real SQLite files, the real
shared PostgreSQL, and a PostgreSQL of the test's own that is stopped and started.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
import structlog

from bot.readmodel import RolloutIndex
from bot.rollout.state import RolloutState
from bot.store import Store, connection_lost, outlast
from bot.workflows import runtime
from bot.workflows.steps import publish_state
from tests.conftest import PG_ADMIN_URL
from tests.pg_cluster import LocalPostgres, _free_port

AT = "2026-01-01T00:00:00+00:00"


def state(step: str) -> RolloutState:
    return RolloutState(
        rollout_id="rollout-1",
        owner="U0OWNER1",
        devops="U0DEVOPS1",
        started_by="U0DEVOPS1",
        started_at=AT,
        step=step,
    )


def raised(engine: sa.Engine, statement: str) -> sa.exc.SQLAlchemyError:
    with pytest.raises(sa.exc.SQLAlchemyError) as caught, engine.connect() as conn:
        conn.execute(sa.text(statement))
    return caught.value


# ------------------------------------------------------------- what passes, what not


def test_a_busy_sqlite_file_passes_a_bad_statement_does_not(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert connection_lost(raised(engine, "INSERT INTO t VALUES (1)"))
    finally:
        holder.rollback()
        holder.close()
    assert not connection_lost(raised(engine, "SELECT * FROM no_such_table"))
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
    assert not connection_lost(raised(engine, "INSERT INTO t VALUES (1)"))  # a constraint
    engine.dispose()


def test_a_refused_postgres_connection_passes_a_canceled_query_does_not(
    pg_problem: str | None,
) -> None:
    refused = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/x")
    with pytest.raises(sa.exc.OperationalError) as caught:
        refused.connect()
    assert connection_lost(caught.value)
    refused.dispose()
    if pg_problem:
        pytest.skip(pg_problem)
    engine = sa.create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        conn.execute(sa.text("SET statement_timeout = 10"))
        with pytest.raises(sa.exc.OperationalError) as canceled:
            conn.execute(sa.text("SELECT pg_sleep(1)"))
    assert not connection_lost(canceled.value)  # a statement timeout is not an outage
    assert not connection_lost(raised(engine, "SELECT * FROM no_such_table"))
    engine.dispose()


async def test_a_write_that_cannot_heal_is_raised_at_once(tmp_path: Path) -> None:
    calls = 0

    async def bad() -> None:
        nonlocal calls
        calls += 1
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT * FROM no_such_table"))
        finally:
            engine.dispose()

    with pytest.raises(sa.exc.OperationalError):
        await outlast(bad, "test")
    assert calls == 1


# ------------------------------------------------------------ a real restart


@pytest.fixture
def restored_runtime() -> Any:
    held = runtime._deps
    yield
    runtime._deps = held


async def test_a_published_state_and_an_audit_row_wait_out_a_postgres_restart(
    own_postgres: LocalPostgres, restored_runtime: None
) -> None:
    store = Store(own_postgres.url)
    await store.migrate()
    index = RolloutIndex(own_postgres.url)
    await index.start()
    runtime.install(SimpleNamespace(index=index))  # type: ignore[arg-type]
    try:
        await asyncio.to_thread(own_postgres.stop)
        with structlog.testing.capture_logs() as logs:
            published = asyncio.create_task(publish_state(state("register_app"), 1, active=True))
            audited = asyncio.create_task(
                outlast(
                    lambda: store.record(actor="U0DEVOPS1", action="deploy", outcome="done"),
                    "audit",
                )
            )
            await asyncio.sleep(1.5)
            assert not published.done() and not audited.done()  # waiting, not failed
            await asyncio.to_thread(own_postgres.start)
            await asyncio.wait_for(asyncio.gather(published, audited), 30)
        waited = [e for e in logs if e["event"] == "database_waited"]
        assert {e["what"] for e in waited} == {"publish_state", "audit"}
        assert all(e["log_level"] == "warning" and e["reason"] for e in waited)
        # Both writes landed once the server was back.
        cold = RolloutIndex(own_postgres.url)
        try:
            found = await cold.get("rollout-1")
            assert found is not None and (found.version, found.state.step) == (1, "register_app")
        finally:
            await cold.close()
        assert [e.action for e in await store.entries()] == ["deploy"]
    finally:
        await index.close()
        store.dispose()


async def test_a_rollout_whose_workflow_did_not_start_is_not_listed(database_url: str) -> None:
    """The workflow is started before the rollout is listed: when starting it fails (here
    DBOS is not running at all, as when its database goes away at that moment), no row
    says a rollout is active, which would refuse every later start."""
    from dbos._error import DBOSException

    from bot.workflows.service import DbosRollouts

    store = Store(database_url)
    await store.migrate()
    index = RolloutIndex(database_url)
    await index.start()
    try:
        with pytest.raises(DBOSException):
            await DbosRollouts(index).create("rollout-1", state("prereq"))
        assert await index.get("rollout-1") is None
        assert await index.newest(active=True) is None
    finally:
        await index.close()
        store.dispose()
