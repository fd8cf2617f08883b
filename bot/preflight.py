"""`creators-onboard check`: reach every system, change nothing, print one row per check.

Every check only reads: Slack `auth.test`, `op whoami` and one `op vault list`, Linear's
viewer and the configured issue, GitHub's workflow and its file on the ref, and one
plain GET per partition's BFF. The checks run concurrently; a check that crashes becomes
a red row of its own instead of taking the table down. Rows carry names, statuses and
the remote systems' error texts, never a secret value (the table is scrubbed of every
configured secret and of token-shaped text before it is printed).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url

from bot.integrations.errors import IntegrationError
from bot.integrations.github import GitHubActions
from bot.integrations.linear import LinearClient
from bot.integrations.slack import make_web_client
from bot.integrations.vaults import VaultReader
from bot.logging import REDACTOR, Redactor
from bot.settings import Settings
from bot.store import DatabaseUnavailable, Store

# A BFF that takes longer than this to answer anything counts as unreachable.
BFF_TIMEOUT_SECONDS = 5.0


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


def _error_row(name: str, exc: IntegrationError, *, fallback_fix: str = "") -> Row:
    detail = exc.symptom if not exc.cause else f"{exc.symptom} ({exc.cause.rstrip('.')})"
    return Row(name, False, detail, exc.fix or fallback_fix)


async def check_op(settings: Settings, _: aiohttp.ClientSession) -> list[Row]:
    """`op whoami`, then one `op vault list`: a row per partition vault and the systems vault."""
    env = settings.env
    token = env.op_service_account_token
    if token is None or not token.get_secret_value():
        return [
            Row(
                "op",
                False,
                "OP_SERVICE_ACCOUNT_TOKEN is not set, so the vaults can't be verified",
                "set OP_SERVICE_ACCOUNT_TOKEN to the 1Password service account's token "
                "(1Password → Developer → Service accounts; it starts with ops_)",
            )
        ]
    reader = VaultReader.from_settings(settings)
    try:
        who = await reader.whoami()
        visible = await reader.visible_vaults()
    except IntegrationError as exc:
        return [_error_row("op", exc)]
    rows = [Row("op", True, f"signed in as {who} ({env.op_cli_path})")]
    cfg = settings.config
    wanted = [(p.vault, f"partition {p.name}") for p in cfg.partitions]
    wanted.append((cfg.onepassword.systems_vault, "systems vault"))
    for vault, role in wanted:
        if vault in visible:
            rows.append(Row(f"op: {vault}", True, f"visible to the service account ({role})"))
        else:
            rows.append(
                Row(
                    f"op: {vault}",
                    False,
                    f"not visible to the service account ({role})",
                    f"check the spelling of {vault} in 1Password and in the YAML, and grant "
                    f"the service account read access to {vault} (a service account's vaults "
                    "are fixed when it is created: if needed, create a new one with read "
                    "access to all five vaults and update OP_SERVICE_ACCOUNT_TOKEN)",
                )
            )
    return rows


async def check_linear(settings: Settings, session: aiohttp.ClientSession) -> list[Row]:
    """The key is accepted (`viewer`) and its user can see the configured issue."""
    env = settings.env
    issue = settings.config.linear.issue
    key = env.linear_api_key
    if key is None or not key.get_secret_value():
        return [
            Row(
                "linear",
                False,
                "LINEAR_API_KEY is not set, so nothing can be posted on " + issue,
                "create a personal API key in Linear → Settings → Security & access → "
                "Personal API keys and set LINEAR_API_KEY to it",
            )
        ]
    client = LinearClient(session, env.linear_api_url, key, timeout=10.0)
    try:
        who = await client.viewer()
        found = await client.issue_visible(issue)
    except IntegrationError as exc:
        return [_error_row("linear", exc)]
    if found is None:
        return [
            Row("linear", True, f"authorised as {who}"),
            Row(
                f"linear: {issue}",
                False,
                f"{issue} does not exist or the key's user can't see it",
                "set linear.issue in the YAML to an existing issue and check that the "
                "LINEAR_API_KEY user is a member of its team",
            ),
        ]
    return [
        Row("linear", True, f"authorised as {who}"),
        Row(f"linear: {issue}", True, f"visible: {found.title}"),
    ]


async def check_github(settings: Settings, session: aiohttp.ClientSession) -> list[Row]:
    """The token can read the workflow, and the workflow file exists on the ref."""
    env = settings.env
    gh = settings.config.github
    token = env.github_token
    if token is None or not token.get_secret_value():
        return [
            Row(
                "github",
                False,
                "GITHUB_TOKEN is not set, so no partition can be deployed",
                f"set GITHUB_TOKEN to a token with Actions read & write on {gh.repository}",
            )
        ]
    actions = GitHubActions(
        session,
        env.github_api_url,
        token,
        gh.repository,
        gh.workflow,
        gh.ref,
        # A preflight reports, it doesn't wait: one quick retry, no rate-limit sleeps.
        max_attempts=2,
        retry_base_delay=0.5,
        request_timeout=10.0,
        max_rate_limit_wait=0.0,
    )
    try:
        info = await actions.workflow_visible()
    except IntegrationError as exc:
        return [_error_row("github", exc)]
    return [
        Row(
            "github",
            True,
            f"{gh.repository}: {info.path} is {info.state} and present on {info.ref}",
        )
    ]


async def _check_bff(session: aiohttp.ClientSession, index: int, name: str, url: str | None) -> Row:
    row = f"bff:{name}"
    if not url:
        return Row(
            row,
            False,
            "no BFF URL configured, so the smoke test can't run",
            f"set partitions[{index}].bff_url (partition {name}) in the YAML to the BFF's "
            "base URL, e.g. https://bff.dev.example",
        )
    timeout = aiohttp.ClientTimeout(total=BFF_TIMEOUT_SECONDS)
    try:
        async with session.get(url, timeout=timeout, allow_redirects=False) as resp:
            status = resp.status
    except TimeoutError:
        return Row(
            row,
            False,
            f"{url} did not answer within {BFF_TIMEOUT_SECONDS:g} s",
            f"check partitions[{index}].bff_url and that this host can reach it "
            "(firewall, VPN, proxy)",
        )
    except (aiohttp.ClientError, OSError) as exc:
        return Row(
            row,
            False,
            f"cannot reach {url} ({type(exc).__name__})",
            f"check partitions[{index}].bff_url (host, port, https) and that the BFF is up "
            "and reachable from this host",
        )
    return Row(row, True, f"reachable: {url} answered HTTP {status}")


async def check_bff(settings: Settings, session: aiohttp.ClientSession) -> list[Row]:
    """Each partition's BFF answers HTTP at all (any status counts as reachable)."""
    partitions = settings.config.partitions
    return list(
        await asyncio.gather(
            *(_check_bff(session, i, p.name, p.bff_url) for i, p in enumerate(partitions))
        )
    )


