"""The watches' outside calls: one probe import through a partition's BFF (in a child
workflow on the 1-per-second smoke queue), the service account's view of the vaults, and
what earlier runs and rollouts left behind (read from DBOS)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dbos import DBOS

from bot.config import FileConfig
from bot.integrations.vaults import VaultError
from bot.watches.board import WatchBoard
from bot.watches.model import WATCHES, Outcome, WatchStatus, result_names, schedule_of
from bot.watches.rules import next_run
from bot.workflows import ROLLOUT_WORKFLOW
from bot.workflows.runtime import current
from bot.workflows.steps import step
from bot.workflows.steps.checks import no_bff_url


@step()
async def probe_step(partition: str) -> dict[str, Any]:
    """One import of the smoke ASIN through the partition's BFF: ok, the BFF's error code,
    and the check's problem when red."""
    deps = current()
    settings = deps.settings
    part = settings.config.partition(partition)
    assert part is not None
    if not part.bff_url:
        problem = no_bff_url(partition).model_dump()
        return {"partition": partition, "ok": False, "code": None, "problem": problem}
    check = await deps.bff.probe(
        part.bff_url, settings.bff_token(part), token_env=part.bff_token_env, partition=part.name
    )
    return {
        "partition": partition,
        "ok": check.ok,
        "code": check.code,
        "problem": check.problem.model_dump() if check.problem else None,
    }


@DBOS.workflow(name="watch_probe_partition")
async def probe_partition_workflow(partition: str) -> dict[str, Any]:
    """One partition's probe, run from the smoke queue so it keeps the 1-per-second pace."""
    return await probe_step(partition)


@step()
async def scope_step() -> dict[str, Any]:
    """What the service account sees (`op vault list`): the vault names, or why not."""
    try:
        visible = await current().vaults.visible_vaults()
    except VaultError as exc:
        return {"code": exc.problem.code, "said": exc.problem.symptom}
    return {"visible": sorted(visible)}


async def newest_outcomes(names: list[str], *, limit: int = 10) -> list[Outcome]:
    """The newest finished runs of these workflows (their `Outcome`s), newest first."""
    found = await DBOS.list_workflows_async(
        name=names, status=["SUCCESS"], sort_desc=True, limit=limit, load_input=False
    )
    return [
        Outcome.model_validate(wf.output)
        for wf in found
        if isinstance(wf.output, dict) and "watch" in wf.output
    ]


@step()
async def previous_step(names: list[str]) -> dict[str, Any] | None:
    """The newest finished run of these workflows (the run before the one asking)."""
    found = await newest_outcomes(names, limit=1)
    return found[0].model_dump(mode="json") if found else None


@step()
async def rollout_history_step() -> dict[str, Any]:
    """When the credential was last put in place (the end of the newest completed rollout or
    rotation), and whether a rollout is under way now."""
    active = await DBOS.list_workflows_async(
        name=ROLLOUT_WORKFLOW, status=["PENDING", "ENQUEUED"], limit=1, load_input=False
    )
    done = await DBOS.list_workflows_async(
        name=ROLLOUT_WORKFLOW, status=["SUCCESS"], sort_desc=True, limit=20, load_input=False
    )
    for wf in done:
        state = wf.output if isinstance(wf.output, dict) else {}
        if state.get("status") != "complete":
            continue
        finished = [p.get("finished_at") for p in state.get("partitions", [])]
        stamps = sorted(str(f) for f in finished if f)
        return {
            "active": bool(active),
            "completed_at": stamps[-1] if stamps else None,
            "rollout_id": wf.workflow_id,
            "kind": state.get("kind", "onboarding"),
        }
    return {"active": bool(active), "completed_at": None, "rollout_id": None, "kind": None}


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


async def newest_per_watch() -> dict[str, Outcome]:
    """Each watch's newest result, from DBOS (one query per watch)."""
    lasts: dict[str, Outcome] = {}
    for name in WATCHES:
        found = await newest_outcomes(result_names(name), limit=1)
        if found:
            lasts[name] = found[0]
    return lasts


async def board(cfg: FileConfig, held: WatchBoard | None = None) -> list[WatchStatus]:
    """Every watch: enabled or not, its next run, and its newest result (from `held`, the
    process's copy, when given; else read now)."""
    lasts = await (held.lasts(newest_per_watch) if held else newest_per_watch())
    now = datetime.now(UTC)
    statuses = []
    for name in WATCHES:
        enabled, cron = schedule_of(cfg, name)
        statuses.append(
            WatchStatus(
                name=name,
                enabled=enabled,
                schedule=cron,
                next_run=when(next_run(cron, now)) if enabled else None,
                last=lasts.get(name),
            )
        )
    return statuses


@step()
async def board_step() -> list[dict[str, Any]]:
    """The watch board, for the boards a rollout keeps current (App Home)."""
    return [s.model_dump(mode="json") for s in await board(current().settings.config)]
