"""Our tables' schema, as numbered migrations applied once, in order, by any replica.

DBOS migrates its own system tables (under its own PostgreSQL advisory lock). Ours are
migrated here, under another advisory lock held for the whole run: replicas that start
together wait for each other, the first applies what is missing and records it in
`creators_onboard_schema`, the others find nothing left to do. On SQLite (one process)
the same migrations run in one transaction.

Add a migration by appending to MIGRATIONS; never edit or reorder one that shipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from bot.logging import get_logger
from bot.tables import audit_log, executors, github_deliveries, rollouts, seen

log = get_logger(__name__)

# pg_advisory_lock key: a fixed 63-bit number, ours alone ("creators-onboard schema").
LOCK_KEY = 0x6372656174_6F6E62

_meta = sa.MetaData()
schema_table = sa.Table(
    "creators_onboard_schema",
    _meta,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String(255), nullable=False),
    sa.Column("applied_at", sa.Float, nullable=False),
)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[sa.Connection], None]


def _create(table: sa.Table) -> Callable[[sa.Connection], None]:
    def apply(conn: sa.Connection) -> None:
        table.create(conn, checkfirst=True)

    return apply


def _widen_audit(conn: sa.Connection) -> None:
    # Databases created before migrations had actor varchar(32) and action varchar(64).
    # SQLite does not enforce lengths.
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                "ALTER TABLE creators_onboard_audit "
                "ALTER COLUMN actor TYPE varchar(64), ALTER COLUMN action TYPE varchar(255)"
            )
        )


AUDIT_TABLE = "the audit table"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, AUDIT_TABLE, _create(audit_log)),
    Migration(2, "audit actor and action wide enough for any id", _widen_audit),
    Migration(3, "requests and posts already handled", _create(seen)),
    Migration(4, "replica heartbeats and takeovers", _create(executors)),
    Migration(5, "the rollouts read model", _create(rollouts)),
    Migration(6, "GitHub webhook deliveries already taken", _create(github_deliveries)),
)


def migrate(engine: sa.Engine) -> list[int]:
    """Apply every migration not yet applied; returns the versions applied now."""
    with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            # Session-level: held across the migrations' own transactions.
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
            conn.commit()
        try:
            return _apply_missing(conn)
        finally:
            if postgres:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                conn.commit()


def pending(conn: sa.Connection) -> list[str]:
    """The migrations not yet applied on this database, by description (reads only)."""
    if not sa.inspect(conn).has_table(schema_table.name):
        return [m.description for m in MIGRATIONS]
    done = set(conn.execute(sa.select(schema_table.c.version)).scalars())
    return [m.description for m in MIGRATIONS if m.version not in done]


def _apply_missing(conn: sa.Connection) -> list[int]:
    schema_table.create(conn, checkfirst=True)
    conn.commit()
    done = set(conn.execute(sa.select(schema_table.c.version)).scalars())
    conn.commit()
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        with conn.begin():
            migration.apply(conn)
            conn.execute(
                schema_table.insert().values(
                    version=migration.version,
                    description=migration.description,
                    applied_at=time.time(),
                )
            )
        applied.append(migration.version)
        log.info("schema_migrated", version=migration.version, what=migration.description)
    return applied
