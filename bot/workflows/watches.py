"""The watches: one durable DBOS workflow per watch, run on a DBOS schedule (stored in the
system database, so each tick runs exactly once across replicas, and a restart between two
ticks loses nothing) or by hand (`/creators-onboard watch <name>`).

Each run compares what it finds with the previous run's `Outcome` (`bot.watches.rules`),
tells people about a change once, and returns its own `Outcome`: the last result that App
Home and `status` show. Outside calls go through `steps`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dbos import DBOS, SetWorkflowID

from bot.blocks.steps import to_dicts
from bot.blocks.watches import checkin_blocks, notice_blocks, problem_blocks
from bot.config import FileConfig
from bot.integrations.bff import diagnose
from bot.logging import get_logger
from bot.rollout.roles import Role
from bot.runbook.problem import Problem
from bot.watches import rules, texts
from bot.watches.model import WATCHES, Outcome, WatchName, schedule_of, workflow_name
from bot.workflows.queues import SMOKE, WATCH_QUEUE_PREFIX, enqueue
from bot.workflows.runtime import current
from bot.workflows.steps import config, now_step
from bot.workflows.steps.slack import open_dm_step, post_step
from bot.workflows.steps.watch import (
    previous_step,
    probe_partition_workflow,
    rollout_history_step,
    scope_step,
)
from bot.workflows.threads import safe

log = get_logger(__name__)

SCHEDULE_PREFIX = "creators-onboard-watch-"
# A missed monthly check-in is still worth asking after a restart; a missed daily probe is
# not (the next one comes soon), so only the check-in is backfilled.
BACKFILLED: frozenset[WatchName] = frozenset({"eligibility"})


def _stamp(when: datetime | None) -> str | None:
    return when.astimezone(UTC).replace(microsecond=0).isoformat() if when else None


class Run:
    """One run of a watch: when it was scheduled for (None: by hand), and by whom."""

    def __init__(self, watch: WatchName, scheduled_at: datetime | None, context: Any) -> None:
        self.watch = watch
        self.cfg: FileConfig = config()
        manual = isinstance(context, dict) and context.get("by")
        self.by = str(context["by"]) if manual else None
        self.scheduled_for = None if manual else _stamp(scheduled_at)

    async def outcome(
        self, summary: str, ok: bool | None, states: dict[str, str] | None = None
    ) -> dict[str, Any]:
        done = Outcome(
            watch=self.watch,
            at=await now_step(),
            scheduled_for=self.scheduled_for,
            by=self.by,
            ok=ok,
            summary=summary,
            states=states or {},
        )
        log.info("watch_ran", watch=self.watch, ok=ok, summary=summary)
        current().watch_board.put(done)  # status and App Home show it at once
        return done.model_dump(mode="json")

    async def previous(self) -> Outcome | None:
        found = await previous_step([workflow_name(self.watch)])
        return Outcome.model_validate(found) if found else None

    # -------------------------------------------------------------- telling

    def people(self, roles: tuple[Role, ...]) -> list[str]:
        slack = self.cfg.slack
        users = [*(slack.devops if "devOps" in roles else [])]
        users += slack.account_owners if "accountOwner" in roles else []
        return list(dict.fromkeys(users))

    async def tell(
        self, roles: tuple[Role, ...], text: str, blocks: list[Any], *, channel: bool = True
    ) -> None:
        """A DM to everyone with these roles, and (`channel`) a post in engineering."""
        payload = to_dicts(blocks)
        for user in self.people(roles):
            dm = await safe(open_dm_step(user))
            if dm:
                await safe(post_step(dm, text, payload))
        eng = self.cfg.slack.engineering_channel
        if channel and eng:
            await safe(post_step(eng, text, payload))


# ------------------------------------------------------------------ eligibility


@DBOS.workflow(name="watch_eligibility")
async def eligibility_watch(scheduled_at: datetime, context: Any) -> dict[str, Any]:
    """Ask each accountOwner to look at the Link Type Performance report (two answers)."""
    run = Run("eligibility", scheduled_at, context)
    owners = run.cfg.slack.account_owners
    if not owners:
        return await run.outcome("nobody to ask: slack.account_owners is empty", False)
    label = run.scheduled_for or f"{await now_step()} (run by hand)"
    asked = []
    for owner in owners:
        dm = await safe(open_dm_step(owner))
        blocks = to_dicts(checkin_blocks(str(DBOS.workflow_id), owner, label))
        if dm and await safe(post_step(dm, texts.CHECKIN_TITLE, blocks)):
            asked.append(f"<@{owner}>")
    if not asked:
        return await run.outcome("could not reach the accountOwner by DM", False)
    return await run.outcome(f"asked {', '.join(asked)}; waiting for the answer", None)


# ------------------------------------------------------------------------ probe


@DBOS.workflow(name="watch_probe")
async def probe_watch(scheduled_at: datetime, context: Any) -> dict[str, Any]:
    """One import per partition through the 1-per-second smoke queue; alerts on a change."""
    run = Run("probe", scheduled_at, context)
    previous = await run.previous()
    handles = []
    for part in run.cfg.probed_partitions:
        with SetWorkflowID(f"{DBOS.workflow_id}:probe:{part.name}"):
            handles.append(await enqueue(SMOKE, probe_partition_workflow, part.name))
    results = [await handle.get_result() for handle in handles]
    states = {r["partition"]: rules.probe_state(r["ok"], r["code"]) for r in results}
    by_name = {r["partition"]: r for r in results}
    for change in rules.changes(previous.states if previous else None, states):
        if change.recovered:
            text = texts.probe_recovered(change.subject, change.before or "")
            await run.tell(rules.probe_audience(change.before), text, notice_blocks(text))
            continue
        await _probe_alert(run, change.subject, change.after, by_name[change.subject])
    summary = " · ".join(f"{name} {state}" for name, state in states.items()) or "no partitions"
    ok = all(state == rules.OK for state in states.values())
    return await run.outcome(
        summary, ok, rules.carried(previous.states if previous else {}, states)
    )


async def _probe_alert(run: Run, partition: str, state: str, result: dict[str, Any]) -> None:
    part = run.cfg.partition(partition)
    token_env = part.bff_token_env if part and part.bff_token_env else "BFF_TOKEN_<PARTITION>"
    if result.get("code"):
        diagnosis = diagnose(state, token_env=token_env, partition=partition)
        problem = texts.probe_problem(partition, state, diagnosis)
    else:
        problem = Problem.model_validate(result["problem"])
    title = texts.probe_alert_title(partition, state)
    await run.tell(rules.probe_audience(state), title, problem_blocks(title, problem))


# ------------------------------------------------------------- service account


@DBOS.workflow(name="watch_service_account")
async def service_account_watch(scheduled_at: datetime, context: Any) -> dict[str, Any]:
    """Can OP_SERVICE_ACCOUNT_TOKEN still see every partition vault and the systems vault?"""
    run = Run("service_account", scheduled_at, context)
    previous = await run.previous()
    before = previous.states if previous else {}
    systems = run.cfg.onepassword.systems_vault
    wanted = [p.vault for p in run.cfg.partitions]
    scope = await scope_step()
    if "visible" in scope:
        states: dict[str, str] | None = rules.scope_states(
            [*wanted, systems], set(scope["visible"])
        )
    else:
        states = rules.token_states(str(scope["code"]))
        if states is None:
            return await run.outcome(f"not checked this time: {scope['said']}", None, before)
    assert states is not None
    found = rules.changes(before, states)
    bad = sorted(s for s, state in states.items() if state != rules.OK and s != rules.TOKEN)
    token_code = states.get(rules.TOKEN) if states.get(rules.TOKEN) != rules.OK else None
    if any(not c.recovered for c in found):
        problem = texts.token_problem(bad, token_code, str(scope.get("said") or ""))
        title = "The deploy's 1Password token needs replacing"
        blocks = problem_blocks(title, problem, steps=texts.token_steps(wanted, systems))
        await run.tell(("devOps",), title, blocks)
    elif found and not bad and token_code is None:
        await run.tell(("devOps",), texts.TOKEN_RECOVERED, notice_blocks(texts.TOKEN_RECOVERED))
    if token_code is not None:
        summary = f"1Password refuses the token ({token_code})"
    elif bad:
        summary = "cannot see " + ", ".join(bad)
    else:
        summary = f"sees all {len(wanted) + 1} vaults"
    merged = rules.carried(before, states)
    return await run.outcome(summary, token_code is None and not bad, merged)


# --------------------------------------------------------------------- rotation


@DBOS.workflow(name="watch_rotation")
async def rotation_watch(scheduled_at: datetime, context: Any) -> dict[str, Any]:
    """Remind devOps (with a Start rotation button) once the credential is old."""
    run = Run("rotation", scheduled_at, context)
    history = await rollout_history_step()
    max_age = run.cfg.watch.rotation.max_age_days
    if history["active"]:
        return await run.outcome("a rollout or rotation is under way: no reminder", None)
    now = datetime.fromisoformat(await now_step())
    age = rules.credential_age_days(history["completed_at"], now)
    if age is None:
        return await run.outcome("no rollout has completed yet: nothing to rotate", None)
    since = str(history["completed_at"])
    if not rules.rotation_due(age, max_age):
        return await run.outcome(f"credential is {age} days old (reminder at {max_age})", True)
    text = texts.rotation_reminder(age, since, max_age)
    await run.tell(("devOps",), text, notice_blocks(text, rotate="hygiene"), channel=False)
    return await run.outcome(f"credential is {age} days old: reminded devOps", False)


WORKFLOWS = {
    "eligibility": eligibility_watch,
    "probe": probe_watch,
    "rotation": rotation_watch,
    "service_account": service_account_watch,
}


# -------------------------------------------------------------------- schedules


async def apply_schedules(cfg: FileConfig) -> None:
    """Create or update each enabled watch's schedule; delete a switched-off one's. Safe
    to run on every replica at every start (DBOS upserts by name, keeping the last tick)."""
    entries: list[Any] = []
    for name in WATCHES:
        enabled, cron = schedule_of(cfg, name)
        if not enabled:
            await DBOS.delete_schedule_async(SCHEDULE_PREFIX + name)
            continue
        entries.append(
            {
                "schedule_name": SCHEDULE_PREFIX + name,
                "workflow_fn": WORKFLOWS[name],
                "schedule": cron,
                "context": None,
                "automatic_backfill": name in BACKFILLED,
                "queue_name": WATCH_QUEUE_PREFIX + name,
            }
        )
    if entries:
        await DBOS.apply_schedules_async(entries)
    log.info("watch_schedules_applied", watches=[e["schedule_name"] for e in entries])


async def start_now(name: WatchName, user: str, key: str) -> str:
    """Run a watch now, on behalf of `user`; `key` makes a repeated request run it once."""
    workflow_id = f"watch-{name}-now-{key}"
    with SetWorkflowID(workflow_id):
        await enqueue(WATCH_QUEUE_PREFIX + name, WORKFLOWS[name], datetime.now(UTC), {"by": user})
    return workflow_id
