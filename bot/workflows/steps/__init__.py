"""Every durable step and child workflow: the only code of the workflows that reaches
other systems (Slack, the audit table, 1Password, GitHub, Amplify, the BFFs, Linear).

Each `@DBOS.step` is one outside call whose result is recorded, so a replay after a
crash skips it. Steps that find something out return the rollout event that says so,
typed; the rollout's machine takes it from there. DBOS workflows are module-level
functions recovered by name, so they reach the process's dependencies through
`runtime.current()` — in this package and nowhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dbos import DBOS

from bot.rollout.state import RolloutState
from bot.settings import FileConfig
from bot.workflows.runtime import current

# The rollout workflow's inbox: people's requests and the bot's asynchronous results.
EVENT_TOPIC = "events"


def config() -> FileConfig:
    """The YAML settings, for the workflows (read-only)."""
    return current().settings.config


def now() -> str:
    """The time, to the second (inside a step, where it is recorded with the step)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@DBOS.step()
async def now_step() -> str:
    return now()


async def publish_state(state: RolloutState, version: int, *, active: bool) -> None:
    """The rollout's state into the read model the handlers answer from (`bot.readmodel`).

    Deliberately not a step: the write is idempotent (a version already stored changes
    nothing), so it needs no record, and a replay that republishes old versions is safe.
    """
    await current().index.write(state, version, active=active)
