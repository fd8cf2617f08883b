"""The bot's own checks: the vaults (1Password), the infrastructure PR, the `amm.yml`
run (GitHub), the Amplify variables and the smoke test. A run is followed, and a smoke
test waits for its turn in the 1-per-second queue, in child workflows that report back
to the rollout's inbox."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

from dbos import DBOS, SetWorkflowID
from dbos._error import DBOSNonExistentWorkflowError
from pydantic import BaseModel

from bot.integrations.errors import IntegrationError
from bot.integrations.github import (
    Job,
    Place,
    Run,
    RunPace,
    conclusion_diagnosis,
    failed_place,
    running_place,
)
from bot.logging import get_logger
from bot.readiness import deploy_blockers
from bot.rollout import events as ev
from bot.rollout.state import RunProgress
from bot.runbook.problem import Problem
from bot.workflows import messages
from bot.workflows.queues import SMOKE, enqueue
from bot.workflows.runtime import current
from bot.workflows.steps import EVENT_TOPIC, now, step, wait_for_database

log = get_logger(__name__)

# The follow's inbox: "the run changed, read it now" (a GitHub webhook delivery).
RUN_CHANGED_TOPIC = "run_changed"


@step()
async def verify_vaults_step(requested_by: str) -> ev.VaultsChecked:
    deps = current()
    cfg = deps.settings.config
    report = await deps.vaults.verify(
        [p.vault for p in cfg.partitions], cfg.onepassword.systems_vault
    )
    return ev.VaultsChecked(
        at=now(),
        ok=report.ok,
        red_vaults=[r.vault for r in report.rows if not r.ok],
        report=report.model_dump(mode="json"),
        requested_by=requested_by,
        fingerprint=report.secret_fingerprint,
    )


@step()
async def ready_step(
    request: ev.DeployRequest | ev.RetryRequest, partition: str
) -> ev.ReadyChecked:
    """Would deploying `partition` now fail for a configuration reason? (bot.readiness)"""
    deps = current()
    problems = await deploy_blockers(
        deps.settings, deps.slack, deps.bff, partition, github=deps.github is not None
    )
    return ev.ReadyChecked(at=now(), request=request, partition=partition, problems=problems)


@step()
async def pr_gate_step(request: ev.DeployRequest) -> ev.PrGateChecked:
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
            problem = exc.problem
        else:
            if not merged:
                problem = Problem(
                    symptom=f"Infrastructure pull request #{number} in "
                    f"{deps.github.repository} is not merged yet.",
                    cause="The deploy reads the vaults through code that pull request adds.",
                    fix="The deploy reads the vaults through code that PR adds: merge it "
                    "first, then deploy.",
                )
    return ev.PrGateChecked(at=now(), request=request, problem=problem)


def _dispatch_prefix(partition: str, not_before: str) -> str:
    """The claims of one dispatch: the rollout's (its workflow), for a partition, for the
    press at `not_before`. A re-run of the step after a crash and a retry of a dispatch
    that failed (which keeps its `not_before`) share them."""
    identity = f"{DBOS.workflow_id}\n{partition}\n{not_before}"
    return f"dispatch:{hashlib.sha256(identity.encode()).hexdigest()[:32]}:"


async def _there_before(partition: str, not_before: str, listed: list[Run]) -> set[int] | None:
    """The ids among `listed` that were there before this dispatch was first sent; None
    when it has not been sent yet, and then `listed` is remembered as what was there.

    Remembered in the claims table (`Store.claim`), the runs first and then that the
    dispatch may go: a step cut short before that sent nothing. A run's date cannot tell
    the run a dispatch started from one a moment older: GitHub dates it by its clock,
    the press is dated by the bot's."""
    store = current().store
    prefix = _dispatch_prefix(partition, not_before)
    sent = prefix + "sent"
    keys = {f"{prefix}run:{run.id}": run.id for run in listed}
    held = await wait_for_database(lambda: store.claimed([sent, *keys]), "dispatch_lookup")
    if sent in held:
        return {run_id for key, run_id in keys.items() if key in held}

    async def claim(key: str) -> None:
        await wait_for_database(lambda: store.claim(key), "dispatch_claim")

    for key in keys:
        await claim(key)
    await claim(sent)
    return None


