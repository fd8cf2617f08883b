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
# stand-ins; `-m pip` fails when FAKE_PIP_FAILS is set. Not recorded: the version check
# (`-c`: 3.12.1, or 3.9.6 and too old when this file's path matches the glob FAKE_OLD) and
# the check for pip (`-m pip --version`: none when the path matches FAKE_NO_PIP).
if [ "$1" = -c ]; then
  case "$0" in ${FAKE_OLD:-/nowhere}) echo 3.9.6; exit 1 ;; esac
  echo 3.12.1
  exit 0
fi
if [ "$1" = -m ] && [ "$2" = pip ] && [ "$3" = --version ]; then
  case "$0" in ${FAKE_NO_PIP:-/nowhere}) exit 1 ;; esac
  exit 0
fi
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


def test_a_python_too_old_is_named_with_how_to_get_a_newer_one(checkout: Checkout) -> None:
    """macOS's own python3 is 3.9 and Ubuntu 22.04's 3.10: pip would fail deep in the lock
    with "no matching distribution". Nothing is made; the message says what to do."""
    calls = checkout.run("run", FAKE_OLD="*/python3")
    assert checkout.returncode == 1
    assert calls == []
    assert not (checkout.root / ".venv").exists()
    assert "needs Python 3.11 or newer" in checkout.stderr and "3.9.6" in checkout.stderr
    assert "brew install python@3.12" in checkout.stderr
    assert "PYTHON=/path/to/python3.12" in checkout.stderr


@pytest.mark.parametrize(
    "broken", [{"FAKE_OLD": "*/.venv/bin/python"}, {"FAKE_NO_PIP": "*/.venv/bin/python"}]
)
def test_a_venv_made_by_an_old_python_or_left_without_pip_is_made_again(
    checkout: Checkout, broken: dict[str, str]
) -> None:
    """A first try with the wrong Python, or a creation that failed half way (Debian
    without python3-venv), left a .venv behind: the next start makes it again."""
    checkout.run("run")
    (checkout.root / "requirements.lock").write_text("v2\n", encoding="utf-8")
    calls = checkout.run("run", **broken)
    assert checkout.returncode == 0, checkout.stderr
    assert calls == [
        "python -m venv --clear ROOT/.venv",
        *INSTALL_RUN_LOCK,
        "creators-onboard serve",
    ]


def only_these_tools(checkout: Checkout, *tools: str) -> str:
    """A PATH with nothing but the stand-in Pythons made next to it and these tools."""
    bin_dir = checkout.root / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in tools:
        found = shutil.which(tool)
        if found is None:
            pytest.skip(f"needs {tool}")
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


BASICS = ("bash", "env", "cat", "cut", "mkdir", "cp", "chmod", "rm", "dirname")


def test_without_python_set_a_new_enough_python3_x_is_found(checkout: Checkout) -> None:
    """No PYTHON: python3 when it is new enough, else the newest python3.X that is."""
    path = only_these_tools(checkout, *BASICS, "sha256sum")
    for name in ("python3", "python3.12"):
        stand_in = checkout.root / "bin" / name
        stand_in.write_text(FAKE_PYTHON + f"# {name}\n", encoding="utf-8")
        stand_in.chmod(0o755)
    checkout.run("run", PYTHON=UNSET, PATH=path, FAKE_OLD="*/bin/python3")
    assert checkout.returncode == 0, checkout.stderr
    assert "# python3.12" in (checkout.root / ".venv" / "bin" / "python").read_text()


def test_without_sha256sum_shasum_keeps_the_same_digest(checkout: Checkout) -> None:
    """macOS has no sha256sum, only shasum: the same venv, nothing installed again."""
    checkout.run("run")
    path = only_these_tools(checkout, *BASICS, "shasum", "perl")
    calls = checkout.run("run", PATH=path)
    assert checkout.returncode == 0, checkout.stderr
    assert calls == ["creators-onboard serve"]


def test_without_a_slack_token_run_starts_the_sandbox(checkout: Checkout) -> None:
    calls = checkout.run("run", SLACK_BOT_TOKEN=UNSET, PORT="3005")
    assert checkout.returncode == 0, checkout.stderr
    assert calls[-1] == "creators-onboard sandbox --port 3005"
    assert "starting the rehearsal sandbox" in checkout.stderr
    assert "SLACK_BOT_TOKEN=xoxb-… SLACK_SIGNING_SECRET=… ./scripts/run" in checkout.stderr
