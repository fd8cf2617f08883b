"""The ack and rollout benchmarks still run end to end (the README's figures come from
them) and the ack benchmark's CPU columns read what the process really spent. Tiny loads: this proves the script, not the
figures, and asserts no timing."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "bench_ack.py"


def bench_ack() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_ack", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_cpu_seconds_follows_the_work_a_process_does() -> None:
    bench = bench_ack()
    before = bench.cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:  # 0.2 s of CPU, however long that takes
        pass
    after = bench.cpu_seconds(os.getpid())
    assert before is not None and after is not None
    assert after - before >= 0.15
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert bench.cpu_seconds(int(gone.stdout)) is None  # a process that has exited
    assert bench.cpu_seconds(None) is None


def test_cpu_columns_say_nothing_rather_than_divide_by_nothing() -> None:
    bench = bench_ack()
    assert bench._cpu_columns(0.4, 1.2, 1000, 1000).split() == ["0.40", "1.20", "3.00"]
    assert bench._cpu_columns(None, 1.2, 10, 10).split() == ["-", "-", "-"]
    assert bench._cpu_columns(0.0, 0.01, 10, 10).split() == ["-", "-", "-"]  # under a tick


def test_answer_columns_are_the_median_and_99th_percentile_in_ms() -> None:
    bench = bench_ack()
    assert bench._answer_columns([0.010, 0.020, 0.030]).split() == ["20.0", "30.0"]
    assert bench._answer_columns([]).split() == ["-", "-"]


def test_the_ack_benchmark_runs_every_command_and_press() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--requests", "4", "--rounds", "1", "--in-flight", "2"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    bench = bench_ack()
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines[0].split()[:2] == ["request", "in"], done.stdout
    rows = lines[1:]
    expected = [f"/creators-onboard {text}" for text, _ in bench.COMMANDS]
    expected += [f"press {action_id}" for action_id, _ in bench.PRESSES]
    assert [row[:38].strip() for row in rows] == expected, done.stdout
    for row in rows:
        fields = row[38:].split()
        assert fields[0] == "2"  # in flight
        p50_bare, p99_bare, p50_ours, p99_ours = map(float, fields[1:5])
        assert 0 < p50_bare <= p99_bare and 0 < p50_ours <= p99_ours
        assert fields[7:9] == ["0", "0"]  # nothing over 3 s, with two in flight
        answer_p50, answer_p99 = fields[12:14]
        if row.startswith("press"):  # answered by response_url after the ack: how long
            assert 0 < float(answer_p50) <= float(answer_p99)
        else:  # a command's answer is its ack
            assert (answer_p50, answer_p99) == ("-", "-")


def test_the_ack_benchmark_measures_only_the_requests_named() -> None:
    only = ["--only", "help", "co_deploy"]
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--requests",
            "4",
            "--rounds",
            "1",
            "--in-flight",
            "1",
            *only,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    rows = [line for line in done.stdout.splitlines() if line.strip()][1:]
    assert [row[:38].strip() for row in rows] == ["/creators-onboard help", "press co_deploy"]


def test_the_rollout_benchmark_runs_a_whole_rollout() -> None:
    """Runs of one second, polling alone: the script drives a rollout to completion and
    prints its overhead, wall over physical time and calls (it once broke on a renamed
    attribute of the GitHub stand-in's runs, with nothing to say so)."""
    script = REPO / "benchmarks" / "bench_rollout.py"
    done = subprocess.run(
        [sys.executable, str(script), "--seconds", "1", "--modes", "polling"],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    row = next(line for line in done.stdout.splitlines() if line.startswith("runs of"))
    assert "polling" in row and "overhead per partition" in row and "physical" in row
    overheads = [float(x) for x in row.split("p50")[1].split("s")[0].split()]
    assert overheads and all(o >= 0 for o in overheads)
    for system in ("Slack", "GitHub", "Linear", "op"):
        assert any(line.strip().startswith(system) for line in done.stdout.splitlines()), system
