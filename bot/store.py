"""Our own small tables beside DBOS's: the audit trail. Also the readiness probe.

Workflow state lives in DBOS; this module only records who did what and when (every
transition and every refusal), so an operator can answer "who pressed that?" later.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from bot.logging import get_logger
from bot.outbound import scrub_text
from bot.tables import audit_log, insert, seen

log = get_logger(__name__)
T = TypeVar("T")


def fit(value: str | None, column: sa.Column[Any]) -> str | None:
    """`value` cut to fit `column` (an over-long id from a hostile request must never
    cost the audit row); a cut value keeps a digest of the whole so it stays distinct."""
    size = getattr(column.type, "length", None)
    if value is None or size is None or len(value) <= size:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:12]
    return f"{value[: size - 14]}…~{digest}"


def sqlalchemy_url(database_url: str) -> str:
    if database_url.startswith("postgresql://"):
        return "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return database_url


def _sqlite_file(url: sa.URL) -> str | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


def write_ahead(dbapi: Any, path: str) -> str | None:
    """Put a SQLite file in write-ahead-log mode (it stays so: every later connection,
    DBOS's too, uses it) and return the mode it is in. A commit then appends to the log
    and syncs it once, where the default journal creates, syncs and deletes a file of its
    own each time: a commit of one row (a claim, an audit row: the writes after every
    ack) takes about a quarter of the CPU and of the time (sqlite3 alone, on ext4), and
    readers no longer wait for a writer. Just as durable: `synchronous` stays FULL. The
    log is the `-wal` file beside the database (with its `-shm` index); a restore removes
    both (README, Backups). Where the mode cannot change now (another process holds the
    file locked), the file keeps the one it has."""
    try:
        mode = str(dbapi.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
    except sqlite3.OperationalError as exc:
        log.warning("sqlite_journal_unchanged", file=os.path.basename(path), reason=str(exc))
        return None
    if mode != "wal":
        log.warning("sqlite_journal_unchanged", file=os.path.basename(path), mode=mode)
    return mode


def engine_for(database_url: str) -> sa.Engine:
    """An engine for DATABASE_URL.

    On a SQLite file, connections are kept between uses: opening one reads the file's
    whole schema (DBOS's tables included) at its first statement, about half of what a
    small write (a claim, an audit row) cost. Each is checked on checkout against the
    file it was opened on, so a file deleted or replaced since is noticed: the
    connection is dropped and a new one opened on what is there now."""
    url = sa.make_url(sqlalchemy_url(database_url))
    if url.get_backend_name() != "sqlite":  # a connection dropped while idle: a ping finds it
        return sa.create_engine(url, pool_pre_ping=True)
    engine = sa.create_engine(url)
    path = _sqlite_file(url)
    if path is None:  # in memory: nothing to replace
        return engine

    @sa.event.listens_for(engine, "connect")
    def _opened(dbapi: Any, record: sa.pool.ConnectionPoolEntry) -> None:
        record.info["file"] = _file_id(path)
        write_ahead(dbapi, path)

    @sa.event.listens_for(engine, "checkout")
    def _same_file(_dbapi: Any, record: sa.pool.ConnectionPoolEntry, _proxy: Any) -> None:
        if record.info.get("file") is None or _file_id(path) != record.info["file"]:
            # SQLAlchemy's way to say "this connection is stale": it is discarded and the
            # checkout tried again with a new one.
            raise sa.exc.DisconnectionError("the SQLite file was deleted or replaced")

    return engine


class DatabaseUnavailable(Exception):
    """The database named by DATABASE_URL cannot be reached, opened or written."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"DATABASE_URL: the database cannot be used ({reason}). Fix: check the host, "
            "port, name, user and password in DATABASE_URL (postgresql://user:password@host:"
            "5432/name), that the server is up, or that a SQLite file's folder exists and "
            "is writable."
        )
        self.reason = reason


def database_reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return first[:300]


# SQLite's errors that pass: another writer holds the file, or the disk hiccupped. Not
# "no such table" and the like, which are OperationalErrors too but never heal by waiting.
_SQLITE_PASSING = ("database is locked", "unable to open database file", "disk i/o error")
# PostgreSQL's "query canceled" (a statement timeout or an operator's cancel): not a lost
# connection, and running it again would undo the cancel.
_QUERY_CANCELED = "57014"


def connection_lost(exc: BaseException) -> bool:
    """True when `exc` says the database could not be reached for a moment (server down,
    restarting, connection dropped, SQLite file busy), so the same write may be tried
    again; False for anything waiting cannot mend (a bad statement, a constraint)."""
    if isinstance(exc, OSError):
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if type(orig).__module__.startswith("sqlite3"):
        return any(text in str(orig).lower() for text in _SQLITE_PASSING)
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return getattr(orig, "sqlstate", None) != _QUERY_CANCELED
    return False


# Waits between tries of a write that must not be lost: short at first, then every 5 s.
OUTLAST_BACKOFF = (0.25, 0.5, 1.0, 2.0, 5.0)


async def outlast(
    call: Callable[[], Awaitable[T]], what: str, *, give_up: Callable[[], bool] = lambda: False
) -> T:
    """`call()`, tried again for as long as the database is away (`connection_lost`) and
    `give_up()` is False (the process is not stopping).

    For the workflows' own writes (the read model, the audit trail, a post's claim): a
    rollout waits a database outage out, as DBOS does with its own writes, instead of
    failing the step or the whole workflow over it. Never on the ack path, which must
    answer at once. Each failed try is logged with the database's reason (no URL)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call()
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            if not connection_lost(exc) or give_up():
                raise
            wait = OUTLAST_BACKOFF[min(attempt, len(OUTLAST_BACKOFF)) - 1]
            log.warning(
                "database_waited",
                what=what,
                attempt=attempt,
                retry_s=wait,
                reason=database_reason(exc),
            )
            await asyncio.sleep(wait)


# A row for one of the tables written after every ack (`seen`, `audit_log`).
_Write = tuple[sa.Table, dict[str, Any]]
# The column that makes a write a repeat, by table: a claim's key, an audit row's
# dedupe_key (None: an audit row that is never a repeat).
_KEYS = {seen.name: "key", audit_log.name: "dedupe_key"}


def _key(write: _Write) -> str | None:
    table, row = write
    key = row.get(_KEYS[table.name])
    return None if key is None else str(key)


def _lock_order(write: _Write) -> tuple[str, str]:
    return (write[0].name, _key(write) or "")


def _own(exc: BaseException) -> BaseException:
    """A copy of `exc` for one more writer that failed with it: the same type, message,
    cause and traceback up to the failed commit (the exception itself when it cannot be
    copied)."""
    try:
        mine = copy.copy(exc)
    except TypeError:  # its constructor does not take its own args back: share it
        return exc
    mine.__cause__, mine.__context__ = exc.__cause__, exc.__context__
    mine.__suppress_context__ = exc.__suppress_context__
    return mine.with_traceback(exc.__traceback__)


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    rollout_id: str | None
    actor: str
    action: str
    outcome: str
    detail: str


async def _hand_out(
    batch: list[tuple[_Write, asyncio.Future[bool]]], results: list[bool | BaseException]
) -> None:
    """Each writer its result, one per turn of the event loop. Handed all at once, every
    writer of a batch would resume in the same turn and run on (its audit row, its answer
    to Slack) before the loop looks at its sockets again: under a burst, a request
    arriving then would wait behind dozens of them for its ack."""
    handed: set[int] = set()
    try:
        for n, ((_, done), result) in enumerate(zip(batch, results, strict=True)):
            if n:
                await asyncio.sleep(0)
            if done.done():  # its caller was cancelled
                continue
            if isinstance(result, BaseException):
                # One exception raised in many tasks would collect all their frames
                # and contexts: each writer after the first gets its own copy.
                done.set_exception(_own(result) if id(result) in handed else result)
                handed.add(id(result))
            else:
                done.set_result(result)
    finally:
        for _, done in batch:  # cancelled while handing out (shutdown): none left waiting
            if not done.done():
                done.cancel()


class Store:
    """Blocking SQLAlchemy work runs on the store's own threads.

    Not the loop's default executor: DBOS replaces that one and shuts it down on destroy.
    """

    def __init__(self, database_url: str) -> None:
        self._engine = engine_for(database_url)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="store")
        self._writes: list[tuple[_Write, asyncio.Future[bool]]] = []
        self._writer: asyncio.Future[None] | None = None
        self._inserts: dict[str, Any] = {}

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    async def migrate(self) -> list[int]:
        """Bring the schema up to date (bot/migrations.py), safely from many replicas."""
        from bot.migrations import migrate

        try:
            return await self._run(migrate, self._engine)
        except (sa.exc.OperationalError, sa.exc.InterfaceError, OSError) as exc:
            raise DatabaseUnavailable(database_reason(exc)) from None

    def _probe(self) -> None:
        with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("CREATE TEMP TABLE co_probe (x int) ON COMMIT DROP"))
                conn.execute(sa.text("INSERT INTO co_probe VALUES (1)"))
            else:
                # Takes SQLite's write lock on the file itself, then writes nothing.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            conn.rollback()

    async def probe(self) -> None:
        """Connect and prove the database takes writes, writing nothing that stays;
        DatabaseUnavailable says why not."""
        try:
            await self._run(self._probe)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise DatabaseUnavailable(database_reason(exc)) from None

    # ----------------------------------------------------- claims and audit rows
    #
    # The writes every request makes after its ack. Those asked for while a commit is
    # under way are committed together in the next one (a group commit): under a burst a
    # commit, not a write, is what costs (a SQLite file's journal and fsync, a server's
    # round trip), so a burst costs a few commits instead of two per request. One at a
    # time, each write is still its own commit, at once.

    def _insert(self, table: sa.Table) -> Any:
        """INSERT … ON CONFLICT DO NOTHING RETURNING the write's key, as `bot.webhooks`
        takes a delivery: a key already there is not an error, so one repeat cannot fail
        the writes committed with it, and a key not returned was there already (psycopg
        reports -1 as the row count). Built once per table: each one built is garbage the
        collector has to walk."""
        statement = self._inserts.get(table.name)
        if statement is None:
            statement = (
                insert(self._engine.dialect.name, table)
                .on_conflict_do_nothing()
                .returning(table.c[_KEYS[table.name]])
            )
            self._inserts[table.name] = statement
        return statement

    def _apply(self, conn: sa.Connection, writes: list[_Write]) -> list[bool]:
        """Each write's row, a table's rows in one statement (SQLAlchemy sends them as one
        multi-row INSERT: a sixth of the CPU per row of one statement each, in a burst of
        hundreds): True when it went in, False when its key was there already, or came
        earlier in `writes`."""
        went_in = [False] * len(writes)
        keys = [_key(write) for write in writes]
        tables: dict[str, list[int]] = {}
        first: set[tuple[str, str]] = set()
        for n, ((table, _), key) in enumerate(zip(writes, keys, strict=True)):
            if key is not None:
                if (table.name, key) in first:
                    continue  # the same request twice in one batch: the first is the one
                first.add((table.name, key))
            tables.setdefault(table.name, []).append(n)
        for ns in tables.values():
            rows = conn.execute(self._insert(writes[ns[0]][0]), [writes[n][1] for n in ns])
            taken = {row[0] for row in rows}
            for n in ns:
                went_in[n] = keys[n] is None or keys[n] in taken
        return went_in

    def _commit(self, writes: list[_Write]) -> list[bool | BaseException]:
        """Every write in one transaction, in the order of their keys: two replicas
        committing the same keys (Slack retried a request to the other) then take them
        in the same order and one waits for the other, where in the order they came
        they could each hold one the other needs (PostgreSQL would abort one as a
        deadlock). If the transaction fails for a reason waiting cannot mend, each is
        tried alone, so only the write at fault fails."""
        order = sorted(range(len(writes)), key=lambda n: _lock_order(writes[n]))
        try:
            with self._engine.begin() as conn:
                went_in = self._apply(conn, [writes[n] for n in order])
            done = dict(zip(order, went_in, strict=True))
            return [done[n] for n in range(len(writes))]
        except sa.exc.SQLAlchemyError as exc:
            if len(writes) == 1 or connection_lost(exc):
                return [exc] * len(writes)
        alone: list[bool | BaseException] = []
        for write in writes:
            try:
                with self._engine.begin() as conn:
                    alone.extend(self._apply(conn, [write]))
            except sa.exc.SQLAlchemyError as exc:
                alone.append(exc)
        return alone

    async def _write(self, table: sa.Table, row: dict[str, Any]) -> bool:
        """True when the row went in, False when its key was there already."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._writes.append(((table, row), done))
        if self._writer is None or self._writer.done():
            # In a context of its own: it outlives the request that happened to start it
            # and must not keep that request's context (its once-key, its respond) alive.
            self._writer = asyncio.get_running_loop().create_task(
                self._write_all(), context=contextvars.Context()
            )
        return await done

    async def _write_all(self) -> None:
        while self._writes:
            batch, self._writes = self._writes, []
            try:
                results = await self._run(self._commit, [write for write, _ in batch])
            except Exception as exc:  # noqa: BLE001 - not logged here: raised to each writer
                results = [exc] * len(batch)
            except BaseException:
                for _, done in batch:
                    done.cancel()
                raise
            await _hand_out(batch, results)

    async def claim(self, key: str) -> bool:
        """True the first time `key` is claimed, by any replica; False ever after."""
        return await self._write(seen, {"key": fit(key, seen.c.key), "at": time.time()})

    def _claimed(self, keys: list[str]) -> set[str]:
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(seen.c.key).where(seen.c.key.in_(keys)))
            return {row[0] for row in rows}

    async def claimed(self, keys: Iterable[str]) -> set[str]:
        """Those of `keys` already claimed (by any replica), claiming none."""
        fitted = {fit(key, seen.c.key) or "": key for key in keys}
        if not fitted:
            return set()
        found = await self._run(self._claimed, list(fitted))
        return {fitted[key] for key in found}

    def _forget(self, older_than: float) -> None:
        with self._engine.begin() as conn:
            conn.execute(seen.delete().where(seen.c.at < older_than))

    async def forget_seen(self, older_than: float) -> None:
        await self._run(self._forget, older_than)

    def _pending(self) -> list[str]:
        from bot.migrations import pending

        with self._engine.connect() as conn:
            return pending(conn)

    async def pending_migrations(self) -> list[str]:
        """The migrations `serve` still has to apply before it can run, by description
        (empty when the schema is current)."""
        try:
            return await self._run(self._pending)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise DatabaseUnavailable(database_reason(exc)) from None

    def dispose(self) -> None:
        self._engine.dispose()
        self._pool.shutdown(wait=False)

    def _ping(self) -> None:
        with self._engine.connect() as conn:
            # Our own table, not just SELECT 1: SQLite answers that even without the file.
            conn.execute(sa.select(audit_log.c.id).limit(1))

    async def ping(self, within: float = 2.0) -> bool:
        """True when the database answers within `within` seconds."""
        try:
            await asyncio.wait_for(self._run(self._ping), within)
        except (TimeoutError, sa.exc.SQLAlchemyError, OSError):
            return False
        return True

    async def record(
        self,
        *,
        actor: str,
        action: str,
        outcome: str,
        rollout_id: str | None = None,
        detail: dict[str, Any] | str = "",
        dedupe_key: str | None = None,
    ) -> None:
        text = scrub_text(detail if isinstance(detail, str) else json.dumps(detail, sort_keys=True))
        row = {
            "at": datetime.now(UTC),
            "rollout_id": fit(rollout_id, audit_log.c.rollout_id),
            "actor": fit(actor, audit_log.c.actor),
            "action": fit(action, audit_log.c.action),
            "outcome": fit(outcome, audit_log.c.outcome),
            "detail": text,
            "dedupe_key": fit(dedupe_key, audit_log.c.dedupe_key),
        }
        await self._write(audit_log, row)  # a dedupe_key already recorded: not again

    def _entries(self, rollout_id: str | None) -> list[AuditEntry]:
        query = sa.select(audit_log).order_by(audit_log.c.id)
        if rollout_id is not None:
            query = query.where(audit_log.c.rollout_id == rollout_id)
        with self._engine.connect() as conn:
            return [
                AuditEntry(r.at, r.rollout_id, r.actor, r.action, r.outcome, r.detail)
                for r in conn.execute(query)
            ]

    async def entries(self, rollout_id: str | None = None) -> list[AuditEntry]:
        return await self._run(self._entries, rollout_id)
