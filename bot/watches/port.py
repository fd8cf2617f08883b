"""The port between the handlers and ongoing operations: what a handler may ask of the
watches and the leak guard. `bot.workflows.watch_service.WatchService` implements it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.rollout.port import Answer
from bot.watches.model import WatchStatus


@dataclass(frozen=True)
class Message:
    """A person's Slack message, as the leak guard needs it. The text is judged and
    dropped: it is never stored, logged or sent anywhere."""

    user: str
    channel: str
    channel_type: str
    ts: str
    thread_ts: str | None
    text: str

    def __repr__(self) -> str:
        return f"Message(user={self.user!r}, channel={self.channel!r}, ts={self.ts!r})"


class WatchPort(Protocol):
    async def board(self) -> list[WatchStatus]:
        """Every watch: its schedule, next run and last result."""
        ...

    async def run_now(self, name: str, *, user: str, key: str) -> Answer:
        """`/creators-onboard watch <name>` (devOps)."""
        ...

    async def answer_checkin(
        self, *, user: str, checkin: str, answer: str, channel: str, ts: str
    ) -> Answer:
        """A press of one of the eligibility check-in's two buttons (accountOwner)."""
        ...

    async def guard(self, message: Message) -> bool:
        """Warn about a message that holds the credential; True when it did."""
        ...
