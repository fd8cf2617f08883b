"""The one seam between the handlers and the rollouts: start, submit, read.

`judge(request)` answers a person's request from the read model (`bot.readmodel`: the
active rollout's *current* published state, held in memory) with the same rules the
workflow applies, so a handler can ack with the answer at once; `deliver()` then records a
refusal once in the audit trail (it never reaches the workflow) or hands an accepted
request to the workflow with an idempotency key (a Slack retry of the same press is
delivered once). `submit()` does both. Nothing here calls an outside system.
"""

from __future__ import annotations

from typing import Protocol

from dbos import DBOS, SetWorkflowID

from bot.blocks.audit import audit_blocks
from bot.blocks.status import status_summary
from bot.blocks.steps import to_dicts
from bot.commands import COMMAND
from bot.config import FileConfig
from bot.logging import get_logger
from bot.outbound import scrub
from bot.readmodel import RolloutIndex
from bot.rollout.events import AbortRequest, Request
from bot.rollout.port import Answer, Found, StartRequest, now_iso
from bot.rollout.roles import audit_refusal, require, roles_of
from bot.rollout.rules import Rules, refusal, role_refusal, stranded_text
from bot.rollout.state import RolloutState
from bot.runbook import load_runbook
from bot.store import Store
from bot.workflows import ROLLOUT_WORKFLOW, messages
from bot.workflows.rollout import (
    LEGACY_STATE_EVENT,
    abandoned_id,
    abandoned_workflow,
    rollout_workflow,
)
from bot.workflows.steps import EVENT_TOPIC, checks

log = get_logger(__name__)

# How many audit rows `/creators-onboard audit` shows (the CLI exports them all).
AUDIT_SHOWN = 25


class Rollouts(Protocol):
    """Where rollouts live (the read model and DBOS in the bot; a dict in unit tests)."""

    async def newest(self, *, active: bool) -> Found | None: ...
    async def count(self) -> int: ...
    async def send(self, rollout_id: str, request: Request, key: str) -> None: ...
    async def create(self, rollout_id: str, state: RolloutState) -> None: ...
    async def poke(self, rollout_id: str, run_id: int, attempt: int, key: str) -> bool: ...
    async def past(self, limit: int) -> list[RolloutState]: ...
    async def abandon(self, found: Found, request: AbortRequest) -> None: ...


class DbosRollouts:
    """Rollouts as DBOS workflows (the id is the rollout id), read from the read model."""

    def __init__(self, index: RolloutIndex) -> None:
        self.index = index

    async def newest(self, *, active: bool) -> Found | None:
        found = await self.index.newest(active=active)
        if found is None:
            return None
        # A rollout listed as over is over, whichever version started it.
        stranded_by = self.index.stranded(found.rollout_id) if found.active else None
        return Found(found.rollout_id, found.state, found.version, stranded_by)

    async def count(self) -> int:
        return await self.index.highest_number()

    async def read(self, rollout_id: str) -> RolloutState | None:
        found = await self.index.get(rollout_id)
        return found.state if found else None

    async def send(self, rollout_id: str, request: Request, key: str) -> None:
        await messages.send(
            rollout_id,
            scrub(request.model_dump(mode="json")),
            EVENT_TOPIC,
            idempotency_key=f"{rollout_id}:{key}",
        )

    async def create(self, rollout_id: str, state: RolloutState) -> None:
        # The workflow first: a rollout listed as active with no workflow behind it (the
        # database failing between the two writes) would refuse every later start. Then
        # version 0, so it is listed and counted at once; the workflow's own first state
        # (version 1) may already be there, and then this write changes nothing.
        with SetWorkflowID(rollout_id):
            await DBOS.start_workflow_async(rollout_workflow, state.model_dump(mode="json"))
        await self.index.write(state, 0, active=True)

    async def poke(self, rollout_id: str, run_id: int, attempt: int, key: str) -> bool:
        return await checks.poke_follow(rollout_id, run_id, attempt, key)

    async def past(self, limit: int) -> list[RolloutState]:
        return [p.state for p in await self.index.past(limit)]

    async def abandon(self, found: Found, request: AbortRequest) -> None:
        """End a stranded rollout here, by a workflow of this version that cancels its own
        (another version's, which nothing here would run) and takes the abort as it would
        have (`abandoned_workflow`). Once per rollout, however many aborts."""
        assert found.state is not None
        with SetWorkflowID(abandoned_id(found.rollout_id)):
            await DBOS.start_workflow_async(
                abandoned_workflow,
                found.state.model_dump(mode="json"),
                request.model_dump(mode="json"),
                found.version,
            )


