"""Phases 7–9: deploy each partition in order, confirm, smoke-test, halt, complete.

Each partition is its own verification event (the seeds' lesson: the bug that fires
only on prod is met last). A partition goes only when every earlier one is green; any
red check halts the rollout with rollback guidance and touches nothing later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dbos import DBOS, SetWorkflowID

from bot.blocks.deploy import (
    COMPLETE_TEXT,
    complete_blocks,
    deploy_gate_blocks,
    halt_card_blocks,
    partition_green_blocks,
    used_card,
)
from bot.blocks.smoke import smoke_report_blocks
from bot.blocks.steps import to_dicts
from bot.integrations.bff import SmokeCheck, SmokeReport
from bot.integrations.errors import IntegrationError
from bot.integrations.github import Run, conclusion_diagnosis
from bot.logging import get_logger
from bot.runbook.model import Runbook
from bot.runbook.problem import Problem
from bot.runbook.rollback import RollbackContext, rollback_steps
from bot.settings import Partition
from bot.workflows.common import (
    audit_step,
    ephemeral_step,
    now_step,
    post_in_thread,
    publish,
    refresh,
    safe,
    start_linear,
    start_linear_log,
    tell_engineering,
    transition,
    update_step,
)
from bot.workflows.queues import SMOKE, queue
from bot.workflows.runtime import current
from bot.workflows.state import (
    EVENT_TOPIC,
    Decision,
    Event,
    PartitionState,
    PostedCard,
    RolloutState,
    decide,
)

log = get_logger(__name__)


def _error(exc: IntegrationError) -> dict[str, Any]:
    return {"error": exc.as_dict()}


# ------------------------------------------------------------------------------ steps


@DBOS.step()
async def pr_gate_step() -> str | None:
    """None when the optional infrastructure-PR gate holds, else why it does not."""
    deps = current()
    number = deps.settings.config.github.pull_request
    if number is None:
        return None
    if deps.github is None:
        return "GITHUB_TOKEN is not set, so I cannot check the infrastructure pull request."
    try:
        merged = await deps.github.pull_request_merged(number)
    except IntegrationError as exc:
        return f"{exc.problem.symptom} {exc.problem.fix}"
    if merged:
        return None
    return (
        f"Infrastructure pull request #{number} in {deps.github.repository} is not merged yet. "
        "The deploy reads the vaults through code that PR adds: merge it first, then deploy."
    )


@DBOS.step()
async def dispatch_step(partition: str, not_before: str, earlier_runs: list[int]) -> dict[str, Any]:
    """Start amm.yml for the partition — or adopt the run a crashed attempt already started."""
    deps = current()
    if deps.github is None:
        return {
            "error": {
                "symptom": "The bot cannot start amm.yml.",
                "cause": "GITHUB_TOKEN is not set.",
                "fix": "Set GITHUB_TOKEN to a token with actions:write on the infrastructure "
                "repository, restart the bot, then retry.",
            }
        }
    part = deps.settings.config.partition(partition)
    assert part is not None
    since = datetime.fromisoformat(not_before)
    try:
        # After a crash this step runs again: look for the run before dispatching.
        existing = await deps.github.find_run(
            not_before=since, inputs=part.workflow_inputs, exclude_ids=set(earlier_runs)
        )
        if existing is not None:
            return {"run_id": existing.id, "html_url": existing.html_url, "via": "adopted"}
        result = await deps.github.dispatch(dict(part.workflow_inputs), not_before=since)
    except IntegrationError as exc:
        deps.metrics.integration_errors.labels("github").inc()
        return _error(exc)
    return result.model_dump(mode="json")


@DBOS.step()
async def follow_step(run_id: int) -> dict[str, Any]:
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
        return _error(exc)
    return {"run": run.model_dump(mode="json")}


RUN_CONCLUDED = "run_concluded"


@DBOS.workflow(name="follow_run")
async def follow_run_workflow(rollout_id: str, run_id: int) -> dict[str, Any]:
    """Follow one run to its conclusion, then tell the rollout on its event topic.

    A child workflow, so the rollout keeps answering people (abort, stuck, verify…)
    during a run that can take an hour; after a crash both resume where they were.
    """
    result = await follow_step(run_id)
    await DBOS.send_async(
        rollout_id, {"internal": RUN_CONCLUDED, "run_id": run_id, "result": result}, EVENT_TOPIC
    )
    return result


async def follow_while_listening(
    state: RolloutState, runbook: Runbook, name: str, run_id: int
) -> dict[str, Any] | None:
    """Wait for the run while handling what people send; None when the rollout was aborted."""
    from bot.workflows.onboarding import handle as handle_event

    with SetWorkflowID(f"{state.rollout_id}:follow:{run_id}"):
        await DBOS.start_workflow_async(follow_run_workflow, state.rollout_id, run_id)
    quiet = current().settings.config.workflow.nudge_after_hours * 3600
    while True:
        raw = await DBOS.recv_async(EVENT_TOPIC, timeout_seconds=quiet)
        if raw is None:
            continue
        if raw.get("internal") == RUN_CONCLUDED:
            if raw.get("run_id") == run_id:
                result: dict[str, Any] = raw["result"]
                return result
            continue  # a late word from an earlier, abandoned run
        event = Event.model_validate(raw)
        decision = decide(state, event, runbook)
        if decision.kind in ("deploy", "retry", "smoke"):
            await _reply(event, f"{name} is deploying right now; wait for it to finish.", state)
        elif decision.kind == "advance":
            await _reply(event, f"{name} is deploying right now; try again when it is done.", state)
        else:  # reply, stuck, ping, verify, abort: nothing here waits for the run
            await handle_event(state, runbook, event, decision)
            if state.status == "aborted":
                ps = state.partition(name)
                assert ps is not None
                ps.status = "red"
                ps.failed_check = "aborted"
                ps.detail = "rollout aborted while the run was in progress"
            await refresh(state, runbook)
        await publish(state)
        if state.status == "aborted":
            await safe(cancel_step(f"{state.rollout_id}:follow:{run_id}"))
            return None


@DBOS.step()
async def cancel_step(workflow_id: str) -> None:
    await DBOS.cancel_workflow_async(workflow_id)


@DBOS.step()
async def amplify_step(partition: str) -> dict[str, Any]:
    deps = current()
    part = deps.settings.config.partition(partition)
    assert part is not None and part.amplify is not None
    try:
        report = await deps.amplify.check(
            part.amplify.app_id, part.amplify.branch, part.region, partition_name=part.name
        )
    except IntegrationError as exc:
        deps.metrics.integration_errors.labels("amplify").inc()
        return {"ok": False, "problem": exc.as_dict()}
    dumped = report.model_dump(mode="json")
    problem = report.problem.model_dump(mode="json") if report.problem else None
    return {"ok": report.ok, "problem": problem, "report": dumped}


@DBOS.step()
async def smoke_step(partition: str) -> dict[str, Any]:
    deps = current()
    settings = deps.settings
    part = settings.config.partition(partition)
    assert part is not None
    if not part.bff_url:
        return SmokeReport(
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
        ).model_dump(mode="json")
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
    return report.model_dump(mode="json")


@DBOS.workflow(name="smoke")
async def smoke_workflow(partition: str) -> dict[str, Any]:
    return await smoke_step(partition)


async def run_smoke(partition: str) -> SmokeReport:
    """Run the smoke test through the 1-per-second queue and wait for it."""
    smoke_queue = await queue(SMOKE)
    handle = await smoke_queue.enqueue_async(smoke_workflow, partition)
    return SmokeReport.model_validate(await handle.get_result())


# ---------------------------------------------------------------------------- helpers


def _order(state: RolloutState) -> list[str]:
    return [p.name for p in state.partitions]


def _next_partition(state: RolloutState) -> PartitionState | None:
    return next((p for p in state.partitions if p.status != "green"), None)


def _config(name: str) -> Partition:
    part = current().settings.config.partition(name)
    assert part is not None, name
    return part


def _log_body(state: RolloutState) -> str:
    lines = [f"Creators API rollout {state.rollout_id} — deploy log (kept current by the bot)", ""]
    for p in state.partitions:
        when = f" at {p.finished_at}" if p.finished_at else ""
        run = f" — {p.run_url}" if p.run_url else ""
        lines.append(f"- {p.name}: {p.status}{when}{run}")
    return "\n".join(lines)


async def open_gate(state: RolloutState, runbook: Runbook) -> None:
    """Offer devOps the next partition (the one primary button on the message)."""
    nxt = _next_partition(state)
    if nxt is None:
        return
    done = [p.name for p in state.partitions if p.status == "green"]
    blocks = to_dicts(
        deploy_gate_blocks(state.rollout_id, nxt.name, order=_order(state), done=done)
    )
    text = f"Ready to deploy {nxt.name}"
    ts = await post_in_thread(state, "devOps", text, blocks)
    state.gate = PostedCard(ts=ts, text=text, blocks=blocks) if ts else None


async def close_card(state: RolloutState, card: PostedCard | None, note: str) -> None:
    """Take the buttons off a used card so nobody presses them again."""
    thread = state.threads.get("devOps")
    if card is None or thread is None:
        return
    await safe(update_step(thread.channel, card.ts, card.text, used_card(card.blocks, note)))


async def _reply(event: Event, text: str, state: RolloutState) -> None:
    await safe(ephemeral_step(event.user, text, event.channel, event.response_url))
    await safe(
        audit_step(
            state.rollout_id,
            event.user,
            event.name,
            "refused",
            text[:200],
            f"{state.rollout_id}:refused:{event.user}:{event.name}:{event.at}",
        )
    )


def refusal(state: RolloutState, runbook: Runbook, name: str, partition: str | None) -> str | None:
    """Why a deploy/retry/smoke can not happen now (None when it can). Pure."""
    order = " → ".join(_order(state))
    if state.step != "deploy_gate" or not state.verification_ok:
        step = runbook.step(state.step)
        return (
            "Deploys open only after the four vaults verify green. "
            f"The rollout is now at *{step.title}*."
        )
    running = next((p for p in state.partitions if p.status == "running"), None)
    if running is not None:
        return f"{running.name} is deploying right now; wait for it to finish (status board)."
    if name == "retry":
        if state.status != "halted":
            return "Nothing is halted, so there is nothing to retry."
        return None
    if partition is None or state.partition(partition) is None:
        return f"Which partition? One of: {', '.join(_order(state))}."
    if name == "smoke":
        target = state.partition(partition)
        if target is not None and target.attempts == 0:
            return f"{partition} has not been deployed in this rollout yet; deploy it first."
        return None
    if state.status == "halted":
        return f"The rollout is halted ({state.halt_reason}). Retry or abort first."
    nxt = _next_partition(state)
    target = state.partition(partition)
    if target is not None and target.status == "green":
        then = f"Deploy *{nxt.name}* next." if nxt else "Every partition is green."
        return f"{partition} is already green (at {target.finished_at}). {then}"
    if nxt is None:
        return "Every partition is green already."
    if partition != nxt.name:
        return (
            f"Out of order: partitions go {order}, each only after the one before is green. "
            f"Deploy *{nxt.name}* next."
        )
    return None


async def handle(state: RolloutState, runbook: Runbook, event: Event, decision: Decision) -> None:
    why = refusal(state, runbook, decision.kind, decision.partition)
    if why is not None:
        await _reply(event, why, state)
        return
    if decision.kind == "smoke":
        assert decision.partition is not None
        report = await run_smoke(decision.partition)
        blocks = smoke_report_blocks(decision.partition, report)
        text = f"Smoke test of {decision.partition}: {'green' if report.ok else 'red'}"
        await post_in_thread(state, "devOps", text, to_dicts(blocks))
        await tell_engineering(state, f"{'✅' if report.ok else '❌'} {text} (on demand).")
        return
    if decision.kind == "retry":
        red = next(p for p in state.partitions if p.status == "red")
        await run_partition(state, runbook, red.name, actor=event.user, at=event.at, retry=True)
        return
    if not any(p.attempts for p in state.partitions):
        gate = await pr_gate_step()
        if gate is not None:
            await _reply(event, gate, state)
            return
    assert decision.partition is not None
    await run_partition(state, runbook, decision.partition, actor=event.user, at=event.at)


async def run_partition(
    state: RolloutState, runbook: Runbook, name: str, *, actor: str, at: str, retry: bool = False
) -> None:
    part = _config(name)
    ps = state.partition(name)
    assert ps is not None
    resume = retry and ps.failed_check == "follow" and ps.run_id is not None
    ps.attempts += 1
    ps.status = "running"
    ps.started_at = at
    ps.failed_check = None
    ps.detail = None
    state.status = "active"
    state.halt_reason = None
    await transition(
        state, actor=actor, action=f"{'retry' if retry else 'deploy'}:{name}", at=at, to_step=None
    )
    if retry:
        await close_card(state, state.halt_card, f"▶️ Retry {name} — <@{actor}>, {at}")
        state.halt_card = None
    else:
        await close_card(state, state.gate, f"▶️ Deploy {name} — <@{actor}>, {at}")
        state.gate = None
    await refresh(state, runbook)
    await publish(state)
    await tell_engineering(
        state, f"🔄 Deploying *{name}* (attempt {ps.attempts}), started by <@{actor}>."
    )

    if not resume:
        ps.run_id, ps.run_url = None, None
        not_before = await now_step()
        dispatched = await dispatch_step(name, not_before, ps.earlier_runs)
        if "error" in dispatched:
            await halt(
                state,
                runbook,
                name,
                "dispatch",
                "amm.yml could not be started",
                dispatched["error"],
            )
            return
        ps.run_id = int(dispatched["run_id"])
        ps.earlier_runs.append(ps.run_id)
        ps.run_url = dispatched.get("html_url") or None
    link = f"<{ps.run_url}|run {ps.run_id}>" if ps.run_url else f"run {ps.run_id}"
    await post_in_thread(state, "devOps", f"🔄 `amm.yml` for *{name}*: {link}. I'm following it.")
    await tell_engineering(state, f"🔄 `amm.yml` for *{name}*: {link}")
    await refresh(state, runbook)
    await publish(state)

    assert ps.run_id is not None
    followed = await follow_while_listening(state, runbook, name, ps.run_id)
    if followed is None:  # aborted meanwhile
        return
    if "error" in followed:
        await halt(
            state,
            runbook,
            name,
            "follow",
            "the amm.yml run could not be followed",
            followed["error"],
        )
        return
    run = Run.model_validate(followed["run"])
    ps.run_url = run.html_url or ps.run_url
    diagnosis = conclusion_diagnosis(run, partition=name)
    if diagnosis is not None:
        await halt(
            state, runbook, name, "run", f"amm.yml run {run.conclusion}", diagnosis.model_dump()
        )
        return
    checks: list[tuple[str, bool, str]] = [("amm.yml", True, "run succeeded")]

    if part.amplify is not None:
        report = await amplify_step(name)
        if not report.get("ok"):
            await halt(
                state,
                runbook,
                name,
                "amplify",
                "Amplify variables missing",
                report.get("problem") or {},
            )
            return
        checks.append(("Amplify", True, "the four AMAZON_* variables are set"))

    smoke = await run_smoke(name)
    if not smoke.ok:
        failed = smoke.failed[0]
        title = f"smoke test: {failed.name}" + (f" ({failed.code})" if failed.code else "")
        await halt(
            state,
            runbook,
            name,
            "smoke",
            title,
            failed.problem.model_dump() if failed.problem else {},
            smoke=smoke,
        )
        return
    checks.append(("smoke test", True, f"import of {smoke.asin} and error paths behave"))

    ps.status = "green"
    ps.finished_at = await now_step()
    await transition(state, actor="bot", action=f"green:{name}", at=ps.finished_at, to_step=None)
    blocks = partition_green_blocks(
        name, finished_at=ps.finished_at, run_url=ps.run_url, checks=checks
    )
    await post_in_thread(state, "devOps", f"{name} is green", to_dicts(blocks))
    await tell_engineering(state, f"✅ *{name}* green at {ps.finished_at}.")
    await start_linear_log(state, _log_body(state))
    if _next_partition(state) is None:
        await complete(state, runbook)
    else:
        await open_gate(state, runbook)


async def halt(
    state: RolloutState,
    runbook: Runbook,
    name: str,
    failed_check: str,
    title: str,
    problem: dict[str, Any],
    *,
    smoke: SmokeReport | None = None,
) -> None:
    part = _config(name)
    ps = state.partition(name)
    assert ps is not None
    ps.status = "red"
    ps.failed_check = failed_check
    ps.detail = title
    state.status = "halted"
    state.halt_reason = f"{name}: {title}"
    at = await now_step()
    await transition(state, actor="bot", action=f"halt:{name}", at=at, to_step=None, note=title)
    order = _order(state)
    later = order[order.index(name) + 1 :]
    cfg = current().settings.config.github
    rollback = rollback_steps(
        RollbackContext(
            partition=name,
            region=part.region,
            vault=part.vault,
            repository=cfg.repository,
            workflow=cfg.workflow,
            ref=cfg.ref,
            run_url=ps.run_url,
            later=later,
        )
    )
    symptom = str(problem.get("symptom") or title)
    cause = str(problem.get("cause") or "See the details above.")
    fix = str(problem.get("fix") or "Follow the rollback procedure, then retry.")
    blocks = halt_card_blocks(
        state.rollout_id,
        name,
        check=title,
        symptom=symptom,
        cause=cause,
        fix=fix,
        rollback=rollback,
        untouched=later,
    )
    if smoke is not None:
        await post_in_thread(
            state, "devOps", f"Smoke test of {name}", to_dicts(smoke_report_blocks(name, smoke))
        )
    card_text = f"Rollout halted at {name}: {title}"
    card_blocks = to_dicts(blocks)
    ts = await post_in_thread(state, "devOps", card_text, card_blocks, broadcast=True)
    state.halt_card = PostedCard(ts=ts, text=card_text, blocks=card_blocks) if ts else None
    await tell_engineering(
        state,
        f":octagonal_sign: Rollout halted at *{name}*: {title}. {symptom} "
        "Later partitions untouched.",
    )
    issue_text = (
        f"Rollout {state.rollout_id} HALTED at {name} ({at}): {title}.\n"
        f"Symptom: {symptom}\nCause: {cause}\nFix: {fix}\n"
        f"Later partitions not touched: {', '.join(later) or 'none'}."
    )
    await start_linear(state, f"halt-{name}-{ps.attempts}", issue_text)
    await start_linear_log(state, _log_body(state))


async def complete(state: RolloutState, runbook: Runbook) -> None:
    state.status = "complete"
    stamps = [(p.name, p.finished_at or "?") for p in state.partitions]
    blocks = to_dicts(complete_blocks(stamps))
    await post_in_thread(state, "accountOwner", COMPLETE_TEXT, blocks, broadcast=True)
    await post_in_thread(state, "devOps", COMPLETE_TEXT, blocks)
    await tell_engineering(state, f"🎉 {COMPLETE_TEXT}.", broadcast=True)
    body = f"{COMPLETE_TEXT}.\n\nPer-partition deploy timestamps:\n" + "\n".join(
        f"- {name}: {when}" for name, when in stamps
    )
    await start_linear(state, "complete", body)
