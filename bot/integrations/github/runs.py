"""amm.yml's runs: dispatch one for a partition, find it, follow it, judge its end.

Idempotency, the part that matters most:

* `dispatch()` asks for `return_run_details` (200 with `workflow_run_id`). When GitHub
  answers 204 instead (older API behaviour), the new run is found by listing
  `event=workflow_dispatch` runs on the ref, ignoring every run that already existed
  before the POST (a snapshot is taken just before it).
* A POST that fails ambiguously (502/503/504, a dropped connection, a timeout) may still
  have created a run. Before POSTing again, the client looks for a new run and adopts it if
  one appears — so a retried dispatch never starts the workflow twice.
* `not_before` is the bot's clock (the press), a run's `created_at` is GitHub's: a bot
  whose clock runs ahead would not see the run its own dispatch started, dated before
  the press, and dispatch again. So a dispatch looks `CLOCK_MARGIN` further back
  (`recent_runs`), and what tells its run apart is the snapshot, not the time.
* After a crash, the durable workflow looks for the run (`recent_runs`, less the runs it
  recorded before dispatching: bot.workflows.steps.checks) before dispatching again (DBOS
  re-runs the unfinished step).

Matching a run to its inputs: GitHub does not return a run's inputs. When several runs are
candidates, a run whose `display_title` mentions every input value (set `run-name:` in
amm.yml, e.g. ``run-name: amm ${{ inputs.partition }}``) is preferred; a run whose title
is GitHub's default (the workflow's name, when amm.yml has no `run-name`) is accepted;
anything else is a run for other inputs and is ignored.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Unpack
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ConfigDict, SecretStr

from bot.integrations.github import texts
from bot.integrations.github.http import (
    RETRY_STATUSES,
    Ambiguous,
    GitHubError,
    GitHubHttp,
    Limits,
    Response,
)
from bot.integrations.github.jobs import Job, Place
from bot.logging import get_logger
from bot.runbook.problem import Problem

log = get_logger(__name__)

TERMINAL_OK = "success"

# How much further back than `not_before` a dispatch looks for the run it started: the bot
# dates the press by its clock, GitHub the run by its own. Five minutes is as far apart as
# the clocks can be while the bot works at all: it refuses every Slack request dated more
# than that from its clock (bot.inbound.MAX_AGE_SECONDS), presses included.
CLOCK_MARGIN = timedelta(minutes=5)

# One read of a run: (run, etag), run None when unchanged since `etag` (304).
Fetch = Callable[[int, str | None], Awaitable[tuple["Run | None", str | None]]]
Wait = Callable[[float], Awaitable[object]]


class Run(BaseModel):
    """The part of a workflow run the bot keeps (stored durably by DBOS; JSON only)."""

    model_config = ConfigDict(frozen=True)

    id: int
    status: str
    conclusion: str | None = None
    html_url: str = ""
    created_at: datetime
    head_branch: str | None = None
    event: str = ""
    display_title: str | None = None
    name: str | None = None  # the workflow's name
    run_attempt: int | None = None

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def succeeded(self) -> bool:
        return self.completed and self.conclusion == TERMINAL_OK

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Run:
        return cls(
            id=int(data["id"]),
            status=str(data.get("status") or "queued"),
            conclusion=data.get("conclusion"),
            html_url=str(data.get("html_url") or ""),
            created_at=_parse_time(str(data["created_at"])),
            head_branch=data.get("head_branch"),
            event=str(data.get("event") or ""),
            display_title=data.get("display_title"),
            name=data.get("name"),
            run_attempt=data.get("run_attempt"),
        )


class DispatchResult(BaseModel):
    """Which run a dispatch started. `via` says how the id was learned."""

    model_config = ConfigDict(frozen=True)

    run_id: int
    html_url: str | None = None
    run_url: str | None = None
    via: Literal["run_details", "listed", "adopted"]


class WorkflowInfo(BaseModel):
    """Preflight result: the workflow exists, is active and can be dispatched on the ref."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    path: str
    state: str
    html_url: str = ""
    ref: str
    has_dispatch_trigger: bool | None = None
    # A classic token's scopes (GitHub's X-OAuth-Scopes); None for a fine-grained token or
    # an app's, which GitHub does not list.
    token_scopes: tuple[str, ...] | None = None


