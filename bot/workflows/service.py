"""The one seam between the handlers and the rollouts: start, submit, read.

`submit(request)` judges a person's request against the active rollout's *current*
state with the same rules the workflow applies, so a refusal is answered at once,
audited once and never reaches the workflow; an accepted request is handed to the
workflow with an idempotency key (a Slack retry of the same press is delivered once).
Everything here is a database round trip or two, never an outside system, so handlers
can await it before they ack.
"""

from __future__ import annotations

from typing import Any, Protocol

from dbos import DBOS, SetWorkflowID

from bot.blocks.audit import audit_blocks
from bot.blocks.status import status_summary
from bot.blocks.steps import to_dicts
from bot.commands import COMMAND
from bot.outbound import scrub
from bot.rollout.events import Request
from bot.rollout.port import Answer, Found, now_iso
from bot.rollout.roles import require, roles_of
from bot.rollout.rules import Rules, refusal, role_refusal
from bot.rollout.state import RolloutKind, RolloutState
from bot.runbook import load_runbook
from bot.settings import FileConfig
from bot.store import Store
from bot.workflows.history import ROLLOUT_WORKFLOW, finished_rollouts
from bot.workflows.rollout import STATE_EVENT, rollout_workflow
from bot.workflows.steps import EVENT_TOPIC

ACTIVE = ["PENDING", "ENQUEUED"]
# How many audit rows `/creators-onboard audit` shows (the CLI exports them all).
AUDIT_SHOWN = 25


class Rollouts(Protocol):
    """Where rollouts live (DBOS in the bot; a dict in unit tests)."""

    async def newest(self, *, active: bool) -> str | None: ...
    async def count(self) -> int: ...
    async def read(self, rollout_id: str) -> RolloutState | None: ...
    async def send(self, rollout_id: str, request: Request, key: str) -> None: ...
    async def create(self, rollout_id: str, state: RolloutState) -> None: ...


class DbosRollouts:
    """Rollouts as DBOS workflows: the id is the rollout id, the state a published event."""

    async def _list(self, status: list[str] | None) -> list[Any]:
        found = await DBOS.list_workflows_async(name=ROLLOUT_WORKFLOW, status=status)
        return [w for w in found if str(w.workflow_id).startswith("rollout-")]

    async def newest(self, *, active: bool) -> str | None:
        found = await self._list(ACTIVE if active else None)
        if not found:
            return None
        return str(sorted(found, key=lambda w: w.created_at or 0)[-1].workflow_id)

    async def count(self) -> int:
        return len(await self._list(None))

    async def read(self, rollout_id: str) -> RolloutState | None:
        raw = await DBOS.get_event_async(rollout_id, STATE_EVENT, timeout_seconds=0)
        return RolloutState.model_validate(raw) if raw else None

    async def send(self, rollout_id: str, request: Request, key: str) -> None:
        await DBOS.send_async(
            rollout_id,
            scrub(request.model_dump(mode="json")),
            EVENT_TOPIC,
            idempotency_key=f"{rollout_id}:{key}",
        )

    async def create(self, rollout_id: str, state: RolloutState) -> None:
        with SetWorkflowID(rollout_id):
            await DBOS.start_workflow_async(rollout_workflow, state.model_dump(mode="json"))


class RolloutService:
    def __init__(self, config: FileConfig, store: Store, rollouts: Rollouts | None = None):
        self.config = config
        self.store = store
        self.rollouts: Rollouts = rollouts or DbosRollouts()
        self.rules = Rules(runbook=load_runbook(), config=config)

    # ---------------------------------------------------------------- reading

    async def active(self) -> Found | None:
        """The rollout in progress. One that has published its end (complete or aborted)
        while its workflow is still returning counts as over."""
        rollout_id = await self.rollouts.newest(active=True)
        if rollout_id is None:
            return None
        state = await self.rollouts.read(rollout_id)
        if state is not None and state.finished:
            return None
        return Found(rollout_id, state)

    async def past(self, limit: int = 5) -> list[RolloutState]:
        return await finished_rollouts(limit)

    async def audit(self, *, user: str, rollout: str | None) -> Answer:
        denied = require(self.config, user, "devOps", what="read the audit trail")
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
        rollout_id = await self.rollouts.newest(active=False)
        if rollout_id is None:
            return None
        return Found(rollout_id, await self.rollouts.read(rollout_id))

    # ------------------------------------------------------------- submitting

    async def submit(self, request: Request, *, rollout_id: str | None, key: str) -> Answer:
        """Judge `request` against the active rollout and hand it over, or refuse it.

        `rollout_id` is the rollout a pressed button belongs to (None for a command).
        """
        found = await self.active()
        if found is None or (rollout_id is not None and rollout_id != found.rollout_id):
            why = role_refusal(None, request, self.rules) or (
                f"No rollout is active. Start one with `{COMMAND} start`."
                if rollout_id is None
                else "That button belongs to a rollout that is no longer active, so it does "
                f"nothing now. `{COMMAND} status` shows the latest rollout."
            )
            return await self._refuse(request, None, why)
        refused = refusal(found.state, request, self.rules)
        if refused is not None:
            return await self._refuse(request, found.rollout_id, refused)
        await self.rollouts.send(found.rollout_id, request, key)
        return Answer(
            True,
            f"On it: `{request.type}` sent to {found.rollout_id}. "
            "Results follow in the rollout's threads.",
            found.rollout_id,
        )

    async def _refuse(self, request: Request, rollout_id: str | None, why: str) -> Answer:
        return await self.reject(request.user, request.name, why, rollout_id=rollout_id)

    async def reject(
        self, user: str, action: str, why: str, *, rollout_id: str | None = None
    ) -> Answer:
        await self.store.record(
            actor=user, action=action, outcome="refused", rollout_id=rollout_id, detail=why
        )
        return Answer(False, why, rollout_id)

    # --------------------------------------------------------------- starting

    async def start(
        self,
        *,
        user: str,
        owner: str | None,
        devops: str | None,
        kind: RolloutKind,
        reason: str = "",
    ) -> Answer:
        """Start a rollout unless one is active, after checking who takes part."""
        action = "rotate" if kind == "rotation" else "start"
        denied = require(self.config, user, "devOps", what=f"run `{action}`")
        if denied:
            return await self.reject(user, action, denied)
        owners = self.config.slack.account_owners
        owner = owner or (owners[0] if owners else "")
        devops = devops or user
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
        if found is not None:
            where = status_summary(found.state, self.rules.runbook) if found.state else ""
            return Answer(
                False,
                f"A rollout is already under way ({found.rollout_id}), so I did not start "
                f"another. {where or 'It is starting up.'} Use `{COMMAND} status` for the "
                f"board, or `{COMMAND} abort <reason>` to stop it first.",
                found.rollout_id,
            )
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
            reason=reason.strip()[:200] if kind == "rotation" else "",
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
