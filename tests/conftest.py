"""Shared fixtures: a World of local fakes, and databases (SQLite file, local PostgreSQL)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg_cluster import LocalPostgres
from tests.scenario import World

pytest_plugins = ["tests.op_fixture", "tests.leave_when_done", "pytester"]

# .ci/run starts PostgreSQL and sets this; locally the Postgres tests skip when it is absent.
PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)


# Test databases carry this checkout's tag, so two checkouts testing against one server at
# the same time never drop each other's databases.
_TAG = hashlib.sha256(str(Path(__file__).resolve().parent).encode()).hexdigest()[:6]
DB_PREFIX = f"co_test_{_TAG}_"


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


@pytest.fixture(scope="session")
def pg_problem() -> str | None:
    return _pg_reachable()


def _drop_test_databases() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (DB_PREFIX,)
        ).fetchall()
        for (name,) in rows:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_databases(pg_problem: str | None) -> None:
    """Test databases are dropped when the next session starts, never while this one runs:
    a DBOS worker thread of a stopped bot may still be finishing a call, and one whose
    database is gone retries forever and keeps the interpreter from exiting."""
    if pg_problem is None:
        _drop_test_databases()


def _fresh_pg_database(pg_problem: str | None) -> Iterator[str]:
    if pg_problem is not None:
        if os.environ.get("CI_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {pg_problem}")
        pytest.skip(f"no local PostgreSQL at {PG_ADMIN_URL.split('@')[-1]} ({pg_problem})")
    import psycopg

    name = f"{DB_PREFIX}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_problem: str | None, pg_databases: None
) -> Iterator[str]:
    """Run the test once on a SQLite file and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.sqlite'}"
        return
    yield from _fresh_pg_database(pg_problem)


# The variables that send outbound HTTP through a proxy (slack_sdk and the bot's session
# read them): every test talks to loopback fakes directly unless it sets them itself.
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")


@pytest.fixture(autouse=True)
def no_ambient_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(autouse=True)
def no_ambient_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """botocore reads the process environment, its config files and, on AWS hosts, the
    instance metadata: none of the developer's or CI's may reach a test, and nothing may
    leave loopback. A test that needs credentials asks for `aws_credentials`."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials in the environment, as a deployment gives them (never sent anywhere:
    Amplify is stubbed)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret-key")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with World(tmp_path) as w:
        yield w


@pytest.fixture
async def world_db(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    async with World(tmp_path, database_url=database_url) as w:
        yield w


@pytest.fixture
def fresh_pg(pg_problem: str | None, pg_databases: None) -> Iterator[Any]:
    """A function that makes a fresh PostgreSQL database and returns its URL."""

    def make() -> str:
        return next(_fresh_pg_database(pg_problem))

    yield make


@pytest.fixture
def own_postgres() -> Iterator[LocalPostgres]:
    """A PostgreSQL of this test's own, which it may stop (never the shared server)."""
    try:
        pg = LocalPostgres()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        if os.environ.get("CI_REQUIRE_POSTGRES"):
            pytest.fail(f"CI must run the PostgreSQL outage test: {exc}")
        pytest.skip(f"cannot start a PostgreSQL of the test's own here: {exc}")
    try:
        pg.start()
        yield pg
    finally:
        pg.destroy()
