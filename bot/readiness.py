"""Will a rollout fail for a configuration reason? The checks asked at three moments.

`creators-onboard check` prints them all (with the other preflight rows); `serve` refuses
to start when one that no person can fix from Slack is red (`serve_refusals`); and before
the bot dispatches a partition it asks the ones about that partition again
(`deploy_blockers`), so a configuration that would fail never reaches a dispatch.

Rows: the database (reachable, writable, its schema), the engineering channel (an ID, and
the bot a member of it: `conversations.info`), each partition's BFF token (present, and
accepted by one request that changes nothing where the BFF answers it), and the AWS
credentials and region of each configured Amplify app (a partition without one is a
warning, not a failure). Every row only reads.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import make_url

from bot.config import Partition
from bot.inbound import MAX_AGE_SECONDS
from bot.integrations.amplify import amplify_regions, aws_credentials
from bot.integrations.bff import SmokeTester
from bot.integrations.slack import BOT_SCOPES, TOKEN_REFUSED_CODES, is_passing, slack_error_code
from bot.runbook.problem import Problem
from bot.settings import Settings
from bot.store import DatabaseUnavailable, Store

# A public (C…) or private (G…) channel ID, as Slack shows it under the channel's name.
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")


T = TypeVar("T")


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Blocking work (a stat, botocore's credential chain) on a thread of its own: not the
    loop's default executor, which DBOS replaces and shuts down with itself."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="readiness") as pool:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)


@dataclass(frozen=True)
class Row:
    """One line of the table: green with what was found, a warning (not a failure) with
    what was not checked, or red with its problem."""

    name: str
    detail: str = ""
    problem: Problem | None = None
    warning: bool = False

    @property
    def ok(self) -> bool:
        return self.problem is None


def red(name: str, symptom: str, cause: str, fix: str) -> Row:
    return Row(name, problem=Problem(symptom=symptom, cause=cause, fix=fix, where=name))


# --------------------------------------------------------------------------- ids


def check_ids(settings: Settings) -> list[Row]:
    """The engineering channel is an ID (user IDs are checked when the YAML loads)."""
    channel = settings.config.slack.engineering_channel
    if not channel or CHANNEL_ID.match(channel):
        return []
    return [
        red(
            "config: engineering channel",
            f"slack.engineering_channel is {channel!r}, which is not a channel ID",
            "Slack's API takes a channel's ID (C… or G…), not its name",
            "open the channel in Slack → its name at the top → About → copy the Channel ID "
            "at the bottom (C0123ABCD), and set slack.engineering_channel to it",
        )
    ]


# ---------------------------------------------------------------------- database


def _new_sqlite_file(path: Path, shown: str) -> Row | None:
    """The row for a SQLite file that does not exist yet (None when it exists)."""
    if path.exists():
        return None
    folder = path.parent
    if folder.is_dir() and os.access(folder, os.W_OK):
        return Row("database", f"{shown}: the file is created on first start")
    return red(
        "database",
        f"{shown}: the SQLite file's folder is missing or read-only",
        "the bot cannot create its database there",
        "set DATABASE_URL to a writable place (README → Configuration)",
    )


# The bot's writes take a row only if its key is new and say whether it went in (`INSERT …
# ON CONFLICT DO NOTHING RETURNING`: the store's once-keys and audit rows, the webhook's
# delivery log). SQLite has RETURNING since 3.35 (2021); Python's sqlite3 module uses the
# SQLite library of the system it was built on, older on some long-lived systems.
SQLITE_NEEDED = (3, 35, 0)


def sqlite_library_row() -> Row | None:
    """Red when this Python's SQLite library is too old for the bot's writes, else None."""
    if sqlite3.sqlite_version_info >= SQLITE_NEEDED:
        return None
    return red(
        "database: SQLite",
        f"this Python's SQLite library is {sqlite3.sqlite_version}; the bot needs 3.35 or "
        "newer: with this one every claim and audit row would fail",
        "the bot writes with INSERT … RETURNING, which SQLite has had since 3.35, and "
        "Python's sqlite3 module uses the SQLite library of the system it was built on",
        "run the Docker image (its SQLite is 3.40), or use PostgreSQL (DATABASE_URL="
        "postgresql://…), or a Python built against SQLite 3.35 or newer (python -c "
        "'import sqlite3; print(sqlite3.sqlite_version)' shows the one in use)",
    )


async def check_database(settings: Settings) -> list[Row]:
    """Reachable and writable (proved without keeping a write; a SQLite file that does not
    exist yet is not created: its folder is checked instead), and the schema current. On
    SQLite, first that this Python's SQLite library can do the bot's writes."""
    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    if url.drivername.startswith("sqlite"):
        row = sqlite_library_row()
        if row is None and url.database:
            row = await _in_thread(_new_sqlite_file, Path(url.database), shown)
        if row is not None:
            return [row]
    store = Store(settings.database_url)
    try:
        await store.probe()
        pending = await store.pending_migrations()
    except DatabaseUnavailable as exc:
        return [
            red(
                "database",
                f"{shown} cannot be used: {exc.reason}",
                "the database is down, unreachable from this host, or refuses this user",
                "check the host, port, name, user and password in DATABASE_URL "
                "(postgresql://user:password@host:5432/name) and that the server is up",
            )
        ]
    finally:
        store.dispose()
    rows = [Row("database", f"{shown}: reachable and writable")]
    if pending:
        rows.append(
            Row(
                "database: schema",
                f"not current (to apply: {'; '.join(pending)}): `serve` brings it up to "
                "date when it starts",
                warning=True,
            )
        )
    else:
        rows.append(Row("database: schema", "current"))
    return rows


# ----------------------------------------------------------------------- scopes


def scopes_row(header: str | None) -> Row | None:
    """The bot token's scopes (Slack lists them in every Web API answer's `x-oauth-scopes`)
    against manifest.yml's. None when the answer did not list them."""
    if header is None:
        return None
    held = {scope.strip() for scope in header.split(",") if scope.strip()}
    missing = [scope for scope in BOT_SCOPES if scope not in held]
    if missing:
        return red(
            "slack: scopes",
            f"the bot token lacks {', '.join(missing)}: the calls and events that need "
            "them fail (missing_scope) once a rollout reaches them",
            "the app was installed before manifest.yml asked for them, or set up by hand",
            "add them on api.slack.com/apps → this app → OAuth & Permissions → Scopes (or "
            "paste manifest.yml into App Manifest), reinstall the app to the workspace, "
            "and set SLACK_BOT_TOKEN again if Slack shows a new one",
        )
    extra = sorted(held - set(BOT_SCOPES))
    if extra:
        return Row(
            "slack: scopes",
            f"every scope manifest.yml asks for, and {', '.join(extra)} besides, which the "
            "bot does not use: remove them (OAuth & Permissions → Scopes) and reinstall",
            warning=True,
        )
    return Row("slack: scopes", f"the {len(BOT_SCOPES)} manifest.yml asks for")


