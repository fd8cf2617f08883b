"""Which listener a request goes to (a bounded label), for logs and metrics, and how long
its ack took."""

from __future__ import annotations

import time
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.commands import BY_NAME
from bot.logging import bind_request
from bot.metrics import Metrics
from bot.middleware import Middleware, Next

# Label values are only ever one of these (or "unknown"): whatever a client sends, the
# metrics keep a fixed size.
_EVENTS = frozenset({"app_home_opened", "message"})
_KINDS = frozenset({"block_actions", "event_callback", "url_verification", "ssl_check"})


def known_action_ids() -> frozenset[str]:
    from bot.blocks.ids import DEPLOY_ACTIONS, PING_DEVOPS, STUCK, runbook_action_id
    from bot.runbook import load_runbook

    runbook = load_runbook()
    ids = {runbook_action_id(a.id) for step in runbook.steps for a in step.actions}
    return frozenset({*ids, *DEPLOY_ACTIONS, STUCK, PING_DEVOPS})


def listener_key(body: dict[str, Any], actions: frozenset[str] = frozenset()) -> str:
    """A short label for the listener a request goes to, for metrics and logs. Bounded:
    anything not ours is "unknown"."""
    if "command" in body:
        sub = str(body.get("text", "")).strip().split(" ", 1)[0].lower() or "help"
        return f"command:{sub if sub in BY_NAME else 'unknown'}"
    kind = body.get("type")
    if kind == "block_actions":
        first = (body.get("actions") or [{}])[0]
        action_id = str(first.get("action_id", ""))
        return f"action:{action_id if action_id in actions else 'unknown'}"
    if kind == "event_callback":
        event = str((body.get("event") or {}).get("type", ""))
        return f"event:{event if event in _EVENTS else 'unknown'}"
    return str(kind) if kind in _KINDS else "other"


class Observe(Middleware):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.actions = known_action_ids()
        # Each labelled child, looked up once (prometheus_client takes a lock per lookup):
        # the labels are bounded (`listener_key`), so are these.
        self._counted: dict[tuple[str, str], Any] = {}
        self._timed: dict[str, Any] = {}

    async def around(self, req: AsyncBoltRequest, next: Next) -> BoltResponse | None:
        body = req.body
        key = listener_key(body, self.actions)
        user = (
            body.get("user_id")
            or (body.get("user") or {}).get("id")
            or (body.get("event") or {}).get("user")
        )
        bind_request(listener=key, user=user)
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await next()
        except BaseException:
            outcome = "error"
            raise
        finally:
            took = time.perf_counter() - started
            counted = self._counted.get((key, outcome))
            if counted is None:
                counted = self._counted[key, outcome] = self.metrics.requests.labels(key, outcome)
            timed = self._timed.get(key)
            if timed is None:
                timed = self._timed[key] = self.metrics.ack_seconds.labels(key)
            counted.inc()
            timed.observe(took)
