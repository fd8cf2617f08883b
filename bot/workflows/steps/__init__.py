"""Every durable step and child workflow: the only code of the workflows that reaches
other systems (Slack, the audit table, 1Password, GitHub, Amplify, the BFFs, Linear).

Each `@step` is one outside call whose result is recorded, so a replay after a crash
skips it; what DBOS records of it (its result, or its exception) is scrubbed of every
configured secret first. Steps that find something out return the rollout event that says so,
typed; the rollout's machine takes it from there. DBOS workflows are module-level
functions recovered by name, so they reach the process's dependencies through
`runtime.current()` — in this package and nowhere else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from dbos import DBOS

from bot.config import FileConfig
from bot.outbound import scrubbed
from bot.rollout.state import RolloutState
from bot.store import outlast
from bot.workflows.runtime import current, stopping

P = ParamSpec("P")
T = TypeVar("T")


def step(**options: Any) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """A durable step (`DBOS.step(**options)`) whose recorded result or exception is
    scrubbed. Every step of the bot is declared with it, never with `DBOS.step` alone."""

    def declare(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        declared: Callable[P, Awaitable[T]] = DBOS.step(**options)(scrubbed(fn))
        return declared

    return declare


# The rollout workflow's inbox: people's requests and the bot's asynchronous results.
EVENT_TOPIC = "events"


async def wait_for_database(call: Callable[[], Awaitable[T]], what: str) -> T:
    """A workflow's own database write, tried again while the database is away
    (`bot.store.outlast`), and not once the process is stopping (it resumes after)."""
    return await outlast(call, what, give_up=stopping)


def config() -> FileConfig:
    """The YAML settings, for the workflows (read-only)."""
    return current().settings.config


@step()
async def settings_step() -> dict[str, Any]:
    """The YAML as it is now, recorded with the step: a rollout DBOS replays after a restart
    decides each event as it did the first time, whatever the YAML has said since (a
    decision taken differently would call another step than the one recorded, and DBOS
    stops the workflow for good); each new event reads the YAML afresh."""
    return config().model_dump(mode="json")


def now() -> str:
    """The time, to the second (inside a step, where it is recorded with the step)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@step()
async def now_step() -> str:
    return now()


async def publish_state(state: RolloutState, version: int, *, active: bool) -> None:
    """The rollout's state into the read model the handlers answer from (`bot.readmodel`).

    Deliberately not a step: the write is idempotent (a version already stored changes
    nothing), so it needs no record, and a replay that republishes old versions is safe.
    A database outage is waited out: a failure here would end the whole rollout.
    """
    index = current().index
    await wait_for_database(lambda: index.write(state, version, active=active), "publish_state")


async def delist_state(rollout_id: str) -> RolloutState | None:
    """The rollout listed as over past whatever version the read model holds (its workflow
    died: `RolloutIndex.delist`), and the newest state it holds (a workflow dying in its
    replay has not caught up with it). Not a step, as `publish_state`: it runs once the
    workflow has failed, and a second run changes nothing."""
    index = current().index
    await wait_for_database(lambda: index.delist(rollout_id), "delist_state")
    found = await index.get(rollout_id)
    return found.state if found is not None else None