@step()
async def dispatch_step(partition: str, not_before: str, earlier_runs: list[int]) -> ev.Dispatched:
    """Start amm.yml for the partition — or adopt the run a crashed attempt already started."""
    deps = current()
    if deps.github is None:
        return ev.Dispatched(
            at=now(),
            partition=partition,
            problem=Problem(
                symptom="The bot cannot start amm.yml.",
                cause="GITHUB_TOKEN is not set.",
                fix="Set GITHUB_TOKEN to a token with actions:write on the infrastructure "
                "repository, restart the bot, then `/creators-onboard retry`.",
            ),
        )
    part = deps.settings.config.partition(partition)
    assert part is not None
    since = datetime.fromisoformat(not_before)
    github = deps.github
    try:
        # Runs as far back as the clocks can be apart: the run this dispatch started (if a
        # crash cut it short, or it failed and this is its retry) may be dated before it.
        listed = await github.recent_runs(not_before=since)
        before = await _there_before(partition, not_before, listed)
        if before is None:
            # Not sent yet. A run from the press on is taken, as it always was (a dispatch
            # that failed before this release kept no record of what was there).
            press = since.replace(microsecond=0, tzinfo=since.tzinfo or UTC)
            since_press = [r for r in listed if r.created_at >= press]
            existing = github.pick(since_press, part.workflow_inputs, set(earlier_runs))
        else:
            # Sent before: its run, if it started one, is one that was not there then.
            exclude = before | set(earlier_runs)
            existing = github.pick(listed, part.workflow_inputs, exclude)
        if existing is not None:
            log.info("github_dispatch_found", run_id=existing.id, partition=partition)
            return ev.Dispatched(
                at=now(), partition=partition, run_id=existing.id, url=existing.html_url
            )
        result = await github.dispatch(
            dict(part.workflow_inputs), not_before=since, before={r.id for r in listed}
        )
    except IntegrationError as exc:
        deps.metrics.integration_errors.labels("github").inc()
        return ev.Dispatched(at=now(), partition=partition, problem=exc.problem)
    return ev.Dispatched(
        at=now(), partition=partition, run_id=result.run_id, url=result.html_url or None
    )


@step()
async def follow_deadline_step() -> float:
    """When following a run gives up (epoch seconds), fixed once per follow."""
    return time.time() + current().settings.config.github.run_timeout_minutes * 60


# A read of a followed run that GitHub did not answer (after the transport's own tries)
# is tried again after a pause that doubles from the poll interval up to this.
UNREAD_BACKOFF_MAX_SECONDS = 60.0


def unread_backoff(failures: int, poll_interval: float) -> float:
    """The pause after `failures` reads of a run in a row that GitHub did not answer:
    the poll interval, doubling with each, up to a minute (or the poll interval, if that
    is longer: a failing read never makes the follow read more often)."""
    longest = max(poll_interval, UNREAD_BACKOFF_MAX_SECONDS)
    return float(min(poll_interval * 2 ** min(max(failures, 1) - 1, 16), longest))


class Polled(BaseModel):
    """One read of a run, as recorded: the run (None when unchanged: 304), its ETag, the
    time it was read (the follow's deadline and pace count in recorded time) or the
    problem. `again_in`: a problem that may pass (GitHub unavailable or rate-limiting:
    the run goes on meanwhile) is read again in that many seconds; None for a final
    answer (the run is gone: 404; the token lost access: 401, 403)."""

    at: float
    run: Run | None = None
    etag: str | None = None
    problem: Problem | None = None
    again_in: float | None = None


