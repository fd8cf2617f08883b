"""A command or a button press that fails is answered in words, never left to Slack's bare
"dispatch_failed": Bolt's error handler for listeners and middleware (`bot.failures` says
what to tell; this module only says it the way Slack expects for each kind of request).

* A slash command: the answer is the ack itself, an ephemeral message (HTTP 200).
* A press: the ack is empty, the answer goes to its response_url after the ack.
* Anything else (events): Bolt's own 500, so that Slack delivers the event again.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.afterack import lazy_runner, tell_in_words
from bot.failures import report

ErrorHandler = Callable[..., Awaitable[BoltResponse | None]]


def answer_failures(app: AsyncApp) -> ErrorHandler:
    """The error handler to register with `app.error`."""

    async def on_error(error: Exception, body: dict[str, Any], respond: Any) -> BoltResponse | None:
        text = report(error)
        if body.get("command"):
            answer = json.dumps({"response_type": "ephemeral", "text": text})
            return BoltResponse(
                status=200,
                body=answer,
                headers={"content-type": "application/json;charset=utf-8"},
            )
        if body.get("type") == "block_actions" and respond is not None:
            lazy_runner(app).spawn(tell_in_words(respond, text))
            return BoltResponse(status=200, body="")
        return None

    return on_error