# DBOS workflow statuses of a workflow that has not ended.
RUNNING = ("PENDING", "ENQUEUED")


# Logged at start for a rollout whose workflow another version of the bot started.
STRANDED_MEANING = (
    "this rollout's workflow was started by another version of the bot's workflows, and "
    "DBOS resumes only the workflows of its own version: nothing moves this rollout on "
    "here, and presses and commands for it are refused, saying so. Run the image that "
    "started it to finish it (or `/creators-onboard abort` it there), then upgrade again "
    "(README, Upgrading); or end it here with `/creators-onboard abort <reason>` (its "
    "workflow is cancelled, nothing is rolled back)."
)


async def backfill(index: RolloutIndex, version: str) -> int:
    """Add the rollouts DBOS knows and the read model does not (a database from before the
    read model existed), and mark inactive those whose workflow ended without saying so.
    (A rollout listed as over stays so, though DBOS may still be recording its failure:
    workflow version 2's relisting of rollouts a stop had listed as over went with it, as
    version 3 resumes none of them and lists a rollout as over only when it has died.)
    A rollout still running under another workflow version than `version` (this
    process's) is logged as an error: DBOS will not resume it here. One listing of DBOS's
    workflows, at start, never on the ack path. Returns how many were added."""
    added = 0
    for wf in await DBOS.list_workflows_async(name=ROLLOUT_WORKFLOW):
        rollout_id = str(wf.workflow_id)
        held = await index.get(rollout_id)
        running = wf.status in RUNNING
        ours = wf.app_version in (None, version)
        if running and not ours:
            index.strand(rollout_id, str(wf.app_version))
            log.error(
                "rollout_stranded",
                rollout_id=rollout_id,
                started_by_version=wf.app_version,
                this_version=version,
                meaning=STRANDED_MEANING,
            )
        if held is not None and held.active and not running:
            # Its workflow ended without saying so (cancelled by an operator): not active.
            await index.write(held.state, held.version + 1, active=False)
        if not rollout_id.startswith("rollout-") or held is not None:
            continue
        raw = await DBOS.get_event_async(rollout_id, LEGACY_STATE_EVENT, timeout_seconds=0)
        if raw is None and wf.input is not None and wf.input.get("args"):
            raw = wf.input["args"][0]
        if raw is None:
            continue
        state = RolloutState.model_validate(raw)
        await index.write(state, 0, active=running and not state.finished)
        added += 1
    return added


