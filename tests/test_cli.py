"""The command line as a new user meets it: real subprocesses, a minimal environment.

`serve` with nothing but the three Slack variables (the API pointed at a FakeSlack)
comes up on a free port, answers /healthz, and exits 0 on SIGTERM, leaving its default
SQLite file in the working directory. Configuration mistakes exit 2 with one line naming
the variable or YAML key, and no traceback.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
from collections.abc import AsyncIterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.listen import CannotListen, check_address
from bot.sandbox.fakes.slack import FakeSlack
from bot.server import GEN0_THRESHOLD
from bot.settings import DEFAULT_SQLITE_NAME, environment_variables
from tests.processes import log_lines, spawn, wait_answering, wait_listening
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


async def serve_once(how: str, env: dict[str, str], cwd: Path) -> str:
    """Start `serve`, check /healthz and /readyz, stop it with SIGTERM; its whole output."""
    proc = await spawn(command(how, "serve"), env, cwd)
    seen: list[str] = []
    try:
        port = await wait_listening(proc, seen)
        assert port > 0
        await wait_answering(port, within=5)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    output = "".join(seen) + stderr.decode() + stdout.decode()
    assert proc.returncode == 0, output
    assert "Traceback" not in output
    return output


def slack_only_env(fake_slack: FakeSlack, **extra: str) -> dict[str, str]:
    return clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        HOST="127.0.0.1",
        PORT="0",
        **extra,
    )


@pytest.mark.parametrize("how", ["module", "script"])
async def test_serve_with_only_the_slack_variables(
    how: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    output = await serve_once(how, slack_only_env(fake_slack), tmp_path)
    # The default database is a SQLite file in the working directory.
    assert (tmp_path / DEFAULT_SQLITE_NAME).exists()
    # Secrets stay out of the logs.
    assert BOT_TOKEN not in output and SIGNING_SECRET not in output
    events = [r.get("event") for r in log_lines(output)]
    assert "shutting_down" in events
    # What starting allocated is kept out of the collector's full passes (0.1-0.3 s each).
    frozen = [r for r in log_lines(output) if r.get("event") == "startup_heap_frozen"]
    assert len(frozen) == 1 and frozen[0]["objects"] > 10_000, frozen
    # … and young objects are collected less often (full passes 70 times rarer).
    assert frozen[0]["gc_threshold"][0] == GEN0_THRESHOLD


def is_dbos_migration(record: dict[str, Any]) -> bool:
    return record.get("logger") == "dbos" and "schema migration" in str(record.get("event"))


async def test_a_normal_start_is_quiet(
    fake_slack: FakeSlack, tmp_path: Path, database_url: str
) -> None:
    """A first start (new database) and a restart: no warning, no DBOS chatter at INFO."""
    env = slack_only_env(fake_slack, DATABASE_URL=database_url)
    for _ in ("first start", "restart"):
        output = await serve_once("script", env, tmp_path)
        records = log_lines(output)
        unparsed = [line for line in output.splitlines() if line.strip() and not log_lines(line)]
        assert unparsed == []  # a Python warning would print a plain line on stderr
        loud = [r for r in records if r.get("level") not in ("debug", "info")]
        assert loud == []
        assert [r for r in records if r.get("logger") == "dbos"] == []
        events = [r.get("event") for r in records]
        assert "listening" in events and "shutting_down" in events


async def test_dbos_migrations_are_logged_at_debug(
    fake_slack: FakeSlack, tmp_path: Path, database_url: str
) -> None:
    """LOG_LEVEL=DEBUG still shows what DBOS did: demoted, not dropped."""
    env = slack_only_env(fake_slack, LOG_LEVEL="DEBUG", DATABASE_URL=database_url)
    output = await serve_once("script", env, tmp_path)
    records = log_lines(output)
    migrations = [r for r in records if is_dbos_migration(r)]
    assert len(migrations) > 10
    assert {r["level"] for r in migrations} == {"debug"}
    assert [r for r in records if r.get("level") in ("warning", "error", "critical")] == []


async def run(
    *args: str, env: dict[str, str], cwd: Path, how: str = "module"
) -> tuple[int, str, str]:
    proc = await spawn(command(how, *args), env, cwd)
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


async def test_version(tmp_path: Path) -> None:
    code, out, err = await run("--version", env=clean_env(), cwd=tmp_path, how="script")
    assert code == 0, err
    assert out.strip() == f"creators-onboard {version('creators-onboard')}"
    assert re.fullmatch(r"creators-onboard \d+\.\d+\.\d+\S*", out.strip())


@pytest.mark.parametrize("sub", ["serve", "check"])
async def test_help_lists_the_variables_read(sub: str, tmp_path: Path) -> None:
    """`--help` names every variable with its meaning, from the settings' own fields."""
    code, out, err = await run(sub, "--help", env=clean_env(), cwd=tmp_path, how="script")
    assert code == 0, err
    listed = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    expected = environment_variables()
    for var in expected:
        assert var.name in listed, (var.name, out)
        assert var.meaning in listed[var.name]
    # The contract's names (DESIGN.md §3), written out so losing one fails here.
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DATABASE_URL", "DBOS__VMID"):
        assert name in listed
    assert "[required]" in listed["SLACK_BOT_TOKEN"]
    assert "[default: 3000]" in listed["PORT"]
    assert "BFF_TOKEN_<PARTITION>" in listed


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
    # Said once, by whichever comes first: the preflight's database row (serve refuses a
    # configuration nobody can fix from Slack) or the store when it cannot open it.
    assert "RED    database" in err and "cannot" in err  # the symptom, on its row
    assert "fix:" in err and "DATABASE_URL" in err  # and what to do
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


async def test_serve_on_a_port_in_use_says_so_before_anything_starts(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """On a laptop port 3000 is often another program's: one line with the fix, exit 2,
    no traceback, and nothing started (not even the SQLite file)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**slack_only_env(fake_slack), "PORT": str(port)}
        code, out, err = await run("serve", env=env, cwd=tmp_path)
    assert code == 2, out + err
    assert "Traceback" not in out + err
    assert f"cannot listen on 127.0.0.1:{port}: another program is listening on that port" in err
    assert f"lsof -i :{port}" in err and "PORT=3001" in err
    assert not (tmp_path / DEFAULT_SQLITE_NAME).exists()
    assert fake_slack.calls() == []  # not even the preflight's auth.test


@pytest.mark.parametrize(
    ("host", "said"),
    [
        ("192.0.2.77", "192.0.2.77 is not an address of this machine"),  # TEST-NET-1
        ("no-such-host.invalid", "is not a name or address this machine knows"),
    ],
)
async def test_a_host_that_is_not_this_machine_s_is_named(host: str, said: str) -> None:
    with pytest.raises(CannotListen) as info:
        await check_address(host, 3000)
    assert said in str(info.value) and "Fix: set HOST" in str(info.value)