# ------------------------------------------------------------------------ clock

# Further than this from Slack's clock, `check` warns: nothing is refused for it yet, but a
# clock drifting this far is not kept by NTP, and at Slack's 5 minutes everything is.
CLOCK_WARN_SECONDS = 30.0
_CLOCK_FIX = (
    "set this host's clock right (NTP: `timedatectl set-ntp true`; Docker Desktop's clock "
    "after the laptop slept: restart Docker Desktop)"
)


def clock_row(date_header: str | None, now: float) -> Row | None:
    """This host's clock against the `Date` of an answer from Slack's API (to the second).
    Slack signs each request with its own time, and the bot refuses one dated more than
    5 minutes from its clock (as Slack's docs require), so a clock that far off refuses
    everything Slack sends. None when the answer had no usable `Date`."""
    try:
        slack_time = parsedate_to_datetime(date_header or "").timestamp()
    except (TypeError, ValueError):
        return None
    offset = now - slack_time
    apart = f"{abs(offset):.0f} s {'ahead of' if offset > 0 else 'behind'} Slack's"
    if abs(offset) <= CLOCK_WARN_SECONDS:
        return Row("clock", f"{abs(offset):.0f} s from Slack's")
    if abs(offset) > MAX_AGE_SECONDS:
        return red(
            "clock",
            f"this host's clock is {apart}: every command, press and event from Slack is "
            "refused (Slack shows dispatch_failed)",
            "Slack signs each request with its own time, and the bot refuses any dated "
            "more than 5 minutes from its clock",
            _CLOCK_FIX,
        )
    return Row(
        "clock",
        f"this host's clock is {apart}: at 5 minutes every request from Slack is refused "
        f"(each is signed with Slack's time). Fix: {_CLOCK_FIX}",
        warning=True,
    )


# ------------------------------------------------------------------ Slack failing

