"""The read model of the ack path: which rollout is active, where it stands, who may act.

Handlers need it before they ack, so it must answer in microseconds, not by scanning
DBOS's workflow list. The rollout workflow writes each state it publishes to one small
table (`bot.tables.rollouts`) with a version that only grows; a write whose version is not
above the stored one changes nothing, so a replayed workflow, which republishes its old
states, never puts an older state over a newer one.

Each process keeps a copy of the table in memory and answers from it:

* SQLite (one process): every write goes through this object, which updates the copy
  after its transaction commits.
* PostgreSQL (any number of replicas): a write also sends `NOTIFY creators_onboard_rollouts`
  in its transaction; every process LISTENs on its own connection and re-reads the row a
  notification names. The copy is trusted only while that connection is up (it LISTENs
  before it loads the table, so nothing falls in between); while it is down every read
  goes to the table — one indexed read — until the listener is back and has reloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa

from bot.logging import get_logger
from bot.rollout.state import RolloutState
from bot.store import engine_for
from bot.tables import insert, rollouts

log = get_logger(__name__)
T = TypeVar("T")

CHANNEL = "creators_onboard_rollouts"
RECONNECT_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


class Watcher(Protocol):
    """Told when a rollout's state in this process's copy moves on."""

    def changed(self) -> None: ...
    async def close(self) -> None: ...


@dataclass(frozen=True)
class Published:
    """One rollout as last published: its state and the version that state had."""

    rollout_id: str
    number: int
    version: int
    active: bool
    state: RolloutState


def rollout_number(rollout_id: str) -> int:
    """N of rollout-N (0 for anything else)."""
    _, _, tail = rollout_id.rpartition("-")
    return int(tail) if tail.isdigit() else 0


def _row(row: Any) -> Published:
    return Published(
        rollout_id=row.rollout_id,
        number=row.number,
        version=row.version,
        active=bool(row.active),
        state=RolloutState.model_validate_json(row.state),
    )


class RolloutIndex:
    """The rollouts table and this process's copy of it."""

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._engine = engine_for(database_url)
        self._dialect = self._engine.dialect.name
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readmodel")
        self._copy: dict[str, Published] = {}
        self._live = False  # the copy is complete and kept current
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._watchers: list[Watcher] = []
        # Rollouts whose workflow another workflow version started (found as the bot
        # starts, `bot.workflows.service.backfill`): DBOS does not resume them here.
        self._stranded: dict[str, str] = {}

    @property
    def postgres(self) -> bool:
        return self._dialect == "postgresql"

    @property
    def live(self) -> bool:
        """True while reads are answered from memory."""
        return self._live

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Load the table (its schema comes from `bot.migrations`) and (PostgreSQL) start
        listening."""
        if self.postgres:
            self._listener = asyncio.create_task(self._listen(), name="readmodel-listener")
            # Reads fall back to the table until the listener is up; don't wait long.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.wait(), 5.0)
        else:
            await self._reload()

    def watch(self, watcher: Watcher) -> None:
        self._watchers.append(watcher)

    async def close(self) -> None:
        for watcher in self._watchers:
            await watcher.close()
        self._watchers.clear()
        self._live = False
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        self._engine.dispose()
        self._pool.shutdown(wait=False)

    async def _reload(self) -> None:
        rows = await self._run(self._select_all)
        for published in rows:  # a write kept meanwhile may be newer than what was read
            self._keep(published)
        self._live = True

    def _select_all(self) -> list[Published]:
        with self._engine.connect() as conn:
            return [_row(r) for r in conn.execute(sa.select(rollouts))]

    # ---------------------------------------------------------------- listening

    async def _listen(self) -> None:
        import psycopg

        attempt = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._database_url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    await self._reload()
                    attempt = 0
                    self._listening.set()
                    log.debug("readmodel_listening")
                    async for note in conn.notifies():
                        await self._notified(note.payload)
            except (psycopg.Error, OSError, sa.exc.SQLAlchemyError) as exc:
                self._live = False
                delay = RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)]
                attempt += 1
                log.warning("readmodel_listener_lost", error=type(exc).__name__, retry_s=delay)
                await asyncio.sleep(delay)
            else:  # the server ended the stream: listen again
                self._live = False

    async def _notified(self, payload: str) -> None:
        rollout_id, _, version = payload.partition(" ")
        held = self._copy.get(rollout_id)
        if held is not None and version.isdigit() and held.version >= int(version):
            return
        found = await self._run(self._select_one, rollout_id)
        if found is not None:
            self._keep(found)

    def _keep(self, published: Published) -> None:
        held = self._copy.get(published.rollout_id)
        if held is None or published.version > held.version:
            self._copy[published.rollout_id] = published
            for watcher in self._watchers:
                watcher.changed()

    # ------------------------------------------------------------------ writing

    async def write(self, state: RolloutState, version: int, *, active: bool) -> bool:
        """Store `state` as `version` unless the table holds that version or a newer one.

        True when the row changed. Version 0 is the state a rollout is created with.
        """
        published = Published(
            state.rollout_id, rollout_number(state.rollout_id), version, active, state
        )
        changed = await self._run(self._write, published, state.model_dump_json())
        if changed:
            self._keep(published)
        return changed

    def _write(self, published: Published, state_json: str) -> bool:
        values = {
            "rollout_id": published.rollout_id,
            "number": published.number,
            "version": published.version,
            "active": published.active,
            "state": state_json,
            "updated_at": datetime.now(UTC),
        }
        stmt = insert(self._dialect, rollouts).values(**values)
        newer = stmt.excluded.version > rollouts.c.version
        stmt = stmt.on_conflict_do_update(
            index_elements=[rollouts.c.rollout_id],
            set_={k: stmt.excluded[k] for k in values if k != "rollout_id"},
            where=newer,
        ).returning(rollouts.c.version)
        with self._engine.begin() as conn:
            # A row comes back only when it was inserted or updated.
            changed = conn.execute(stmt).first() is not None
            if changed and self.postgres:
                payload = f"{published.rollout_id} {published.version}"
                conn.execute(sa.select(sa.func.pg_notify(CHANNEL, payload)))
        return changed

    async def delist(self, rollout_id: str) -> bool:
        """List `rollout_id` as over one version past the stored one, whatever that is,
        keeping the state stored. For a rollout whose workflow died: one that dies while
        DBOS replays it numbers its states from 0 again, so its own listing as over may be
        below the stored version and change nothing, leaving a dead rollout listed as
        active (every press "on it" and nothing done, every start refused). False when the
        row is not listed as active."""
        found = await self._run(self._delist, rollout_id)
        if found is None:
            return False
        self._keep(found)
        return True

    def _delist(self, rollout_id: str) -> Published | None:
        stmt = (
            sa.update(rollouts)
            .where(rollouts.c.rollout_id == rollout_id, rollouts.c.active.is_(True))
            .values(version=rollouts.c.version + 1, active=False, updated_at=datetime.now(UTC))
            .returning(*rollouts.c)
        )
        with self._engine.begin() as conn:
            row = conn.execute(stmt).first()
            if row is not None and self.postgres:
                payload = f"{rollout_id} {row.version}"
                conn.execute(sa.select(sa.func.pg_notify(CHANNEL, payload)))
        return _row(row) if row is not None else None

    def strand(self, rollout_id: str, started_by: str) -> None:
        """`rollout_id`'s workflow was started by workflow version `started_by`, and this
        process runs another: nothing here moves it on."""
        self._stranded[rollout_id] = started_by

    def stranded(self, rollout_id: str) -> str | None:
        """The workflow version that started `rollout_id`, when this process cannot run it."""
        return self._stranded.get(rollout_id)

    # ------------------------------------------------------------------ reading

    async def get(self, rollout_id: str) -> Published | None:
        if self._live:
            return self._copy.get(rollout_id)
        return await self._run(self._select_one, rollout_id)

    async def newest(self, *, active: bool) -> Published | None:
        """The rollout with the highest number (among the active ones when `active`)."""
        if self._live:
            held = [p for p in self._copy.values() if p.active or not active]
            return max(held, key=lambda p: p.number) if held else None
        return await self._run(self._select_newest, active)

    async def past(self, limit: int) -> list[Published]:
        """The newest rollouts that are over (complete or aborted), newest first."""
        if self.live:
            over = [p for p in self._copy.values() if not p.active and p.state.finished]
        else:
            over = await self._run(self._select_past, limit)
        return sorted(over, key=lambda p: p.number, reverse=True)[:limit]

    async def highest_number(self) -> int:
        """The highest N of any rollout-N ever created (0 when none)."""
        if self._live:
            return max((p.number for p in self._copy.values()), default=0)
        return await self._run(self._select_highest)

    def _select_past(self, limit: int) -> list[Published]:
        query = (
            sa.select(rollouts)
            .where(rollouts.c.active.is_(False))
            .order_by(rollouts.c.number.desc())
            .limit(limit * 2)  # some inactive ones never finished (a cancelled workflow)
        )
        with self._engine.connect() as conn:
            found = [_row(r) for r in conn.execute(query)]
        return [p for p in found if p.state.finished]

    def _select_one(self, rollout_id: str) -> Published | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(rollouts).where(rollouts.c.rollout_id == rollout_id)
            ).first()
        return _row(row) if row is not None else None

    def _select_newest(self, active: bool) -> Published | None:
        query = sa.select(rollouts).order_by(rollouts.c.number.desc()).limit(1)
        if active:
            query = query.where(rollouts.c.active.is_(True))
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return _row(row) if row is not None else None

    def _select_highest(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(rollouts.c.number))).scalar() or 0)
