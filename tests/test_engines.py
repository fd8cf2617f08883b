"""`bot.store.engine_for`: on a SQLite file, connections are kept between uses (opening
one reads the whole schema), and a file deleted or replaced under a kept connection is
noticed on its next use. Real SQLite files, real threads."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog

from bot.readmodel import RolloutIndex
from bot.store import Store, engine_for
from bot.webhooks import DeliveryLog


def opened(engine: sa.Engine) -> list[int]:
    """Counts the connections `engine` opens from now on."""
    count: list[int] = []
    sa.event.listen(engine, "connect", lambda *_: count.append(1))
    return count


async def test_a_store_keeps_its_connections_between_writes(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/kept.sqlite")
    try:
        await store.migrate()
        store.engine.dispose()  # the migration's connection: closed, counting from none
        count = opened(store.engine)
        for n in range(40):
            assert await store.claim(f"key-{n}")
            await store.record(actor="U1", action="verify", outcome="refused", detail="no")
        # Two store threads: at most a connection each (before: one per write, 80).
        assert 1 <= len(count) <= 2
        assert len(await store.entries()) == 40
    finally:
        store.dispose()


async def test_a_sqlite_file_is_put_in_write_ahead_log_mode_for_every_connection(
    tmp_path: Path,
) -> None:
    """The mode is the file's: a plain connection opened afterwards (DBOS's, the `audit`
    command's) finds it, and the store's writes go through it."""
    path = tmp_path / "wal.sqlite"
    store = Store(f"sqlite:///{path}")
    try:
        await store.migrate()
        assert await store.claim("key-1")
        with sqlite3.connect(path) as plain:
            assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert plain.execute("SELECT count(*) FROM creators_onboard_seen").fetchone()[0] == 1
        plain.close()
    finally:
        store.dispose()


def test_a_file_another_process_holds_locked_keeps_its_mode_and_is_used(
    tmp_path: Path,
) -> None:
    """The mode cannot change while another connection holds the file locked: the engine
    says so, in a warning, and goes on with the file as it is."""
    path = tmp_path / "locked.sqlite"
    _marked(path, "before")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    engine = engine_for(f"sqlite:///{path}")
    try:
        with structlog.testing.capture_logs() as logs:
            connection = engine.connect()  # waits SQLite's busy timeout (5 s), then goes on
        assert [e["event"] for e in logs] == ["sqlite_journal_unchanged"]
        assert "locked" in logs[0]["reason"] and logs[0]["file"] == "locked.sqlite"
        holder.execute("COMMIT")
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        assert mode == "delete"
        assert str(connection.execute(sa.text("SELECT v FROM mark")).scalar_one()) == "before"
        connection.close()
    finally:
        holder.close()
        engine.dispose()


def _marked(path: Path, mark: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS mark (v TEXT)")
        conn.execute("DELETE FROM mark")
        conn.execute("INSERT INTO mark VALUES (?)", (mark,))
    conn.close()


def _mark(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT v FROM mark")).scalar_one())


@pytest.fixture
def kept(tmp_path: Path) -> Iterator[tuple[Path, sa.Engine]]:
    """A SQLite file marked "before", and an engine that has a connection kept on it."""
    path = tmp_path / "live.sqlite"
    _marked(path, "before")
    engine = engine_for(f"sqlite:///{path}")
    try:
        assert _mark(engine) == "before"
        yield path, engine
    finally:
        engine.dispose()


def test_a_replaced_file_is_read_on_the_next_use_not_the_old_one(
    kept: tuple[Path, sa.Engine],
) -> None:
    path, engine = kept
    # Replaced as a restore does it: a whole other file moved into its place (a kept
    # connection still has the old, now nameless, file open).
    _marked(path.with_name("restored.sqlite"), "restored")
    os.replace(path.with_name("restored.sqlite"), path)
    assert _mark(engine) == "restored"


def test_a_deleted_file_is_not_written_through_a_kept_connection(
    kept: tuple[Path, sa.Engine],
) -> None:
    path, engine = kept
    path.unlink()
    path.mkdir()  # and something SQLite cannot open in its place
    with pytest.raises(sa.exc.OperationalError, match="unable to open database file"):
        _mark(engine)
    path.rmdir()
    _marked(path, "again")
    assert _mark(engine) == "again"


async def test_the_read_model_and_the_delivery_log_keep_their_connections_too(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/shared.sqlite"
    store = Store(url)
    await store.migrate()
    index, deliveries = RolloutIndex(url), DeliveryLog(url)
    try:
        deliveries._engine.dispose()
        count = opened(deliveries._engine)
        taken = [await deliveries.take(f"delivery-{n}", "workflow_run", n) for n in range(20)]
        assert all(taken)
        assert not await deliveries.take("delivery-3", "workflow_run", 3)  # a redelivery
        assert len(count) == 1
        index._engine.dispose()
        count = opened(index._engine)  # not started: every read goes to the table
        for _ in range(20):
            assert await asyncio.wait_for(index.newest(active=True), 5) is None
            assert await index.highest_number() == 0
        assert 1 <= len(count) <= 2
    finally:
        deliveries.close()
        await index.close()
        store.dispose()


def test_postgresql_keeps_its_ping(tmp_path: Path) -> None:
    # A server's idle connection can be dropped under it: a ping on checkout finds that.
    engine = engine_for("postgresql://u:p@127.0.0.1:1/none")
    assert engine.pool._pre_ping
    assert not engine_for(f"sqlite:///{tmp_path}/x.sqlite").pool._pre_ping
