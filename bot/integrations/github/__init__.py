"""GitHub Actions: dispatch `amm.yml` for a partition, find and follow its run.

`http` is the transport (requests, retries, rate limits, ETags), `runs` the run logic
(dispatch, find_run, the pace of following a run, the judgement of a finished run), `jobs`
where a run stands or failed (its jobs and steps) and `texts` what people read when
something fails. Every failure raises `GitHubError`, whose `problem` says symptom → cause → fix.
"""

from bot.integrations.github.http import API_VERSION, USER_AGENT, GitHubError, GitHubHttp, Limits
from bot.integrations.github.jobs import Job, Place, failed_place, running_place
from bot.integrations.github.runs import (
    DispatchResult,
    GitHubActions,
    Next,
    Run,
    RunPace,
    WorkflowInfo,
    conclusion_diagnosis,
)

__all__ = [
    "API_VERSION",
    "USER_AGENT",
    "DispatchResult",
    "GitHubActions",
    "GitHubError",
    "GitHubHttp",
    "Job",
    "Limits",
    "Next",
    "Place",
    "Run",
    "RunPace",
    "WorkflowInfo",
    "conclusion_diagnosis",
    "failed_place",
    "running_place",
]
