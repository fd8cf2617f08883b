"""Slack and the audit table. Slack calls retry a few times on their own (429s are
retried by the client)."""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from bot.workflows.runtime import current


@DBOS.step(retries_allowed=True, max_attempts=4, interval_seconds=1.0)
async def open_dm_step(user: str) -> str:
    return await current().notifier.open_dm(user)


@DBOS.step(retries_allowed=True, max_attempts=4, interval_seconds=1.0)
async def post_step(
    channel: str,
    text: str,
    blocks: list[dict[str, Any]] | None,
    thread_ts: str | None = None,
    broadcast: bool = False,
) -> str:
    return await current().notifier.post(
        channel, text, blocks, thread_ts=thread_ts, broadcast=broadcast
    )


@DBOS.step(retries_allowed=True, max_attempts=3, interval_seconds=1.0)
async def dm_step(user: str, text: str) -> str:
    """A plain direct message outside any rollout thread."""
    notifier = current().notifier
    return await notifier.post(await notifier.open_dm(user), text)


@DBOS.step(retries_allowed=True, max_attempts=4, interval_seconds=1.0)
async def update_step(channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
    await current().notifier.update(channel, ts, text, blocks)


@DBOS.step(retries_allowed=True, max_attempts=3, interval_seconds=1.0)
async def ephemeral_step(
    user: str, text: str, channel: str | None, response_url: str | None
) -> None:
    notifier = current().notifier
    if response_url:
        await notifier.respond(response_url, text)
    elif channel:
        await notifier.ephemeral(channel, user, text)
    else:
        await notifier.post(await notifier.open_dm(user), text)


@DBOS.step()
async def audit_step(
    rollout_id: str, actor: str, action: str, outcome: str, detail: str, dedupe_key: str
) -> None:
    deps = current()
    if outcome == "done":
        deps.metrics.workflow_events.labels(action).inc()
    await deps.store.record(
        rollout_id=rollout_id,
        actor=actor,
        action=action,
        outcome=outcome,
        detail=detail,
        dedupe_key=dedupe_key,
    )
