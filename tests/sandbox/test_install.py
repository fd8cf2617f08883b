"""The sandbox runs on what `./scripts/run` installs (the package without its dev extra),
and from a built wheel: nothing it imports comes from a dev-only distribution or from
`tests`, and every file it reads (specs, the page, the fake `op`) ships as package data."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import zipfile
from importlib.metadata import packages_distributions, requires
from pathlib import Path

from tests.sandbox.browser import REPO

# Run from the installed wheel alone: the stand-ins start (each loads its spec), the fake
# `op` answers through the wrapper the sandbox uses and through the packaged executable,
# and the page and its static files are served.
PROBE = """
import asyncio, json, os, subprocess, sys, tempfile
from pathlib import Path
import aiohttp
import bot, bot.cli
from bot.sandbox.fakes.op import FakeOp
from bot.sandbox.fakes.server import serve_loopback
from bot.sandbox.scene import Secrets
from bot.sandbox.standins import StandIns
from bot.sandbox.supervisor import Sandbox
from bot.sandbox.web import STATIC, create_sandbox_app

async def main(workdir):
    standins = await StandIns(workdir, Secrets()).start()
    try:
        env = {"OP_SERVICE_ACCOUNT_TOKEN": standins.op.token, "PATH": os.environ["PATH"]}
        for op in (standins.op.op_path, str(FakeOp.BIN_DIR / "op")):
            subprocess.run(
                [op, "whoami", "--format", "json"],
                env={**env, **standins.op.env()}, check=True, capture_output=True,
            )
    finally:
        await standins.close()
    runner, url = await serve_loopback(create_sandbox_app(Sandbox()))
    statuses = {}
    try:
        async with aiohttp.ClientSession() as http:
            paths = ["/"] + [f"/static/{p.name}" for p in sorted(STATIC.iterdir())]
            for path in paths:
                async with http.get(url + path) as resp:
                    statuses[path] = resp.status
    finally:
        await runner.cleanup()
    return statuses

with tempfile.TemporaryDirectory() as workdir:
    statuses = asyncio.run(main(Path(workdir)))
print(json.dumps({
    "bot": bot.__file__,
    "statuses": statuses,
    "modules": sorted({name.split(".")[0] for name in sys.modules}),
}))
"""


def _name(requirement: str) -> str:
    found = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert found
    return found[0].lower().replace("_", "-")


def _pip(*args: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=300,
    )


def _tracked(*folders: str) -> set[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", *folders], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    return {name for name in out.split("\0") if name}


def test_the_sandbox_runs_from_a_built_wheel_without_tests_or_dev_dependencies(
    tmp_path: Path,
) -> None:
    # What the Dockerfile builds from: pyproject, README, bot/ and handlers/, nothing else.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("bot", "handlers"):
        shutil.copytree(REPO / name, source / name, ignore=ignore)
    # Offline: the build backend is the one the lock installed in this venv.
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", "dist", ".", cwd=source)
    (wheel,) = (source / "dist").glob("creators_onboard-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_tracked("bot", "handlers") - shipped)
    assert not missing, f"files in the repository that the wheel leaves out: {missing}"

    site = tmp_path / "site"
    _pip("install", "--no-deps", "--no-index", "--target", str(site), str(wheel), cwd=tmp_path)
    assert os.access(site / "bot" / "sandbox" / "fakes" / "bin" / "op", os.X_OK)
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    probe = json.loads(out.stdout)
    assert Path(probe["bot"]).is_relative_to(site), probe["bot"]
    assert set(probe["statuses"].values()) == {200}, probe["statuses"]
    assert "/static/sandbox.js" in probe["statuses"]
    modules = probe["modules"]
    assert "tests" not in modules

    declared = requires("creators-onboard") or []
    runtime = {_name(r) for r in declared if "extra ==" not in r}
    dev_only = {_name(r) for r in declared if 'extra == "dev"' in r} - runtime
    assert "pytest" in dev_only and "playwright" in dev_only
    owners = packages_distributions()
    used = {d.lower() for m in modules for d in owners.get(m, [])}
    assert not used & dev_only, sorted(used & dev_only)


def test_a_taken_port_is_named_with_the_fix() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "bot", "sandbox", "--port", str(port)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"cannot serve the sandbox on 127.0.0.1:{port}" in done.stderr
    assert "--port 3001" in done.stderr
    assert "Rehearsal sandbox:" not in done.stdout
