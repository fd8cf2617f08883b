"""`creators-onboard audit`: export the audit trail (every transition and refusal).

Reads only our own audit table through the store, as CSV (one row per entry, with a
header) or JSON (a list of objects), oldest first: `--rollout N` (or `rollout-N`) for one
rollout, every rollout otherwise. It needs DATABASE_URL and nothing else of the bot's
running parts (no DBOS, no Slack).
"""

from __future__ import annotations

import argparse
import csv
import json
from typing import TextIO

from bot.migrations import AUDIT_TABLE
from bot.settings import Settings
from bot.store import DatabaseUnavailable, Store

FIELDS = ("at", "rollout_id", "actor", "action", "outcome", "detail")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "audit", help="export the audit trail (transitions and refusals) as CSV or JSON"
    )
    parser.add_argument("--rollout", help="one rollout: its number (3) or id (rollout-3)")
    parser.add_argument("--format", choices=("csv", "json"), default="csv")


def rollout_id(value: str | None) -> str | None:
    if value is None:
        return None
    return value if value.startswith("rollout-") else f"rollout-{value}"


async def export(settings: Settings, *, rollout: str | None, fmt: str, out: TextIO) -> int:
    """Write the trail to `out`; exits with status 1, saying why, when the database
    cannot be read."""
    store = Store(settings.database_url)
    try:
        if AUDIT_TABLE in await store.pending_migrations():
            raise DatabaseUnavailable("no audit table: the bot has not run on this database yet")
        entries = await store.entries(rollout_id(rollout))
    except DatabaseUnavailable as exc:
        raise SystemExit(f"creators-onboard audit: {exc}") from None
    finally:
        store.dispose()
    rows = [
        {
            "at": e.at.isoformat(),
            "rollout_id": e.rollout_id or "",
            "actor": e.actor,
            "action": e.action,
            "outcome": e.outcome,
            "detail": e.detail,
        }
        for e in entries
    ]
    if fmt == "json":
        json.dump(rows, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return 0
