"""App Home, drawn from the read model in the process a person opens it in.

Slack sends `app_home_opened` each time someone opens the bot's Home tab; the view is
published then, from the read model (with the watches' last results and the rollouts that
are over). For a while afterwards (`LEASE_SECONDS`) that person
may still be looking, so when a rollout's state changes their view is published again —
once per burst of changes (`COALESCE_SECONDS` after the first), and only if what they
would see changed. Nobody else's: a Home tab nobody opened is not republished for every
state change, and shows the current state the moment it is opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from typing import Any

from bot.blocks.home import home_blocks
from bot.blocks.steps import to_dicts
from bot.config import FileConfig
from bot.integrations.slack import SlackCallError, SlackNotifier
from bot.logging import get_logger
from bot.rollout.port import Service
from bot.runbook import load_runbook
from bot.watches.port import WatchPort

log = get_logger(__name__)

LEASE_SECONDS = 15 * 60.0
COALESCE_SECONDS = 1.0


class HomeViews:
    def __init__(
        self,
        service: Service,
        notifier: SlackNotifier,
        config: FileConfig,
        watches: WatchPort | None = None,
        *,
        lease: float = LEASE_SECONDS,
        coalesce: float = COALESCE_SECONDS,
    ) -> None:
        self._service = service
        self._watches = watches
        self._notifier = notifier
        self._config = config
        self._lease = lease
        self._coalesce = coalesce
        self._looking: dict[str, float] = {}  # user -> until (monotonic)
        self._shown: dict[str, str] = {}  # user -> digest of the view last published
        self._pending: asyncio.Task[None] | None = None
        self._dirty = False  # a change not yet drawn by a republish

    async def opened(self, user: str) -> None:
        """The person opened the Home tab: show them where things stand, now."""
        self._looking[user] = time.monotonic() + self._lease
        await self._publish(user, always=True)

    def changed(self) -> None:
        """A rollout's state changed (the read model's notice): republish, coalesced.

        A change that arrives while a republish is already reading or publishing is not
        lost: the republish goes round again, so the last change is always drawn.
        """
        if not self._looking:
            return
        self._dirty = True
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._republish())

    async def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pending

    async def _republish(self) -> None:
        while self._dirty:
            await asyncio.sleep(self._coalesce)
            self._dirty = False  # changes from here on need another round
            now = time.monotonic()
            for user, until in list(self._looking.items()):
                if until < now:
                    del self._looking[user]
                else:
                    await self._publish(user, always=False)

    async def _publish(self, user: str, *, always: bool) -> None:
        found = await self._service.latest()
        board = await self._watches.board() if self._watches is not None else []
        view = to_dicts(
            home_blocks(
                found.state if found else None,
                load_runbook(),
                viewer=user,
                config=self._config,
                watches=board,
                past=await self._service.past(),
                stranded_by=found.stranded_by if found else None,
            )
        )
        digest = _digest(view)
        if not always and self._shown.get(user) == digest:
            return
        try:
            await self._notifier.publish_home(user, view)
        except SlackCallError:
            log.exception("home_publish_failed", user=user)
            return
        self._shown[user] = digest


def _digest(view: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()
