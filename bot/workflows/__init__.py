"""DBOS durable workflows. Importing the modules registers the workflows with DBOS."""

from __future__ import annotations

# The rollout workflow's registered name (bot.workflows.rollout registers it).
ROLLOUT_WORKFLOW = "rollout"
# Ends a rollout another workflow version started (bot.workflows.rollout registers it).
ABANDONED_WORKFLOW = "rollout_abandoned"


def register_workflows() -> None:
    """Import every module that declares workflows (idempotent)."""
    import importlib

    for name in (
        "steps.slack",
        "steps.checks",
        "steps.linear",
        "steps.watch",
        "rollout",
        "ongoing",
        "watches",
    ):
        importlib.import_module(f"bot.workflows.{name}")
