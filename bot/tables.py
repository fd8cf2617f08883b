"""Our own tables beside DBOS's, created by `bot.migrations`:

* `creators_onboard_audit` — who did what and when (every transition and refusal).
* `creators_onboard_seen` — requests and posts already handled, by key, for every replica.
* `creators_onboard_executors` — each replica's heartbeat, and who took its work over.
* `creators_onboard_rollouts` — the read model handlers consult before they ack: one row
  per rollout with its latest published state and a version that only grows.
* `creators_onboard_github_deliveries` — GitHub webhook deliveries already taken, by
  `X-GitHub-Delivery`, so a redelivery is answered and ignored.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

audit_log = sa.Table(
    "creators_onboard_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    # Sizes since migration 2 (bot/migrations.py); `Store.record` fits values to them.
    sa.Column("rollout_id", sa.String(64), nullable=True, index=True),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(255), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default=""),
    # Idempotency: a transition recorded twice (a workflow step re-run after a crash)
    # is stored once.
    sa.Column("dedupe_key", sa.String(128), nullable=True, unique=True),
)

# Requests and posts already handled, by key (a Slack event id, a trigger id, a post's
# idempotency key), and the runs there before a dispatch (bot.workflows.steps.checks),
# shared by every replica.
seen = sa.Table(
    "creators_onboard_seen",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
)

# Each replica's last sign of life, and who took its workflows over (bot/takeover.py).
executors = sa.Table(
    "creators_onboard_executors",
    metadata,
    sa.Column("executor_id", sa.String(255), primary_key=True),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
    sa.Column("taken_over_by", sa.String(255), nullable=True),
    sa.Column("taken_over_at", sa.Float, nullable=True),
)

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
