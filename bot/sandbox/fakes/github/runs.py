"""The GitHub stand-in's runs: how each moves (by polls or by the clock), and how GitHub
writes one down (a workflow run, its job and steps) and filters a list of them."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# amm.yml as the contents endpoint serves it, unless a test gives its own.
DEFAULT_WORKFLOW_YAML = """\
name: AMM
run-name: amm ${{ inputs.partition }}
on:
  workflow_dispatch:
    inputs:
      partition:
        required: true
        type: choice
        options: [dev, stage, demo, prod]
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: echo deploy ${{ inputs.partition }}
"""


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    auth: str  # "ok" | "bad" | "missing"
    status: int = 0


# The steps of amm.yml's one job, as GitHub lists them.
DEFAULT_JOB_STEPS = (
    "Set up job",
    "Check out the infrastructure repository",
    "Read the partition's 1Password vault",
    "Check for drift",
    "Deploy with amm.sh",
    "Complete job",
)


@dataclass
class FakeRun:
    id: int
    inputs: dict[str, str]
    ref: str
    created_at: datetime
    states: list[str]
    event: str = "workflow_dispatch"
    display_title: str = "AMM"
    polls: int = 0
    hidden_lists: int = 0
    # Seconds each state lasts (a run that moves by the clock); None: one state per poll.
    durations: list[float] | None = None
    started: float = field(default_factory=time.monotonic)
    fail_step: str = "Deploy with amm.sh"

    def _index(self, seen: bool = False) -> tuple[int, float]:
        """The current state's index, and how far through it the run is (0..1). `seen`: a
        run moved by polls stands where the last poll saw it (the jobs list)."""
        if self.durations is None:
            index = min(max(0, self.polls - 1) if seen else self.polls, len(self.states) - 1)
            same = [i for i, s in enumerate(self.states) if s == self.states[index]]
            return index, (same.index(index) + 1) / (len(same) + 1)
        elapsed = time.monotonic() - self.started
        for index, seconds in enumerate(self.durations):
            if elapsed < seconds or index == len(self.durations) - 1:
                return index, min(1.0, elapsed / seconds) if seconds else 1.0
            elapsed -= seconds
        return len(self.states) - 1, 1.0

    def state(self, seen: bool = False) -> tuple[str, str | None]:
        raw = self.states[self._index(seen)[0]]
        if raw.startswith("completed"):
            _, _, conclusion = raw.partition(":")
            return "completed", conclusion or "success"
        return raw, None

    def step_states(self, names: tuple[str, ...]) -> list[tuple[str, str, str | None]]:
        """(name, status, conclusion) of each step of the job, as the run stands."""
        status, conclusion = self.state(seen=True)
        if status == "queued":
            return []
        if status == "completed":
            if conclusion == "success":
                return [(n, "completed", "success") for n in names]
            failed = names.index(self.fail_step) if self.fail_step in names else len(names) - 2
            return [
                (
                    n,
                    "completed",
                    "success" if i < failed else conclusion if i == failed else "skipped",
                )
                for i, n in enumerate(names)
            ]
        at = min(len(names) - 2, int(self._index(seen=True)[1] * (len(names) - 1)))
        return [
            (n, "completed", "success")
            if i < at
            else (n, "in_progress", None)
            if i == at
            else (n, "queued", None)
            for i, n in enumerate(names)
        ]


@dataclass
class Script:
    """Runs dispatched later whose inputs contain `match` follow `states`."""

    match: dict[str, str]
    states: list[str]
    once: bool
    durations: list[float] | None = None
    fail_step: str | None = None


@dataclass
class Repository:
    """Where the runs live: the API's base URL and ``owner/name``."""

    api_url: str
    full_name: str

    def run_urls(self, run_id: int) -> tuple[str, str]:
        """The run's API URL and its page on github.com."""
        return (
            f"{self.api_url}/repos/{self.full_name}/actions/runs/{run_id}",
            f"https://github.com/{self.full_name}/actions/runs/{run_id}",
        )


def run_json(run: FakeRun, example: Any, repo: Repository) -> dict[str, Any]:
    """The run as GitHub answers it (the spec's example, filled in)."""
    data: dict[str, Any] = copy.deepcopy(example)
    status, conclusion = run.state()
    ts = run.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    url, html_url = repo.run_urls(run.id)
    data.update(
        id=run.id,
        name="AMM",
        head_branch=run.ref,
        event=run.event,
        status=status,
        conclusion=conclusion,
        display_title=run.display_title,
        path=".github/workflows/amm.yml",
        url=url,
        html_url=html_url,
        created_at=ts,
        updated_at=ts,
        run_started_at=ts,
        run_attempt=1,
    )
    return data


def job_json(
    run: FakeRun, example: Any, repo: Repository, name: str, step_names: tuple[str, ...]
) -> dict[str, Any] | None:
    """The run's one job as GitHub lists it (None while the run is queued)."""
    steps = run.step_states(step_names)
    if not steps:
        return None
    data: dict[str, Any] = copy.deepcopy(example)
    status, conclusion = run.state(seen=True)
    ts = run.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    job_id = run.id * 10 + 1
    run_url, run_page = repo.run_urls(run.id)
    data.update(
        id=job_id,
        run_id=run.id,
        run_url=run_url,
        url=f"{repo.api_url}/repos/{repo.full_name}/actions/jobs/{job_id}",
        html_url=f"{run_page}/job/{job_id}",
        check_run_url=f"{repo.api_url}/repos/{repo.full_name}/check-runs/{job_id}",
        name=name,
        workflow_name="AMM",
        head_branch=run.ref,
        status=status,
        conclusion=conclusion,
        created_at=ts,
        started_at=ts,
        completed_at=ts if status == "completed" else None,
        labels=["ubuntu-latest"],
        steps=[
            {
                "name": step_name,
                "status": step_status,
                "conclusion": step_conclusion,
                "number": number,
                "started_at": None if step_status == "queued" else ts,
                "completed_at": ts if step_status == "completed" else None,
            }
            for number, (step_name, step_status, step_conclusion) in enumerate(steps, 1)
        ],
    )
    return data


@dataclass(frozen=True)
class Created:
    """GitHub's ``created`` filter of a runs list (``>=2026-01-01``, ``a..b``, a date)."""

    lo: datetime | None
    hi: datetime | None
    lo_inclusive: bool = True
    hi_inclusive: bool = True

    @classmethod
    def parse(cls, expr: str) -> Created:
        """Raises ValueError for what GitHub would refuse."""

        def when(v: str) -> datetime:
            if len(v) == 10:
                v += "T00:00:00Z"
            d = datetime.fromisoformat(v.replace("Z", "+00:00"))
            return d if d.tzinfo else d.replace(tzinfo=UTC)

        if ".." in expr:
            lo, hi = expr.split("..", 1)
            return cls(None if lo == "*" else when(lo), None if hi == "*" else when(hi))
        for op in (">=", "<=", ">", "<"):
            if expr.startswith(op):
                value = when(expr[len(op) :])
                if op.startswith(">"):
                    return cls(value, None, lo_inclusive=op == ">=")
                return cls(None, value, hi_inclusive=op == "<=")
        value = when(expr)
        return cls(value, value)

    def admits(self, at: datetime) -> bool:
        if self.lo is not None and (at < self.lo or (not self.lo_inclusive and at == self.lo)):
            return False
        return not (
            self.hi is not None and (at > self.hi or (not self.hi_inclusive and at == self.hi))
        )
