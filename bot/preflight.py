"""`creators-onboard check`: reach every system, change nothing, print one row per check.

Green means a rollout will not fail for a configuration reason. Every check only reads:
the configuration and its ids, the database (reachable, writable, schema), Slack
`auth.test` (with the token's scopes against manifest.yml's, and this host's clock
against Slack's, which every signed request depends on) and the bot's membership of the
engineering channel (`conversations.info`),
`op whoami` and one `op vault list`, Linear's viewer and the configured issue, GitHub's
workflow and its file on the ref, each partition's BFF (a plain GET, and its token tried
on the error path, which never reaches Amazon), and the AWS credentials and region of
each configured Amplify app (`bot.readiness` holds the rows `serve` and a deploy ask
again), and a warning for a secret a person chose that is short (`check_secrets`). The
checks run concurrently; a check that crashes becomes a red row of its own instead of
taking the table down. Rows carry names, statuses and the remote systems'
error texts, never a secret value (the table is scrubbed of every configured secret and
of token-shaped text before it is printed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TextIO

import aiohttp
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url

from bot import readiness
from bot.deps import github_client, linear_client, slack_client, smoke_tester, vault_reader
from bot.egress import http_session
from bot.integrations.errors import IntegrationError
from bot.integrations.linear import KEY_STEPS
from bot.integrations.slack import slack_error_code
from bot.integrations.vaults import VaultError
from bot.logging import REDACTOR, SHORTEST_REDACTED, Redactor
from bot.readiness import Row
from bot.readiness import red as _red
from bot.settings import Settings
from bot.watches.texts import token_steps

# A BFF that takes longer than this to answer anything counts as unreachable.
BFF_TIMEOUT_SECONDS = 5.0


Check = Callable[[Settings, aiohttp.ClientSession], Awaitable[list[Row]]]


async def check_config(settings: Settings, _: aiohttp.ClientSession) -> list[Row]:
    cfg = settings.config
    where = str(settings.config_path) if settings.config_path else "built-in defaults (no YAML)"
    rows = [Row("config", f"valid ({where}); {len(cfg.partitions)} partitions")]
    if not cfg.slack.devops:
        rows.append(
            _red(
                "config: devOps",
                "nobody can start a rollout",
                "no devOps users are configured",
                "list Slack user IDs under slack.devops in the YAML",
            )
        )
    if not cfg.slack.account_owners:
        rows.append(
            _red(
                "config: accountOwner",
                "a rollout has no one to guide through the credential registration",
                "no account owners are configured",
                "list the Associates primary owner's Slack user ID under slack.account_owners",
            )
        )
    if not cfg.slack.engineering_channel:
        rows.append(
            _red(
                "config: engineering channel",
                "the live status message has nowhere to go",
                "no engineering channel is configured",
                "set slack.engineering_channel to a channel ID (C…) and invite the bot there",
            )
        )
    return rows + readiness.check_ids(settings)


async def check_database(settings: Settings, _: aiohttp.ClientSession) -> list[Row]:
    return await readiness.check_database(settings)


async def check_slack(settings: Settings, session: aiohttp.ClientSession) -> list[Row]:
    env = settings.env
    client = slack_client(settings, session)
    try:
        resp = await client.auth_test()
    except SlackApiError as exc:
        trouble = readiness.slack_trouble("slack", "auth.test", exc)
        if trouble is not None:
            return [trouble]
        error, _ = slack_error_code(exc)
        return [
            _red(
                "slack",
                f"auth.test failed: {error}",
                "Slack did not accept SLACK_BOT_TOKEN for this workspace",
                "check SLACK_BOT_TOKEN (OAuth & Permissions → Bot User OAuth Token) and that "
                "the app is installed in the workspace",
            )
        ]
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return [
            _red(
                "slack",
                f"cannot reach {env.slack_api_url}: {type(exc).__name__}",
                "the Slack API address is wrong or the network is in the way",
                "check SLACK_API_URL and the network/proxy",
            )
        ]
    authorised = Row("slack", f"authorised as {resp.get('user')} in {resp.get('team')}")
    found = [
        readiness.scopes_row(resp.headers.get("x-oauth-scopes")),
        readiness.clock_row(resp.headers.get("Date"), time.time()),
    ]
    rows = [row for row in found if row is not None]
    return [authorised, *rows, *await readiness.check_channel(settings, client)]


def _error_row(name: str, exc: IntegrationError) -> Row:
    return Row(name, problem=exc.problem)


def _token_fix(settings: Settings) -> str:
    """OP_SERVICE_ACCOUNT_TOKEN's replacement steps, numbered on one line."""
    cfg = settings.config
    steps = token_steps([p.vault for p in cfg.partitions], cfg.onepassword.systems_vault)
    return " ".join(f"({n}) {step}" for n, step in enumerate(steps, 1))


