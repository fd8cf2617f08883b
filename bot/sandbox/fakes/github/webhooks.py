"""GitHub's ``workflow_run`` webhook deliveries, sent by the stand-in as GitHub sends them.

Signed (``X-Hub-Signature-256``, and the legacy SHA-1 header), each with its
``X-GitHub-Delivery`` GUID; a redelivery repeats the GUID and the body. A failed delivery is
recorded, never retried on its own (GitHub does not either).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.sandbox.fakes.github.runs import FakeRun


@dataclass
class Delivery:
    """One webhook delivery as sent, and the status each attempt got."""

    guid: str
    event: str
    action: str
    run_id: int
    body: bytes
    statuses: list[int] = field(default_factory=list)


class Webhooks:
    def __init__(self, repository: str) -> None:
        self.repository = repository
        self.deliveries: list[Delivery] = []
        self._hook: tuple[str, str] | None = None  # (url, secret)
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def send_to(self, url: str, secret: str) -> None:
        self._hook = (url, secret)

    def schedule(self, run: FakeRun, run_json: Callable[[FakeRun], dict[str, Any]]) -> None:
        """A clock-driven run's deliveries: `requested` at once, then as it starts and as it
        completes (a run moved by polls has no clock to send them by)."""
        if self._hook is None or run.durations is None:
            return
        timeline: list[tuple[float, str]] = [(0.0, "requested")]
        at = 0.0
        for state, seconds in zip(run.states, run.durations, strict=True):
            if state == "in_progress" and timeline[-1][1] == "requested":
                timeline.append((at, "in_progress"))
            if state.startswith("completed"):
                timeline.append((at, "completed"))
                break
            at += seconds
        task = asyncio.get_running_loop().create_task(self._send(run, timeline, run_json))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(
        self,
        run: FakeRun,
        timeline: list[tuple[float, str]],
        run_json: Callable[[FakeRun], dict[str, Any]],
    ) -> None:
        for at, action in timeline:
            await asyncio.sleep(max(0.0, run.started + at - time.monotonic()))
            payload = {
                "action": action,
                "workflow_run": run_json(run),
                "workflow": {"id": 161335, "name": "AMM", "path": ".github/workflows/amm.yml"},
                "repository": {"full_name": self.repository},
                "sender": {"login": "octocat", "type": "User"},
            }
            body = json.dumps(payload).encode()
            delivery = Delivery(str(uuid.uuid4()), "workflow_run", action, run.id, body)
            self.deliveries.append(delivery)
            await self.deliver(delivery)

    async def redeliver(self, guid: str) -> int:
        """Send a delivery again, as GitHub's "Redeliver" does: same GUID, same body."""
        return await self.deliver(next(d for d in self.deliveries if d.guid == guid))

    async def deliver(self, delivery: Delivery) -> int:
        assert self._hook is not None
        url, secret = self._hook
        key = secret.encode()
        sha256 = hmac.new(key, delivery.body, hashlib.sha256).hexdigest()
        sha1 = hmac.new(key, delivery.body, hashlib.sha1).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/7c1e4b2",
            "X-GitHub-Event": delivery.event,
            "X-GitHub-Delivery": delivery.guid,
            "X-GitHub-Hook-ID": "429061",
            "X-GitHub-Hook-Installation-Target-Type": "repository",
            "X-GitHub-Hook-Installation-Target-ID": "35129377",
            "X-Hub-Signature": f"sha1={sha1}",
            "X-Hub-Signature-256": f"sha256={sha256}",
        }
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(url, data=delivery.body, headers=headers) as resp:
                status = resp.status
        except aiohttp.ClientError:
            status = 0  # GitHub records a failed delivery; it does not retry on its own
        delivery.statuses.append(status)
        return status

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
