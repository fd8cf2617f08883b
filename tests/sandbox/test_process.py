"""The rehearsal's bot ends with the process that started it, however that ends: a
rehearsal killed with SIGKILL (or an IDE's stop button) left its bot running before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SLEEPER = "import time; time.sleep(120)"
# A parent that starts two sleepers, one through `with_parent` and one as is, says their
# pids, and waits to be killed.
PARENT = f"""
import subprocess, sys, time
from bot.sandbox.process import with_parent
guarded = subprocess.Popen(with_parent("-c", {SLEEPER!r}))
plain = subprocess.Popen([sys.executable, "-c", {SLEEPER!r}])
print(guarded.pid, plain.pid, flush=True)
time.sleep(120)
"""


def state(pid: int) -> str | None:
    """The process's state letter (`Z`: ended, not yet reaped), None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    except OSError:
        return []


def until(condition: object, what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within} s")
        time.sleep(0.05)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_child_started_with_its_parent_ends_when_the_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    guarded, plain = (int(pid) for pid in parent.stdout.readline().split())
    try:
        # The guarded child asked the kernel and became the program it was to run (its
        # command line no longer the guard's: killed before that, it would leave on its own).
        until(
            lambda: argv(guarded) == [sys.executable, "-c", SLEEPER],
            "the guarded child became the sleeper",
        )
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        until(lambda: state(guarded) in (None, "Z"), "the guarded child ended with its parent")
        # The counter-proof: a child started as before outlives its parent.
        time.sleep(0.5)
        assert state(plain) not in (None, "Z"), "the plain child ended too: nothing was shown"
    finally:
        for pid in (guarded, plain):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if parent.poll() is None:
            parent.kill()
            parent.wait()