def conclusion_diagnosis(
    run: Run, *, partition: str | None = None, failed: Place | None = None
) -> Problem | None:
    """symptom → cause → fix for a completed run that did not succeed (None on success);
    `failed` names the job and step that failed, with the job's log."""
    if run.succeeded:
        return None
    return texts.run_concluded(
        run.conclusion or run.status,
        link=run.html_url or f"run {run.id}",
        partition=partition,
        where=partition,
        failed=failed,
    )


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return _utc(value).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _floor_second(value: datetime) -> datetime:
    # GitHub timestamps have second precision; a run created in the same second as
    # `not_before` must still count.
    return _utc(value).replace(microsecond=0)


def _mentions(title: str, value: str) -> bool:
    if not value:
        return True
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", title, re.I) is not None


def _input_match(run: Run, inputs: Mapping[str, str] | None) -> int:
    """2 = the title names every input value; 1 = the title is GitHub's default (the
    workflow's name), so it says nothing about the inputs; 0 = a run for other inputs."""
    if not inputs:
        return 1
    values = [v for v in inputs.values() if v]
    title = run.display_title or ""
    if not values:
        return 1
    if all(_mentions(title, v) for v in values):
        return 2
    if not title or (run.name is not None and title == run.name):
        return 1
    return 0


@dataclass(frozen=True)
class Next:
    """What following a run does after one read: it `concluded`, it `timed_out`, or it
    `report`s where the run stands (maybe) and reads again in `wait` seconds."""

    concluded: bool = False
    timed_out: bool = False
    report: bool = False
    wait: float = 0.0


@dataclass
class RunPace:
    """The pace of following one run, decided read after read (pure: the caller reads).

    Reads come every `poll_interval` seconds, unchanged runs included: a conditional read
    answered 304 costs nothing against GitHub's rate limit, so there is no backing off.
    Where the run stands is reported when its status changes, and otherwise at most once
    per `progress_interval` (so its elapsed time moves). Times are the caller's recorded
    clock (epoch seconds)."""

    poll_interval: float
    progress_interval: float
    deadline: float
    latest: Run | None = None
    told: tuple[str, float] | None = None

    def after(self, run: Run | None, at: float) -> Next:
        """`run`: what a read returned (None: unchanged since the last one)."""
        self.latest = run or self.latest
        if self.latest is not None and self.latest.completed:
            return Next(concluded=True)
        if at >= self.deadline:
            return Next(timed_out=True)
        report = self.latest is not None and (
            self.told is None
            or self.latest.status != self.told[0]
            or at - self.told[1] >= self.progress_interval
        )
        if report and self.latest is not None:
            self.told = (self.latest.status, at)
        return Next(report=report, wait=max(0.0, min(self.poll_interval, self.deadline - at)))