@step()
async def poll_run_step(run_id: int, etag: str | None, unread: int = 0) -> Polled:
    """One conditional read of the run: an unchanged run answers 304, which GitHub does
    not count against the rate limit, so the follow can read it often. `unread`: the
    reads before this one that GitHub did not answer, in a row."""
    deps = current()
    assert deps.github is not None
    try:
        run, etag = await deps.github.get_run(run_id, etag)
    except IntegrationError as exc:
        deps.metrics.integration_errors.labels("github").inc()
        if not exc.retryable:
            return Polled(at=time.time(), problem=exc.problem)
        failures = unread + 1
        wait = unread_backoff(failures, deps.settings.config.github.poll_interval_seconds)
        log.warning(
            "github_run_unread",
            run_id=run_id,
            failures=failures,
            retry_in_s=wait,
            problem=exc.problem.symptom,
            meaning="the run goes on at GitHub; the bot keeps reading it until the follow's "
            "deadline (github.run_timeout_minutes)",
        )
        return Polled(at=time.time(), problem=exc.problem, again_in=wait)
    return Polled(at=time.time(), run=run, etag=etag)


@step()
async def run_moved_step(partition: str, run: Run) -> ev.RunMoved:
    """Where a run in progress stands: its status, and the job and step running."""
    place = await _place(run.id, running_place) if run.status == "in_progress" else None
    at = now()
    progress = RunProgress(
        status=run.status,
        job=place.job if place else None,
        step=place.step if place else None,
        run_started=run.created_at.isoformat(),
        at=at,
    )
    return ev.RunMoved(at=at, partition=partition, run_id=run.id, progress=progress)


@step()
async def run_concluded_step(partition: str, run: Run) -> ev.RunConcluded:
    """How a run ended; a failed one names its failing job and step, with its log."""
    place = None if run.succeeded else await _place(run.id, failed_place)
    return ev.RunConcluded(
        at=now(),
        partition=partition,
        run_id=run.id,
        conclusion=run.conclusion,
        url=run.html_url or None,
        problem=conclusion_diagnosis(run, partition=partition, failed=place),
        failed_job=place.job if place else None,
        failed_step=place.step if place else None,
        log_url=place.url if place else None,
        run_started=run.created_at.isoformat(),
    )


async def _place(run_id: int, where: Callable[[list[Job]], Place | None]) -> Place | None:
    """Where in its jobs a run stands or failed: worth a try, not worth failing for."""
    github = current().github
    assert github is not None
    try:
        return where(await github.jobs(run_id))
    except IntegrationError:
        log.warning("github_jobs_unread", run_id=run_id)
        return None


def _not_followed(partition: str, run_id: int, problem: Problem) -> ev.RunConcluded:
    return ev.RunConcluded(
        at=now(), partition=partition, run_id=run_id, problem=problem, followed=False
    )


@DBOS.workflow(name="follow_run")
async def follow_run_workflow(rollout_id: str, partition: str, run_id: int) -> None:
    """Follow one run to its conclusion and tell the rollout: where it stands at most
    once per `progress_interval_seconds` (`run_moved`), then how it ended
    (`run_concluded`).

    A recorded read every `poll_interval_seconds`; between reads a wait that a GitHub
    `workflow_run` webhook cuts short (`poke_follow`). A child workflow, so the rollout
    keeps answering people during a run that can take an hour; after a crash both resume
    where they were.

    A read GitHub did not answer (an outage, a 5xx, a dropped connection, a rate limit)
    is tried again, with a growing pause, until the follow's deadline: the run goes on
    meanwhile. A final answer (404: the run is gone; 401/403: the token lost access), or
    the deadline, ends the follow with the problem.
    """
    cfg = current().settings.config.github
    pace = RunPace(
        poll_interval=cfg.poll_interval_seconds,
        progress_interval=cfg.progress_interval_seconds,
        deadline=await follow_deadline_step(),
    )
    etag: str | None = None
    unread = 0
    while True:
        polled = await poll_run_step(run_id, etag, unread)
        if polled.problem is not None and polled.again_in is not None:
            if polled.at < pace.deadline:
                unread += 1
                wait = min(polled.again_in, pace.deadline - polled.at)
                await DBOS.recv_async(RUN_CHANGED_TOPIC, timeout_seconds=wait)
                continue
        if polled.problem is not None:
            told: ev.RunConcluded | ev.RunMoved = _not_followed(partition, run_id, polled.problem)
        else:
            unread = 0
            etag = polled.etag
            nxt = pace.after(polled.run, polled.at)
            assert pace.latest is not None  # a first read returns the run, or a problem
            if nxt.concluded:
                told = await run_concluded_step(partition, pace.latest)
            elif nxt.timed_out:
                github = current().github
                assert github is not None
                still = github.still_going(pace.latest, cfg.run_timeout_minutes * 60)
                told = _not_followed(partition, run_id, still.problem)
            else:
                if nxt.report:
                    moved = await run_moved_step(partition, pace.latest)
                    await messages.send(rollout_id, moved.model_dump(mode="json"), EVENT_TOPIC)
                await DBOS.recv_async(RUN_CHANGED_TOPIC, timeout_seconds=nxt.wait)
                continue
        await messages.send(rollout_id, told.model_dump(mode="json"), EVENT_TOPIC)
        return


