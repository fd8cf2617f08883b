"""A run's jobs and steps: where a run stands while it moves, and where it failed.

GitHub lists a run's jobs with their steps (`GET /repos/{owner}/{repo}/actions/runs/
{run_id}/jobs`); each job has a log page (`html_url`). The bot reads them to tell people
which step is running now, and which job and step failed (for instance the prod drift
check), with the link to that job's log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

# Conclusions that are not a failure of the step or job itself.
_FINE = frozenset({"success", "skipped", "neutral"})


class JobStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    status: str
    conclusion: str | None = None
    number: int = 0


class Job(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    status: str
    conclusion: str | None = None
    html_url: str | None = None
    steps: list[JobStep] = []

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Job:
        return cls(
            id=int(data["id"]),
            name=str(data.get("name") or "job"),
            status=str(data.get("status") or "queued"),
            conclusion=data.get("conclusion"),
            html_url=data.get("html_url"),
            steps=[
                JobStep(
                    name=str(s.get("name") or "step"),
                    status=str(s.get("status") or "queued"),
                    conclusion=s.get("conclusion"),
                    number=int(s.get("number") or 0),
                )
                for s in data.get("steps") or []
                if isinstance(s, Mapping)
            ],
        )


class Place(BaseModel):
    """A job, and a step of it, in a run: the one running now or the one that failed."""

    model_config = ConfigDict(frozen=True)

    job: str
    step: str | None = None
    url: str | None = None  # the job's log page

    def describe(self) -> str:
        return f"job *{self.job}*" + (f", step *{self.step}*" if self.step else "")


def running_place(jobs: Sequence[Job]) -> Place | None:
    """The job in progress and its step in progress (or the last one it finished)."""
    for job in jobs:
        if job.status != "in_progress":
            continue
        step = next((s for s in job.steps if s.status == "in_progress"), None)
        if step is None:
            done = [s for s in job.steps if s.status == "completed"]
            step = done[-1] if done else None
        return Place(job=job.name, step=step.name if step else None, url=job.html_url)
    return None


def failed_place(jobs: Sequence[Job]) -> Place | None:
    """The first job that did not succeed, and its first step that did not."""
    for job in jobs:
        if job.status != "completed" or job.conclusion in _FINE or job.conclusion is None:
            continue
        step = next(
            (
                s
                for s in job.steps
                if s.status == "completed" and s.conclusion not in _FINE and s.conclusion
            ),
            None,
        )
        return Place(job=job.name, step=step.name if step else None, url=job.html_url)
    return None