def _unset(secret: SecretStr | None) -> bool:
    return secret is None or not secret.get_secret_value()


def _not_set(name: str, variable: str, consequence: str, fix: str) -> list[Row]:
    """The one red row of a check whose credential is missing."""
    return [_red(name, consequence, f"{variable} is not set", fix)]


async def check_op(settings: Settings, _: aiohttp.ClientSession) -> list[Row]:
    """`op whoami`, then one `op vault list`: a row per partition vault and the systems vault."""
    env = settings.env
    if _unset(env.op_service_account_token):
        return _not_set(
            "op",
            "OP_SERVICE_ACCOUNT_TOKEN",
            "the vaults can't be verified",
            "set OP_SERVICE_ACCOUNT_TOKEN to the 1Password service account's token "
            "(1Password → Developer → Service accounts; it starts with ops_)",
        )
    reader = vault_reader(settings)
    try:
        who = await reader.whoami()
        visible = await reader.visible_vaults()
    except VaultError as exc:
        if exc.problem.code != "auth_failed":
            return [_error_row("op", exc)]
        # Revoked, expired or deleted: the token itself must be replaced.
        return [Row("op", problem=exc.problem.model_copy(update={"fix": _token_fix(settings)}))]
    except IntegrationError as exc:
        return [_error_row("op", exc)]
    rows = [Row("op", f"signed in as {who} ({env.op_cli_path})")]
    cfg = settings.config
    wanted = [(p.vault, f"partition {p.name}") for p in cfg.partitions]
    wanted.append((cfg.onepassword.systems_vault, "systems vault"))
    for vault, role in wanted:
        if vault in visible:
            rows.append(Row(f"op: {vault}", f"visible to the service account ({role})"))
        else:
            rows.append(
                _red(
                    f"op: {vault}",
                    f"not visible to the service account ({role})",
                    "no vault has exactly that name, or the service account was not given "
                    "access to it",
                    f"check the spelling of {vault} in 1Password and in the YAML; if it is "
                    "right, the service account has lost the vault and OP_SERVICE_ACCOUNT_TOKEN "
                    f"must be replaced: {_token_fix(settings)}",
                )
            )
    return rows


async def check_linear(settings: Settings, session: aiohttp.ClientSession) -> list[Row]:
    """The key is accepted (`viewer`) and its user can see the configured issue."""
    issue = settings.config.linear.issue
    client = linear_client(settings, session, quick=True)
    if client is None or _unset(settings.env.linear_api_key):
        return _not_set(
            "linear",
            "LINEAR_API_KEY",
            "nothing can be posted on " + issue,
            f"{KEY_STEPS}, and set LINEAR_API_KEY to it",
        )
    try:
        who = await client.viewer()
        found = await client.issue_visible(issue)
    except IntegrationError as exc:
        return [_error_row("linear", exc)]
    authorised = Row("linear", f"authorised as {who}")
    if found is None:
        return [
            authorised,
            _red(
                f"linear: {issue}",
                f"{issue} does not exist or the key's user can't see it",
                "the issue identifier is wrong, or the key's user is not in the issue's team",
                "set linear.issue in the YAML to an existing issue and check that the "
                "LINEAR_API_KEY user is a member of its team",
            ),
        ]
    return [authorised, Row(f"linear: {issue}", f"visible: {found.title}")]


