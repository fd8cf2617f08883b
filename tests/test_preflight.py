"""`creators-onboard check` against the World's fakes: green table, then one red at a time."""

from __future__ import annotations

import asyncio
import io
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from bot.integrations.bff.checks import NON_AMAZON_URL
from bot.integrations.slack import BOT_SCOPES
from bot.preflight import CHECKS, Row, check_secrets, collect, render, run_preflight
from bot.settings import Settings, load_settings
from tests.op_fixture import SYSTEMS_VAULT
from tests.scenario import (
    BOT_TOKEN,
    GITHUB_TOKEN,
    LINEAR_KEY,
    PARTITIONS,
    PLANTED_SECRET,
    SIGNING_SECRET,
    VAULTS,
    World,
)

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"


def secrets_of(world: World, *extra: str) -> list[str]:
    values = [BOT_TOKEN, SIGNING_SECRET, LINEAR_KEY, GITHUB_TOKEN, world.op.token, PLANTED_SECRET]
    values.extend(world.bff.tokens.values())
    values.extend(extra)
    return values


def assert_no_secret(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"a secret leaked into the preflight output: {secret[:8]}…"


def settings_with(world: World, **env: str | None) -> Settings:
    values = world.env()
    for key, value in env.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return load_settings(values)


async def preflight(settings: Settings) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_preflight(settings, out=out)
    return code, out.getvalue()


def row_lines(text: str, name: str) -> str:
    """The row named `name` and its fix line (if any)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        parts = line.split()
        if len(parts) >= 2 and line[7:].startswith(name + " "):
            follow = (
                lines[i + 1]
                if i + 1 < len(lines) and lines[i + 1].strip().startswith("fix:")
                else ""
            )
            return f"{line}\n{follow}"
    raise AssertionError(f"no row {name!r} in:\n{text}")


def is_green(text: str, name: str) -> bool:
    return row_lines(text, name).startswith("GREEN")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# ------------------------------------------------------------------------- all green


async def test_all_green_prints_every_row_and_exits_zero(world: World) -> None:
    code, text = await preflight(world.settings())
    assert code == 0, text
    expected = ["config", "database", "slack", "slack: scopes", "clock"]
    expected += ["slack: engineering channel", "op"]
    expected += ["linear", "linear: PDEV-446", "github"]
    expected += [f"op: {VAULTS[p]}" for p in PARTITIONS] + [f"op: {SYSTEMS_VAULT}"]
    expected += [f"bff:{p}" for p in PARTITIONS] + [f"bff:{p} token" for p in PARTITIONS]
    for name in expected:
        assert is_green(text, name), row_lines(text, name)
    assert "RED" not in text
    assert "signed in as service account" in row_lines(text, "op")
    assert "member of #engineering (C0ENG123)" in row_lines(text, "slack: engineering channel")
    # Each token was tried on the error path, which never reaches Amazon.
    assert "BFF_TOKEN_DEV accepted" in row_lines(text, "bff:dev token")
    # No partition has an Amplify app here: a warning each, not a failure.
    for p in PARTITIONS:
        line = row_lines(text, f"amplify:{p}")
        assert line.startswith("WARN") and f"Amplify not checked: not configured for {p}" in line
    assert f"{len(expected)} green, 4 warnings, 0 red" in text
    assert_no_secret(text, secrets_of(world))


async def test_checks_change_nothing(world: World) -> None:
    """Only reads: no Slack post, no Linear mutation, no dispatch, no item read."""
    code, _ = await preflight(world.settings())
    assert code == 0
    slack_methods = {c.method for c in world.slack.calls()}
    assert slack_methods <= {"auth.test", "conversations.info"}, slack_methods
    assert set(world.linear.operations()) <= {"Viewer", "IssueVisible"}
    assert world.linear.comments_on() == []
    assert all(r.method in ("GET", "HEAD") for r in world.github.requests)
    assert world.github.dispatches == []
    assert world.op.item_reads() == []
    commands = {tuple(c["argv"][:2]) for c in world.op.calls()}
    assert commands <= {("whoami", "--format"), ("vault", "list")}, commands
    # The BFF saw plain GETs and the error path (a non-Amazon link), never a product.
    assert world.bff.requests
    for r in world.bff.requests:
        assert r.url in (None, NON_AMAZON_URL), r  # None: refused (401) before reading it


async def test_checks_run_concurrently(world: World) -> None:
    """Five slow checks of 0.4 s each take about 0.4 s together, not 2 s."""

    async def slow(_: Settings, __: Any) -> list[Row]:
        await asyncio.sleep(0.4)
        return [Row("slow", "ok")]

    loop = asyncio.get_running_loop()
    started = loop.time()
    rows = await collect(world.settings(), [slow] * 5)
    assert len(rows) == 5
    assert loop.time() - started < 1.5


async def test_a_crashing_check_becomes_a_red_row(world: World) -> None:
    async def broken(_: Settings, __: Any) -> list[Row]:
        raise RuntimeError(f"boom {BOT_TOKEN}")

    broken.__name__ = "check_broken"
    rows = await collect(world.settings(), [broken, *CHECKS[:1]])
    assert rows[0].name == "broken" and not rows[0].ok
    assert BOT_TOKEN not in render(rows)


# ------------------------------------------------------------------------- one red each


async def test_hidden_vault_is_red_with_the_fix(world: World) -> None:
    world.op.hide_vault("Arda-StageOAM")
    code, text = await preflight(world.settings())
    assert code != 0
    row = row_lines(text, "op: Arda-StageOAM")
    assert row.startswith("RED")
    assert "not visible to the service account" in row
    # The token's own replacement steps (the watch tells them the same way).
    for step in ("*Create a Service Account*", "GitHub organisation secret", "Revoke the old"):
        assert step in row, step
    assert is_green(text, "op: Arda-DevOAM")
    assert is_green(text, "op")
    assert "1 red" in text
    assert_no_secret(text, secrets_of(world))


async def test_hidden_systems_vault_is_red(world: World) -> None:
    world.op.hide_vault(SYSTEMS_VAULT)
    code, text = await preflight(world.settings())
    assert code != 0
    assert row_lines(text, f"op: {SYSTEMS_VAULT}").startswith("RED")


async def test_op_token_unset_is_one_red_row(world: World) -> None:
    code, text = await preflight(settings_with(world, OP_SERVICE_ACCOUNT_TOKEN=None))
    assert code != 0
    row = row_lines(text, "op")
    assert row.startswith("RED") and "OP_SERVICE_ACCOUNT_TOKEN" in row
    assert "op: Arda" not in text  # one row, not one per vault
    assert world.op.calls() == []


async def test_op_token_refused_is_red(world: World) -> None:
    wrong = "ops_WRONG-service-account-token-9876543210"
    code, text = await preflight(settings_with(world, OP_SERVICE_ACCOUNT_TOKEN=wrong))
    assert code != 0
    row = row_lines(text, "op")
    assert row.startswith("RED") and "OP_SERVICE_ACCOUNT_TOKEN" in row
    # Revoked, expired or deleted: the row says how to replace the token.
    assert "(1) In 1Password (Developer → Directory → *Other*" in row
    assert "*Create a Service Account*" in row
    assert "Arda-SystemsOAM" in row and "(6) Revoke the old service account" in row
    assert_no_secret(text, [*secrets_of(world), wrong])


async def test_bad_linear_key_is_red_with_the_fix(world: World) -> None:
    bad = "lin_api_WRONGkey9999999999"
    code, text = await preflight(settings_with(world, LINEAR_API_KEY=bad))
    assert code != 0
    row = row_lines(text, "linear")
    assert row.startswith("RED")
    assert "LINEAR_API_KEY" in row and "fix:" in row
    assert is_green(text, "slack") and is_green(text, "github")
    assert_no_secret(text, [*secrets_of(world), bad])


async def test_linear_key_unset_is_red(world: World) -> None:
    code, text = await preflight(settings_with(world, LINEAR_API_KEY=None))
    assert code != 0
    row = row_lines(text, "linear")
    assert row.startswith("RED") and "LINEAR_API_KEY" in row
    # Which permissions to give the key it is told to make (Linear can limit them).
    assert "Full access (or at least Read and Write" in row


async def test_unknown_linear_issue_is_red(world: World) -> None:
    world.config_overrides["linear"] = {"issue": "PDEV-999"}
    code, text = await preflight(world.settings())
    assert code != 0
    assert is_green(text, "linear")
    row = row_lines(text, "linear: PDEV-999")
    assert row.startswith("RED") and "linear.issue" in row


async def test_github_token_denied_is_red_with_the_fix(world: World) -> None:
    bad = "ghp_WRONGtoken0000000000000000000000000"
    code, text = await preflight(settings_with(world, GITHUB_TOKEN=bad))
    assert code != 0
    row = row_lines(text, "github")
    assert row.startswith("RED") and "401" in row and "GITHUB_TOKEN" in row
    assert_no_secret(text, [*secrets_of(world), bad])


async def test_github_forbidden_is_red(world: World) -> None:
    world.github.fail_next(r"/actions/workflows/", status=403, body={"message": "Forbidden"})
    code, text = await preflight(world.settings())
    assert code != 0
    row = row_lines(text, "github")
    assert row.startswith("RED") and "403" in row and "GITHUB_TOKEN" in row


async def test_github_outage_is_red_after_one_quick_retry(world: World) -> None:
    """The preflight's GitHub client is the bot's, built quick: two attempts, no long waits."""
    world.github.fail_next(r"/actions/workflows/amm\.yml$", status=502, times=10)
    code, text = await preflight(world.settings())
    assert code != 0
    row = row_lines(text, "github")
    assert row.startswith("RED") and "after 2 attempts" in row and "githubstatus" in row
    assert len(world.github.requests_to(r"/actions/workflows/amm\.yml$", "GET")) == 2


async def test_github_workflow_missing_on_ref_is_red(world: World) -> None:
    world.config_overrides["github"] = {**world.config()["github"], "workflow": "nope.yml"}
    code, text = await preflight(world.settings())
    assert code != 0
    row = row_lines(text, "github")
    assert row.startswith("RED") and "github.workflow" in row


async def test_github_token_unset_is_red(world: World) -> None:
    code, text = await preflight(settings_with(world, GITHUB_TOKEN=None))
    assert code != 0
    assert "GITHUB_TOKEN" in row_lines(text, "github")


async def test_bff_on_a_closed_port_is_red(world: World) -> None:
    cfg = world.config()
    port = closed_port()
    cfg["partitions"][1]["bff_url"] = f"http://127.0.0.1:{port}/stage"
    world.config_overrides["partitions"] = cfg["partitions"]
    code, text = await preflight(world.settings())
    assert code != 0
    row = row_lines(text, "bff:stage")
    assert row.startswith("RED") and "cannot reach" in row
    assert "partitions[1].bff_url" in row
    assert is_green(text, "bff:dev") and is_green(text, "bff:prod")


async def test_bff_url_unset_names_the_yaml_key(world: World) -> None:
    cfg = world.config()
    del cfg["partitions"][3]["bff_url"]
    world.config_overrides["partitions"] = cfg["partitions"]
    code, text = await preflight(world.settings())
    assert code != 0
    row = row_lines(text, "bff:prod")
    assert row.startswith("RED") and "partitions[3].bff_url" in row


async def test_invalid_slack_token_is_red_with_the_fix(world: World) -> None:
    bad = "xoxb-9999-8888-wrongbottoken"
    code, text = await preflight(settings_with(world, SLACK_BOT_TOKEN=bad))
    assert code != 0
    row = row_lines(text, "slack")
    assert row.startswith("RED") and "invalid_auth" in row and "SLACK_BOT_TOKEN" in row
    assert_no_secret(text, [*secrets_of(world), bad])


ENVOY_503 = (
    "upstream connect error or disconnect/reset before headers. reset reason: "
    "connection termination"
)


@pytest.mark.parametrize(
    ("method", "fault", "row", "needles"),
    [
        (  # a proxy's text/plain 503: "the check itself failed: AttributeError" before
            "auth.test",
            {"error": ENVOY_503, "status": 503, "plain": True},
            "slack",
            ["Slack did not answer auth.test properly (HTTP 503, an error page"],
        ),
        (
            "auth.test",
            {"error": "service_unavailable", "status": 200},
            "slack",
            ["Slack did not answer auth.test properly (service_unavailable)"],
        ),
        (  # not "no channel has that ID … /invite": the bot is in the channel
            "conversations.info",
            {"error": "internal_error", "status": 200},
            "slack: engineering channel",
            ["Slack did not answer conversations.info about C0ENG123 properly (internal_"],
        ),
        (
            "conversations.info",
            {"error": ENVOY_503, "status": 503, "plain": True},
            "slack: engineering channel",
            ["Slack did not answer conversations.info about C0ENG123 properly (HTTP 503"],
        ),
    ],
)
async def test_slack_not_answering_properly_is_red_saying_it_passes(
    world: World, method: str, fault: dict[str, Any], row: str, needles: list[str]
) -> None:
    world.slack.fail_next(method, **fault)
    code, text = await preflight(world.settings())
    assert code == 1
    line = row_lines(text, row)
    assert line.startswith("RED"), line
    for needle in [*needles, "usually passes within minutes", "fix: nothing to change"]:
        assert needle in line, line
    assert "run `creators-onboard check` again in a minute" in line
    assert "https://slack-status.com" in line
    assert "/invite" not in line and "the check itself failed" not in text
    assert ENVOY_503 not in text  # a proxy's page is not quoted


@pytest.mark.parametrize(
    ("method", "error", "row", "why"),
    [
        ("auth.test", "account_inactive", "slack", "the app was uninstalled"),
        ("auth.test", "token_revoked", "slack", "SLACK_BOT_TOKEN was revoked"),
        ("conversations.info", "account_inactive", "slack: engineering channel", "uninstalled"),
        ("conversations.info", "invalid_auth", "slack: engineering channel", "IP address"),
    ],
)
async def test_a_refused_bot_token_is_red_saying_reinstall(
    world: World, method: str, error: str, row: str, why: str
) -> None:
    world.slack.fail_next(method, error=error, status=200)
    code, text = await preflight(world.settings())
    assert code == 1
    line = row_lines(text, row)
    assert line.startswith("RED") and f"Slack refused the bot's token ({method}" in line, line
    assert f": {error})" in line and why in line, line
    assert "fix: reinstall the app to the workspace" in line and "SLACK_BOT_TOKEN" in line
    assert "restart the bot" in line and "/invite" not in line
    assert_no_secret(text, secrets_of(world))


# ------------------------------------------------------------------------- as a command


async def run_check(env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    proc = await asyncio.create_subprocess_exec(
        str(PYTHON),
        "-m",
        "bot",
        "check",
        cwd=str(cwd),
        env={**base, "PYTHONPATH": str(REPO), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, stdout.decode(), stderr.decode()


@pytest.mark.skipif(not PYTHON.exists(), reason="needs the project's .venv")
async def test_cli_check_green_then_red(world: World, tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in world.env().items() if k != "DATABASE_URL"}
    code, out, err = await run_check(env, cwd)
    assert code == 0, out + err
    assert "GREEN  slack" in out and "RED" not in out
    assert_no_secret(out + err, secrets_of(world))

    world.op.hide_vault("Arda-ProdOAM")
    code, out, err = await run_check(env, cwd)
    assert code == 1, out + err
    assert row_lines(out, "op: Arda-ProdOAM").startswith("RED")
    assert_no_secret(out + err, secrets_of(world))
    # The check created nothing: not even the default SQLite file in the working directory.
    assert not os.listdir(tmp_path / "cwd")


# -------------------------------------------------------------- secrets people chose


async def test_a_short_webhook_secret_is_a_warning_that_never_shows_it(world: World) -> None:
    """A webhook secret someone typed (a word) can be guessed, and since every copy of a
    secret is blanked in what the bot logs and posts, the word is blanked everywhere."""
    world.webhook_secret = "deployment"
    code, text = await preflight(world.settings())
    assert code == 0, text  # a warning, not a failure
    line = row_lines(text, "secret: GITHUB_WEBHOOK_SECRET")
    assert line.startswith("WARN"), line
    assert "weak (10 characters, letters only)" in line
    assert "openssl rand -hex 32" in line and "the webhook's Secret on GitHub" in line
    assert "deployment" not in text.replace("[redacted]", "")
    assert "0 red" in text


async def test_a_long_random_webhook_secret_has_no_row(world: World) -> None:
    world.webhook_secret = "9f86d081884c7d659a2feaa0c55ad015"
    _, text = await preflight(world.settings())
    assert "secret:" not in text
    assert "4 warnings, 0 red" in text


async def test_a_word_for_a_database_password_is_a_warning(world: World) -> None:
    """A password like CI's own `postgres`: the row says what it does to every message that
    mentions PostgreSQL, and how to change it (the check reads the URL only)."""
    weak = settings_with(world, DATABASE_URL="postgresql://bot:postgres@db.internal:5432/bot")
    session = None  # the check makes no request
    rows = await check_secrets(weak, session)  # type: ignore[arg-type]
    text = render(rows)
    line = row_lines(text, "secret: DATABASE_URL")
    assert line.startswith("WARN"), line
    assert "the database password is weak (8 characters, letters only)" in line
    assert "ALTER ROLE" in line and "openssl rand -hex 32" in line
    assert ":postgres@" not in text
    # Under the redactor's shortest: not blanked at all, and the row says so.
    tiny = settings_with(world, DATABASE_URL="postgresql://bot:pgpw@db.internal:5432/bot")
    line = render(await check_secrets(tiny, session))  # type: ignore[arg-type]
    assert "weak (4 characters, letters only)" in line
    assert "too short for the bot to blank it" in line and "[redacted]" not in line
    strong = settings_with(
        world, DATABASE_URL="postgresql://bot:f3b1c0de9a7e44d2b6c85e1a@db.internal:5432/bot"
    )
    assert await check_secrets(strong, session) == []  # type: ignore[arg-type]
    assert await check_secrets(world.settings(), session) == []  # type: ignore[arg-type]  # SQLite


# ------------------------------------------------------------------------- the clock


async def test_a_clock_far_from_slack_s_is_red_and_one_drifting_is_a_warning(
    world: World,
) -> None:
    """Slack signs every request with its own time and the bot refuses one dated more than
    5 minutes from its clock: a host clock that far off (Docker Desktop's after a laptop
    slept) refuses everything from Slack. `check` compares it with the `Date` of Slack's
    answer to auth.test."""
    _, text = await preflight(world.settings())
    assert is_green(text, "clock") and "s from Slack's" in row_lines(text, "clock")

    world.slack.clock_off_by(-400)  # Slack's clock behind: this host is 400 s ahead
    code, text = await preflight(world.settings())
    assert code == 1, text
    line = row_lines(text, "clock")
    assert line.startswith("RED"), line
    assert "this host's clock is 40" in line and "s ahead of Slack's" in line
    assert "dispatch_failed" in line and "timedatectl set-ntp true" in line

    world.slack.clock_off_by(90)
    code, text = await preflight(world.settings())
    assert code == 0, text
    line = row_lines(text, "clock")
    assert line.startswith("WARN") and "s behind Slack's" in line and "5 minutes" in line


# ------------------------------------------------------------------ the token's scopes


async def test_a_token_without_a_scope_the_manifest_asks_for_is_red(world: World) -> None:
    """An app installed before manifest.yml asked for a scope (or set up by hand): the DM
    replies and the leak guard's events would fail mid-rollout. Slack lists a token's
    scopes in every answer's `x-oauth-scopes`; `check` compares them with the manifest."""
    _, text = await preflight(world.settings())
    assert is_green(text, "slack: scopes") and "the 9 manifest.yml asks for" in text

    world.slack.scopes = tuple(
        s for s in world.slack.scopes if s not in ("im:history", "users:read")
    )
    code, text = await preflight(world.settings())
    assert code == 1, text
    line = row_lines(text, "slack: scopes")
    assert line.startswith("RED") and "lacks im:history, users:read" in line
    assert "OAuth & Permissions → Scopes" in line and "reinstall the app" in line

    world.slack.scopes = (*BOT_SCOPES, "chat:write.public", "files:read")
    code, text = await preflight(world.settings())
    assert code == 0, text
    line = row_lines(text, "slack: scopes")
    assert line.startswith("WARN") and "chat:write.public, files:read besides" in line


# --------------------------------------------------------------- GitHub token scopes


async def test_a_classic_github_token_without_repo_is_red_before_any_deploy(
    world: World,
) -> None:
    """Reading the workflow needs less than dispatching it: a classic token lists its
    scopes (X-OAuth-Scopes), and without `repo` every deploy would be refused at the
    gate. A fine-grained token lists none, and gets no row."""
    _, text = await preflight(world.settings())
    assert "github: token scopes" not in text

    world.github.oauth_scopes = "read:org, workflow"
    code, text = await preflight(world.settings())
    assert code == 1, text
    line = row_lines(text, "github: token scopes")
    assert line.startswith("RED") and "can read Arda-cards/infrastructure's workflow" in line
    assert "it has: read:org, workflow" in line and "Actions: Read and write" in line

    world.github.oauth_scopes = "public_repo"
    code, text = await preflight(world.settings())
    assert code == 0, text
    assert row_lines(text, "github: token scopes").startswith("WARN")

    world.github.oauth_scopes = "repo, workflow"
    code, text = await preflight(world.settings())
    assert code == 0 and is_green(text, "github: token scopes"), text
    assert world.github.dispatches == []  # proved without dispatching anything
