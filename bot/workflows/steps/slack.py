"""Slack and the audit table. Slack calls retry a few times on their own (429s are
retried by the client). Posts happen once even across a crash (`post_once`)."""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from bot.integrations.slack import SlackCallError, slack_should_retry
from bot.logging import get_logger
from bot.workflows.runtime import current, notification_failed, stopping
from bot.workflows.steps import step, wait_for_database

log = get_logger(__name__)


async def post_once(
    channel: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    *,
    thread_ts: str | None = None,
    broadcast: bool = False,
) -> str:
    """Post from inside a step, once even across a crash.

    The step's identity (workflow id + step number) is the post's idempotency key, sent
    as message metadata. The first run of the step claims the key in the database; a
    run that finds it claimed is a re-run (after a crash, or a retry after a failure)
    and first asks Slack whether the message is already there.
    """
    deps = current()
    key = f"{DBOS.workflow_id}#{DBOS.step_id}"
    claim = f"post:{key}"
    if not await wait_for_database(lambda: deps.store.claim(claim), "post_claim"):
        try:
            found = await deps.notifier.find_post(channel, key, thread_ts=thread_ts)
        except SlackCallError as exc:
            # Could not look (a scope removed, history gone): post rather than lose it.
            log.warning("slack_post_lookup_failed", key=key, code=exc.code)
            found = None
        if found is not None:
            log.info("slack_post_found", key=key, channel=channel, ts=found)
            return found
    return await deps.notifier.post(
        channel, text, blocks, thread_ts=thread_ts, broadcast=broadcast, key=key
    )


def _worth_retrying(exc: BaseException) -> bool:
    """Another try may help, and the process is not stopping (a workflow still running
    when DBOS stops must not keep calling Slack: it resumes after the restart)."""
    return not stopping() and slack_should_retry(exc)


# A message a person must see (a step to do, the thread it goes in) outlasts a Slack
# outage of a few minutes: tries 2, 3.2, 5.1 … 86 s apart, about 3.8 minutes in all. A
# refusal that only a person can mend (`channel_not_found`, `invalid_auth`) is not tried
# again. Edits and answers try for seconds: the next edit shows the same thing anew.
MUST_ARRIVE: dict[str, Any] = {
    "retries_allowed": True,
    "max_attempts": 10,
    "interval_seconds": 2.0,
    "backoff_rate": 1.6,
    "should_retry": _worth_retrying,
}


def briefly(attempts: int) -> dict[str, Any]:
    return {
        "retries_allowed": True,
        "max_attempts": attempts,
        "interval_seconds": 1.0,
        "should_retry": _worth_retrying,
    }


@step(**MUST_ARRIVE)
async def open_dm_step(user: str) -> str:
    return await current().notifier.open_dm(user)


async def post_unrecorded(key: str, posts: list[tuple[str, str, str | None]]) -> None:
    """Post (channel, text, thread) each once for `key`, across replicas, and NOT as
    steps: for a workflow that has failed for good, which may be failing in its replay,
    where a new step would meet another one's record. A post that fails is logged with its
    traceback; the others are still tried."""
    deps = current()
    if not await deps.store.claim(f"post:{key}"):
        return
    for channel, text, thread_ts in posts:
        try:
            await deps.notifier.post(channel, text, None, thread_ts=thread_ts, key=key)
        except Exception:  # noqa: BLE001 - logged with its traceback by notification_failed
            notification_failed(log)


@step(**MUST_ARRIVE)
async def post_step(
    channel: str,
    text: str,
    blocks: list[dict[str, Any]] | None,
    thread_ts: str | None = None,
    broadcast: bool = False,
) -> str:
    return await post_once(channel, text, blocks, thread_ts=thread_ts, broadcast=broadcast)


@step(**MUST_ARRIVE)
async def dm_step(user: str, text: str) -> str:
    """A plain direct message outside any rollout thread."""
    return await post_once(await current().notifier.open_dm(user), text)


@step(**briefly(4))
async def update_step(
    channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None
) -> None:
    await current().notifier.update(channel, ts, text, blocks)


@step(**briefly(3))
async def ephemeral_step(
    user: str, text: str, channel: str | None, response_url: str | None
) -> None:
    notifier = current().notifier
    if response_url:
        await notifier.respond(response_url, text)
    elif channel:
        await notifier.ephemeral(channel, user, text)
    else:
        await post_once(await notifier.open_dm(user), text)


@step()
async def audit_step(
    rollout_id: str | None, actor: str, action: str, outcome: str, detail: str, dedupe_key: str
) -> None:
    deps = current()
    if outcome == "done":
        deps.metrics.workflow_events.labels(action).inc()
    await wait_for_database(
        lambda: deps.store.record(
            rollout_id=rollout_id,
            actor=actor,
            action=action,
            outcome=outcome,
            detail=detail,
            dedupe_key=dedupe_key,
        ),
        "audit",
    )