def _new_sqlite_file(path: Path, shown: str, fix: str) -> Row | None:
    """The row for a SQLite file that does not exist yet (None when it exists)."""
    if path.exists():
        return None
    folder = path.parent
    if folder.is_dir() and os.access(folder, os.W_OK):
        return Row("database", True, f"{shown}: the file is created on first start")
    return Row("database", False, f"{shown}: its folder is missing or read-only", fix)


async def check_database(settings: Settings, _: aiohttp.ClientSession) -> list[Row]:
    """Reachable and writable, proved without keeping any write (a new SQLite file is
    not created: its folder is checked instead)."""
    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    fix = "set DATABASE_URL to a database the bot can reach and write (README → Configuration)"
    if url.drivername.startswith("sqlite") and url.database:
        row = await asyncio.to_thread(_new_sqlite_file, Path(url.database), shown, fix)
        if row is not None:
            return [row]
    store = Store(settings.database_url)
    try:
        await store.probe()
    except DatabaseUnavailable as exc:
        return [Row("database", False, f"{shown}: {exc.reason}", fix)]
    finally:
        store.dispose()
    return [Row("database", True, f"{shown}: reachable and writable")]


CHECKS: list[Check] = [
    check_config,
    check_database,
    check_slack,
    check_op,
    check_linear,
    check_github,
    check_bff,
]


def render(rows: list[Row], redactor: Redactor | None = None) -> str:
    width = max((len(r.name) for r in rows), default=10)
    lines = []
    for row in rows:
        mark = "GREEN" if row.ok else "RED  "
        lines.append(f"{mark}  {row.name.ljust(width)}  {row.detail}")
        if not row.ok and row.fix:
            lines.append(f"{'':5}  {'':{width}}  fix: {row.fix}")
    text = "\n".join(lines)
    if redactor is not None:
        text = redactor.scrub(text)
    return REDACTOR.scrub(text)


def _check_name(check: Check) -> str:
    name = getattr(check, "__name__", "check")
    return name.removeprefix("check_") or name


async def _guarded(check: Check, settings: Settings, session: aiohttp.ClientSession) -> list[Row]:
    """A check that raises becomes one red row: the other rows still print."""
    try:
        return await check(settings, session)
    except IntegrationError as exc:
        return [_error_row(_check_name(check), exc)]
    except Exception as exc:  # noqa: BLE001 - report, never crash the table
        return [
            Row(
                _check_name(check),
                False,
                f"the check itself failed: {type(exc).__name__}",
                "run `creators-onboard check` again with LOG_LEVEL=DEBUG and report this",
            )
        ]


async def collect(settings: Settings, checks: list[Check] | None = None) -> list[Row]:
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        results = await asyncio.gather(
            *(_guarded(c, settings, session) for c in (checks or CHECKS))
        )
    return [row for rows in results for row in rows]


async def run_preflight(
    settings: Settings, *, out: TextIO, checks: list[Check] | None = None
) -> int:
    rows = await collect(settings, checks)
    print(render(rows, Redactor(settings.secret_values())), file=out)
    red = sum(not r.ok for r in rows)
    print(f"\n{len(rows) - red} green, {red} red", file=out)
    return 1 if red else 0
