"""Our own small tables beside DBOS's: the audit trail. Also the readiness probe.

Workflow state lives in DBOS; this module only records who did what and when (every
transition and every refusal), so an operator can answer "who pressed that?" later.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from bot.outbound import scrub_text

T = TypeVar("T")

_metadata = sa.MetaData()

audit_log = sa.Table(
    "creators_onboard_audit",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rollout_id", sa.String(64), nullable=True, index=True),
    sa.Column("actor", sa.String(32), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default=""),
    # Idempotency: a transition recorded twice (a workflow step re-run after a crash)
    # is stored once.
    sa.Column("dedupe_key", sa.String(128), nullable=True, unique=True),
)


def sqlalchemy_url(database_url: str) -> str:
    if database_url.startswith("postgresql://"):
        return "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return database_url


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    rollout_id: str | None
    actor: str
    action: str
    outcome: str
    detail: str


class Store:
    """Blocking SQLAlchemy work runs on the store's own threads.

    Not the loop's default executor: DBOS replaces that one and shuts it down on destroy.
    """

    def __init__(self, database_url: str) -> None:
        url = sqlalchemy_url(database_url)
        # SQLite: a fresh connection per use, so a deleted or replaced file is noticed.
        pool = {"poolclass": sa.pool.NullPool} if url.startswith("sqlite") else {}
        self._engine = sa.create_engine(url, pool_pre_ping=True, **pool)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="store")

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def create_tables(self) -> None:
        await self._run(_metadata.create_all, self._engine)

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

    def _record(self, row: dict[str, Any]) -> None:
        with self._engine.begin() as conn:
            if row.get("dedupe_key"):
                found = conn.execute(
                    sa.select(audit_log.c.id).where(audit_log.c.dedupe_key == row["dedupe_key"])
                ).first()
                if found:
                    return
            conn.execute(audit_log.insert().values(**row))

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
            "rollout_id": rollout_id,
            "actor": actor,
            "action": action,
            "outcome": outcome,
            "detail": text,
            "dedupe_key": dedupe_key,
        }
        await self._run(self._record, row)

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