def follow_workflow_id(rollout_id: str, run_id: int, attempt: int) -> str:
    """The follow of a run by one attempt: a retry follows the same run anew."""
    return f"{rollout_id}:follow:{run_id}:{attempt}"


async def poke_follow(rollout_id: str, run_id: int, attempt: int, key: str) -> bool:
    """Wake the follow of `run_id` so it reads the run now; once per `key`. False when
    that follow does not exist (it never started, or its rollout is another)."""
    try:
        await messages.send(
            follow_workflow_id(rollout_id, run_id, attempt),
            {"run_id": run_id},
            RUN_CHANGED_TOPIC,
            idempotency_key=f"run-changed:{key}",
        )
    except DBOSNonExistentWorkflowError:
        return False
    return True


async def start_follow(rollout_id: str, partition: str, run_id: int, attempt: int) -> None:
    with SetWorkflowID(follow_workflow_id(rollout_id, run_id, attempt)):
        await DBOS.start_workflow_async(follow_run_workflow, rollout_id, partition, run_id)


@step()
async def cancel_step(workflow_id: str) -> None:
    await DBOS.cancel_workflow_async(workflow_id)


# ---------------------------------------------------------------------------- Amplify


@step()
async def amplify_step(partition: str) -> ev.AmplifyChecked:
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
        problem = exc.problem
    else:
        problem = report.problem
    return ev.AmplifyChecked(at=now(), partition=partition, problem=problem)


def no_bff_url(partition: str) -> Problem:
    """A partition whose BFF the YAML does not name cannot be smoke-tested or probed."""
    return Problem(
        symptom=f"No BFF URL is configured for {partition}.",
        cause=f"partitions[{partition}].bff_url is missing from the YAML.",
        fix="Add the partition's BFF base URL (https://…) and its bff_token_env, restart "
        "the bot, then `/creators-onboard retry` (a probe: `/creators-onboard watch probe`).",
    )


@step()
async def smoke_step(partition: str, on_demand: bool) -> ev.SmokeDone:
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
            checks=[SmokeCheck(name="configuration", problem=no_bff_url(partition))],
        )
    else:
        report = await deps.bff.run(
            part.bff_url,
            settings.bff_token(part),
            throttle_check=settings.config.smoke.throttle_check,
            token_env=part.bff_token_env,
            partition=part.name,
            # A red rollout smoke test halts; Retry runs it again and carries on.
            again=None if on_demand else "`/creators-onboard retry`",
        )
    failed = report.failed[0] if report.failed else None
    return ev.SmokeDone(
        at=now(),
        partition=partition,
        ok=report.ok,
        on_demand=on_demand,
        failed=(failed.name + (f" ({failed.code})" if failed.code else "") if failed else None),
        problem=failed.problem if failed else None,
        asin=report.asin,
        report=report.model_dump(mode="json"),
    )


@DBOS.workflow(name="smoke")
async def smoke_workflow(partition: str, on_demand: bool, reply_to: str | None) -> ev.SmokeDone:
    """One smoke test, started through the 1-per-second queue; the result goes to the
    inbox of the rollout `reply_to` (`smoke_done`)."""
    done = await smoke_step(partition, on_demand)
    if reply_to is not None:
        await messages.send(reply_to, done.model_dump(mode="json"), EVENT_TOPIC)
    return done


async def start_smoke(rollout_id: str, key: str, partition: str, on_demand: bool) -> None:
    with SetWorkflowID(f"{rollout_id}:smoke:{key}"):
        await enqueue(SMOKE, smoke_workflow, partition, on_demand, rollout_id)