async def check_github(settings: Settings, session: aiohttp.ClientSession) -> list[Row]:
    """The token can read the workflow, and the workflow file exists on the ref."""
    gh = settings.config.github
    actions = github_client(settings, session, quick=True)
    if actions is None or _unset(settings.env.github_token):
        return _not_set(
            "github",
            "GITHUB_TOKEN",
            "no partition can be deployed",
            f"set GITHUB_TOKEN to a token with Actions read & write on {gh.repository}",
        )
    try:
        info = await actions.workflow_visible()
    except IntegrationError as exc:
        return [_error_row("github", exc)]
    found = Row("github", f"{gh.repository}: {info.path} is {info.state} and present on {info.ref}")
    return [found, *_classic_token_rows(info.token_scopes, gh.repository)]


def _classic_token_rows(scopes: tuple[str, ...] | None, repository: str) -> list[Row]:
    """A classic token lists its scopes, and dispatching a workflow needs `repo` (GitHub's
    docs; `public_repo` does for a public repository). A fine-grained token or an app's
    lists none: its Actions write permission is proved by the first dispatch."""
    if scopes is None:
        return []
    name = "github: token scopes"
    if "repo" in scopes:
        return [Row(name, "a classic token with repo: it may dispatch the workflow")]
    if "public_repo" in scopes:
        return [
            Row(
                name,
                f"a classic token with public_repo only: it may dispatch only if {repository} "
                "is public; if it is private, give the token the repo scope (or use a "
                "fine-grained token with Actions: Read and write on it)",
                warning=True,
            )
        ]
    held = ", ".join(scopes) or "none"
    return [
        _red(
            name,
            f"GITHUB_TOKEN can read {repository}'s workflow but not dispatch it: every "
            "deploy would be refused (403)",
            f"a classic token needs the repo scope to dispatch a workflow; it has: {held}",
            "on github.com → Settings → Developer settings → Personal access tokens, give "
            "the token the repo scope, or make a fine-grained token with Actions: Read and "
            f"write on {repository} and set GITHUB_TOKEN to it",
        )
    ]


async def _check_bff(session: aiohttp.ClientSession, index: int, name: str, url: str | None) -> Row:
    row = f"bff:{name}"
    if not url:
        return _red(
            row,
            "the smoke test can't run",
            "no BFF URL is configured",
            f"set partitions[{index}].bff_url (partition {name}) in the YAML to the BFF's "
            "base URL, e.g. https://bff.dev.example",
        )
    timeout = aiohttp.ClientTimeout(total=BFF_TIMEOUT_SECONDS)
    try:
        async with session.get(url, timeout=timeout, allow_redirects=False) as resp:
            status = resp.status
    except TimeoutError:
        return _red(
            row,
            f"{url} did not answer within {BFF_TIMEOUT_SECONDS:g} s",
            "the BFF is down or hanging, or this host can't reach it",
            f"check partitions[{index}].bff_url and that this host can reach it "
            "(firewall, VPN, proxy)",
        )
    except (aiohttp.ClientError, OSError) as exc:
        return _red(
            row,
            f"cannot reach {url} ({type(exc).__name__})",
            "nothing answers at that address",
            f"check partitions[{index}].bff_url (host, port, https) and that the BFF is up "
            "and reachable from this host",
        )
    return Row(row, f"reachable: {url} answered HTTP {status}")


async def check_bff(settings: Settings, session: aiohttp.ClientSession) -> list[Row]:
    """Each partition's BFF answers HTTP at all (any status counts as reachable), and its
    smoke-test token is present and, where the BFF can tell, accepted."""
    partitions = settings.config.partitions
    reachable = await asyncio.gather(
        *(_check_bff(session, i, p.name, p.bff_url) for i, p in enumerate(partitions))
    )
    tokens = await readiness.bff_token_rows(settings, partitions, smoke_tester(settings, session))
    return [row for pair in zip(reachable, tokens, strict=True) for row in pair]


async def check_amplify(settings: Settings, _: aiohttp.ClientSession) -> list[Row]:
    return await readiness.aws_rows(settings, settings.config.partitions)


# The secrets a person makes up, where the other secrets are issued by a service (Slack,
# GitHub, Linear, 1Password mint long random ones): shorter than this, a warning.
CHOSEN_SECRET_LENGTH = 16
_LONG_RANDOM = "a long random value (`openssl rand -hex 32` prints one)"


