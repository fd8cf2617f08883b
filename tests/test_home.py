"""App Home republishing (bot/home.py), as a pure unit: coalescing never loses the last change.

The service and the notifier are stand-ins for our own ports here; the scenario suites drive
the same HomeViews through the real Bolt app and the Slack stand-in.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.config import FileConfig
from bot.home import HomeViews
from bot.rollout.port import Found
from bot.rollout.state import RolloutState
from tests.test_rollout_machine import DEVOPS, state_at


def _state(step: str) -> RolloutState:
    return state_at(step, verification_ok=True)


class _Service:
    def __init__(self) -> None:
        self.state = _state("deploy_gate")

    async def latest(self) -> Found:
        return Found(rollout_id="rollout-1", state=self.state)

    async def past(self, limit: int = 5) -> list[RolloutState]:
        return []


class _Notifier:
    """Records each published view; the first republish can be held mid-publish."""

    def __init__(self) -> None:
        self.views: list[str] = []
        self.hold: asyncio.Event | None = None
        self.publishing = asyncio.Event()

    async def publish_home(self, user: str, blocks: Any) -> None:
        self.publishing.set()
        if self.hold is not None:
            await self.hold.wait()
        self.views.append(json.dumps(blocks))


async def test_a_change_during_a_republish_is_drawn_by_another_round() -> None:
    service, notifier = _Service(), _Notifier()
    home = HomeViews(service, notifier, FileConfig(), coalesce=0.01)  # type: ignore[arg-type]
    await home.opened(DEVOPS)
    notifier.hold = asyncio.Event()
    notifier.publishing.clear()

    service.state = _state("verify")
    home.changed()
    await asyncio.wait_for(notifier.publishing.wait(), 5)  # the republish read "deploying"
    service.state = _state("populate")  # ...and it moves on meanwhile
    home.changed()
    notifier.hold.set()

    for _ in range(500):
        if len(notifier.views) >= 3:
            break
        await asyncio.sleep(0.01)
    await home.close()
    assert len(notifier.views) == 3, "the change made during the publish was lost"
    assert notifier.views[-1] != notifier.views[-2]


async def test_a_burst_of_changes_is_one_publish_and_an_unchanged_view_is_not_sent() -> None:
    service, notifier = _Service(), _Notifier()
    home = HomeViews(service, notifier, FileConfig(), coalesce=0.05)  # type: ignore[arg-type]
    await home.opened(DEVOPS)
    service.state = _state("verify")
    for _ in range(10):
        home.changed()
    await asyncio.sleep(0.3)
    home.changed()  # nothing new to see
    await asyncio.sleep(0.3)
    await home.close()
    assert len(notifier.views) == 2


async def test_nobody_looking_means_nothing_published() -> None:
    service, notifier = _Service(), _Notifier()
    home = HomeViews(service, notifier, FileConfig(), coalesce=0.01)  # type: ignore[arg-type]
    home.changed()
    await asyncio.sleep(0.1)
    await home.close()
    assert notifier.views == []
