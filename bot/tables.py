"""The tables of the ack path's read model and of the GitHub webhook:

* `creators_onboard_rollouts` — the read model handlers consult before they ack: one row
  per rollout with its latest published state and a version that only grows.
* `creators_onboard_github_deliveries` — GitHub webhook deliveries already taken, by
  `X-GitHub-Delivery`, so a redelivery is answered and ignored.

Their schema is created by `bot.migrations` (migrations 5 and 6).
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


def insert(dialect: str, table: sa.Table) -> Any:
    """`INSERT` that knows `ON CONFLICT`, for the engine's dialect (SQLite or PostgreSQL)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