# How to ask again, said where the row is read: after `creators-onboard check`, and in
# the answer to a deploy (or retry) that was refused for it.
AGAIN_CHECK = "run `creators-onboard check` again"
AGAIN_DEPLOY = "press the same button (Deploy or Retry) again"
SLACK_STATUS = "https://slack-status.com"

# What each of Slack's own "not now" codes means (docs.slack.dev, every method's Errors).
_PASSING_WHY = {
    "ratelimited": "Slack's rate limit for this method was still reached after the bot "
    "waited and tried again",
    "internal_error": "Slack had an internal error, which Slack's docs call likely a "
    "transient issue on its end",
    "fatal_error": "Slack failed while handling the call, an error on Slack's side",
    "service_unavailable": "Slack's service was temporarily unavailable",
    "request_timeout": "the request reached Slack cut short, its data missing or truncated "
    "as Slack's docs say: usually a network hiccup",
}
_TOKEN_WHY = {
    "account_inactive": "the app was uninstalled from the workspace, which deactivates its "
    "bot user, or the workspace was deleted",
    "token_revoked": "SLACK_BOT_TOKEN was revoked: the app was removed from the workspace "
    "or its token revoked",
    "invalid_auth": "SLACK_BOT_TOKEN is not a valid token for this workspace: mistyped, cut "
    "short, from another app or from an install since replaced; or the workspace accepts "
    "this app's calls only from listed IP addresses and this host's is not one of them",
}
_REINSTALL = (
    "reinstall the app to the workspace (api.slack.com/apps → this app → Install App), set "
    "SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…) it shows there, and restart the bot"
)


def _answer(code: str, status: int | None) -> str:
    """Slack's code, or what came instead of Slack's answer."""
    if code.startswith("http_"):
        return f"HTTP {status}, an error page instead of Slack's answer"
    return code if status in (None, 200) else f"{code}, HTTP {status}"


def slack_trouble(
    name: str, asked: str, exc: SlackApiError, *, again: str = AGAIN_CHECK
) -> Row | None:
    """The red row for a Slack failure that says nothing about what was `asked` (the
    method, and what about): a passing one (an outage, a proxy's error page, the rate
    limit), the bot token refused (the app uninstalled, its token revoked), or an answer
    that was not Slack's. None for any other refusal: the caller's to word."""
    code, status = slack_error_code(exc)
    shown = _answer(code, status)
    if is_passing(code, status):
        why = _PASSING_WHY.get(code) or (
            "Slack's rate limit was still reached after the bot waited and tried again"
            if status == 429
            else "Slack, or a load balancer or proxy in front of it, failed to answer: an "
            "outage, or a proxy that lost its connection to Slack"
        )
        return red(
            name,
            f"Slack did not answer {asked} properly ({shown})",
            f"{why}; nothing says the bot's configuration is wrong, and this usually "
            "passes within minutes",
            f"nothing to change: {again} in a minute; if it keeps failing, see "
            f"{SLACK_STATUS} (Slack's status page)",
        )
    if code in TOKEN_REFUSED_CODES:
        fix = _REINSTALL
        if code == "invalid_auth":
            fix += (
                "; if it already holds that token, allow this host's IP address under "
                "OAuth & Permissions → Restrict API Token Usage"
            )
        return red(name, f"Slack refused the bot's token ({asked}: {code})", _TOKEN_WHY[code], fix)
    if code.startswith("http_") or code == "unknown_error":
        return red(
            name,
            f"{asked} was not answered by Slack's API ({shown})",
            "SLACK_API_URL points somewhere other than Slack's Web API, or a proxy between "
            "the bot and Slack refused the request",
            f"check SLACK_API_URL (normally https://slack.com/api/) and the network/proxy, "
            f"then {again}",
        )
    return None


# ----------------------------------------------------------------- Slack channel


# Before a deploy, a membership seen this recently is trusted (a rollout's partitions go
# minutes apart; leaving the channel in between is caught by the next partition's check).
MEMBERSHIP_TRUSTED_SECONDS = 600.0
# When the bot (by its Slack client) last saw itself a member of a channel (monotonic).
_MEMBER_SEEN: WeakKeyDictionary[AsyncWebClient, dict[str, float]] = WeakKeyDictionary()


