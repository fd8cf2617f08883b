"""A green `check` means a rollout will not fail for a configuration reason.

One scenario per row that used to be green while the rollout then failed — the BFF token
missing, the bot not in the engineering channel, the database unreachable, the AWS
credentials missing (and the channel given by name): `check` is red with the fix, and the
same configuration never reaches a dispatch. `serve` refuses to start with the ones no
person can fix from Slack and says which; the bot refuses the deploy for the one they can
(the channel), until it is fixed.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.blocks.ids import DEPLOY
from bot.readiness import SQLITE_NEEDED, serve_refusals
from bot.sandbox.fakes.amplify import APP_ID
from bot.settings import Settings, load_settings
from tests.scenario import DEVOPS, ENG, World, eventually
from tests.scenarios.test_rollout import deploy, to_gate, wait_partition
from tests.test_preflight import closed_port, preflight, row_lines

REPO = Path(__file__).resolve().parents[2]
PYTHON = REPO / ".venv" / "bin" / "python"


def settings_without(world: World, *names: str, **values: str) -> Settings:
    env = {k: v for k, v in world.env().items() if k not in names}
    env.update(values)
    return load_settings(env)


async def run_cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """`creators-onboard <args>` as a process with exactly `env` (plus PATH): its exit
    status, stdout and stderr. A process still running after 30 s is killed."""
    if not PYTHON.exists():
        pytest.skip("needs the project's .venv")
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "HOME")}
    proc = await asyncio.create_subprocess_exec(
        str(PYTHON),
        "-m",
        "bot",
        *args,
        env={**keep, **env},
        cwd=str(cwd),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode or 0, out.decode(), err.decode()


async def serve(world: World, env: dict[str, str]) -> tuple[int, str]:
    """`serve`, which must refuse to start: its exit status and what it printed."""
    code, out, err = await run_cli("serve", env=env, cwd=world.tmp)
    return code, out + err


def aws_isolated() -> dict[str, str]:
    """What the autouse fixture gives botocore in this process, for a child process."""
    names = ("AWS_EC2_METADATA_DISABLED", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
    return {n: os.environ[n] for n in names}


async def refused_deploy(world: World, partition: str, *needles: str) -> str:
    """Press Deploy: the bot answers what to fix, and starts nothing."""
    await deploy(world, partition)
    answers = await eventually(
        lambda: [
            r["text"]
            for r in world.slack.responses(f"deploy-{partition}")
            if "I did not deploy" in (r.get("text") or "")
        ],
        what="the deploy refused with its fix",
    )
    for needle in needles:
        assert needle in answers[-1], answers[-1]
    state = await world.state()
    assert state.partition(partition).status == "pending" and state.status == "active"
    assert world.github.dispatches == []
    # The gate is still there, to press again once the cause is fixed.
    assert world.find_button(DEVOPS, DEPLOY) is not None
    return str(answers[-1])


# ------------------------------------------------------------------ BFF token missing


async def test_a_missing_bff_token_is_red_refuses_serve_and_never_reaches_a_dispatch(
    world: World,
) -> None:
    code, text = await preflight(settings_without(world, "BFF_TOKEN_DEV"))
    assert code == 1
    line = row_lines(text, "bff:dev token")
    assert line.startswith("RED") and "BFF_TOKEN_DEV is not set" in line
    assert "fix: put dev's BFF smoke-test bearer token in BFF_TOKEN_DEV" in line
    assert row_lines(text, "bff:stage token").startswith("GREEN")

    env = {k: v for k, v in world.env().items() if k != "BFF_TOKEN_DEV"}
    status, output = await serve(world, env)
    assert status == 2, output
    assert "serve refuses to start" in output and "bff:dev token" in output
    assert "BFF_TOKEN_DEV" in output and "Traceback" not in output

    # A bot started with it anyway (in this process) does not dispatch dev.
    async with world.bot() as running:
        running.deps.settings = settings_without(world, "BFF_TOKEN_DEV")
        await to_gate(world)
        await refused_deploy(world, "dev", "BFF_TOKEN_DEV is not set", "Nothing was started")


async def test_a_token_the_bff_refuses_is_red(world: World) -> None:
    code, text = await preflight(settings_without(world, BFF_TOKEN_STAGE="not-the-stage-token"))
    assert code == 1
    line = row_lines(text, "bff:stage token")
    assert line.startswith("RED") and "refused the token in BFF_TOKEN_STAGE" in line
    assert "not-the-stage-token" not in text


# ------------------------------------------------------------- channel not joined


async def test_the_bot_outside_the_engineering_channel_is_red_and_deploys_wait_for_the_invite(
    world: World,
) -> None:
    world.slack.set_member(ENG, False)
    code, text = await preflight(world.settings())
    assert code == 1
    line = row_lines(text, "slack: engineering channel")
    assert line.startswith("RED") and "not a member of #engineering (C0ENG123)" in line
    assert "/invite @Creators Onboard" in line
    # Fixable from Slack: serve starts, and the deploy waits for the invitation.
    assert await serve_refusals(world.settings()) == []
    async with world.bot():
        await to_gate(world)
        await refused_deploy(world, "dev", "not a member of #engineering", "/invite")
        world.slack.set_member(ENG, True)  # someone typed /invite in the channel
        await deploy(world, "dev")
        await wait_partition(world, "dev", "green")
        assert len(world.github.dispatches) == 1
    code, text = await preflight(world.settings())
    assert row_lines(text, "slack: engineering channel").startswith("GREEN")


# What Envoy, in front of an API, answers as text/plain when it loses its upstream.
ENVOY_503 = (
    "upstream connect error or disconnect/reset before headers. reset reason: "
    "connection termination"
)


async def nth_refusal(world: World, partition: str, n: int) -> str:
    """The `n`th answer refusing to deploy `partition` (1: the first), once it has come."""
    answers = await eventually(
        lambda: (
            found
            if len(
                found := [
                    r["text"]
                    for r in world.slack.responses(f"deploy-{partition}")
                    if "I did not deploy" in (r.get("text") or "")
                ]
            )
            >= n
            else None
        ),
        what=f"refusal {n} of the deploy",
    )
    return str(answers[n - 1])


async def test_slack_failing_the_channel_check_refuses_the_deploy_for_now_not_for_an_invite(
    world: World,
) -> None:
    """Slack not answering `conversations.info` properly (its own error, a load balancer's
    HTML page, a proxy's text/plain 503, its rate limit after the client's retries) does
    not send devOps to invite a bot that is in the channel: the deploy is refused with
    what happened, that it usually passes, and to press again. A proxy's text answer no
    longer ends the rollout (AttributeError). A refused token says to reinstall. Once
    Slack answers, the same button deploys."""
    passing: list[tuple[dict[str, Any], str]] = [
        ({"error": ENVOY_503, "status": 503, "plain": True}, "(HTTP 503, an error page"),
        ({"error": "internal_error", "status": 200}, "(internal_error)"),
        ({"error": "Service Unavailable", "status": 503, "html": True}, "(HTTP 503, an error page"),
        ({"error": "ratelimited", "status": 429, "times": 4}, "(ratelimited, HTTP 429)"),
    ]
    async with world.bot():
        await to_gate(world)
        for n, (fault, shown) in enumerate(passing, 1):
            world.slack.fail_next("conversations.info", **fault)
            await deploy(world, "dev")
            answer = await nth_refusal(world, "dev", n)
            assert "Slack did not answer conversations.info about C0ENG123 properly" in answer
            assert shown in answer and "usually passes within minutes" in answer, answer
            assert "press the same button (Deploy or Retry) again in a minute" in answer
            assert "https://slack-status.com" in answer
            assert "/invite" not in answer and "cannot see" not in answer, answer
            assert world.slack.pending_faults("conversations.info") == 0
            state = await world.state()
            assert state.partition("dev").status == "pending" and state.status == "active"
            assert world.github.dispatches == []

        world.slack.fail_next("conversations.info", error="account_inactive", status=200)
        await deploy(world, "dev")
        answer = await nth_refusal(world, "dev", len(passing) + 1)
        assert "Slack refused the bot's token (conversations.info about C0ENG123: " in answer
        assert "account_inactive" in answer and "uninstalled" in answer
        assert "reinstall the app" in answer and "SLACK_BOT_TOKEN" in answer
        assert "restart the bot" in answer and "/invite" not in answer

        await deploy(world, "dev")  # Slack answers again
        await wait_partition(world, "dev", "green")
        assert len(world.github.dispatches) == 1


async def test_an_engineering_channel_given_by_name_is_red_with_the_fix(world: World) -> None:
    world.config_overrides["slack"] = {**world.config()["slack"], "engineering_channel": "#eng"}
    code, text = await preflight(world.settings())
    assert code == 1
    line = row_lines(text, "config: engineering channel")
    assert line.startswith("RED") and "'#eng', which is not a channel ID" in line
    assert "Channel ID" in line and "C0123ABCD" in line
    status, output = await serve(world, world.env())
    assert status == 2 and "config: engineering channel" in output, output


# --------------------------------------------------------------- database unreachable


async def test_an_unreachable_database_is_red_and_serve_refuses_to_start(world: World) -> None:
    url = f"postgresql://bot:hunter2-db-pass@127.0.0.1:{closed_port()}/creators"
    code, text = await preflight(settings_without(world, DATABASE_URL=url))
    assert code == 1
    line = row_lines(text, "database")
    assert line.startswith("RED") and "cannot be used" in line
    assert "fix: check the host, port, name, user and password in DATABASE_URL" in line
    assert "hunter2-db-pass" not in text
    status, output = await serve(world, {**world.env(), "DATABASE_URL": url})
    assert status == 2 and "database" in output and "serve refuses to start" in output
    assert "hunter2-db-pass" not in output
    assert world.github.dispatches == []


async def test_a_writable_database_is_green_with_its_schema(world: World) -> None:
    async with world.bot():
        pass  # the bot creates its tables
    code, text = await preflight(world.settings())
    assert code == 0, text
    assert "reachable and writable" in row_lines(text, "database")
    assert row_lines(text, "database: schema").startswith("GREEN")


OLD_SQLITE = (3, 26, 0)  # RHEL 8's, for one


def old_sqlite_python(tmp: Path) -> dict[str, str]:
    """The environment of a Python whose sqlite3 module reports an old SQLite library (a
    `sitecustomize` on its path says so before anything imports the bot)."""
    site = tmp / "old-sqlite"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(
        "import sqlite3\n"
        f"sqlite3.sqlite_version_info = {OLD_SQLITE!r}\n"
        f"sqlite3.sqlite_version = {'.'.join(map(str, OLD_SQLITE))!r}\n"
    )
    return {"PYTHONPATH": str(site)}


async def test_an_old_sqlite_library_is_red_and_serve_refuses_to_start(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every claim and audit row is an INSERT … RETURNING, which SQLite 3.26 cannot run:
    `check` says so with the fix, and `serve` does not start to fail each write."""
    url = f"sqlite:///{world.tmp / 'old.sqlite'}"
    monkeypatch.setattr(sqlite3, "sqlite_version_info", OLD_SQLITE)
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.26.0")
    code, text = await preflight(settings_without(world, DATABASE_URL=url))
    assert code == 1
    line = row_lines(text, "database: SQLite")
    assert line.startswith("RED") and "SQLite library is 3.26.0; the bot needs 3.35" in line
    assert "INSERT … RETURNING" in line and "fix: run the Docker image" in line
    # (Not "postgresql://": where a secret is the word "postgres", as CI's database
    # password is, every copy of it is redacted.)
    assert "use PostgreSQL (DATABASE_URL=" in line
    monkeypatch.undo()
    env = {**world.env(), "DATABASE_URL": url, **old_sqlite_python(world.tmp)}
    status, output = await serve(world, env)
    assert status == 2 and "serve refuses to start" in output, output
    assert "SQLite library is 3.26.0" in output
    assert not (world.tmp / "old.sqlite").exists()  # nothing was written with it


