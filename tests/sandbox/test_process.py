"""The rehearsal's bot ends with the process that started it, however that ends: a
rehearsal killed with SIGKILL (or an IDE's stop button) left its bot running before. On
Linux the kernel sees to it (PR_SET_PDEATHSIG); elsewhere a pipe and a watchdog do, which
these tests force on Linux (its /proc is how they see the processes; macOS has none)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sandbox.procs import argv, children, state, until

REPO = Path(__file__).resolve().parents[2]
SLEEPER = "import time; time.sleep(120)"
# A parent that starts two sleepers, one tethered and one as is, says their pids, and
# waits to be killed.
PARENT = """
import subprocess, sys, time
from bot.sandbox.process import Tether
tether = Tether(pipe={pipe})
guarded = subprocess.Popen(tether.argv("-c", {sleeper!r}), pass_fds=tether.pass_fds)
tether.started()
plain = subprocess.Popen([sys.executable, "-c", {sleeper!r}])
print(guarded.pid, plain.pid, flush=True)
time.sleep(120)
"""
TETHERS = [pytest.param(False, id="pdeathsig"), pytest.param(True, id="pipe-watchdog")]
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the processes are seen in Linux's /proc"
)


def start_parent(pipe: bool) -> tuple[subprocess.Popen[str], int, int]:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT.format(pipe=pipe, sleeper=SLEEPER)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    guarded, plain = (int(pid) for pid in parent.stdout.readline().split())
    # The guarded child set up its tether and became the program it was to run (its
    # command line no longer the tether's: killed before that, it would leave on its own).
    until(
        lambda: argv(guarded) == [sys.executable, "-c", SLEEPER],
        "the guarded child became the sleeper",
    )
    return parent, guarded, plain


def end_all(parent: subprocess.Popen[str], *pids: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if parent.poll() is None:
        parent.kill()
    parent.wait()


@pytest.mark.parametrize("pipe", TETHERS)
def test_a_child_started_with_its_parent_ends_when_the_parent_is_killed(pipe: bool) -> None:
    parent, guarded, plain = start_parent(pipe)
    watchdogs = children(guarded)
    try:
        assert len(watchdogs) == (1 if pipe else 0), watchdogs
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        until(lambda: state(guarded) in (None, "Z"), "the guarded child ended with its parent")
        for watchdog in watchdogs:
            until(lambda w=watchdog: state(w) in (None, "Z"), "its watchdog left")
        # The counter-proof: a child started as before outlives its parent.
        time.sleep(0.5)
        assert state(plain) not in (None, "Z"), "the plain child ended too: nothing was shown"
    finally:
        end_all(parent, guarded, plain, *watchdogs)


def test_a_watchdog_leaves_when_its_program_ends_first() -> None:
    """A bot stopped or killed by the rehearsal (a restart) leaves no watchdog behind, and
    the next one started gets a watchdog of its own."""
    parent, guarded, plain = start_parent(True)
    [watchdog] = children(guarded)
    try:
        os.kill(guarded, signal.SIGKILL)
        until(lambda: state(watchdog) in (None, "Z"), "the watchdog left")
        assert parent.poll() is None
    finally:
        end_all(parent, guarded, plain, watchdog)
