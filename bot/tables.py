"""The tables of the performance work, defined apart from the audit table (`bot.store`) so
a migration can create them on its own:

* `creators_onboard_rollouts` — the read model handlers consult before they ack: one row
  per rollout with its latest published state and a version that only grows.
* `creators_onboard_github_deliveries` — GitHub webhook deliveries already taken, by
  `X-GitHub-Delivery`, so a redelivery is answered and ignored.

`create_tables(engine)` creates what is missing (idempotent). The equivalent DDL, for a
migration (PostgreSQL):

    CREATE TABLE IF NOT EXISTS creators_onboard_rollouts (
        rollout_id VARCHAR(64) PRIMARY KEY,
        number     INTEGER NOT NULL,
        version    BIGINT NOT NULL,
        active     BOOLEAN NOT NULL,
        state      TEXT NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ix_creators_onboard_rollouts_number
        ON creators_onboard_rollouts (number);
    CREATE INDEX IF NOT EXISTS ix_creators_onboard_rollouts_active_number
        ON creators_onboard_rollouts (active, number);
    CREATE TABLE IF NOT EXISTS creators_onboard_github_deliveries (
        delivery_id VARCHAR(64) PRIMARY KEY,
        event       VARCHAR(64) NOT NULL,
        run_id      BIGINT,
        received_at TIMESTAMP WITH TIME ZONE NOT NULL
    );
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

rollouts = sa.Table(
    "creators_onboard_rollouts",
    metadata,
    sa.Column("rollout_id", sa.String(64), primary_key=True),
    # N of rollout-N: the newest rollout is the one with the highest number.
    sa.Column("number", sa.Integer, nullable=False, index=True),
    # Grows with every state the workflow publishes; a write with a version not above the
    # stored one changes nothing (a replayed workflow republishes its old states).
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("state", sa.Text, nullable=False),  # RolloutState as JSON
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_creators_onboard_rollouts_active_number", "active", "number"),
)

github_deliveries = sa.Table(
    "creators_onboard_github_deliveries",
    metadata,
    sa.Column("delivery_id", sa.String(64), primary_key=True),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("run_id", sa.BigInteger, nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)


def create_tables(bind: sa.Engine | sa.Connection) -> None:
    """Create the tables and indexes that are missing; never alters what exists."""
    metadata.create_all(bind)


def insert(dialect: str, table: sa.Table) -> Any:
    """`INSERT` that knows `ON CONFLICT`, for the engine's dialect (SQLite or PostgreSQL)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
