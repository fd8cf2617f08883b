"""Durable steps and helpers shared by every phase of the rollout workflow.

Each `@DBOS.step` is one outside call; its result is recorded, so a replay after a
crash skips it. Helpers here build on those steps (post in a persona's thread, edit
the status board, start a Linear comment delivery).
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

from dbos import DBOS, SetWorkflowID

from bot.blocks.home import home_blocks
from bot.blocks.status import status_board_blocks, status_summary
from bot.blocks.steps import progress_blocks, to_dicts
from bot.integrations.linear import LinearError
from bot.logging import get_logger
from bot.runbook.model import Persona, Runbook
from bot.workflows.queues import LINEAR_LOG, queue
from bot.workflows.runtime import current
from bot.workflows.state import STATE_EVENT, RolloutState, Transition, record

log = get_logger(__name__)
T = TypeVar("T")

LINEAR_WORKFLOW = "linear_comment"


# ---------------------------------------------------------------------------- steps
# Each step is one outside call. Slack calls retry a few times on their own (429s are
# retried by the client); a step that still fails is logged with its traceback and the
# rollout carries on, because a lost status edit must never block the two people.


@DBOS.step()
async def now_step() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


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
async def publish_home_step(user: str, blocks: list[dict[str, Any]]) -> None:
    await current().notifier.publish_home(user, blocks)


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
    await current().store.record(
        rollout_id=rollout_id,
        actor=actor,
        action=action,
        outcome=outcome,
        detail=detail,
        dedupe_key=dedupe_key,
    )


@DBOS.step()
async def verify_vaults_step() -> dict[str, Any]:
    deps = current()
    cfg = deps.settings.config
    report = await deps.vaults.verify(
        [p.vault for p in cfg.partitions], cfg.onepassword.systems_vault
    )
    return report.model_dump(mode="json")


@DBOS.step()
async def linear_attempt_step(issue: str, body: str, comment_id: str, upsert: bool = False) -> str:
    """One try at the comment: "ok", "retry: why" or "fatal: why" (never raises).

    With `upsert`, the comment is edited if it exists and created (with the same
    deterministic id) if it does not: the rollout log is one comment kept current.
    """
    deps = current()
    if deps.linear is None:
        return "fatal: LINEAR_API_KEY is not set, so the bot cannot comment on the ticket"
    try:
        if upsert:
            try:
                await deps.linear.comment_update(comment_id, body)
                return "ok"
            except LinearError as exc:
                if exc.code != "NOT_FOUND":
                    raise
        await deps.linear.comment_create(issue, body, comment_id)
    except LinearError as exc:
        deps.metrics.integration_errors.labels("linear").inc()
        return f"{'retry' if exc.retryable else 'fatal'}: {exc.problem.one_line()}"
    return "ok"


@DBOS.workflow(name=LINEAR_WORKFLOW)
async def linear_comment_workflow(
    issue: str, body: str, comment_id: str, upsert: bool = False
) -> str:
    """Deliver one comment, exactly once, however long Linear is down.

    The client id `comment_id` makes a retried create a no-op on Linear's side, and
    the durable sleep between tries survives restarts.
    """
    deps = current()
    delay = deps.settings.config.linear.retry_initial_seconds
    limit = deps.settings.config.linear.retry_max_seconds
    while True:
        outcome = await linear_attempt_step(issue, body, comment_id, upsert)
        if outcome == "ok":
            return "delivered"
        if outcome.startswith("fatal"):
            channel = deps.settings.config.slack.engineering_channel
            if channel:
                await safe(
                    post_step(
                        channel,
                        f":warning: Could not comment on {issue}: {outcome[7:]}. "
                        "The rollout carries on; post the update on the ticket by hand.",
                        None,
                    )
                )
            return "failed"
        log.warning("linear comment delayed", issue=issue, reason=outcome[7:], retry_in=delay)
        await DBOS.sleep_async(delay)
        delay = min(delay * 2, limit)


async def safe(call: Awaitable[T]) -> T | None:
    """Run a notification step; a failure is logged (with traceback), never fatal."""
    try:
        return await call
    except Exception:
        log.exception("notification step failed; the rollout continues")
        return None


# ------------------------------------------------------------------------- helpers


def render_context(state: RolloutState) -> dict[str, str]:
    cfg = current().settings.config
    return {
        "owner": f"<@{state.owner}>",
        "devops": f"<@{state.devops}>",
        "item_title": cfg.onepassword.item_title,
        "vaults": "\n".join(f"• `{p.vault}`" for p in cfg.partitions),
        "systems_vault": cfg.onepassword.systems_vault,
        "issue": cfg.linear.issue,
        "partitions": " → ".join(p.name for p in cfg.partitions),
    }


def thread_for(state: RolloutState, persona: Persona) -> tuple[str, str] | None:
    key = "accountOwner" if persona == "accountOwner" else "devOps"
    thread = state.threads.get(key)
    return (thread.channel, thread.parent_ts) if thread else None


async def publish(state: RolloutState) -> None:
    await DBOS.set_event_async(STATE_EVENT, state.model_dump(mode="json"))


async def post_in_thread(
    state: RolloutState,
    persona: Persona,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    *,
    broadcast: bool = False,
) -> str | None:
    where = thread_for(state, persona)
    if where is None:
        return None
    if blocks and any(b.get("type") == "actions" for b in blocks):
        # Whoever presses a button we are about to show is judged against the published
        # state (handlers refuse at once from it): publish first, so it is never behind.
        await publish(state)
    return await safe(post_step(where[0], text, blocks, where[1], broadcast))


async def tell_engineering(state: RolloutState, text: str, *, broadcast: bool = False) -> None:
    """A thread reply under the live status message (also in the channel when broadcast)."""
    channel = current().settings.config.slack.engineering_channel
    if channel and state.status_ts:
        await safe(post_step(channel, text, None, state.status_ts, broadcast))
    elif channel:
        await safe(post_step(channel, text, None))


def start_linear(state: RolloutState, event: str, body: str) -> Awaitable[Any]:
    """Start (once: the id is derived from rollout + event) the comment delivery."""
    from bot.integrations.linear import comment_id_for

    issue = current().settings.config.linear.issue
    comment_id = comment_id_for(state.rollout_id, event)

    async def _start() -> None:
        with SetWorkflowID(f"{state.rollout_id}:linear:{event}"):
            await DBOS.start_workflow_async(linear_comment_workflow, issue, body, comment_id)

    return _start()


def start_linear_log(state: RolloutState, body: str) -> Awaitable[Any]:
    """Create or update the one rollout-log comment; updates are delivered in order."""
    from bot.integrations.linear import comment_id_for

    issue = current().settings.config.linear.issue
    comment_id = comment_id_for(state.rollout_id, "rollout-log")

    async def _start() -> None:
        with SetWorkflowID(f"{state.rollout_id}:linear:log:{len(state.history)}"):
            log_queue = await queue(LINEAR_LOG)
            await log_queue.enqueue_async(linear_comment_workflow, issue, body, comment_id, True)

    return _start()


async def refresh(state: RolloutState, runbook: Runbook) -> None:
    """Edit in place: both persona parents and the engineering status board."""
    summary = status_summary(state, runbook)
    finished = state.status in ("complete", "aborted")
    for persona, thread in state.threads.items():
        blocks = progress_blocks(
            runbook,
            "accountOwner" if persona == "accountOwner" else "devOps",
            None if finished else state.step,
            state.rollout_id,
            status_line=summary,
            finished=finished,
        )
        await safe(update_step(thread.channel, thread.parent_ts, summary, to_dicts(blocks)))
    channel = current().settings.config.slack.engineering_channel
    if channel and state.status_ts:
        blocks = status_board_blocks(state, runbook)
        await safe(update_step(channel, state.status_ts, summary, to_dicts(blocks)))
    config = current().settings.config
    for user in dict.fromkeys((state.owner, state.devops)):
        home = home_blocks(state, runbook, viewer=user, config=config)
        await safe(publish_home_step(user, to_dicts(home)))


async def transition(
    state: RolloutState, *, actor: str, action: str, at: str, to_step: str | None, note: str = ""
) -> None:
    entry = Transition(
        at=at, actor=actor, action=action, from_step=state.step, to_step=to_step, note=note
    )
    record(state, entry)
    current().metrics.workflow_events.labels(action).inc()
    await safe(
        audit_step(
            state.rollout_id,
            actor,
            action,
            "done",
            f"{entry.from_step} -> {to_step or entry.from_step}" + (f" ({note})" if note else ""),
            f"{state.rollout_id}:{len(state.history)}",
        )
    )