class RolloutService:
    def __init__(self, config: FileConfig, store: Store, rollouts: Rollouts):
        self.config = config
        self.store = store
        self.rollouts = rollouts
        self.rules = Rules(runbook=load_runbook(), config=config)

    # ---------------------------------------------------------------- reading

    async def active(self) -> Found | None:
        """The rollout in progress. One that has published its end (complete or aborted)
        while its workflow is still returning counts as over."""
        found = await self.rollouts.newest(active=True)
        if found is None or (found.state is not None and found.state.finished):
            return None
        return found

    async def past(self, limit: int = 5) -> list[RolloutState]:
        return await self.rollouts.past(limit)

    async def audit(self, *, user: str, rollout: str | None) -> Answer:
        denied = audit_refusal(self.config, user)
        if denied:
            return await self.reject(user, "audit", denied)
        if rollout is None:
            found = await self.latest()
            rollout_id = found.rollout_id if found else None
        else:
            rollout_id = rollout if rollout.startswith("rollout-") else f"rollout-{rollout}"
        rows = await self.store.entries(rollout_id) if rollout_id else []
        if rollout_id is None or not rows:
            what = rollout_id or "any rollout"
            return Answer(False, f"There is no audit trail of {what} yet.", rollout_id)
        blocks = to_dicts(audit_blocks(rollout_id, rows[-AUDIT_SHOWN:], total=len(rows)))
        return Answer(True, f"Audit trail of {rollout_id}", rollout_id, blocks)

    async def latest(self) -> Found | None:
        """The active rollout, else the newest one ever (for the status board)."""
        found = await self.active()
        if found is not None:
            return found
        return await self.rollouts.newest(active=False)

    # ------------------------------------------------------------- submitting

    async def submit(self, request: Request, *, rollout_id: str | None, key: str) -> Answer:
        """Judge `request` against the active rollout and hand it over, or refuse it.

        `rollout_id` is the rollout a pressed button belongs to (None for a command).
        """
        answer = await self.judge(request, rollout_id=rollout_id)
        await self.deliver(answer, request, key=key)
        return answer

    async def judge(self, request: Request, *, rollout_id: str | None) -> Answer:
        """The answer to `request`, from the read model alone: no write, no outside call,
        so a handler can ack with it at once and `deliver` it afterwards."""
        found = await self.active()
        if found is None or (rollout_id is not None and rollout_id != found.rollout_id):
            why = role_refusal(None, request, self.rules) or (
                f"No rollout is active. Start one with `{COMMAND} start`."
                if rollout_id is None
                else "That button belongs to a rollout that is no longer active, so it does "
                f"nothing now. `{COMMAND} status` shows the latest rollout."
            )
            return Answer(False, why, None)
        if found.stranded_by is not None:
            return self._judge_stranded(found, request, found.stranded_by)
        refused = refusal(found.state, request, self.rules)
        if refused is not None:
            return Answer(False, refused, found.rollout_id)
        return Answer(
            True,
            f"On it: `{request.type}` sent to {found.rollout_id}. "
            "Results follow in the rollout's threads.",
            found.rollout_id,
        )

    def _judge_stranded(self, found: Found, request: Request, started_by: str) -> Answer:
        """A rollout another workflow version started: only `abort` does something here."""
        rid = found.rollout_id
        denied = role_refusal(found.state, request, self.rules)
        if denied is not None:
            return Answer(False, denied, rid)
        if not isinstance(request, AbortRequest):
            return Answer(False, stranded_text(rid, started_by), rid)
        refused = refusal(found.state, request, self.rules)  # the reason it needs
        if refused is not None:
            return Answer(False, refused, rid)
        return Answer(
            True,
            f"Ending {rid} here: its workflow is cancelled and it is listed as aborted. "
            "Nothing is rolled back: each partition stays as it was deployed (`"
            f"{COMMAND} status` showed where it stood). Start a new rollout with `{COMMAND} "
            "start` when you are ready.",
            rid,
        )

    async def abandon(self, rollout_id: str, request: AbortRequest) -> bool:
        """Abort a stranded rollout here, since its own workflow never will: the abort is
        taken as the rollout's workflow takes one (told to its threads, the engineering
        channel and Linear, audited, listed as over) by one of this version, and the
        stranded workflow cancelled. False when `rollout_id` is not the active rollout or
        not stranded: its workflow takes the abort."""
        found = await self.active()
        if found is None or found.rollout_id != rollout_id or found.stranded_by is None:
            return False
        if found.state is None:  # never so: a stranded rollout has published a state
            return False
        await self.rollouts.abandon(found, scrub(request))  # its reason is kept and told
        log.warning("rollout_abandoned", rollout_id=rollout_id, by=request.user)
        return True

    async def deliver(self, answer: Answer, request: Request, *, key: str) -> None:
        """What `judge` decided: hand an accepted request to its rollout (once per `key`),
        or record the refusal in the audit trail. A stranded rollout takes only an abort,
        done here (`abandon`)."""
        if answer.accepted and answer.rollout_id is not None:
            if isinstance(request, AbortRequest) and await self.abandon(answer.rollout_id, request):
                return
            await self.rollouts.send(answer.rollout_id, request, key)
        elif not answer.accepted:
            await self.reject(request.user, request.name, answer.text, rollout_id=answer.rollout_id)

    async def reject(
        self, user: str, action: str, why: str, *, rollout_id: str | None = None
    ) -> Answer:
        await self.store.record(
            actor=user, action=action, outcome="refused", rollout_id=rollout_id, detail=why
        )
        return Answer(False, why, rollout_id)

    async def run_changed(self, run_id: int, key: str) -> bool:
        """GitHub says a run changed: wake the active rollout's follow of it, once per
        `key` (the delivery). False when no rollout is following that run."""
        found = await self.active()
        if found is None or found.state is None:
            return False
        following = next((p for p in found.state.partitions if p.run_id == run_id), None)
        if following is None:
            return False
        return await self.rollouts.poke(found.rollout_id, run_id, following.attempts, key)

    # --------------------------------------------------------------- starting

    async def judge_start(self, start: StartRequest) -> Answer | None:
        """Why a start would be refused — from the configuration and the read model
        alone, so a handler can ack at once — or None when it may go ahead."""
        denied = require(self.config, start.user, "devOps", what=f"run `{start.action}`")
        if denied:
            return Answer(False, denied)
        owner, devops = self._people(start)
        if not owner:
            return Answer(
                False,
                "No account owner is configured. Add the Associates primary owner's Slack "
                "user ID to `slack.account_owners` in the YAML, then start again.",
            )
        if "accountOwner" not in roles_of(self.config, owner):
            return Answer(
                False,
                f"<@{owner}> is not listed as an account owner (`slack.account_owners`), so "
                "I can't guide them through registration. Pick a listed owner or ask an "
                "admin to add them.",
            )
        if devops not in self.config.slack.devops:
            return Answer(False, f"<@{devops}> is not listed as devOps (`slack.devops`).")
        found = await self.active()
        if found is not None and found.stranded_by is not None:
            return Answer(
                False,
                f"I did not start a rollout: {stranded_text(found.rollout_id, found.stranded_by)}",
                found.rollout_id,
            )
        if found is not None:
            where = status_summary(found.state, self.rules.runbook) if found.state else ""
            return Answer(
                False,
                f"A rollout is already under way ({found.rollout_id}), so I did not start "
                f"another. {where or 'It is starting up.'} Use `{COMMAND} status` for the "
                f"board, or `{COMMAND} abort <reason>` to stop it first.",
                found.rollout_id,
            )
        return None

    def _people(self, start: StartRequest) -> tuple[str, str]:
        owners = self.config.slack.account_owners
        return start.owner or (owners[0] if owners else ""), start.devops or start.user

    async def start(self, start: StartRequest) -> Answer:
        """Start a rollout (or a credential rotation told its reason) unless one is active,
        after checking who takes part."""
        user, kind, action = start.user, start.kind, start.action
        refused = await self.judge_start(start)
        if refused is not None:
            return await self.reject(user, action, refused.text, rollout_id=refused.rollout_id)
        owner, devops = self._people(start)
        # n is one more than the rollouts ever started, so two starts racing each other
        # compute the same id and DBOS runs a single workflow.
        rollout_id = f"rollout-{await self.rollouts.count() + 1}"
        runbook = self.rules.runbook
        state = RolloutState(
            rollout_id=rollout_id,
            kind=kind,
            owner=owner,
            devops=devops,
            started_by=user,
            started_at=now_iso(),
            step=runbook.start if kind == "onboarding" else runbook.rotation_start,
            reason=start.reason.strip()[:200] if kind == "rotation" else "",
        )
        await self.rollouts.create(rollout_id, state)
        await self.store.record(
            actor=user,
            action=action,
            outcome="done",
            rollout_id=rollout_id,
            detail={"owner": owner, "devops": devops},
        )
        what = "Credential rotation" if kind == "rotation" else "Rollout"
        return Answer(
            True,
            f":rocket: {what} {rollout_id} started. I've sent <@{owner}> their first step by "
            f"DM, and <@{devops}> a thread to follow. `{COMMAND} status` shows where it stands.",
            rollout_id,
        )
