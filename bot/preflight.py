"""`creators-onboard check`: reach every system, change nothing, print one row per check."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TextIO

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.integrations.slack import make_web_client
from bot.logging import REDACTOR
from bot.settings import Settings


@dataclass(frozen=True)
class Row:
    name: str
    ok: bool
    detail: str
    fix: str = ""


Check = Callable[[Settings, aiohttp.ClientSession], Awaitable[list[Row]]]


async def check_config(settings: Settings, _: aiohttp.ClientSession) -> list[Row]:
    cfg = settings.config
    where = str(settings.config_path) if settings.config_path else "built-in defaults (no YAML)"
    rows = [Row("config", True, f"valid ({where}); {len(cfg.partitions)} partitions")]
    if not cfg.slack.devops:
        rows.append(
            Row(
                "config: devOps",
                False,
                "no devOps users configured, so nobody can start a rollout",
                "list Slack user IDs under slack.devops in the YAML",
            )
        )
    if not cfg.slack.account_owners:
        rows.append(
            Row(
                "config: accountOwner",
                False,
                "no account owners configured",
                "list the Associates primary owner's Slack user ID under slack.account_owners",
            )
        )
    if not cfg.slack.engineering_channel:
        rows.append(
            Row(
                "config: engineering channel",
                False,
                "no engineering channel configured for the live status message",
                "set slack.engineering_channel to a channel ID (C…) and invite the bot there",
            )
        )
    return rows


async def check_slack(settings: Settings, _: aiohttp.ClientSession) -> list[Row]:
    env = settings.env
    client = make_web_client(env.slack_bot_token.get_secret_value(), env.slack_api_url)
    try:
        resp = await client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown_error")
        return [
            Row(
                "slack",
                False,
                f"auth.test failed: {error}",
                "check SLACK_BOT_TOKEN (OAuth & Permissions → Bot User OAuth Token) and that "
                "the app is installed in the workspace",
            )
        ]
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return [
            Row(
                "slack",
                False,
                f"cannot reach {env.slack_api_url}: {type(exc).__name__}",
                "check SLACK_API_URL and the network/proxy",
            )
        ]
    return [Row("slack", True, f"authorised as {resp.get('user')} in {resp.get('team')}")]


CHECKS: list[Check] = [check_config, check_slack]


def render(rows: list[Row]) -> str:
    width = max((len(r.name) for r in rows), default=10)
    lines = []
    for row in rows:
        mark = "GREEN" if row.ok else "RED  "
        lines.append(f"{mark}  {row.name.ljust(width)}  {row.detail}")
        if not row.ok and row.fix:
            lines.append(f"{'':5}  {'':{width}}  fix: {row.fix}")
    return REDACTOR.scrub("\n".join(lines))


async def collect(settings: Settings, checks: list[Check] | None = None) -> list[Row]:
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        results = await asyncio.gather(*(c(settings, session) for c in (checks or CHECKS)))
    return [row for rows in results for row in rows]


async def run_preflight(settings: Settings, *, out: TextIO) -> int:
    rows = await collect(settings)
    print(render(rows), file=out)
    red = sum(not r.ok for r in rows)
    print(f"\n{len(rows) - red} green, {red} red", file=out)
    return 1 if red else 0
