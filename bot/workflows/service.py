"""What handlers may ask of the workflow layer: find, start, message and read rollouts.

Each call is one or two database round trips (DBOS's tables), never an outside system,
so handlers can await it before they ack.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dbos import DBOS, SetWorkflowID

from bot.runbook import load_runbook
from bot.workflows.deploy import refusal
from bot.workflows.onboarding import ROLLOUT_WORKFLOW, rollout_workflow
from bot.workflows.state import EVENT_TOPIC, STATE_EVENT, Event, RolloutKind, RolloutState

ACTIVE = ["PENDING", "ENQUEUED"]


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


async def _rollouts(status: list[str] | None = None) -> list[Any]:
    found = await DBOS.list_workflows_async(name=ROLLOUT_WORKFLOW, status=status)
    return [w for w in found if str(w.workflow_id).startswith("rollout-")]


async def active_rollout() -> tuple[str, RolloutState | None] | None:
    """The rollout in progress and its published state (None while it starts up).

    One that has published its end (complete or aborted) but whose workflow is still
    returning counts as over."""
    active = await _rollouts(ACTIVE)
    if not active:
        return None
    newest = str(sorted(active, key=lambda w: w.created_at or 0)[-1].workflow_id)
    state = await read_state(newest)
    if state is not None and state.status in ("complete", "aborted"):
        return None
    return newest, state


async def active_rollout_id() -> str | None:
    found = await active_rollout()
    return found[0] if found else None


async def latest_rollout_id() -> str | None:
    every = await _rollouts()
    if not every:
        return None
    return str(sorted(every, key=lambda w: w.created_at or 0)[-1].workflow_id)


async def read_state(rollout_id: str) -> RolloutState | None:
    raw = await DBOS.get_event_async(rollout_id, STATE_EVENT, timeout_seconds=0)
    return RolloutState.model_validate(raw) if raw else None


async def start_rollout(
    *, owner: str, devops: str, started_by: str, kind: RolloutKind
) -> tuple[str, bool]:
    """Start a rollout unless one is active. Returns (rollout id, whether it was created).

    The id is `rollout-<n>` with n one more than the rollouts ever started, so two starts
    racing each other compute the same id and DBOS runs a single workflow.
    """
    existing = await active_rollout_id()
    if existing:
        return existing, False
    rollout_id = f"rollout-{len(await _rollouts()) + 1}"
    runbook = load_runbook()
    spec = RolloutState(
        rollout_id=rollout_id,
        kind=kind,
        owner=owner,
        devops=devops,
        started_by=started_by,
        started_at=now_iso(),
        step=runbook.start if kind == "onboarding" else runbook.rotation_start,
    ).model_dump(mode="json")
    with SetWorkflowID(rollout_id):
        await DBOS.start_workflow_async(rollout_workflow, spec)
    return rollout_id, True


def deploy_refusal(state: RolloutState | None, name: str, partition: str | None) -> str | None:
    """Why a deploy/retry/smoke can not start now, judged from the published state.

    Checked before the event is handed over, so a person is told at once (e.g. while
    another partition is deploying, when the rollout is busy and would only see the event
    after the run concludes). The workflow checks again when the event arrives.
    """
    if name not in ("deploy", "retry", "smoke") or state is None:
        return None
    return refusal(state, load_runbook(), name, partition)


async def send(rollout_id: str, event: Event, *, idempotency_key: str) -> None:
    """Hand an event to the rollout. The same key twice (a Slack retry) is delivered once."""
    await DBOS.send_async(
        rollout_id,
        event.model_dump(mode="json"),
        EVENT_TOPIC,
        idempotency_key=f"{rollout_id}:{idempotency_key}",
    )