async def test_a_current_sqlite_library_adds_no_row(world: World) -> None:
    url = f"sqlite:///{world.tmp / 'new.sqlite'}"
    assert sqlite3.sqlite_version_info >= SQLITE_NEEDED  # this machine's, and the image's
    _, text = await preflight(settings_without(world, DATABASE_URL=url))
    assert "database: SQLite" not in text
    assert "the file is created on first start" in row_lines(text, "database")


# --------------------------------------------------------------- AWS credentials


def with_amplify(world: World) -> None:
    partitions = world.config()["partitions"]
    partitions[0]["amplify"] = {"app_id": APP_ID, "branch": "main"}
    world.config_overrides["partitions"] = partitions


async def test_missing_aws_credentials_are_red_refuse_serve_and_never_reach_a_dispatch(
    world: World,
) -> None:
    with_amplify(world)
    code, text = await preflight(world.settings())
    assert code == 1
    line = row_lines(text, "amplify:dev")
    assert line.startswith("RED") and f"no AWS credentials to check dev's Amplify app {APP_ID}" in (
        line
    )
    assert "fix: give the bot an AWS identity allowed amplify:GetApp" in line
    # The partitions without an app are a warning, not a failure.
    assert row_lines(text, "amplify:stage").startswith("WARN")

    status, output = await serve(world, {**world.env(), **aws_isolated()})
    assert status == 2 and "amplify:dev" in output and "no AWS credentials" in output, output

    async with world.bot():
        await to_gate(world)
        await refused_deploy(world, "dev", "no AWS credentials")


@pytest.mark.usefixtures("aws_credentials")
async def test_aws_credentials_and_a_known_region_are_green(world: World) -> None:
    with_amplify(world)
    code, text = await preflight(world.settings())
    assert code == 0, text
    assert "AWS credentials found (env)" in row_lines(text, "amplify:dev")
    partitions: list[dict[str, Any]] = world.config()["partitions"]
    partitions[0]["region"] = "us-east-9"
    world.config_overrides["partitions"] = partitions
    code, text = await preflight(world.settings())
    assert "'us-east-9' is not a region Amplify runs in" in row_lines(text, "amplify:dev")
