"""The lock files: every package pinned with hashes, within pyproject.toml's ranges.

`requirements.lock` is what the bot runs on (Dockerfile, ./scripts/run);
`requirements-dev.lock` adds the dev extra (./scripts/test) with the same pins for the
bot's packages. Both are made by ./scripts/lock; these tests fail when pyproject.toml
changed and the locks were not regenerated.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
RUN_LOCK = REPO / "requirements.lock"
DEV_LOCK = REPO / "requirements-dev.lock"

_ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)(?: ; (?P<marker>[^\\]+))?")


def pins(lock: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes), from a `pip-compile --generate-hashes` file."""
    found: dict[str, tuple[str, int]] = {}
    current = ""
    for line in lock.read_text(encoding="utf-8").splitlines():
        entry = _ENTRY.match(line)
        if entry:
            current = canonicalize_name(entry["name"])
            assert current not in found, f"{current} pinned twice in {lock.name}"
            if entry["marker"]:
                Marker(entry["marker"].strip())  # a marker pip can evaluate
            found[current] = (entry["version"], 0)
        elif line.strip().startswith("--hash=sha256:"):
            assert re.fullmatch(r"--hash=sha256:[0-9a-f]{64}( \\)?", line.strip()), line
            version, hashes = found[current]
            found[current] = (version, hashes + 1)
        elif line.strip() and not line.lstrip().startswith("#"):
            pytest.fail(f"{lock.name}: unexpected line {line!r}")
    return found


def project() -> dict[str, list[str]]:
    with (REPO / "pyproject.toml").open("rb") as f:
        data = tomllib.load(f)
    return {
        "run": data["project"]["dependencies"],
        "dev": data["project"]["optional-dependencies"]["dev"],
        "build": data["build-system"]["requires"],
    }


def assert_satisfied(requirements: list[str], locked: dict[str, tuple[str, int]]) -> None:
    for text in requirements:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is not in the lock: run ./scripts/lock"
        version = locked[name][0]
        assert req.specifier.contains(version, prereleases=True), (
            f"{name}=={version} does not satisfy {text!r}: run ./scripts/lock"
        )


@pytest.mark.parametrize("lock", [RUN_LOCK, DEV_LOCK], ids=lambda p: p.name)
def test_every_pin_has_hashes(lock: Path) -> None:
    locked = pins(lock)
    assert len(locked) > 20
    assert [name for name, (_, hashes) in locked.items() if hashes == 0] == []
    assert "./scripts/lock" in lock.read_text(encoding="utf-8").split("\n", 3)[1]


def test_the_run_lock_satisfies_the_project_and_its_build() -> None:
    wanted = project()
    locked = pins(RUN_LOCK)
    assert_satisfied(wanted["run"] + wanted["build"], locked)
    # Nothing of the dev extra reaches the image.
    for text in wanted["dev"]:
        assert canonicalize_name(Requirement(text).name) not in locked, text


def test_the_dev_lock_adds_the_dev_extra_with_the_same_pins() -> None:
    wanted = project()
    run, dev = pins(RUN_LOCK), pins(DEV_LOCK)
    assert_satisfied(wanted["run"] + wanted["dev"] + wanted["build"], dev)
    changed = {name: (run[name][0], dev.get(name)) for name in run if dev.get(name) != run[name]}
    assert changed == {}


def test_bolt_is_bounded_below_its_next_major() -> None:
    (bolt,) = [Requirement(r) for r in project()["run"] if r.startswith("slack-bolt")]
    assert not bolt.specifier.contains("2.0.0")
    assert bolt.specifier.contains("1.29.0")
    unbounded = [
        r
        for r in project()["run"]
        if not any(s.operator in ("<", "<=", "==") for s in Requirement(r).specifier)
    ]
    assert unbounded == []
