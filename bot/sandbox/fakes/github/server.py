"""The GitHub stand-in's server: the routes the bot calls, answered as GitHub answers them.

The package docstring (``bot.sandbox.fakes.github``) says how to drive it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.sandbox.fakes.github.faults import Faults
from bot.sandbox.fakes.github.runs import (
    DEFAULT_JOB_STEPS,
    DEFAULT_WORKFLOW_YAML,
    Created,
    FakeRun,
    RecordedRequest,
    Repository,
    Script,
    job_json,
    run_json,
)
from bot.sandbox.fakes.github.spec import SPEC_PATH, SpecChecks
from bot.sandbox.fakes.github.webhooks import Delivery, Webhooks
from bot.sandbox.fakes.server import LoopbackFake


class FakeGitHub(LoopbackFake):
    def __init__(
        self,
        *,
        token: str = "ghp_fake_token_for_tests",  # noqa: S107 - a fake's test token
        repository: str = "Arda-cards/infrastructure",
        workflows: dict[str, str] | None = None,
        refs: set[str] | None = None,
        declared_inputs: set[str] | None = None,
        spec_path: Path = SPEC_PATH,
    ) -> None:
        self.token = token
        self.repository = repository
        # file name -> YAML text (the contents endpoint serves it base64-encoded)
        self.workflows = dict(workflows or {"amm.yml": DEFAULT_WORKFLOW_YAML})
        self.refs = set(refs or {"main"})
        self.declared_inputs = set(declared_inputs or {"partition"})
        self.mode = "return_run_details"
        # display_title template; None → GitHub's default (the workflow name)
        self.run_name: str | None = "amm {partition}"
        self.appear_after_lists = 0
        self.deny_write = False
        # A classic token's scopes, sent in X-OAuth-Scopes as GitHub does for one; None: a
        # fine-grained token or an app's, for which GitHub sends no such header.
        self.oauth_scopes: str | None = None
        self.workflow_state = "active"
        self.pulls: dict[int, bool] = {}
        self.default_states = ["queued", "in_progress", "completed:success"]
        self.job_name = "deploy"
        self.job_steps = DEFAULT_JOB_STEPS
        self.fail_step = "Deploy with amm.sh"
        self.requests: list[RecordedRequest] = []
        self.dispatches: list[dict[str, Any]] = []
        self.runs: dict[int, FakeRun] = {}
        self.run_seconds: float | None = None
        # GitHub's clock against this host's, in seconds: a run is dated by it (negative:
        # GitHub's is behind, as it is for a bot whose clock runs ahead).
        self.clock_offset = 0.0
        self.checks = SpecChecks(spec_path)
        self.webhooks = Webhooks(repository)
        self.faults = Faults()
        # fail_next("/dispatches", status=502, times=2, after=True): fault injection;
        # rate_limit_next(pattern): GitHub's 403 with X-RateLimit headers; pending_faults.
        self.fail_next = self.faults.arm
        self.rate_limit_next = self.faults.rate_limit
        self.pending_faults = self.faults.pending
        self._next_id = 7_000_001
        self._scripts: list[Script] = []

    # ------------------------------------------------------------------ lifecycle

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._handle)

    @property
    def url(self) -> str:
        return self.base_url

    async def close(self) -> None:
        await self.webhooks.close()
        await super().close()

    # ------------------------------------------------------------------ what was seen

    @property
    def violations(self) -> list[str]:
        return self.checks.violations

    @property
    def response_violations(self) -> list[str]:
        return self.checks.response_violations

    @property
    def unspecified(self) -> list[str]:
        return self.checks.unspecified

    @property
    def deliveries(self) -> list[Delivery]:
        return self.webhooks.deliveries

    def assert_no_violations(self) -> None:
        problems = self.violations + self.response_violations
        assert not problems, "GitHub spec violations:\n" + "\n".join(problems)

    def requests_to(self, pattern: str, method: str | None = None) -> list[RecordedRequest]:
        rx = re.compile(pattern)
        return [
            r
            for r in self.requests
            if rx.search(r.path) and (method is None or r.method == method.upper())
        ]

    # ------------------------------------------------------------------ scripting

    def send_webhooks(self, url: str, secret: str) -> None:
        """Deliver workflow_run events of clock-driven runs to `url`, signed with `secret`."""
        self.webhooks.send_to(url, secret)

    async def redeliver(self, guid: str) -> int:
        """Send a delivery again, as GitHub's "Redeliver" does: same GUID, same body."""
        return await self.webhooks.redeliver(guid)

    def script_run(
        self,
        match: dict[str, str],
        states: list[str],
        *,
        once: bool = False,
        fail_step: str | None = None,
    ) -> None:
        """Runs dispatched from now on whose inputs contain `match` follow `states`
        (a failing one fails at `fail_step`)."""
        self._scripts.insert(0, Script(dict(match), list(states), once, fail_step=fail_step))

    def script_timed_run(
        self,
        match: dict[str, str],
        phases: list[tuple[str, float]],
        *,
        once: bool = False,
        fail_step: str | None = None,
    ) -> None:
        """Runs dispatched from now on whose inputs contain `match` go through `phases`,
        each (state, seconds) lasting that long by the clock."""
        states = [state for state, _ in phases]
        durations = [float(seconds) for _, seconds in phases]
        self._scripts.insert(0, Script(dict(match), states, once, durations, fail_step))

    def clear_scripts(self) -> None:
        """Runs dispatched from now on follow ``default_states`` again."""
        self._scripts.clear()

    def set_conclusion(
        self,
        *,
        inputs: dict[str, str],
        conclusion: str,
        after_polls: int = 2,
        fail_step: str | None = None,
    ) -> None:
        states = ["queued"] + ["in_progress"] * max(0, after_polls - 1)
        self.script_run(inputs, [*states, f"completed:{conclusion}"], fail_step=fail_step)

    def add_run(
        self,
        *,
        inputs: dict[str, str],
        created_at: datetime | None = None,
        states: list[str] | None = None,
        ref: str = "main",
        event: str = "workflow_dispatch",
    ) -> FakeRun:
        return self._create_run(inputs, ref, created_at=created_at, states=states, event=event)

    # ------------------------------------------------------------------ serving

    def _auth(self, request: web.Request) -> str:
        value = request.headers.get("Authorization", "")
        if not value:
            return "missing"
        return "ok" if value == f"Bearer {self.token}" else "bad"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        record = RecordedRequest(
            request.method, request.path, dict(request.query), headers, body, self._auth(request)
        )
        self.requests.append(record)
        self.checks.request(request, body, raw)
        fault = self.faults.take(request)
        if fault is not None and not fault.after:
            record.status = fault.status
            return fault.response()
        response = self._route(request, body, record)
        if fault is not None:
            response = fault.response()
        if self.oauth_scopes is not None and record.auth == "ok":
            response.headers["X-OAuth-Scopes"] = self.oauth_scopes
        record.status = response.status
        return response

    def _route(self, request: web.Request, body: Any, record: RecordedRequest) -> web.Response:
        if record.auth != "ok":
            return web.json_response(
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
                status=401,
            )
        prefix = f"/repos/{self.repository}/"
        if not request.path.lower().startswith(prefix.lower()):
            return self._not_found()
        rest = request.path[len(prefix) :]
        method = request.method
        if m := re.fullmatch(r"actions/workflows/([^/]+)/dispatches", rest):
            if method == "POST":
                return self._dispatch(m[1], body)
        elif m := re.fullmatch(r"actions/workflows/([^/]+)/runs", rest):
            if method == "GET":
                return self._list_runs(m[1], request)
        elif m := re.fullmatch(r"actions/workflows/([^/]+)", rest):
            if method == "GET":
                return self._workflow(m[1])
        elif m := re.fullmatch(r"actions/runs/(\d+)", rest):
            if method == "GET":
                return self._get_run(int(m[1]), request)
        elif m := re.fullmatch(r"actions/runs/(\d+)/jobs", rest):
            if method == "GET":
                return self._list_jobs(int(m[1]))
        elif m := re.fullmatch(r"contents/(.+)", rest):
            if method == "GET":
                return self._contents(m[1], request.query.get("ref", "main"))
        elif m := re.fullmatch(r"pulls/(\d+)", rest):
            if method == "GET":
                return self._pull(int(m[1]))
        return self._not_found()

    @staticmethod
    def _not_found() -> web.Response:
        return web.json_response(
            {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
            status=404,
        )

    def _create_run(
        self,
        inputs: dict[str, str],
        ref: str,
        *,
        created_at: datetime | None = None,
        states: list[str] | None = None,
        event: str = "workflow_dispatch",
        clocked: bool = False,
    ) -> FakeRun:
        durations: list[float] | None = None
        fail_step = self.fail_step
        if states is None:
            states = list(self.default_states)
            for script in self._scripts:
                if all(inputs.get(k) == v for k, v in script.match.items()):
                    states = list(script.states)
                    durations = script.durations
                    fail_step = script.fail_step or fail_step
                    if script.once:
                        self._scripts.remove(script)
                    break
        if clocked and self.run_seconds is not None and durations is None:
            # By the clock: queued a tenth of the run (at most a second), then in progress.
            queued = min(1.0, self.run_seconds / 10)
            final = states[-1] if states[-1].startswith("completed") else "completed:success"
            states = ["queued", "in_progress", final]
            durations = [queued, self.run_seconds - queued, 0.0]
        if self.run_name is None:
            title = "AMM"
        else:
            title = self.run_name.format_map(defaultdict(str, inputs)).strip()
        run = FakeRun(
            id=self._next_id,
            inputs=dict(inputs),
            ref=ref,
            created_at=(created_at or self.now()).replace(microsecond=0),
            states=states,
            event=event,
            display_title=title,
            hidden_lists=self.appear_after_lists,
            durations=durations,
            fail_step=fail_step,
        )
        self._next_id += 17
        self.runs[run.id] = run
        self.webhooks.schedule(run, self._run_json)
        return run

    def now(self) -> datetime:
        """The time by GitHub's clock (`clock_offset`)."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    def _repo(self) -> Repository:
        return Repository(self.url, self.repository)

    def _run_json(self, run: FakeRun) -> dict[str, Any]:
        return run_json(run, self.checks.example("workflow-run"), self._repo())

    def _dispatch(self, workflow: str, body: Any) -> web.Response:
        if workflow not in self.workflows:
            return self._not_found()
        if self.deny_write:
            return web.json_response(
                {
                    "message": "Resource not accessible by personal access token",
                    "documentation_url": "https://docs.github.com/rest/actions/workflows",
                    "status": "403",
                },
                status=403,
            )
        if "workflow_dispatch" not in self.workflows[workflow]:
            return web.json_response(
                {"message": "Workflow does not have 'workflow_dispatch' trigger"}, status=422
            )
        if not isinstance(body, dict):
            return web.json_response({"message": "Problems parsing JSON"}, status=400)
        ref = str(body.get("ref", ""))
        if ref not in self.refs:
            return web.json_response({"message": f"No ref found for: {ref}"}, status=422)
        inputs = body.get("inputs") or {}
        unexpected = sorted(k for k in inputs if k not in self.declared_inputs)
        if unexpected:
            listed = ", ".join(f'"{k}"' for k in unexpected)
            return web.json_response(
                {"message": f"Unexpected inputs provided: [{listed}]"}, status=422
            )
        run = self._create_run({str(k): str(v) for k, v in inputs.items()}, ref, clocked=True)
        self.dispatches.append({"run_id": run.id, "ref": ref, "inputs": dict(run.inputs)})
        if self.mode == "return_run_details" and body.get("return_run_details") is True:
            run_url, html_url = self._repo().run_urls(run.id)
            payload = {"workflow_run_id": run.id, "run_url": run_url, "html_url": html_url}
            self.checks.response(
                "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
                "post",
                200,
                payload,
            )
            return web.json_response(payload)
        return web.Response(status=204)

    def _list_runs(self, workflow: str, request: web.Request) -> web.Response:
        if workflow not in self.workflows:
            return self._not_found()
        q = request.query
        runs = sorted(self.runs.values(), key=lambda r: (r.created_at, r.id), reverse=True)
        created = Created(None, None)
        if "created" in q:
            try:
                created = Created.parse(q["created"])
            except ValueError:
                return web.json_response({"message": "Invalid created filter"}, status=422)
        selected = []
        for run in runs:
            if run.hidden_lists > 0:
                run.hidden_lists -= 1
                continue
            if "event" in q and run.event != q["event"]:
                continue
            if "branch" in q and run.ref != q["branch"]:
                continue
            if "status" in q and q["status"] not in run.state():
                continue
            if created.admits(run.created_at):
                selected.append(run)
        per_page = int(q.get("per_page", "30"))
        payload = {
            "total_count": len(selected),
            "workflow_runs": [self._run_json(r) for r in selected[:per_page]],
        }
        self.checks.response(
            "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs", "get", 200, payload
        )
        return web.json_response(payload)

    def _get_run(self, run_id: int, request: web.Request) -> web.Response:
        run = self.runs.get(run_id)
        if run is None:
            return self._not_found()
        payload = self._run_json(run)
        status, conclusion = run.state()
        etag = (
            '"' + hashlib.sha256(f"{run.id}:{status}:{conclusion}".encode()).hexdigest()[:32] + '"'
        )
        run.polls += 1
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        self.checks.response("/repos/{owner}/{repo}/actions/runs/{run_id}", "get", 200, payload)
        return web.json_response(payload, headers={"ETag": etag})

    def _list_jobs(self, run_id: int) -> web.Response:
        run = self.runs.get(run_id)
        if run is None:
            return self._not_found()
        example = self.checks.example("job-paginated")["jobs"][0]
        job = job_json(run, example, self._repo(), self.job_name, tuple(self.job_steps))
        jobs = [job] if job is not None else []
        payload = {"total_count": len(jobs), "jobs": jobs}
        self.checks.response(
            "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs", "get", 200, payload
        )
        return web.json_response(payload)

    def _workflow(self, workflow: str) -> web.Response:
        if workflow not in self.workflows:
            return self._not_found()
        return web.json_response(
            {
                "id": 161335,
                "node_id": "MDg6V29ya2Zsb3cxNjEzMzU=",
                "name": "AMM",
                "path": f".github/workflows/{workflow}",
                "state": self.workflow_state,
                "created_at": "2024-01-08T23:48:37.000-08:00",
                "updated_at": "2024-01-08T23:50:21.000-08:00",
                "url": f"{self.url}/repos/{self.repository}/actions/workflows/161335",
                "html_url": f"https://github.com/{self.repository}/blob/main/.github/workflows/{workflow}",
                "badge_url": f"https://github.com/{self.repository}/workflows/AMM/badge.svg",
            }
        )

    def _contents(self, path: str, ref: str) -> web.Response:
        prefix = ".github/workflows/"
        if ref not in self.refs or not path.startswith(prefix):
            return self._not_found()
        text = self.workflows.get(path[len(prefix) :])
        if text is None:
            return self._not_found()
        return web.json_response(
            {
                "type": "file",
                "encoding": "base64",
                "size": len(text),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": base64.encodebytes(text.encode()).decode(),
                "sha": hashlib.sha1(text.encode()).hexdigest(),  # noqa: S324 - git blob id style
            }
        )

    def _pull(self, number: int) -> web.Response:
        if number not in self.pulls:
            return self._not_found()
        merged = self.pulls[number]
        return web.json_response(
            {
                "number": number,
                "state": "closed" if merged else "open",
                "merged": merged,
                "merged_at": "2025-01-01T00:00:00Z" if merged else None,
            }
        )
