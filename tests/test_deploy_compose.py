"""deploy/compose.yaml and deploy/.env.example.

No Docker engine (nor the compose plugin) runs here: the file is validated offline against
the Compose Specification's JSON schema (vendored in tests/schemas/compose-spec, Apache-2.0),
its promises are read from it, and its health check command is run against a real bot.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
import yaml
from aiohttp import web

from bot.config import ConfigError
from bot.settings import environment_variables, load_settings, secret_variable_names
from tests.scenario import World

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "deploy" / "compose.yaml"
ENV_EXAMPLE = REPO / "deploy" / ".env.example"
SCHEMA = REPO / "tests" / "schemas" / "compose-spec" / "compose-spec.json"
EXAMPLE_CONFIG = REPO / "creators-onboard.example.yml"

_INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def service(name: str) -> dict[str, Any]:
    found = compose()["services"][name]
    assert isinstance(found, dict)
    return found


def env_example() -> dict[str, tuple[str, bool]]:
    """NAME -> (value, commented out) for every `NAME=value` or `# NAME=value` line."""
    found: dict[str, tuple[str, bool]] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"(# )?([A-Z][A-Z0-9_]*)=(.*)", line)
        if match:
            assert match[2] not in found, f"{match[2]} twice in .env.example"
            found[match[2]] = (match[3], bool(match[1]))
    return found


def schema_errors(document: dict[str, Any]) -> list[str]:
    # The schema declares draft-07 (its $schema URL lacks the trailing '#' that jsonschema
    # looks up, so the validator is named here).
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    assert schema_errors(compose()) == []


def test_the_schema_rejects_what_compose_would() -> None:
    """The vendored schema is the real one: a misspelt key or a wrong type fails."""
    broken = compose()
    broken["services"]["bot"]["helthcheck"] = broken["services"]["bot"].pop("healthcheck")
    broken["services"]["postgres"]["depends_on"] = 5
    errors = schema_errors(broken)
    assert any("helthcheck" in e for e in errors), errors
    assert any("depends_on" in e for e in errors), errors


def test_the_bot_waits_for_a_healthy_postgres_and_uses_it() -> None:
    bot, postgres = service("bot"), service("postgres")
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    url = bot["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql://creators_onboard:${POSTGRES_PASSWORD")
    assert url.endswith("@postgres:5432/creators_onboard")
    assert postgres["environment"]["POSTGRES_USER"] == "creators_onboard"
    assert postgres["environment"]["POSTGRES_DB"] == "creators_onboard"
    assert "ports" not in postgres  # only the bot reaches it


def test_data_lives_in_named_volumes() -> None:
    declared = set(compose()["volumes"])
    mounts = {
        (name, m["target"]): m["source"]
        for name in ("postgres", "bot")
        for m in service(name)["volumes"]
    }
    assert mounts[("postgres", "/var/lib/postgresql/data")] in declared
    # The image's HOME and default data directory (Dockerfile: WORKDIR /data).
    assert mounts[("bot", "/data")] in declared


def test_the_config_file_is_mounted_where_the_bot_reads_it() -> None:
    bot = service("bot")
    (mount,) = bot["configs"]
    assert mount["target"] == bot["environment"]["CREATORS_ONBOARD_CONFIG"]
    assert compose()["configs"][mount["source"]]["file"] == "./creators-onboard.yml"
    # deploy/creators-onboard.yml holds people's ids: never committed.
    assert "creators-onboard.yml" in (REPO / ".gitignore").read_text(encoding="utf-8").split()


def test_secrets_come_from_the_env_file_only() -> None:
    bot = service("bot")
    assert bot["env_file"] == [{"path": ".env", "required": True}]
    assert ".env" in (REPO / ".gitignore").read_text(encoding="utf-8").split()
    text = COMPOSE.read_text(encoding="utf-8")
    for name in secret_variable_names():
        assert name not in text, f"{name} must come from deploy/.env, not the compose file"
    # Every value the compose file takes from outside is documented in the example.
    documented = env_example()
    assert {m for m in _INTERPOLATION.findall(text)} <= set(documented)


def test_the_env_example_lists_every_variable_the_bot_reads() -> None:
    documented = env_example()
    expected = {v.name for v in environment_variables()} - {"BFF_TOKEN_<PARTITION>"}
    config = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    expected |= {p["bff_token_env"] for p in config["partitions"] if p.get("bff_token_env")}
    missing = expected - set(documented)
    assert missing == set()
    # Each variable, or group of variables, is explained by the comment line above it.
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    assignment = re.compile(r"(# )?[A-Z][A-Z0-9_]*=")
    for n, line in enumerate(lines):
        if assignment.match(line):
            above = n - 1
            while assignment.match(lines[above]):
                above -= 1
            assert lines[above].startswith("# ") and len(lines[above]) > 10, line


def test_the_env_example_holds_no_secret_values() -> None:
    for name, (value, _) in env_example().items():
        if re.search(r"TOKEN|SECRET|KEY|PASSWORD", name):
            assert value == "", f"{name} must be blank in the example"
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    assert not re.search(r"xox[abpr]-\d|ghp_\w|lin_api_\w|ops_ey|xapp-\d", text)


def test_the_env_example_as_is_does_not_start_a_bot() -> None:
    """Copied without filling in, the bot refuses to start and says what to set."""
    environ = {name: value for name, (value, commented) in env_example().items() if not commented}
    with pytest.raises(ConfigError) as info:
        load_settings(environ)
    assert any(p.startswith("SLACK_BOT_TOKEN is missing") for p in info.value.problems)


def healthcheck_command() -> list[str]:
    test = service("bot")["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "python"
    # The image's python is the venv's; here, this test's interpreter stands in for it.
    return [sys.executable, *test[2:]]


async def run_healthcheck(port: int) -> int:
    proc = await asyncio.create_subprocess_exec(
        *healthcheck_command(),
        env={"PORT": str(port), "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(proc.wait(), timeout=30)


async def test_the_healthcheck_passes_against_a_running_bot(world: World) -> None:
    async with world.bot() as running:
        assert await run_healthcheck(running.port) == 0


@pytest.fixture
async def not_ready() -> AsyncIterator[int]:
    """A server that is up (/healthz 200) but whose database does not answer (/readyz 503)."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        return web.json_response({"status": "not ready"}, status=503)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sockets = getattr(getattr(site, "_server", None), "sockets", None) or []
    try:
        yield sockets[0].getsockname()[1]
    finally:
        await runner.cleanup()


async def test_the_healthcheck_fails_when_the_database_does_not_answer(not_ready: int) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{not_ready}/healthz") as resp:
            assert resp.status == 200
    assert await run_healthcheck(not_ready) != 0