async def check_channel(
    settings: Settings,
    client: AsyncWebClient,
    *,
    trust_for: float = 0.0,
    again: str = AGAIN_CHECK,
) -> list[Row]:
    """The bot is a member of the engineering channel (`conversations.info`). With
    `trust_for`, a membership seen that many seconds ago or less is not asked again
    (partitions deployed one after another need not ask Slack each time). When Slack
    could not be asked (an outage, the token refused), the row says so, not that the bot
    is outside the channel; `again` says how to ask again where the row is read."""
    channel = settings.config.slack.engineering_channel
    name = "slack: engineering channel"
    if not channel or not CHANNEL_ID.match(channel):
        return []  # reported by the configuration rows
    seen = _MEMBER_SEEN.get(client, {}).get(channel)
    if seen is not None and time.monotonic() - seen <= trust_for:
        ago = int(time.monotonic() - seen)
        return [Row(name, f"{channel}: the bot is a member (seen {ago} s ago)")]
    try:
        resp = await client.conversations_info(channel=channel)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return [
            red(
                name,
                f"cannot reach Slack to look at {channel}: {type(exc).__name__}",
                "the Slack API address is wrong or the network is in the way",
                "check SLACK_API_URL and the network/proxy",
            )
        ]
    except SlackApiError as exc:
        asked = f"conversations.info about {channel}"
        trouble = slack_trouble(name, asked, exc, again=again)
        if trouble is not None:
            return [trouble]
        error, _ = slack_error_code(exc)
        if error == "missing_scope":
            return [
                red(
                    name,
                    f"conversations.info for {channel} failed: missing_scope",
                    "the app was installed without channels:read and groups:read",
                    "add both scopes (manifest.yml lists them), reinstall the app to the "
                    "workspace and update SLACK_BOT_TOKEN",
                )
            ]
        if error in ("channel_not_found", "not_in_channel"):
            return [
                red(
                    name,
                    f"the bot cannot see {channel} (Slack said {error})",
                    "no channel has that ID in this workspace, or it is a private channel "
                    "the bot was never invited to",
                    "check slack.engineering_channel, then in that channel type "
                    "`/invite @Creators Onboard` (the app's name in your workspace)",
                )
            ]
        return [
            red(
                name,
                f"Slack refused conversations.info about {channel} ({error})",
                "Slack refused for a reason this bot has no words of its own for; the code "
                "names it",
                f"look {error} up under Errors on "
                "https://docs.slack.dev/reference/methods/conversations.info, mend what it "
                f"names, then {again}",
            )
        ]
    info = resp.get("channel") or {}
    label = f"#{info.get('name')} ({channel})" if info.get("name") else channel
    if info.get("is_archived"):
        return [
            red(
                name,
                f"{label} is archived",
                "nobody reads an archived channel and the bot cannot post there",
                "unarchive it, or set slack.engineering_channel to the live channel's ID",
            )
        ]
    if not info.get("is_member"):
        return [
            red(
                name,
                f"the bot is not a member of {label}",
                "the bot was never invited there, so its status message and every "
                "notification to engineering would fail",
                f"in {label} type `/invite @Creators Onboard` (the app's name in your "
                "workspace); Slack shows it has joined",
            )
        ]
    _MEMBER_SEEN.setdefault(client, {})[channel] = time.monotonic()
    return [Row(name, f"the bot is a member of {label}")]


# ----------------------------------------------------------------------- BFF tokens


def _token_name(part: Partition) -> str:
    return f"bff:{part.name} token"


def _missing_token(settings: Settings, part: Partition) -> Row | None:
    """The red row of a partition whose smoke-test token is missing (None: present)."""
    name = _token_name(part)
    if not part.bff_token_env:
        return red(
            name,
            f"{part.name}'s smoke test has no token to send",
            f"partitions[{part.name}].bff_token_env is not set in the YAML",
            f"set bff_token_env for {part.name} (e.g. BFF_TOKEN_{part.name.upper()}) and put "
            "the BFF's smoke-test bearer token in that environment variable",
        )
    if settings.bff_token(part) is None:
        return red(
            name,
            f"{part.bff_token_env} is not set, so {part.name}'s smoke test would fail",
            f"the environment variable {part.bff_token_env} named by "
            f"partitions[{part.name}].bff_token_env is unset or empty",
            f"put {part.name}'s BFF smoke-test bearer token in {part.bff_token_env} on the "
            "bot's host, then restart the bot",
        )
    return None


async def bff_token_rows(
    settings: Settings, parts: Sequence[Partition], tester: SmokeTester | None
) -> list[Row]:
    """Each partition's token: present; with a `tester`, accepted by the BFF where one
    request that changes nothing can tell, else "present, not verified"."""
    return list(await asyncio.gather(*(_bff_token(settings, p, tester) for p in parts)))


