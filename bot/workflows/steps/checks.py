"""The bot's own checks: the vaults (1Password), the infrastructure PR, the `amm.yml`
run (GitHub), the Amplify variables and the smoke test. A run is followed, and a smoke
test waits for its turn in the 1-per-second queue, in child workflows that report back
to the rollout's inbox."""

from __future__ import annotations

import time
from datetime import datetime

from dbos import DBOS, SetWorkflowID
from dbos._error import DBOSNonExistentWorkflowError
from pydantic import BaseModel

from bot.integrations.errors import IntegrationError
from bot.integrations.github import GitHubError, Run, conclusion_diagnosis
from bot.rollout.events import (
    AmplifyChecked,
    DeployRequest,
    Dispatched,
    PrGateChecked,
    RunConcluded,
    SmokeDone,
    VaultsChecked,
)
from bot.runbook.problem import Problem
from bot.workflows.queues import SMOKE, queue
from bot.workflows.runtime import current
from bot.workflows.steps import EVENT_TOPIC, now

# The follow's inbox: "the run changed, read it now" (a GitHub webhook delivery).
RUN_CHANGED_TOPIC = "run_changed"


@DBOS.step()
async def verify_vaults_step(requested_by: str) -> VaultsChecked:
    deps = current()
    cfg = deps.settings.config
    report = await deps.vaults.verify(
        [p.vault for p in cfg.partitions], cfg.onepassword.systems_vault
    )
    return VaultsChecked(
        at=now(),
        ok=report.ok,
        red_vaults=[r.vault for r in report.rows if not r.ok],
        report=report.model_dump(mode="json"),
        requested_by=requested_by,
    )


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
    return PrGateChecked(at=now(), request=request, problem=problem)


@DBOS.step()
async def dispatch_step(partition: str, not_before: str, earlier_runs: list[int]) -> Dispatched:
    """Start amm.yml for the partition — or adopt the run a crashed attempt already started."""
    deps = current()
    if deps.github is None:
        return Dispatched(
            at=now(),
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
            return Dispatched(
                at=now(), partition=partition, run_id=existing.id, url=existing.html_url
            )
        result = await deps.github.dispatch(dict(part.workflow_inputs), not_before=since)
    except IntegrationError as exc:
        deps.metrics.integration_errors.labels("github").inc()
        return Dispatched(at=now(), partition=partition, problem=exc.problem)
    return Dispatched(
        at=now(), partition=partition, run_id=result.run_id, url=result.html_url or None
    )


class Polled(BaseModel):
    """One read of a run, as recorded: the run (None when unchanged: 304), its ETag, the
    time it was read (the follow's deadline counts in recorded time) or the problem."""

    at: float
    run: Run | None = None
    etag: str | None = None
    problem: Problem | None = None


@DBOS.step()
async def poll_run_step(run_id: int, etag: str | None) -> Polled:
    deps = current()
    assert deps.github is not None
    try:
        run, etag = await deps.github.get_run(run_id, etag)
    except IntegrationError as exc:
        deps.metrics.integration_errors.labels("github").inc()
        return Polled(at=time.time(), problem=exc.problem)
    return Polled(at=time.time(), run=run, etag=etag)


async def follow_run(partition: str, run_id: int) -> RunConcluded:
    """Follow the run to its end: a recorded read every `poll_interval_seconds`, and
    between reads a wait that a `workflow_run` webhook cuts short (`poke_follow`)."""
    deps = current()
    assert deps.github is not None
    cfg = deps.settings.config.github
    read_at = 0.0

    async def fetch(run_id: int, etag: str | None) -> tuple[Run | None, str | None]:
        nonlocal read_at
        polled = await poll_run_step(run_id, etag)
        read_at = polled.at
        if polled.problem is not None:
            raise GitHubError(polled.problem, retryable=True)
        return polled.run, polled.etag

    async def wait(seconds: float) -> None:
        await DBOS.recv_async(RUN_CHANGED_TOPIC, timeout_seconds=seconds)

    try:
        run = await deps.github.follow(
            run_id,
            poll_interval=cfg.poll_interval_seconds,
            timeout=cfg.run_timeout_minutes * 60,
            fetch=fetch,
            wait=wait,
            clock=lambda: read_at,
        )
    except IntegrationError as exc:
        return RunConcluded(
            at=now(), partition=partition, run_id=run_id, problem=exc.problem, followed=False
        )
    diagnosis = conclusion_diagnosis(run, partition=partition)
    return RunConcluded(
        at=now(),
        partition=partition,
        run_id=run_id,
        conclusion=run.conclusion,
        url=run.html_url or None,
        problem=diagnosis,
    )


@DBOS.workflow(name="follow_run")
async def follow_run_workflow(rollout_id: str, partition: str, run_id: int) -> None:
    """Follow one run to its conclusion, then tell the rollout (`run_concluded`).

    A child workflow, so the rollout keeps answering people (abort, stuck, verify…)
    during a run that can take an hour; after a crash both resume where they were.
    """
    concluded = await follow_run(partition, run_id)
    await DBOS.send_async(rollout_id, concluded.model_dump(mode="json"), EVENT_TOPIC)


async def poke_follow(rollout_id: str, run_id: int, key: str) -> bool:
    """Wake the follow of `run_id` so it reads the run now; once per `key`. False when
    that follow does not exist (it never started, or its rollout is another)."""
    try:
        await DBOS.send_async(
            follow_workflow_id(rollout_id, run_id),
            {"run_id": run_id},
            RUN_CHANGED_TOPIC,
            idempotency_key=f"run-changed:{key}",
        )
    except DBOSNonExistentWorkflowError:
        return False
    return True


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
        problem = exc.problem
    else:
        problem = report.problem
    return AmplifyChecked(at=now(), partition=partition, problem=problem)


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
                    problem=Problem(
                        symptom=f"No BFF URL is configured for {partition}.",
                        cause=f"partitions[{partition}].bff_url is missing from the YAML.",
                        fix="Add the partition's BFF base URL (https://…) and its bff_token_env, "
                        "restart the bot, then retry.",
                    ),
                )
            ],
        )
    else:
        report = await deps.bff.run(
            part.bff_url,
            settings.bff_token(part),
            throttle_check=settings.config.smoke.throttle_check,
            token_env=part.bff_token_env,
            partition=part.name,
        )
    failed = report.failed[0] if report.failed else None
    return SmokeDone(
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
