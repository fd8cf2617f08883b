"""A run whose tests left a thread running (as DBOS's worker does while it retries a
PostgreSQL a failed test stopped) still ends, with pytest's own exit status. Before, CI
printed the results and then waited 90 minutes for its time limit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A thread that never ends, as DBOS's retrying worker: not daemon, blocked for good.
LEAVES_A_THREAD = """
import threading

def test_leaves_a_thread():
    threading.Thread(target=threading.Event().wait, name="retrying-worker").start()
    assert {outcome}
"""


@pytest.fixture(autouse=True)
def _plugin_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run happens in a folder of its own: `tests.leave_when_done` comes from here."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


@pytest.mark.parametrize(("outcome", "status"), [("True", 0), ("False", 1)])
def test_the_run_ends_with_its_status_while_a_thread_still_runs(
    pytester: pytest.Pytester, outcome: str, status: int
) -> None:
    pytester.makepyfile(LEAVES_A_THREAD.format(outcome=outcome))
    result = pytester.runpytest_subprocess(
        "-p", "tests.leave_when_done", "-p", "no:cacheprovider", timeout=120
    )
    assert result.ret == status
    result.stdout.fnmatch_lines(["*1 passed*" if status == 0 else "*1 failed*"])
    result.stderr.fnmatch_lines(["*1 thread(s) still running after the tests (retrying-worker)*"])


def test_without_the_plugin_the_same_run_never_ends(
    pytester: pytest.Pytester,
) -> None:
    """The counter-proof: the same file, without the plugin, waits for the thread."""
    pytester.makepyfile(LEAVES_A_THREAD.format(outcome="True"))
    with pytest.raises(pytest.Pytester.TimeoutExpired):
        pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=10)


def test_a_run_without_lingering_threads_is_left_alone(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_nothing_left():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "tests.leave_when_done", timeout=120)
    assert result.ret == 0
    assert "still running" not in result.stderr.str()
