"""Slack's notice that it is dropping this app's events (`app_rate_limited`).

Slack sends it, signed, to the Request URL when a workspace would send the app more than
30,000 events in an hour (the bot subscribes to every message in the channels it is in).
No listener takes it, so Bolt would answer 404; an app that fails 5% of its deliveries
for an hour may have its event subscriptions disabled. Answered 200, and logged as a
warning that says what is lost and what to do.
"""

from __future__ import annotations

from datetime import UTC, datetime

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.logging import get_logger
from bot.middleware import Middleware, Next

log = get_logger(__name__)

NOTICE = "app_rate_limited"
MEANING = (
    "Slack is dropping this app's events from the workspace (more than 30,000 in an "
    "hour): DMs to the bot and channel messages it should see are not delivered until "
    "the hour's count falls. Remove the bot from busy channels it does not need (it needs "
    "only the engineering channel), then check that people's DMs are answered again."
)


def _minute(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**33:
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return None


class RateLimitedNotice(Middleware):
    async def around(self, req: AsyncBoltRequest, next: Next) -> BoltResponse | None:
        body = req.body
        if body.get("type") != NOTICE:
            return await next()
        log.warning(
            "slack_events_rate_limited",
            team_id=str(body.get("team_id") or "")[:32],
            since=_minute(body.get("minute_rate_limited")),
            meaning=MEANING,
        )
        return BoltResponse(status=200, body="")
