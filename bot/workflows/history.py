"""Rollouts that are over, as their workflows ended them (for App Home's past rollouts).

A rollout's workflow returns its final state; DBOS keeps it as the workflow's output.
"""

from __future__ import annotations

from dbos import DBOS

from bot.rollout.state import RolloutState

# The rollout workflow's registered name (bot.workflows.rollout registers it).
ROLLOUT_WORKFLOW = "rollout"


async def finished_rollouts(limit: int) -> list[RolloutState]:
    """The newest rollouts that are over (complete or aborted), newest first."""
    found = await DBOS.list_workflows_async(
        name=ROLLOUT_WORKFLOW, status="SUCCESS", sort_desc=True, limit=limit, load_input=False
    )
    return [
        RolloutState.model_validate(w.output)
        for w in found
        if str(w.workflow_id).startswith("rollout-") and isinstance(w.output, dict)
    ]
