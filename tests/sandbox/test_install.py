"""The sandbox runs on what `./scripts/run` installs (the package without its dev extra):
nothing it imports may come from a dev-only distribution."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from importlib.metadata import packages_distributions, requires

from tests.sandbox.browser import REPO

PROBE = """
import json, sys
from bot import sandbox
sandbox.use_repository_fakes()
import bot.sandbox.web, bot.cli
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def _name(requirement: str) -> str:
    found = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert found
    return found[0].lower().replace("_", "-")


def test_the_sandbox_needs_no_dev_dependency() -> None:
    declared = requires("creators-onboard") or []
    runtime = {_name(r) for r in declared if "extra ==" not in r}
    dev_only = {_name(r) for r in declared if 'extra == "dev"' in r} - runtime
    assert "pytest" in dev_only and "playwright" in dev_only
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd="/", capture_output=True, text=True, check=True
    )
    modules = json.loads(out.stdout)
    owners = packages_distributions()
    used = {d.lower() for m in modules for d in owners.get(m, [])}
    assert not used & dev_only, sorted(used & dev_only)
    assert "tests" in modules  # phase A: the stand-ins still come from the checkout
    assert (REPO / "tests" / "fakes").is_dir()


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
