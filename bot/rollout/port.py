"""The port between the handlers and the rollouts: what a handler may ask, what it gets.

`bot.workflows.service.RolloutService` implements it with DBOS; handler unit tests use a
fake. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.rollout.events import Request
from bot.rollout.state import RolloutKind, RolloutState


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Answer:
    """What to tell the person who asked; `accepted` False means nothing was changed."""

    accepted: bool
    text: str = ""
    rollout_id: str | None = None
    # Block Kit (JSON-ready) to show with the text, when there is more than a line to say.
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class StartRequest:
    """Who asks to start what: a rollout (`owner` and `devops` default to the first listed
    account owner and the person asking), or a credential rotation told `reason`."""

    user: str
    kind: RolloutKind = "onboarding"
    owner: str | None = None
    devops: str | None = None
    reason: str = ""

    @property
    def action(self) -> str:
        """The subcommand it comes from, for the audit trail."""
        return "rotate" if self.kind == "rotation" else "start"


@dataclass(frozen=True)
class Found:
    rollout_id: str
    state: RolloutState | None  # None while the rollout is still starting
    version: int = 0  # of the published state: equal versions mean equal states
    # The workflow version that started it, when this process cannot run it (stranded).
    stranded_by: str | None = None


class Service(Protocol):
    async def judge(self, request: Request, *, rollout_id: str | None) -> Answer:
        """The answer to a person's request, from the read model alone (no write)."""
        ...

    async def deliver(self, answer: Answer, request: Request, *, key: str) -> None:
        """Do what `judge` answered: hand the request over once per `key`, or audit the
        refusal."""
        ...

    async def submit(self, request: Request, *, rollout_id: str | None, key: str) -> Answer:
        """Judge a person's request against the active rollout, hand it over or refuse it.
        `rollout_id`: the rollout a pressed button belongs to (None for a command)."""
        ...

    async def judge_start(self, start: StartRequest) -> Answer | None:
        """Why a start would be refused (read model only, no write), or None."""
        ...

    async def start(self, start: StartRequest) -> Answer:
        """Start a rollout (or a credential rotation), unless it is refused."""
        ...

    async def reject(
        self, user: str, action: str, why: str, *, rollout_id: str | None = None
    ) -> Answer:
        """Refuse something that could not even be read as a request (audited)."""
        ...

    async def latest(self) -> Found | None:
        """The active rollout, else the newest one ever."""
        ...

    async def past(self, limit: int = 5) -> list[RolloutState]:
        """The newest rollouts that are over, newest first."""
        ...

    async def audit(self, *, user: str, rollout: str | None) -> Answer:
        """A rollout's latest transitions and refusals, for devOps (`rollout`: its id or
        number; the latest rollout when None)."""
        ...


class Directory(Protocol):
    async def resolve(self, name: str) -> str | None:
        """The member ID of the person called `name` (typed after @), or None."""
        ...
