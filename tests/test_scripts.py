"""./scripts/run and ./scripts/test install only when a lock file (or pyproject.toml) changed.

The scripts run for real, in a copy of the repository's layout whose Python is a stand-in
executable: it records every call (venv creation, each pip install, the bot, the checks)
instead of doing it, so the tests see exactly what a start would do, with no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = ("scripts/run", "scripts/test", "scripts/lib/venv.sh")

FAKE_PYTHON = """#!/usr/bin/env bash
# Stand-in for python3 and .venv/bin/python: records the call; `-m venv` makes a venv of
# stand-ins; `-m pip` fails when FAKE_PIP_FAILS is set.
echo "python $*" >>"$FAKE_LOG"
if [ "$1" = -m ] && [ "$2" = venv ]; then
  dir="${@: -1}"
  mkdir -p "$dir/bin"
  cp "$0" "$dir/bin/python"
  for tool in creators-onboard ruff mypy hadolint pytest; do
    printf '#!/usr/bin/env bash\\necho "%s $*" >>"$FAKE_LOG"\\n' "$tool" >"$dir/bin/$tool"
    chmod +x "$dir/bin/$tool"
  done
fi
if [ "$1" = -m ] && [ "$2" = pip ] && [ -n "${FAKE_PIP_FAILS:-}" ]; then
  exit 1
fi
"""


class Checkout:
    """A repository layout with the real scripts and a stand-in Python."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.log = root / "calls.log"
        for rel in SCRIPTS:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, root / rel)
        for name in ("pyproject.toml", "requirements.lock", "requirements-dev.lock"):
            (root / name).write_text(f"{name} v1\n", encoding="utf-8")
        self.python = root / "python3"
        self.python.write_text(FAKE_PYTHON, encoding="utf-8")
        self.python.chmod(0o755)

    def run(self, script: str, *args: str, **env: str) -> list[str]:
        """Run a script; the calls it made, with the checkout's path shortened to ROOT."""
        self.log.write_text("", encoding="utf-8")
        environ = {
            **os.environ,
            "PYTHON": str(self.python),
            "FAKE_LOG": str(self.log),
            # A start for Slack unless a test says otherwise (without it: the sandbox).
            "SLACK_BOT_TOKEN": "xoxb-stand-in",
            **env,
        }
        environ = {k: v for k, v in environ.items() if v != UNSET}
        result = subprocess.run(
            [str(self.root / "scripts" / script), *args],
            cwd=self.root,
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        calls = self.log.read_text(encoding="utf-8").replace(str(self.root), "ROOT")
        self.returncode = result.returncode
        self.stderr = result.stderr
        return calls.splitlines()

    def pip_installs(self, calls: list[str]) -> list[str]:
        return [c for c in calls if " -m pip " in c]


UNSET = "<unset>"

INSTALL_RUN_LOCK = [
    "python -m pip --quiet --disable-pip-version-check install --require-hashes "
    "-r ROOT/requirements.lock",
    "python -m pip --quiet --disable-pip-version-check install --no-deps "
    "--no-build-isolation -e ROOT",
]


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    return Checkout(tmp_path)


def test_first_start_creates_the_venv_and_installs_the_lock(checkout: Checkout) -> None:
    calls = checkout.run("run", "--extra")
    assert checkout.returncode == 0, checkout.stderr
    assert calls == [
        "python -m venv --clear ROOT/.venv",
        *INSTALL_RUN_LOCK,
        "creators-onboard serve --extra",
    ]
    assert "Installing requirements.lock" in checkout.stderr


def test_second_start_installs_nothing(checkout: Checkout) -> None:
    checkout.run("run")
    calls = checkout.run("run")
    assert checkout.returncode == 0, checkout.stderr
    assert calls == ["creators-onboard serve"]
    assert checkout.stderr == ""


@pytest.mark.parametrize("changed", ["requirements.lock", "pyproject.toml"])
def test_a_changed_lock_or_project_installs_again(checkout: Checkout, changed: str) -> None:
    checkout.run("run")
    (checkout.root / changed).write_text(f"{changed} v2\n", encoding="utf-8")
    calls = checkout.run("run")
    assert calls == [*INSTALL_RUN_LOCK, "creators-onboard serve"]
    assert checkout.run("run") == ["creators-onboard serve"]


def test_the_dev_lock_does_not_concern_the_bot(checkout: Checkout) -> None:
    checkout.run("run")
    (checkout.root / "requirements-dev.lock").write_text("v2\n", encoding="utf-8")
    assert checkout.run("run") == ["creators-onboard serve"]


def test_a_failed_install_is_retried_on_the_next_start(checkout: Checkout) -> None:
    calls = checkout.run("run", FAKE_PIP_FAILS="1")
    assert checkout.returncode != 0
    assert "creators-onboard serve" not in calls
    calls = checkout.run("run")
    assert checkout.returncode == 0
    assert checkout.pip_installs(calls) == INSTALL_RUN_LOCK


def test_tests_install_the_dev_lock_only_when_it_changed(checkout: Checkout) -> None:
    calls = checkout.run("test", "-k", "x")
    assert checkout.returncode == 0, checkout.stderr
    assert checkout.pip_installs(calls)[0].endswith(
        "--require-hashes -r ROOT/requirements-dev.lock"
    )
    assert [c.split()[0] for c in calls if not c.startswith("python")] == [
        "ruff",
        "ruff",
        "mypy",
        "hadolint",
        "pytest",
    ]
    assert calls[-1] == "pytest -k x"
    again = checkout.run("test")
    assert checkout.pip_installs(again) == []
    # The dev lock holds the run lock's pins: the bot starts without installing.
    assert checkout.run("run") == ["creators-onboard serve"]


def test_a_venv_whose_python_is_gone_is_made_again(checkout: Checkout) -> None:
    checkout.run("run")
    (checkout.root / ".venv" / "bin" / "python").unlink()
    calls = checkout.run("run")
    assert calls[0] == "python -m venv --clear ROOT/.venv"
    assert calls[-1] == "creators-onboard serve"


def test_without_a_slack_token_run_starts_the_sandbox(checkout: Checkout) -> None:
    calls = checkout.run("run", SLACK_BOT_TOKEN=UNSET, PORT="3005")
    assert checkout.returncode == 0, checkout.stderr
    assert calls[-1] == "creators-onboard sandbox --port 3005"
    assert "starting the rehearsal sandbox" in checkout.stderr
    assert "SLACK_BOT_TOKEN=xoxb-… SLACK_SIGNING_SECRET=… ./scripts/run" in checkout.stderr
