"""Linear comments, each delivered by its own small workflow with a deterministic client
id: a Linear outage never blocks the people, and a comment lands once when it recovers."""

from __future__ import annotations

from dbos import DBOS, SetWorkflowID

from bot.integrations.linear import LinearError, comment_id_for
from bot.logging import get_logger
from bot.runbook.problem import Problem
from bot.workflows.queues import LINEAR_LOG, enqueue
from bot.workflows.runtime import current, notification_failed
from bot.workflows.steps import config, step
from bot.workflows.steps.slack import post_step

log = get_logger(__name__)

LINEAR_WORKFLOW = "linear_comment"


@step()
async def linear_attempt_step(
    issue: str, body: str, comment_id: str, upsert: bool = False
) -> Problem | None:
    """One try at the comment: None when delivered, else why not (`where` says whether to
    try again: "retry" or "fatal"). Never raises.

    With `upsert`, the comment is edited if it exists and created (with the same
    deterministic id) if it does not: the rollout log is one comment kept current.
    """
    deps = current()
    if deps.linear is None:
        return Problem(
            symptom=f"Could not comment on {issue}.",
            cause="LINEAR_API_KEY is not set, so the bot cannot comment on the ticket.",
            fix="Post the update on the ticket by hand.",
            where="fatal",
        )
    try:
        if upsert:
            try:
                await deps.linear.comment_update(comment_id, body)
                return None
            except LinearError as exc:
                if exc.code != "NOT_FOUND":
                    raise
        await deps.linear.comment_create(issue, body, comment_id)
    except LinearError as exc:
        deps.metrics.integration_errors.labels("linear").inc()
        return exc.problem.model_copy(update={"where": "retry" if exc.retryable else "fatal"})
    return None


@DBOS.workflow(name=LINEAR_WORKFLOW)
async def linear_comment_workflow(
    issue: str, body: str, comment_id: str, upsert: bool = False
) -> str:
    """Deliver one comment, exactly once, however long Linear is down.

    The client id `comment_id` makes a retried create a no-op on Linear's side, and
    the durable sleep between tries survives restarts.
    """
    cfg = config()
    delay = cfg.linear.retry_initial_seconds
    while True:
        problem = await linear_attempt_step(issue, body, comment_id, upsert)
        if problem is None:
            return "delivered"
        if problem.where == "fatal":
            channel = cfg.slack.engineering_channel
            if channel:
                await safe_post(
                    channel,
                    f":warning: Could not comment on {issue}: {problem.symptom} {problem.cause} "
                    "The rollout carries on; post the update on the ticket by hand.",
                )
            return "failed"
        log.warning("linear_comment_delayed", issue=issue, reason=problem.symptom, retry_in=delay)
        await DBOS.sleep_async(delay)
        delay = min(delay * 2, cfg.linear.retry_max_seconds)


async def start_linear(rollout_id: str, event: str, body: str) -> None:
    """Start (once: the id is derived from rollout + event) a comment delivery."""
    issue = config().linear.issue
    with SetWorkflowID(f"{rollout_id}:linear:{event}"):
        await DBOS.start_workflow_async(
            linear_comment_workflow, issue, body, comment_id_for(rollout_id, event)
        )


async def start_linear_log(rollout_id: str, version: int, body: str) -> None:
    """Create or update the one rollout-log comment; updates are delivered in order."""
    issue = config().linear.issue
    comment_id = comment_id_for(rollout_id, "rollout-log")
    with SetWorkflowID(f"{rollout_id}:linear:log:{version}"):
        await enqueue(LINEAR_LOG, linear_comment_workflow, issue, body, comment_id, True)


async def safe_post(channel: str, text: str) -> None:
    """A notice whose failure must not stop anything: logged with its traceback."""
    try:
        await post_step(channel, text, None)
    except Exception:  # noqa: BLE001 - logged with its traceback by notification_failed
        notification_failed(log)
