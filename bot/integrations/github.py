"""GitHub Actions: dispatch `amm.yml` for a partition, find and follow its run.

Plain aiohttp against the REST API (version 2022-11-28); the session and base URL are
injected so tests point this at `tests/fakes/github.py`.

Idempotency, the part that matters most:

* `dispatch()` asks for `return_run_details` (200 with `workflow_run_id`). When GitHub
  answers 204 instead (older API behaviour), the new run is found by listing
  `event=workflow_dispatch` runs on the ref created at/after `not_before`, ignoring every
  run that already existed before the POST (a snapshot is taken just before it).
* A POST that fails ambiguously (502/503/504, a dropped connection, a timeout) may still
  have created a run. Before POSTing again, the client looks for a new run and adopts it if
  one appears — so a retried dispatch never starts the workflow twice.
* After a crash, the durable workflow calls `find_run(not_before=..., inputs=...)` before
  dispatching again (DBOS re-runs the unfinished step).

Matching a run to its inputs: GitHub does not return a run's inputs. When several runs are
candidates, a run whose `display_title` mentions every input value (set `run-name:` in
amm.yml, e.g. ``run-name: amm ${{ inputs.partition }}``) is preferred; a run whose title
is GitHub's default (the workflow's name, when amm.yml has no `run-name`) is accepted;
anything else is a run for other inputs and is ignored.

The token lives in a `SecretStr`, is only ever put in the Authorization header, and never
appears in an error, a log line or `repr`.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

import aiohttp
import structlog
from pydantic import BaseModel, ConfigDict, SecretStr

from bot.integrations.errors import IntegrationError

log = structlog.get_logger(__name__)

API_VERSION = "2022-11-28"
USER_AGENT = "creators-onboard/0.1 (+https://github.com/Arda-cards)"
RETRY_STATUSES = frozenset({502, 503, 504})
TERMINAL_OK = "success"

Sleep = Callable[[float], Awaitable[None]]


class GitHubError(IntegrationError):
    """A GitHub request failed in a way a person can act on."""


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


def conclusion_diagnosis(run: Run, *, partition: str | None = None) -> GitHubError | None:
    """symptom → cause → fix for a completed run that did not succeed (None on success)."""
    if run.succeeded:
        return None
    where = f" for {partition}" if partition else ""
    link = run.html_url or f"run {run.id}"
    symptom = f"The amm.yml run{where} ended with '{run.conclusion or run.status}'."
    causes = {
        "failure": "A step in the workflow failed (often a missing vault item, a 1Password "
        "service-account scope problem, or an AWS/Amplify permission error).",
        "cancelled": "Someone cancelled the run, or a newer run of the same concurrency "
        "group replaced it.",
        "timed_out": "The run exceeded its job timeout (a hung step or a runner outage).",
        "action_required": "The run is waiting for an approval (environment protection rule).",
        "startup_failure": "GitHub could not start the workflow (invalid YAML or a missing "
        "reusable workflow / secret).",
        "stale": "GitHub marked the run stale: it waited too long to start.",
    }
    cause = causes.get(run.conclusion or "", "The run did not finish successfully.")
    fix = (
        f"Open {link}, read the failed job's log, fix the cause, then use "
        "`/creators-onboard retry` to dispatch this partition again. No later partition "
        "has been touched."
    )
    return GitHubError(symptom, cause, fix, retryable=run.conclusion in {"cancelled", "timed_out"})


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


class _Response:
    __slots__ = ("body", "headers", "status", "text")

    def __init__(self, status: int, headers: Mapping[str, str], text: str, body: Any) -> None:
        self.status = status
        self.headers = headers
        self.text = text
        self.body = body

    def message(self) -> str:
        if isinstance(self.body, dict) and isinstance(self.body.get("message"), str):
            return str(self.body["message"])[:300]
        return self.text[:200].strip()


class _Ambiguous(Exception):
    """The request may or may not have reached GitHub (timeout, dropped connection, 5xx)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


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
        max_attempts: int = 4,
        retry_base_delay: float = 1.0,
        request_timeout: float = 30.0,
        run_appear_timeout: float = 30.0,
        max_rate_limit_wait: float = 120.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        owner, _, name = repository.partition("/")
        if not owner or not name:
            raise ValueError(f"repository must be owner/name, got {repository!r}")
        self._session = session
        self._api_url = api_url.rstrip("/")
        self._token = token
        self.repository = repository
        self.workflow = workflow
        self.ref = ref
        self._repo_path = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        self._workflow_path = f"{self._repo_path}/actions/workflows/{quote(workflow, safe='')}"
        self._max_attempts = max(1, max_attempts)
        self._base_delay = retry_base_delay
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._appear_timeout = run_appear_timeout
        self._max_rate_wait = max_rate_limit_wait
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"GitHubActions(repository={self.repository!r}, workflow={self.workflow!r})"

    # ------------------------------------------------------------------ transport

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        if extra:
            headers.update(extra)
        return headers

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> _Response:
        """One HTTP exchange. Raises `_Ambiguous` when the outcome is unknown."""
        try:
            async with self._session.request(
                method,
                self._api_url + path,
                params=params,
                json=json_body,
                headers=self._headers(headers),
                timeout=self._timeout,
            ) as resp:
                text = await resp.text()
                body: Any = None
                if text and "json" in resp.headers.get("Content-Type", ""):
                    try:
                        body = await resp.json(content_type=None)
                    except ValueError:
                        body = None
                return _Response(resp.status, resp.headers, text, body)
        except aiohttp.ClientConnectorError as exc:
            # Never connected: nothing was sent. Still worth a retry.
            raise _Ambiguous(f"cannot connect to {self._api_url} ({type(exc).__name__})") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Ambiguous(f"{type(exc).__name__} talking to {self._api_url}") from None

    def _rate_limit_wait(self, resp: _Response) -> float | None:
        """Seconds to wait when `resp` is a rate-limit answer, else None."""
        if resp.status not in (403, 429):
            return None
        retry_after = resp.headers.get("Retry-After")
        if retry_after and retry_after.isdigit():
            return float(retry_after)
        if resp.headers.get("X-RateLimit-Remaining") == "0":
            reset = resp.headers.get("X-RateLimit-Reset", "")
            if reset.isdigit():
                return max(0.0, int(reset) - time.time()) + 1.0
            return 60.0
        if resp.status == 429 or "secondary rate limit" in resp.message().lower():
            return 60.0
        return None

    def _rate_limit_error(self, wait: float) -> GitHubError:
        return GitHubError(
            "GitHub is rate-limiting requests made with GITHUB_TOKEN.",
            f"The token has used its hourly API allowance; it resets in about {wait:.0f} s.",
            "Wait for the reset, then `/creators-onboard retry`. If this keeps happening, "
            "use a token that no other automation shares.",
            retryable=True,
            status=429,
        )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        action: str,
    ) -> _Response:
        """A safe (GET) request, retried on 502/503/504, connection errors and rate limits."""
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = await self._send(method, path, params=params, headers=headers)
            except _Ambiguous as exc:
                if attempt >= self._max_attempts:
                    raise self._unavailable(action, exc.what) from None
                await self._backoff(attempt, action, exc.what)
                continue
            wait = self._rate_limit_wait(resp)
            if wait is not None:
                if wait > self._max_rate_wait or attempt >= self._max_attempts:
                    raise self._rate_limit_error(wait)
                log.warning("github.rate_limited", action=action, wait_s=round(wait, 1))
                await self._sleep(wait)
                continue
            if resp.status in RETRY_STATUSES:
                if attempt >= self._max_attempts:
                    raise self._unavailable(action, f"HTTP {resp.status}")
                await self._backoff(attempt, action, f"HTTP {resp.status}")
                continue
            return resp

    async def _backoff(self, attempt: int, action: str, what: str) -> None:
        delay = self._base_delay * (2 ** (attempt - 1))
        log.warning("github.retry", action=action, attempt=attempt, problem=what, delay_s=delay)
        await self._sleep(delay)

    def _unavailable(self, action: str, what: str) -> GitHubError:
        return GitHubError(
            f"GitHub did not answer {action} ({what}) after {self._max_attempts} attempts.",
            "GitHub is having an outage, or the network between the bot and "
            f"{self._api_url} is down.",
            "Check https://www.githubstatus.com and the bot's network, then "
            "`/creators-onboard retry`.",
            retryable=True,
        )

    def _classify(self, resp: _Response, action: str) -> GitHubError:
        msg = resp.message()
        said = f" GitHub said: “{msg}”." if msg else ""
        repo, wf, ref = self.repository, self.workflow, self.ref
        if resp.status == 401:
            return GitHubError(
                f"GitHub answered 401 to {action}.",
                "GITHUB_TOKEN is invalid, expired or revoked.",
                f"Create a token with Actions read & write on {repo}, put it in GITHUB_TOKEN "
                "and restart the bot (`creators-onboard check` confirms it).",
                status=401,
            )
        if resp.status == 403:
            sso = "sso" in msg.lower() or "saml" in msg.lower()
            return GitHubError(
                f"GitHub answered 403 to {action}.{said}",
                (
                    "The token has not been authorised for the organisation's SAML single sign-on."
                    if sso
                    else f"GITHUB_TOKEN lacks permission: it needs Actions write on {repo} "
                    "(fine-grained token: Actions read & write; classic token: repo and "
                    "workflow scopes)."
                ),
                "Grant the permission (or authorise the token for SSO), update GITHUB_TOKEN, "
                "then `/creators-onboard retry`.",
                status=403,
            )
        if resp.status == 404:
            return GitHubError(
                f"GitHub answered 404 to {action}.{said}",
                f"The token cannot see {repo}, or .github/workflows/{wf} does not exist there "
                f"(GitHub hides private repositories from tokens without access).",
                f"Check the repository and workflow names in the YAML (github.repository, "
                f"github.workflow) and give the token access to {repo}.",
                status=404,
            )
        if resp.status == 422:
            low = msg.lower()
            if "workflow_dispatch" in low:
                cause = f"{wf} has no `workflow_dispatch:` trigger on {ref}."
                fix = f"Add a `workflow_dispatch:` trigger (with its inputs) to {wf} on {ref}."
            elif "input" in low:
                cause = "The inputs sent do not match the ones the workflow declares."
                fix = (
                    "Make the partition's `workflow_inputs` in the YAML match the inputs "
                    f"declared under `workflow_dispatch.inputs` in {wf}."
                )
            elif "ref" in low:
                cause = f"The ref {ref!r} does not exist in {repo}."
                fix = "Set github.ref in the YAML to an existing branch or tag."
            else:
                cause = "GitHub rejected the request as invalid."
                fix = f"Compare the YAML's github settings and workflow_inputs with {wf}."
            return GitHubError(f"GitHub answered 422 to {action}.{said}", cause, fix, status=422)
        return GitHubError(
            f"GitHub answered {resp.status} to {action}.{said}",
            "An unexpected answer from the GitHub API.",
            "Check https://www.githubstatus.com, then `/creators-onboard retry`.",
            retryable=resp.status >= 500,
            status=resp.status,
        )

    # ------------------------------------------------------------------ runs

    async def list_runs(self, *, not_before: datetime) -> list[Run]:
        """workflow_dispatch runs of the workflow on the ref created at/after `not_before`."""
        since = _floor_second(not_before)
        resp = await self._request(
            "GET",
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
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise self._classify(resp, "the list of workflow runs")
        runs = [Run.from_api(r) for r in resp.body.get("workflow_runs") or []]
        return [r for r in runs if r.created_at >= since]

    def _pick(
        self, runs: list[Run], inputs: Mapping[str, str] | None, exclude: set[int]
    ) -> Run | None:
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
        """The newest matching workflow_dispatch run created at/after `not_before`, if any.

        Use it before dispatching after a crash: if it returns a run, follow that run
        instead of starting another one.
        """
        runs = await self.list_runs(not_before=not_before)
        return self._pick(runs, inputs, exclude_ids or set())

    async def _await_new_run(
        self, not_before: datetime, inputs: Mapping[str, str] | None, exclude: set[int]
    ) -> Run | None:
        """Poll the run list with short backoff until a new run shows up (or give up)."""
        deadline = time.monotonic() + self._appear_timeout
        delay = min(1.0, self._base_delay) or 0.05
        while True:
            run = self._pick(await self.list_runs(not_before=not_before), inputs, exclude)
            if run is not None:
                return run
            if time.monotonic() + delay > deadline:
                return None
            await self._sleep(delay)
            delay = min(delay * 2, 5.0)

    async def dispatch(self, inputs: dict[str, str], *, not_before: datetime) -> DispatchResult:
        """Start the workflow once on `ref` with `inputs`; never twice, even when retried."""
        action = f"the dispatch of {self.workflow} on {self.ref}"
        before = {r.id for r in await self.list_runs(not_before=not_before)}
        body = {"ref": self.ref, "inputs": dict(inputs), "return_run_details": True}
        ambiguous = False
        attempt = 0
        while True:
            attempt += 1
            if ambiguous:
                # The previous POST may have created a run: adopt it rather than POST again.
                run = await self._await_new_run(not_before, inputs, before)
                if run is not None:
                    log.info("github.dispatch_adopted", run_id=run.id, attempt=attempt)
                    return DispatchResult(run_id=run.id, html_url=run.html_url, via="adopted")
            try:
                resp = await self._send("POST", f"{self._workflow_path}/dispatches", json_body=body)
            except _Ambiguous as exc:
                ambiguous = True
                if attempt >= self._max_attempts:
                    raise self._unavailable(action, exc.what) from None
                await self._backoff(attempt, action, exc.what)
                continue
            if (
                resp.status == 200
                and isinstance(resp.body, dict)
                and "workflow_run_id" in resp.body
            ):
                result = DispatchResult(
                    run_id=int(resp.body["workflow_run_id"]),
                    html_url=resp.body.get("html_url"),
                    run_url=resp.body.get("run_url"),
                    via="run_details",
                )
                log.info("github.dispatched", run_id=result.run_id, via=result.via)
                return result
            if resp.status in (200, 204):
                run = await self._await_new_run(not_before, inputs, before)
                if run is None:
                    raise GitHubError(
                        f"GitHub accepted the dispatch of {self.workflow} but no new run "
                        f"appeared within {self._appear_timeout:.0f} s.",
                        "GitHub is slow to create the run, or amm.yml's `run-name` names "
                        "different values than the inputs sent.",
                        f"Look at the Actions tab of {self.repository}; if a run started, "
                        "`/creators-onboard retry` adopts it instead of dispatching again.",
                        retryable=True,
                    )
                log.info("github.dispatched", run_id=run.id, via="listed")
                return DispatchResult(run_id=run.id, html_url=run.html_url, via="listed")
            wait = self._rate_limit_wait(resp)
            if wait is not None:
                if wait > self._max_rate_wait or attempt >= self._max_attempts:
                    raise self._rate_limit_error(wait)
                await self._sleep(wait)
                continue
            if resp.status in RETRY_STATUSES:
                ambiguous = True
                if attempt >= self._max_attempts:
                    raise self._unavailable(action, f"HTTP {resp.status}")
                await self._backoff(attempt, action, f"HTTP {resp.status}")
                continue
            raise self._classify(resp, action)

    async def get_run(self, run_id: int, etag: str | None = None) -> tuple[Run | None, str | None]:
        """Conditional GET of one run: (None, etag) when unchanged (304)."""
        resp = await self._request(
            "GET",
            f"{self._repo_path}/actions/runs/{int(run_id)}",
            headers={"If-None-Match": etag} if etag else None,
            action=f"the status of run {run_id}",
        )
        if resp.status == 304:
            return None, etag
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise self._classify(resp, f"the status of run {run_id}")
        return Run.from_api(resp.body), resp.headers.get("ETag") or etag

    async def follow(
        self,
        run_id: int,
        *,
        poll_interval: float,
        timeout: float,  # noqa: ASYNC109 - an overall deadline across many polls, by design
        on_update: Callable[[Run], Awaitable[None]] | None = None,
    ) -> Run:
        """Poll the run (with ETags) until it completes; return it with its conclusion.

        `on_update` is awaited whenever the status or conclusion changes. While nothing
        changes the interval grows to four times `poll_interval`.
        """
        deadline = time.monotonic() + timeout
        etag: str | None = None
        latest: Run | None = None
        interval = poll_interval
        while True:
            run, etag = await self.get_run(run_id, etag)
            if run is not None and (
                latest is None or (run.status, run.conclusion) != (latest.status, latest.conclusion)
            ):
                latest = run
                interval = poll_interval
                if on_update is not None:
                    await on_update(run)
            elif run is not None:
                latest = run
            else:
                interval = min(interval * 1.5, poll_interval * 4)
            if latest is not None and latest.completed:
                return latest
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                state = latest.status if latest else "unknown"
                link = latest.html_url if latest and latest.html_url else f"run {run_id}"
                raise GitHubError(
                    f"Run {run_id} of {self.workflow} was still '{state}' after "
                    f"{timedelta(seconds=round(timeout))}.",
                    "The run is queued behind others, waiting for a runner or an approval, "
                    "or a step is hanging.",
                    f"Open {link}. If it is still going, `/creators-onboard retry` resumes "
                    "following it (no second dispatch); if it is stuck, cancel it there "
                    "first.",
                    retryable=True,
                )
            await self._sleep(min(interval, remaining))

    # ------------------------------------------------------------------ preflight / gates

    async def pull_request_merged(self, number: int) -> bool:
        """Whether pull request `number` of the repository has been merged."""
        action = f"pull request #{number}"
        resp = await self._request("GET", f"{self._repo_path}/pulls/{int(number)}", action=action)
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise self._classify(resp, action)
        return bool(resp.body.get("merged")) or resp.body.get("merged_at") is not None

    async def workflow_visible(self) -> WorkflowInfo:
        """Preflight: the token can read the workflow, it is active, and it exists on the ref."""
        action = f"the workflow {self.workflow}"
        resp = await self._request("GET", self._workflow_path, action=action)
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise self._classify(resp, action)
        wf = resp.body
        state = str(wf.get("state") or "")
        if state and state != "active":
            raise GitHubError(
                f"{self.workflow} in {self.repository} is '{state}'.",
                "The workflow has been disabled, so it cannot be dispatched.",
                f"Enable it in the Actions tab of {self.repository} (… → Enable workflow).",
            )
        path = str(wf.get("path") or f".github/workflows/{self.workflow}")
        contents_action = f"{path} on {self.ref}"
        cresp = await self._request(
            "GET",
            f"{self._repo_path}/contents/{quote(path)}",
            params={"ref": self.ref},
            action=contents_action,
        )
        if cresp.status == 404:
            raise GitHubError(
                f"{path} does not exist on {self.ref} in {self.repository}.",
                "The workflow is known to GitHub but not on the configured ref.",
                "Merge the workflow into the ref, or set github.ref in the YAML to the branch "
                "that has it.",
                status=404,
            )
        if cresp.status != 200 or not isinstance(cresp.body, dict):
            raise self._classify(cresp, contents_action)
        has_trigger: bool | None = None
        content = cresp.body.get("content")
        if isinstance(content, str) and cresp.body.get("encoding") == "base64":
            try:
                text = base64.b64decode(content).decode("utf-8", "replace")
                has_trigger = "workflow_dispatch" in text
            except ValueError:
                has_trigger = None
        if has_trigger is False:
            raise GitHubError(
                f"{path} on {self.ref} has no workflow_dispatch trigger.",
                "Without `on: workflow_dispatch` GitHub refuses to start the workflow by API.",
                f"Add a `workflow_dispatch:` trigger (and its inputs) to {path}.",
            )
        return WorkflowInfo(
            id=int(wf.get("id") or 0),
            name=str(wf.get("name") or self.workflow),
            path=path,
            state=state or "active",
            html_url=str(wf.get("html_url") or ""),
            ref=self.ref,
            has_dispatch_trigger=has_trigger,
        )
