"""Faults now and then, on every fake at once, from a fixed seed.

`Chaos(world).run()` arms one fault every `every` seconds on a system picked at random.
Now and then, not an outage: a kind of fault is armed again only once the previous one
was served and `cooldown` seconds have passed (longer than any client's retry window,
so one call never meets the same fault on every try): Slack answers 429 with Retry-After or 500 to chat.postMessage, chat.update,
views.publish and conversations.open; GitHub answers 502 to a dispatch (before or after
carrying it out) and to run reads; Linear answers 500 or loses its answer. `counts` says
how many of each were served.
"""

from __future__ import annotations

import asyncio
import collections
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.sandbox.fakes.github import FakeGitHub
from bot.sandbox.fakes.slack import FakeSlack
from tests.scenario import World

SLACK_METHODS = ("chat.postMessage", "chat.update", "views.publish", "conversations.open")
DISPATCH = r"/dispatches$"
RUN_READ = r"/actions/runs/\d+$"
RUN_LIST = r"/workflows/[^/]+/runs$"


@dataclass
class Chaos:
    world: World
    every: float = 0.5
    cooldown: float = 10.0
    seed: int = 20_241_122
    armed: collections.Counter[str] = field(default_factory=collections.Counter)

    def faults(self) -> list[tuple[str, Callable[[], bool]]]:
        """(name, arm) pairs; arm() arms the fault unless one of its kind is pending."""
        slack, github, linear = self.world.slack, self.world.github, self.world.linear
        out: list[tuple[str, Callable[[], bool]]] = []
        for method in SLACK_METHODS:
            out.append((f"slack 429 {method}", _slack(slack, method, "ratelimited", 429)))
            out.append((f"slack 500 {method}", _slack(slack, method, "internal_error", 500)))
        for pattern, after in ((DISPATCH, False), (DISPATCH, True), (RUN_READ, False)):
            name = f"github 502 {pattern}{' after' if after else ''}"
            out.append((name, _github(github, pattern, after)))
        out.append(("github 502 run list", _github(github, RUN_LIST, False)))

        def linear_fail() -> bool:
            if linear.pending_faults():
                return False
            linear.fail_next(1, status=500)
            return True

        def linear_drop() -> bool:
            if linear.pending_faults():
                return False
            linear.drop_response_next(1)
            return True

        out += [("linear 500", linear_fail), ("linear lost answer", linear_drop)]
        return out

    async def run(self) -> None:
        rng = random.Random(self.seed)  # noqa: S311 - reproducible faults, not secrets
        faults = self.faults()
        last: dict[str, float] = {}
        loop = asyncio.get_running_loop()
        while True:
            name, arm = rng.choice(faults)
            if loop.time() - last.get(name, float("-inf")) >= self.cooldown and arm():
                self.armed[name] += 1
                last[name] = loop.time()
            await asyncio.sleep(self.every)


def _slack(slack: FakeSlack, method: str, error: str, status: int) -> Callable[[], bool]:
    def arm() -> bool:
        if slack.pending_faults(method):
            return False
        slack.fail_next(method, error, status=status, retry_after=1)
        return True

    return arm


def _github(github: FakeGitHub, pattern: str, after: bool) -> Callable[[], bool]:
    def arm() -> bool:
        if github.pending_faults(pattern):
            return False
        github.fail_next(pattern, status=502, after=after)
        return True

    return arm