def _blanked(value: str) -> str:
    """What redaction does with a secret of this length, in what the bot logs and posts."""
    if len(value) < SHORTEST_REDACTED:
        return (
            "it is too short for the bot to blank it in its logs, Slack messages and Linear "
            "comments (it would blank ordinary words)"
        )
    return (
        "the bot shows every copy of it in its logs, Slack messages and Linear comments as "
        "[redacted], so the same word anywhere in them is blanked too"
    )


def _weak(value: str) -> str | None:
    """Why a secret a person chose is weak, in words that never include it; None if it
    is not."""
    if len(value) >= CHOSEN_SECRET_LENGTH:
        return None
    kind = "letters only" if value.isalpha() else "short"
    return f"{len(value)} characters, {kind}"


async def check_secrets(settings: Settings, _: aiohttp.ClientSession) -> list[Row]:
    """A warning for each secret a person chose that is short: it can be guessed, and the
    bot blanks every copy of every secret in what it logs and posts, so a secret that is
    an ordinary word blanks that word wherever it appears (a database password `postgres`
    turns `postgresql://` into `[redacted]ql://`)."""
    rows: list[Row] = []
    hook = settings.env.github_webhook_secret
    variable = settings.config.github.webhook_secret
    value = hook.get_secret_value() if hook is not None and variable else ""
    why = _weak(value) if value else None
    if why is not None:
        rows.append(
            Row(
                f"secret: {variable}",
                f"the GitHub webhook's secret is weak ({why}): whoever guesses it can sign "
                f"events to POST /github/events (each only makes the bot read a run "
                f"sooner), and {_blanked(value)}. Fix: set {variable} and the webhook's "
                f"Secret on GitHub to {_LONG_RANDOM}",
                warning=True,
            )
        )
    url = make_url(settings.database_url)
    password = url.password if url.drivername.startswith("postgresql") else None
    why = _weak(str(password)) if password else None
    if why is not None:
        rows.append(
            Row(
                "secret: DATABASE_URL",
                f"the database password is weak ({why}): {_blanked(str(password))}. Fix: "
                f"give the database user {_LONG_RANDOM} as its password (ALTER ROLE … "
                "PASSWORD) and put it in DATABASE_URL (percent-encode any @, : or / in it)",
                warning=True,
            )
        )
    return rows


CHECKS: list[Check] = [
    check_config,
    check_database,
    check_slack,
    check_op,
    check_linear,
    check_github,
    check_bff,
    check_amplify,
    check_secrets,
]


def _line(row: Row) -> str:
    """What the row says: a red row's symptom with its cause, a green row's finding."""
    if row.problem is None:
        return row.detail
    cause = row.problem.cause.rstrip(".")
    return f"{row.problem.symptom} ({cause})" if cause else row.problem.symptom


def render(rows: list[Row], redactor: Redactor | None = None) -> str:
    width = max((len(r.name) for r in rows), default=10)
    lines = []
    for row in rows:
        mark = "RED  " if not row.ok else "WARN " if row.warning else "GREEN"
        lines.append(f"{mark}  {row.name.ljust(width)}  {_line(row)}")
        if row.problem is not None and row.problem.fix:
            lines.append(f"{'':5}  {'':{width}}  fix: {row.problem.fix}")
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
            _red(
                _check_name(check),
                f"the check itself failed: {type(exc).__name__}",
                "the check met an error it does not know how to explain",
                "run `creators-onboard check` again with LOG_LEVEL=DEBUG and report this",
            )
        ]


async def collect(settings: Settings, checks: list[Check] | None = None) -> list[Row]:
    timeout = aiohttp.ClientTimeout(total=20)
    async with http_session(timeout=timeout) as session:
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
    warnings = sum(r.ok and r.warning for r in rows)
    noted = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
    print(f"\n{len(rows) - red - warnings} green{noted}, {red} red", file=out)
    return 1 if red else 0


async def refuse_to_serve(settings: Settings, *, out: TextIO) -> bool:
    """Whether `serve` must not start: prints the rows that forbid it, each with its fix."""
    rows = await readiness.serve_refusals(settings)
    if not rows:
        return False
    print(
        "creators-onboard: serve refuses to start: this configuration would fail a rollout, "
        "and no one can fix it from Slack:",
        file=out,
    )
    print(render(rows, Redactor(settings.secret_values())), file=out)
    print("`creators-onboard check` shows every row.", file=out)
    return True