class GitHubActions:
    """One repository's workflow, driven through the REST API."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        token: SecretStr,
        repository: str,
        workflow: str,
        ref: str,
        *,
        run_appear_timeout: float = 30.0,
        **limits: Unpack[Limits],
    ) -> None:
        """`run_appear_timeout`: how long to look for the run a dispatch started;
        `limits`: the transport's patience (`http.Limits`)."""
        owner, _, name = repository.partition("/")
        if not owner or not name:
            raise ValueError(f"repository must be owner/name, got {repository!r}")
        self._http = GitHubHttp(session, api_url, token, **limits)
        self.repository = repository
        self.workflow = workflow
        self.ref = ref
        self._repo_path = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        self._workflow_path = f"{self._repo_path}/actions/workflows/{quote(workflow, safe='')}"
        self._appear_timeout = run_appear_timeout

    def __repr__(self) -> str:
        return f"GitHubActions(repository={self.repository!r}, workflow={self.workflow!r})"

    def _refused(self, resp: Response, action: str) -> GitHubError:
        """The error for an answer that is not the success `action` needed."""
        problem = texts.refused(
            resp.status,
            resp.message(),
            action=action,
            repository=self.repository,
            workflow=self.workflow,
            ref=self.ref,
        )
        return GitHubError(problem, retryable=resp.status >= 500, status=resp.status)

    async def _get_object(self, path: str, *, action: str, **kw: Any) -> dict[str, Any]:
        """GET a JSON object; any other answer raises the GitHubError that explains it."""
        resp = await self._http.get(path, action=action, **kw)
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise self._refused(resp, action)
        return resp.body

    # ------------------------------------------------------------------ runs

    async def list_runs(self, *, not_before: datetime) -> list[Run]:
        """workflow_dispatch runs of the workflow on the ref created at/after `not_before`."""
        since = _floor_second(not_before)
        body = await self._get_object(
            f"{self._workflow_path}/runs",
            params={
                "event": "workflow_dispatch",
                "branch": self.ref,
                "created": f">={_iso(since)}",
                "per_page": "100",
                "exclude_pull_requests": "true",
            },
            action="the list of workflow runs",
        )
        runs = [Run.from_api(r) for r in body.get("workflow_runs") or []]
        return [r for r in runs if r.created_at >= since]

    async def recent_runs(self, *, not_before: datetime) -> list[Run]:
        """The runs a dispatch at `not_before` (the bot's clock) may have started, whatever
        GitHub's clock says: created at/after `not_before` less `CLOCK_MARGIN`. Runs that
        were there before the dispatch are among them: leave those out by id."""
        return await self.list_runs(not_before=_utc(not_before) - CLOCK_MARGIN)

    def pick(
        self, runs: list[Run], inputs: Mapping[str, str] | None, exclude: set[int]
    ) -> Run | None:
        """The newest of `runs` for `inputs` (`_input_match`), leaving out `exclude`."""
        scored = [(_input_match(r, inputs), r) for r in runs if r.id not in exclude]
        scored = [(s, r) for s, r in scored if s > 0]
        if not scored:
            return None
        scored.sort(key=lambda sr: (sr[0], sr[1].created_at, sr[1].id), reverse=True)
        return scored[0][1]

    async def find_run(
        self,
        *,
        not_before: datetime,
        inputs: dict[str, str] | None = None,
        exclude_ids: set[int] | None = None,
    ) -> Run | None:
        """The newest matching workflow_dispatch run created at/after `not_before` by
        GitHub's clock, if any. To find the run a dispatch may have started, whatever the
        clocks say, pick from `recent_runs` less the runs listed before it instead.
        """
        runs = await self.list_runs(not_before=not_before)
        return self.pick(runs, inputs, exclude_ids or set())

    async def _await_new_run(
        self, not_before: datetime, inputs: Mapping[str, str] | None, exclude: set[int]
    ) -> Run | None:
        """Poll the run list with short backoff until a new run shows up (or give up)."""
        deadline = time.monotonic() + self._appear_timeout
        delay = min(1.0, self._http.base_delay) or 0.05
        while True:
            run = self.pick(await self.recent_runs(not_before=not_before), inputs, exclude)
            if run is not None:
                return run
            if time.monotonic() + delay > deadline:
                return None
            await self._http.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def dispatch(
        self, inputs: dict[str, str], *, not_before: datetime, before: set[int] | None = None
    ) -> DispatchResult:
        """Start the workflow once on `ref` with `inputs`; never twice, even when retried.

        `before`: the ids of `recent_runs` listed just before (else listed here); a run
        among them is never taken for the one this dispatch started."""
        action = f"the dispatch of {self.workflow} on {self.ref}"
        if before is None:
            before = {r.id for r in await self.recent_runs(not_before=not_before)}
        body = {"ref": self.ref, "inputs": dict(inputs), "return_run_details": True}
        ambiguous = False
        attempt = 0
        while True:
            attempt += 1
            if ambiguous:
                # The previous POST may have created a run: adopt it rather than POST again.
                run = await self._await_new_run(not_before, inputs, before)
                if run is not None:
                    log.info("github_dispatch_adopted", run_id=run.id, attempt=attempt)
                    return DispatchResult(run_id=run.id, html_url=run.html_url, via="adopted")
            try:
                resp = await self._http.send(
                    "POST", f"{self._workflow_path}/dispatches", json_body=body
                )
            except Ambiguous as exc:
                failure = exc.what
            else:
                started = await self._started(resp, inputs, not_before, before)
                if started is not None:
                    log.info("github_dispatched", run_id=started.run_id, via=started.via)
                    return started
                if await self._http.waited_out_rate_limit(resp, attempt, action):
                    continue
                if resp.status not in RETRY_STATUSES:
                    raise self._refused(resp, action)
                failure = f"HTTP {resp.status}"
            ambiguous = True
            await self._http.retry_later(attempt, action, failure)

    async def _started(
        self,
        resp: Response,
        inputs: Mapping[str, str],
        not_before: datetime,
        before: set[int],
    ) -> DispatchResult | None:
        """The run a dispatch answer says was started; None when it was not a success."""
        if resp.status == 200 and isinstance(resp.body, dict) and "workflow_run_id" in resp.body:
            return DispatchResult(
                run_id=int(resp.body["workflow_run_id"]),
                html_url=resp.body.get("html_url"),
                run_url=resp.body.get("run_url"),
                via="run_details",
            )
        if resp.status not in (200, 204):
            return None
        run = await self._await_new_run(not_before, inputs, before)
        if run is None:
            problem = texts.run_not_appeared(self.workflow, self.repository, self._appear_timeout)
            raise GitHubError(problem, retryable=True)
        return DispatchResult(run_id=run.id, html_url=run.html_url, via="listed")

    async def get_run(self, run_id: int, etag: str | None = None) -> tuple[Run | None, str | None]:
        """Conditional GET of one run: (None, etag) when unchanged (304)."""
        action = f"the status of run {run_id}"
        path = f"{self._repo_path}/actions/runs/{int(run_id)}"
        resp = await self._http.get(path, action=action, etag=etag)
        if resp.status == 304:
            return None, etag
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise self._refused(resp, action)
        return Run.from_api(resp.body), resp.headers.get("ETag") or etag

    def still_going(self, run: Run, timeout: float) -> GitHubError:
        """The error for a run that has not completed after `timeout` seconds."""
        link = run.html_url or f"run {run.id}"
        problem = texts.run_still_going(run.id, self.workflow, run.status, timeout, link)
        return GitHubError(problem, retryable=True)

    async def jobs(self, run_id: int) -> list[Job]:
        """The run's jobs (of its latest attempt) with their steps."""
        body = await self._get_object(
            f"{self._repo_path}/actions/runs/{int(run_id)}/jobs",
            params={"per_page": "100"},
            action=f"the jobs of run {run_id}",
        )
        return [Job.from_api(j) for j in body.get("jobs") or [] if isinstance(j, Mapping)]

    # ------------------------------------------------------------------ preflight / gates

    async def pull_request_merged(self, number: int) -> bool:
        """Whether pull request `number` of the repository has been merged."""
        path = f"{self._repo_path}/pulls/{int(number)}"
        pull = await self._get_object(path, action=f"pull request #{number}")
        return bool(pull.get("merged")) or pull.get("merged_at") is not None

    async def workflow_visible(self) -> WorkflowInfo:
        """Preflight: the token can read the workflow, it is active, and it exists on the ref."""
        wf = await self._get_object(self._workflow_path, action=f"the workflow {self.workflow}")
        state = str(wf.get("state") or "")
        if state and state != "active":
            raise GitHubError(texts.workflow_disabled(self.workflow, self.repository, state))
        path = str(wf.get("path") or f".github/workflows/{self.workflow}")
        contents_action = f"{path} on {self.ref}"
        cresp = await self._http.get(
            f"{self._repo_path}/contents/{quote(path)}",
            params={"ref": self.ref},
            action=contents_action,
        )
        if cresp.status == 404:
            problem = texts.workflow_not_on_ref(path, self.ref, self.repository)
            raise GitHubError(problem, status=404)
        if cresp.status != 200 or not isinstance(cresp.body, dict):
            raise self._refused(cresp, contents_action)
        has_trigger = _has_dispatch_trigger(cresp.body)
        if has_trigger is False:
            raise GitHubError(texts.no_dispatch_trigger(path, self.ref))
        return WorkflowInfo(
            id=int(wf.get("id") or 0),
            name=str(wf.get("name") or self.workflow),
            path=path,
            state=state or "active",
            html_url=str(wf.get("html_url") or ""),
            ref=self.ref,
            has_dispatch_trigger=has_trigger,
            token_scopes=_scopes(cresp.headers.get("X-OAuth-Scopes")),
        )


def _has_dispatch_trigger(contents: Mapping[str, Any]) -> bool | None:
    """Whether a contents answer's file mentions workflow_dispatch (None: unreadable)."""
    content = contents.get("content")
    if not isinstance(content, str) or contents.get("encoding") != "base64":
        return None
    try:
        return "workflow_dispatch" in base64.b64decode(content).decode("utf-8", "replace")
    except ValueError:
        return None


def _scopes(header: str | None) -> tuple[str, ...] | None:
    """A classic token's scopes from X-OAuth-Scopes ("repo, workflow"); None without it."""
    if header is None:
        return None
    return tuple(scope.strip() for scope in header.split(",") if scope.strip())
