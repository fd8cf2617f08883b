"""Every durable step and child workflow: the only code of the workflows that reaches
other systems (Slack, 1Password, GitHub, Amplify, the BFFs, Linear, the audit table).

Each `@DBOS.step` is one outside call whose result is recorded, so a replay after a
crash skips it. Steps that find something out return the rollout event that says so,
typed; the rollout's machine takes it from there. DBOS workflows are module-level
functions recovered by name, so they reach the process's dependencies through
`runtime.current()` — here and nowhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dbos import DBOS, SetWorkflowID

from bot.integrations.errors import IntegrationError
from bot.integrations.github import conclusion_diagnosis
from bot.integrations.linear import LinearError, comment_id_for
from bot.logging import get_logger
from bot.rollout.events import (
    AmplifyChecked,
    DeployRequest,
    DispatchFailed,
    PrGateChecked,
    RunConcluded,
    RunDispatched,
    SmokeDone,
    VaultsChecked,
)
from bot.runbook.problem import Problem
from bot.settings import FileConfig
from bot.workflows.queues import LINEAR_LOG, SMOKE, queue
from bot.workflows.runtime import current

log = get_logger(__name__)

# The rollout workflow's inbox: people's requests and the bot's asynchronous results.
EVENT_TOPIC = "events"
LINEAR_WORKFLOW = "linear_comment"


def config() -> FileConfig:
    """The YAML settings, for the workflows (read-only)."""
    return current().settings.config


def _problem(exc: IntegrationError) -> Problem:
    return Problem(symptom=exc.symptom, cause=exc.cause, fix=exc.fix)


@DBOS.step()
async def now_step() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


# ------------------------------------------------------------------------------ Slack
# Slack calls retry a few times on their own (429s are retried by the client).


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


# ------------------------------------------------------------------------------ audit


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


# ------------------------------------------------------------------------- 1Password


@DBOS.step()
async def verify_vaults_step(requested_by: str) -> VaultsChecked:
    deps = current()
    cfg = deps.settings.config
    report = await deps.vaults.verify(
        [p.vault for p in cfg.partitions], cfg.onepassword.systems_vault
    )
    return VaultsChecked(
        at=await _now(),
        ok=report.ok,
        red_vaults=[r.vault for r in report.rows if not r.ok],
        report=report.model_dump(mode="json"),
        requested_by=requested_by,
    )


async def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


# ----------------------------------------------------------------------------- GitHub


@DBOS.step()
async def pr_gate_step(request: DeployRequest) -> PrGateChecked:
    """Whether the optional infrastructure-PR gate holds."""
    deps = current()
    number = deps.settings.config.github.pull_request
    problem: Problem | None = None
    if number is not None and deps.github is None:
        problem = Problem(
            symptom="I cannot check the infrastructure pull request.",
            cause="GITHUB_TOKEN is not set.",
            fix="Set GITHUB_TOKEN, restart the bot, then deploy.",
        )
    elif number is not None and deps.github is not None:
        try:
            merged = await deps.github.pull_request_merged(number)
        except IntegrationError as exc:
            problem = _problem(exc)
        else:
            if not merged:
                problem = Problem(
                    symptom=f"Infrastructure pull request #{number} in "
                    f"{deps.github.repository} is not merged yet.",
                    cause="The deploy reads the vaults through code that pull request adds.",
                    fix="The deploy reads the vaults through code that PR adds: merge it "
                    "first, then deploy.",
                )
    return PrGateChecked(at=await _now(), request=request, problem=problem)


@DBOS.step()
async def dispatch_step(
    partition: str, not_before: str, earlier_runs: list[int]
) -> RunDispatched | DispatchFailed:
    """Start amm.yml for the partition — or adopt the run a crashed attempt already started."""
    deps = current()
    if deps.github is None:
        return DispatchFailed(
            at=await _now(),
            partition=partition,
            problem=Problem(
                symptom="The bot cannot start amm.yml.",
                cause="GITHUB_TOKEN is not set.",
                fix="Set GITHUB_TOKEN to a token with actions:write on the infrastructure "
                "repository, restart the bot, then retry.",
            ),
        )
    part = deps.settings.config.partition(partition)
    assert part is not None
    since = datetime.fromisoformat(not_before)
    try:
        # After a crash this step runs again: look for the run before dispatching.
        existing = await deps.github.find_run(
            not_before=since, inputs=part.workflow_inputs, exclude_ids=set(earlier_runs)
        )
        if existing is not None:
            return RunDispatched(
                at=await _now(), partition=partition, run_id=existing.id, url=existing.html_url
            )
        result = await deps.github.dispatch(dict(part.workflow_inputs), not_before=since)
    except IntegrationError as exc:
        deps.metrics.integration_errors.labels("github").inc()
        return DispatchFailed(at=await _now(), partition=partition, problem=_problem(exc))
    return RunDispatched(
        at=await _now(), partition=partition, run_id=result.run_id, url=result.html_url or None
    )


@DBOS.step()
async def follow_step(partition: str, run_id: int) -> RunConcluded:
    deps = current()
    assert deps.github is not None
    cfg = deps.settings.config.github
    try:
        run = await deps.github.follow(
            run_id,
            poll_interval=cfg.poll_interval_seconds,
            timeout=cfg.run_timeout_minutes * 60,
        )
    except IntegrationError as exc:
        deps.metrics.integration_errors.labels("github").inc()
        return RunConcluded(
            at=await _now(),
            partition=partition,
            run_id=run_id,
            problem=_problem(exc),
            followed=False,
        )
    diagnosis = conclusion_diagnosis(run, partition=partition)
    return RunConcluded(
        at=await _now(),
        partition=partition,
        run_id=run_id,
        conclusion=run.conclusion,
        url=run.html_url or None,
        problem=_problem(diagnosis) if diagnosis is not None else None,
    )


@DBOS.workflow(name="follow_run")
async def follow_run_workflow(rollout_id: str, partition: str, run_id: int) -> None:
    """Follow one run to its conclusion, then tell the rollout (`run_concluded`).

    A child workflow, so the rollout keeps answering people (abort, stuck, verify…)
    during a run that can take an hour; after a crash both resume where they were.
    """
    concluded = await follow_step(partition, run_id)
    await DBOS.send_async(rollout_id, concluded.model_dump(mode="json"), EVENT_TOPIC)


def follow_workflow_id(rollout_id: str, run_id: int) -> str:
    return f"{rollout_id}:follow:{run_id}"


async def start_follow(rollout_id: str, partition: str, run_id: int) -> None:
    with SetWorkflowID(follow_workflow_id(rollout_id, run_id)):
        await DBOS.start_workflow_async(follow_run_workflow, rollout_id, partition, run_id)


@DBOS.step()
async def cancel_step(workflow_id: str) -> None:
    await DBOS.cancel_workflow_async(workflow_id)


# ---------------------------------------------------------------------------- Amplify


@DBOS.step()
async def amplify_step(partition: str) -> AmplifyChecked:
    deps = current()
    part = deps.settings.config.partition(partition)
    assert part is not None and part.amplify is not None
    problem: Problem | None
    try:
        report = await deps.amplify.check(
            part.amplify.app_id, part.amplify.branch, part.region, partition_name=part.name
        )
    except IntegrationError as exc:
        deps.metrics.integration_errors.labels("amplify").inc()
        problem = _problem(exc)
    else:
        problem = (
            None
            if report.ok
            else Problem(symptom=report.symptom, cause=report.cause, fix=report.fix)
        )
    return AmplifyChecked(at=await _now(), partition=partition, problem=problem)


# ------------------------------------------------------------------------------ smoke


@DBOS.step()
async def smoke_step(partition: str, on_demand: bool) -> SmokeDone:
    from bot.integrations.bff import SmokeCheck, SmokeReport

    deps = current()
    settings = deps.settings
    part = settings.config.partition(partition)
    assert part is not None
    if not part.bff_url:
        report = SmokeReport(
            ok=False,
            bff_url="",
            asin=settings.config.smoke.asin,
            checks=[
                SmokeCheck(
                    name="configuration",
                    ok=False,
                    symptom=f"No BFF URL is configured for {partition}.",
                    cause=f"partitions[{partition}].bff_url is missing from the YAML.",
                    fix="Add the partition's BFF base URL (https://…) and its bff_token_env, "
                    "restart the bot, then retry.",
                )
            ],
        )
    else:
        # The import check calls Amazon's Creators API (1 TPS per credential triple). The
        # queue limits smoke workflows across replicas; this keeps the calls themselves apart.
        await deps.creators_api_pacer.wait()
        report = await deps.bff.run(
            part.bff_url,
            settings.bff_token(part),
            throttle_check=settings.config.smoke.throttle_check,
            token_env=part.bff_token_env,
            partition=part.name,
        )
    failed = report.failed[0] if report.failed else None
    return SmokeDone(
        at=await _now(),
        partition=partition,
        ok=report.ok,
        on_demand=on_demand,
        failed=(failed.name + (f" ({failed.code})" if failed.code else "") if failed else None),
        problem=(
            Problem(symptom=failed.symptom, cause=failed.cause, fix=failed.fix) if failed else None
        ),
        asin=report.asin,
        report=report.model_dump(mode="json"),
    )


@DBOS.workflow(name="smoke")
async def smoke_workflow(partition: str, on_demand: bool, reply_to: str | None) -> SmokeDone:
    """One smoke test, started through the 1-per-second queue; the result goes to the
    inbox of the rollout `reply_to` (`smoke_done`)."""
    done = await smoke_step(partition, on_demand)
    if reply_to is not None:
        await DBOS.send_async(reply_to, done.model_dump(mode="json"), EVENT_TOPIC)
    return done


async def start_smoke(rollout_id: str, key: str, partition: str, on_demand: bool) -> None:
    smoke_queue = await queue(SMOKE)
    with SetWorkflowID(f"{rollout_id}:smoke:{key}"):
        await smoke_queue.enqueue_async(smoke_workflow, partition, on_demand, rollout_id)


# ----------------------------------------------------------------------------- Linear


@DBOS.step()
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
        return Problem(
            symptom=f"Could not comment on {issue}.",
            cause=exc.message,
            fix="Post the update on the ticket by hand.",
            where="retry" if exc.retryable else "fatal",
        )
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
                    f":warning: Could not comment on {issue}: {problem.cause}. "
                    "The rollout carries on; post the update on the ticket by hand.",
                )
            return "failed"
        log.warning("linear_comment_delayed", issue=issue, reason=problem.cause, retry_in=delay)
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
        log_queue = await queue(LINEAR_LOG)
        await log_queue.enqueue_async(linear_comment_workflow, issue, body, comment_id, True)


async def safe_post(channel: str, text: str) -> None:
    """A notice whose failure must not stop anything: logged with its traceback."""
    try:
        await post_step(channel, text, None)
    except Exception:
        log.exception("notification_failed")
