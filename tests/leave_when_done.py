"""The test run ends when its tests have. A test that stops a PostgreSQL server of its own
can leave one of DBOS's worker threads retrying that server, without end and non-daemon:
when the test fails before starting the server again, or when a worker is still mid-call
as the server is destroyed at teardown. The interpreter would wait for that thread at
exit, and CI, after printing the results, would wait for its time limit instead. Once
pytest has said everything, this plugin names the threads still running and leaves with
pytest's exit status, as `creators-onboard serve` does after its own shutdown
(bot/cli.py)."""

from __future__ import annotations

import os
import sys
import threading

import pytest

_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_STATUS] = int(exitstatus)


def lingering() -> list[threading.Thread]:
    """Threads the interpreter would wait for at exit: alive, not daemon, not this one."""
    here = threading.current_thread()
    return [t for t in threading.enumerate() if t is not here and t.is_alive() and not t.daemon]


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(_STATUS, None) is None:
        return  # the session never ran (--help, a usage error): nothing to cut short
    left = lingering()
    if not left:
        return
    names = ", ".join(sorted(t.name for t in left))
    print(
        f"leave_when_done: {len(left)} thread(s) still running after the tests ({names});"
        " leaving without waiting for them",
        file=sys.stderr,
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(config.stash[_STATUS])