async def _bff_token(settings: Settings, part: Partition, tester: SmokeTester | None) -> Row:
    missing = _missing_token(settings, part)
    if missing is not None:
        return missing
    token = settings.bff_token(part)
    assert token is not None and part.bff_token_env
    name = _token_name(part)
    if tester is None or not part.bff_url:
        return Row(name, f"{part.bff_token_env} is set (present, not verified)")
    verdict, seen = await tester.verify_token(part.bff_url, token)
    if verdict == "refused":
        return red(
            name,
            f"{part.name}'s BFF refused the token in {part.bff_token_env} ({seen})",
            "the token is wrong, expired, or belongs to another partition",
            f"put a current smoke-test token for {part.name}'s BFF in {part.bff_token_env}, "
            "then restart the bot",
        )
    if verdict == "accepted":
        return Row(name, f"{part.bff_token_env} accepted: {seen}")
    return Row(name, f"{part.bff_token_env} is set (present, not verified: {seen})")


# ---------------------------------------------------------------------------- AWS


async def aws_rows(settings: Settings, parts: Sequence[Partition]) -> list[Row]:
    """AWS credentials and region for each configured Amplify app; a warning for each
    partition without one."""
    rows: list[Row] = []
    configured = [p for p in parts if p.amplify is not None]
    source = await _in_thread(aws_credentials) if configured else None
    regions = await _in_thread(amplify_regions) if configured else set()
    for part in parts:
        name = f"amplify:{part.name}"
        if part.amplify is None:
            rows.append(
                Row(name, f"Amplify not checked: not configured for {part.name}", warning=True)
            )
            continue
        app = f"app {part.amplify.app_id} branch {part.amplify.branch}"
        if source is None:
            rows.append(
                red(
                    name,
                    f"no AWS credentials to check {part.name}'s Amplify {app}",
                    "the bot's process finds no AWS credentials (environment, AWS_PROFILE or "
                    "an instance/task role), so the Amplify check would fail after the deploy",
                    "give the bot an AWS identity allowed amplify:GetApp and amplify:GetBranch "
                    "on the partition apps (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                    "AWS_PROFILE, or an instance/task role), then restart the bot",
                )
            )
        elif part.region not in regions:
            rows.append(
                red(
                    name,
                    f"{part.region!r} is not a region Amplify runs in",
                    f"partitions[{part.name}].region is misspelt or names another region",
                    f"set partitions[{part.name}].region to the Amplify app's region "
                    "(prod, Alpha001: us-east-2)",
                )
            )
        else:
            rows.append(
                Row(
                    name,
                    f"AWS credentials found ({source}); {app} in {part.region} "
                    "(the app itself is read by the Amplify check after each deploy)",
                )
            )
    return rows


# ---------------------------------------------------------------- the three moments


async def serve_refusals(settings: Settings) -> list[Row]:
    """The red rows `serve` refuses to start with: wrong in the configuration, and no
    person can fix them from Slack. (Something not configured yet — no devOps, no BFF URL
    — is `check`'s to report: no rollout can start or reach it.)"""
    parts = [p for p in settings.config.partitions if p.bff_url]
    rows = [
        *check_ids(settings),
        *await check_database(settings),
        *await bff_token_rows(settings, parts, None),
        *await aws_rows(settings, settings.config.partitions),
    ]
    return [r for r in rows if not r.ok]


async def deploy_blockers(
    settings: Settings,
    slack: AsyncWebClient,
    tester: SmokeTester,
    partition: str,
    *,
    github: bool,
) -> list[Problem]:
    """What would make a deploy of `partition` fail for a configuration reason (empty:
    none). `github`: whether the bot has a GitHub client (GITHUB_TOKEN is set)."""
    part = settings.config.partition(partition)
    assert part is not None
    rows = [
        *check_ids(settings),
        *await check_channel(
            settings, slack, trust_for=MEMBERSHIP_TRUSTED_SECONDS, again=AGAIN_DEPLOY
        ),
        *await bff_token_rows(settings, [part], tester),
        *await aws_rows(settings, [part]),
    ]
    if not github:
        rows.append(
            red(
                "github",
                "the bot cannot start amm.yml",
                "GITHUB_TOKEN is not set",
                "set GITHUB_TOKEN to a token with Actions read & write on "
                f"{settings.config.github.repository}, then restart the bot",
            )
        )
    return [r.problem for r in rows if r.problem is not None]
