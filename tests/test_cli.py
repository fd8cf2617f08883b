"""The command line as a new user meets it: real subprocesses, a minimal environment.

`serve` with nothing but the three Slack variables (the API pointed at a FakeSlack)
comes up on a free port, answers /healthz, and exits 0 on SIGTERM, leaving its default
SQLite file in the working directory. Configuration mistakes exit 2 with one line naming
the variable or YAML key, and no traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from bot.settings import DEFAULT_SQLITE_NAME
from tests.fakes.slack import FakeSlack
from tests.scenario import BOT_TOKEN, SIGNING_SECRET

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = VENV_BIN / "python"
SCRIPT = VENV_BIN / "creators-onboard"

pytestmark = pytest.mark.skipif(not PYTHON.exists(), reason="needs the project's .venv")

# What the bot reads: none of it may leak in from the developer's or CI's environment.
OURS = (
    "SLACK_",
    "GITHUB_",
    "LINEAR_",
    "OP_",
    "DATABASE_URL",
    "CREATORS_ONBOARD_",
    "HOST",
    "PORT",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "BFF_",
    "DBOS",
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(OURS)}
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def command(how: str, *args: str) -> list[str]:
    if how == "module":
        return [str(PYTHON), "-m", "bot", *args]
    return [str(SCRIPT), *args]


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(token=BOT_TOKEN) as slack:
        yield slack


def log_lines(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            found.append(record)
    return found


async def wait_listening(proc: asyncio.subprocess.Process, seen: list[str]) -> int:
    """Read stderr until the JSON "listening" line; return its port."""
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            raw = await asyncio.wait_for(proc.stderr.readline(), deadline - time.monotonic())
        except TimeoutError:
            break
        if not raw:
            break
        line = raw.decode("utf-8", "replace")
        seen.append(line)
        for record in log_lines(line):
            if record.get("event") == "listening":
                return int(record["port"])
    raise AssertionError("no 'listening' log line; stderr was:\n" + "".join(seen))


@pytest.mark.parametrize("how", ["module", "script"])
async def test_serve_with_only_the_slack_variables(
    how: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        HOST="127.0.0.1",
        PORT="0",
    )
    proc = await asyncio.create_subprocess_exec(
        *command(how, "serve"),
        cwd=str(tmp_path),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    seen: list[str] = []
    try:
        port = await wait_listening(proc, seen)
        assert port > 0
        started = time.monotonic()
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        status = resp.status
                        break
                except aiohttp.ClientConnectionError:
                    if time.monotonic() - started > 5:
                        raise
                    await asyncio.sleep(0.05)
            assert status == 200
            async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
                assert resp.status == 200
        assert time.monotonic() - started < 5
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    output = "".join(seen) + stderr.decode() + stdout.decode()
    assert proc.returncode == 0, output
    assert "Traceback" not in output
    # The default database is a SQLite file in the working directory.
    assert (tmp_path / DEFAULT_SQLITE_NAME).exists()
    # Secrets stay out of the logs.
    assert BOT_TOKEN not in output and SIGNING_SECRET not in output
    events = [r.get("event") for r in log_lines(output)]
    assert "shutting_down" in events


async def run(
    *args: str, env: dict[str, str], cwd: Path, how: str = "module"
) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *command(how, *args),
        cwd=str(cwd),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode is not None
    return proc.returncode, stdout.decode(), stderr.decode()


def assert_config_error(code: int, out: str, err: str, *names: str) -> None:
    assert code == 2, out + err
    assert "Traceback" not in err + out
    assert "configuration is not valid" in err
    for name in names:
        assert name in err, (name, err)


@pytest.mark.parametrize("how", ["module", "script"])
@pytest.mark.parametrize("sub", ["serve", "check"])
async def test_missing_bot_token_exits_2_naming_it(how: str, sub: str, tmp_path: Path) -> None:
    env = clean_env(SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT="0", HOST="127.0.0.1")
    code, out, err = await run(sub, env=env, cwd=tmp_path, how=how)
    assert_config_error(code, out, err, "SLACK_BOT_TOKEN")
    assert not (tmp_path / DEFAULT_SQLITE_NAME).exists()


async def test_missing_signing_secret_in_http_mode(tmp_path: Path) -> None:
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN)
    code, out, err = await run("serve", env=env, cwd=tmp_path)
    assert_config_error(code, out, err, "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")


async def test_a_wrong_token_value_is_never_echoed(tmp_path: Path) -> None:
    bad = "xoxp-1234-user-token-not-a-bot-token"
    env = clean_env(SLACK_BOT_TOKEN=bad, SLACK_SIGNING_SECRET=SIGNING_SECRET)
    code, out, err = await run("serve", env=env, cwd=tmp_path)
    assert_config_error(code, out, err, "SLACK_BOT_TOKEN", "xoxb-")
    assert bad not in out + err


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


BAD_YAML = {
    "unknown key": ({"slack": {"engineering_chanel": "C0ENG123"}}, "slack.engineering_chanel"),
    "wrong type": ({"smoke": {"throttle_check": "sometimes"}}, "smoke.throttle_check"),
    "bad partition name": (
        {"partitions": [{"name": "Dev-1", "vault": "Arda-DevOAM"}]},
        "partitions.0.name",
    ),
    "bad user id": ({"slack": {"devops": ["alice"]}}, "slack.devops"),
    "bad bff url": (
        {"partitions": [{"name": "dev", "vault": "V", "bff_url": "bff.dev.example"}]},
        "partitions.0.bff_url",
    ),
}


@pytest.mark.parametrize("case", list(BAD_YAML))
async def test_bad_yaml_exits_2_naming_the_key(case: str, tmp_path: Path) -> None:
    data, key = BAD_YAML[case]
    config = write_yaml(tmp_path / "creators-onboard.yml", data)
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        CREATORS_ONBOARD_CONFIG=str(config),
    )
    code, out, err = await run("serve", env=env, cwd=tmp_path)
    assert_config_error(code, out, err, key)


async def test_default_yaml_in_the_working_directory_is_read(tmp_path: Path) -> None:
    """Without CREATORS_ONBOARD_CONFIG, ./creators-onboard.yml is the file."""
    write_yaml(tmp_path / "creators-onboard.yml", {"github": {"repository": "no-slash"}})
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET)
    code, out, err = await run("check", env=env, cwd=tmp_path)
    assert_config_error(code, out, err, "github.repository", "owner/name")


async def test_missing_config_file_named(tmp_path: Path) -> None:
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        CREATORS_ONBOARD_CONFIG=str(tmp_path / "nope.yml"),
    )
    code, out, err = await run("serve", env=env, cwd=tmp_path)
    assert_config_error(code, out, err, "CREATORS_ONBOARD_CONFIG", "nope.yml")


async def test_yaml_that_is_not_yaml(tmp_path: Path) -> None:
    config = tmp_path / "creators-onboard.yml"
    config.write_text("slack: [unclosed\n", encoding="utf-8")
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        CREATORS_ONBOARD_CONFIG=str(config),
    )
    code, out, err = await run("serve", env=env, cwd=tmp_path)
    assert_config_error(code, out, err, "not valid YAML")


async def test_usage_errors(tmp_path: Path) -> None:
    code, out, err = await run(env=clean_env(), cwd=tmp_path)
    assert code == 2 and "serve" in err and "check" in err
    code, out, err = await run("--help", env=clean_env(), cwd=tmp_path, how="script")
    assert code == 0 and "serve" in out and "check" in out


# ------------------------------------------------------------------ DATABASE_URL


BAD_DATABASES = {
    "nothing listens there": "postgresql://bot:hunter2-db-pass@127.0.0.1:1/creators",
    "a SQLite folder that does not exist": "sqlite:////nonexistent-folder/sub/x.sqlite",
}


@pytest.mark.parametrize("why", sorted(BAD_DATABASES))
async def test_serve_with_an_unusable_database_exits_2_naming_it(why: str, tmp_path: Path) -> None:
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        DATABASE_URL=BAD_DATABASES[why],
        PORT="0",
        LOG_FORMAT="json",
    )
    code, out, err = await run("serve", env=env, cwd=tmp_path)
    assert code == 2, out + err
    assert "Traceback" not in out + err
    assert "DATABASE_URL: the database cannot be used" in err
    assert "hunter2-db-pass" not in out + err


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://bot@db.example:notaport/x",
        "postgresql:///nohost",
        "sqlite:///",
    ],
)
@pytest.mark.parametrize("cmd", ["serve", "check"])
async def test_a_malformed_database_url_is_a_config_error(
    url: str, cmd: str, tmp_path: Path
) -> None:
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, DATABASE_URL=url
    )
    code, out, err = await run(cmd, env=env, cwd=tmp_path)
    assert_config_error(code, out, err, "DATABASE_URL")


async def test_check_tests_the_database(tmp_path: Path, fake_slack: FakeSlack) -> None:
    base = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
    }
    code, out, err = await run(
        "check",
        env=clean_env(**base, DATABASE_URL=BAD_DATABASES["nothing listens there"]),
        cwd=tmp_path,
    )
    row = next(line for line in out.splitlines() if " database " in f" {line} ")
    assert row.startswith("RED") and "127.0.0.1:1" in row, out
    assert "hunter2-db-pass" not in out + err and "Traceback" not in out + err
    assert code == 1

    db = tmp_path / "bot.sqlite"
    for _ in range(2):  # first: the file is not created; then an existing file is probed
        code, out, _err = await run(
            "check", env=clean_env(**base, DATABASE_URL=f"sqlite:///{db}"), cwd=tmp_path
        )
        row = next(line for line in out.splitlines() if " database " in f" {line} ")
        assert row.startswith("GREEN"), out
        if not db.exists():
            assert "created on first start" in row
            db.write_bytes(b"")
        else:
            assert "reachable and writable" in row
    db.chmod(0o444)
    if os.geteuid() != 0:  # root writes read-only files anyway
        code, out, _err = await run(
            "check", env=clean_env(**base, DATABASE_URL=f"sqlite:///{db}"), cwd=tmp_path
        )
        row = next(line for line in out.splitlines() if " database " in f" {line} ")
        assert row.startswith("RED"), out
