"""GitHub Actions: dispatch `amm.yml` for a partition, find and follow its run.

`http` is the transport (requests, retries, rate limits, ETags), `runs` the run logic
(dispatch, find_run, follow, the judgement of a finished run) and `texts` what people
read when something fails. Every failure raises `GitHubError`, whose `problem` says
symptom → cause → fix.
"""

from bot.integrations.github.http import API_VERSION, USER_AGENT, GitHubError, GitHubHttp, Limits
from bot.integrations.github.runs import (
    DispatchResult,
    GitHubActions,
    Run,
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
    "Limits",
    "Run",
    "WorkflowInfo",
    "conclusion_diagnosis",
]
