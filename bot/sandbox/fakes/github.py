"""A local GitHub REST API that speaks the Actions subset the bot uses.

Start it with ``async with FakeGitHub() as fake:`` and point the client at ``fake.url``.

* Every request is recorded (``fake.requests``; the Authorization header is reduced to
  ``auth="ok" | "bad" | "missing"``, the token itself is never stored).
* Every request is validated against ``bot/sandbox/specs/github-actions-subset.json``
  (path template, method, known/required parameters and their types, the JSON request
  body against the operation's requestBody schema, and the REST headers GitHub wants).
  Endpoints outside that subset that the bot legitimately uses (workflow, contents, pulls)
  are accepted and listed in ``fake.unspecified``; anything else is a violation.
  ``fake.assert_no_violations()`` fails the test with the list.
* The fake's own 200 answers for the spec'd operations are validated against the response
  schemas too (``fake.response_violations``), so it stays realistic.

Scripting:

* ``fake.mode = "return_run_details"`` (default: 200 with ``workflow_run_id`` when asked) or
  ``"204"`` (the older behaviour: always 204, find the run by listing).
* Each poll of ``GET /actions/runs/{id}`` advances a run one step through its states,
  default ``["queued", "in_progress", "completed:success"]``; a repeated state answers 304
  to a matching ``If-None-Match``.
* ``fake.script_run({"partition": "stage"}, ["queued", "queued", "completed:failure"])`` —
  runs dispatched later whose inputs include those pairs follow that script.
* ``fake.set_conclusion(inputs={"partition": "stage"}, conclusion="failure", after_polls=3)``.
* ``fake.script_timed_run(match, [("queued", 0.5), ("in_progress", 3.0), ("completed:failure", 0)])``
  — a run that moves by the clock instead of by polls: each state lasts its seconds (a
  3-minute run stood in for by seconds, so progress can be watched at a test's pace).
* Jobs: ``GET /actions/runs/{id}/jobs`` answers one job (``fake.job_name``, default
  "deploy") whose steps (``fake.job_steps``) advance while the run is in progress; a run
  that fails fails at ``fail_step`` (per script, default ``fake.fail_step``), e.g. the
  prod drift check. The steps are named like amm.yml's.
* ``fake.fail_next("/dispatches", status=502, times=2)`` — fault injection; with
  ``after=True`` the request is processed first (a run IS created) and then answered with
  the failure, the case where a blind retry would dispatch twice.
* ``fake.add_run(inputs=..., created_at=..., states=[...])`` — a run that already exists
  (crash recovery).
* ``fake.appear_after_lists = 2`` — a new run is hidden from the first N list requests.
* ``fake.dispatches`` — every dispatch that created a run.
* ``fake.run_seconds = 5.0`` — runs dispatched from now on go by the clock instead of by
  polls: queued for a tenth of their length (at most a second), then in progress, then
  completed (their script's conclusion, else success) that many seconds after dispatch.
* ``fake.send_webhooks(url, secret)`` — from then on every such run also sends GitHub's
  ``workflow_run`` webhook deliveries (``requested``, ``in_progress``, ``completed``) to
  ``url`` as GitHub does: signed (``X-Hub-Signature-256``, and the legacy SHA-1 header),
  each with its ``X-GitHub-Delivery`` GUID. ``fake.deliveries`` records each one and the
  status it got; ``await fake.redeliver(guid)`` sends one again, GUID and body unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import json
import re
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
from aiohttp import web

from bot.sandbox.fakes.server import LoopbackFake
from bot.sandbox.specs import spec

SPEC_PATH = spec("github-actions-subset.json")
API_VERSION = "2022-11-28"

# Endpoints the bot uses that are outside the spec subset (validated loosely here).
EXTRA_TEMPLATES = {
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}": {"get"},
    "/repos/{owner}/{repo}/contents/{path}": {"get"},
    "/repos/{owner}/{repo}/pulls/{pull_number}": {"get"},
}

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


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` → JSON Schema (type [..., "null"] or anyOf null)."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_to_jsonschema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    out = ""
    for part in parts:
        if part.startswith("{"):
            name = part[1:-1]
            # contents paths may contain slashes
            out += f"(?P<{name}>.+)" if name == "path" else f"(?P<{name}>[^/]+)"
        else:
            out += re.escape(part)
    return re.compile(f"^{out}$")


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
class Delivery:
    """One webhook delivery as sent, and the status each attempt got."""

    guid: str
    event: str
    action: str
    run_id: int
    body: bytes
    statuses: list[int] = field(default_factory=list)


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    method: str | None
    status: int
    times: int
    after: bool
    headers: dict[str, str]
    body: Any


@dataclass
class _Script:
    match: dict[str, str]
    states: list[str]
    once: bool
    durations: list[float] | None = None
    fail_step: str | None = None


@dataclass
class _SpecOp:
    template: str
    regex: re.Pattern[str]
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)


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
        self.workflow_state = "active"
        self.pulls: dict[int, bool] = {}
        self.default_states = ["queued", "in_progress", "completed:success"]
        self.job_name = "deploy"
        self.job_steps = DEFAULT_JOB_STEPS
        self.fail_step = "Deploy with amm.sh"
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.response_violations: list[str] = []
        self.unspecified: list[str] = []
        self.dispatches: list[dict[str, Any]] = []
        self.runs: dict[int, FakeRun] = {}
        self.run_seconds: float | None = None
        self.deliveries: list[Delivery] = []
        self._hook: tuple[str, str] | None = None  # (url, secret)
        self._hook_tasks: set[asyncio.Task[None]] = set()
        self._hook_session: aiohttp.ClientSession | None = None
        self._next_id = 7_000_001
        self._faults: list[_Fault] = []
        self._scripts: list[_Script] = []
        self._spec: dict[str, Any] = json.loads(spec_path.read_text(encoding="utf-8"))
        self._components = _openapi_to_jsonschema(self._spec["components"])
        self._ops = self._load_ops()
        self._extra = [(t, _template_regex(t), m) for t, m in EXTRA_TEMPLATES.items()]

    # ------------------------------------------------------------------ lifecycle

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._handle)

    @property
    def url(self) -> str:
        return self.base_url

    async def close(self) -> None:
        for task in list(self._hook_tasks):
            task.cancel()
        if self._hook_tasks:
            await asyncio.gather(*self._hook_tasks, return_exceptions=True)
        if self._hook_session is not None:
            await self._hook_session.close()
        await super().close()

    # ------------------------------------------------------------------ webhooks

    def send_webhooks(self, url: str, secret: str) -> None:
        """Deliver workflow_run events of clock-driven runs to `url`, signed with `secret`."""
        self._hook = (url, secret)

    async def redeliver(self, guid: str) -> int:
        """Send a delivery again, as GitHub's "Redeliver" does: same GUID, same body."""
        delivery = next(d for d in self.deliveries if d.guid == guid)
        return await self._deliver(delivery)

    def _schedule_hooks(self, run: FakeRun) -> None:
        if self._hook is None or run.durations is None:
            return
        # `requested` at once, then one delivery as the run starts and as it completes.
        timeline: list[tuple[float, str]] = [(0.0, "requested")]
        at = 0.0
        for state, seconds in zip(run.states, run.durations, strict=True):
            if state == "in_progress" and timeline[-1][1] == "requested":
                timeline.append((at, "in_progress"))
            if state.startswith("completed"):
                timeline.append((at, "completed"))
                break
            at += seconds
        task = asyncio.get_running_loop().create_task(self._hooks_for(run, timeline))
        self._hook_tasks.add(task)
        task.add_done_callback(self._hook_tasks.discard)

    async def _hooks_for(self, run: FakeRun, timeline: list[tuple[float, str]]) -> None:
        for at, action in timeline:
            await asyncio.sleep(max(0.0, run.started + at - time.monotonic()))
            payload = {
                "action": action,
                "workflow_run": self._run_json(run),
                "workflow": {"id": 161335, "name": "AMM", "path": ".github/workflows/amm.yml"},
                "repository": {"full_name": self.repository},
                "sender": {"login": "octocat", "type": "User"},
            }
            body = json.dumps(payload).encode()
            delivery = Delivery(str(uuid.uuid4()), "workflow_run", action, run.id, body)
            self.deliveries.append(delivery)
            await self._deliver(delivery)

    async def _deliver(self, delivery: Delivery) -> int:
        assert self._hook is not None
        url, secret = self._hook
        key = secret.encode()
        sha256 = hmac.new(key, delivery.body, hashlib.sha256).hexdigest()
        sha1 = hmac.new(key, delivery.body, hashlib.sha1).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/7c1e4b2",
            "X-GitHub-Event": delivery.event,
            "X-GitHub-Delivery": delivery.guid,
            "X-GitHub-Hook-ID": "429061",
            "X-GitHub-Hook-Installation-Target-Type": "repository",
            "X-GitHub-Hook-Installation-Target-ID": "35129377",
            "X-Hub-Signature": f"sha1={sha1}",
            "X-Hub-Signature-256": f"sha256={sha256}",
        }
        if self._hook_session is None:
            self._hook_session = aiohttp.ClientSession()
        try:
            async with self._hook_session.post(url, data=delivery.body, headers=headers) as resp:
                status = resp.status
        except aiohttp.ClientError:
            status = 0  # GitHub records a failed delivery; it does not retry on its own
        delivery.statuses.append(status)
        return status

    # ------------------------------------------------------------------ scripting

    def fail_next(
        self,
        path_pattern: str,
        *,
        status: int = 502,
        times: int = 1,
        method: str | None = None,
        after: bool = False,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        self._faults.append(
            _Fault(
                re.compile(path_pattern),
                method.upper() if method else None,
                status,
                times,
                after,
                dict(headers or {}),
                body,
            )
        )

    def pending_faults(self, path_pattern: str) -> int:
        """Faults armed for exactly this pattern and not yet served."""
        return sum(f.times for f in self._faults if f.pattern.pattern == path_pattern)

    def rate_limit_next(self, path_pattern: str, *, reset_in: int = 1, times: int = 1) -> None:
        reset = int(datetime.now(UTC).timestamp()) + reset_in
        self.fail_next(
            path_pattern,
            status=403,
            times=times,
            headers={
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset),
            },
            body={"message": "API rate limit exceeded for user ID 1."},
        )

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
        self._scripts.insert(0, _Script(dict(match), list(states), once, fail_step=fail_step))

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
        self._scripts.insert(0, _Script(dict(match), states, once, durations, fail_step))

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

    # ------------------------------------------------------------------ internals

    def _load_ops(self) -> list[_SpecOp]:
        ops = []
        for template, item in self._spec["paths"].items():
            op = _SpecOp(template, _template_regex(template))
            for method, detail in item.items():
                if method in {"get", "post", "put", "patch", "delete"}:
                    op.methods[method] = detail
            ops.append(op)
        return ops

    def _resolve(self, node: Any) -> Any:
        if isinstance(node, dict) and "$ref" in node:
            target: Any = self._spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return self._resolve(target)
        return node

    def _schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # Let "#/components/..." references resolve against the spec's own components.
        return {**_openapi_to_jsonschema(schema), "components": self._components}

    def _check_value(self, where: str, value: str, schema: dict[str, Any]) -> str | None:
        schema = self._resolve(schema)
        typ = schema.get("type")
        candidates = [schema] if typ else [self._resolve(s) for s in schema.get("oneOf", [])]
        for cand in candidates:
            ctype = cand.get("type")
            try:
                if ctype == "integer":
                    int(value)
                elif ctype == "boolean" and value not in ("true", "false"):
                    continue
                if "enum" in cand and value not in cand["enum"]:
                    continue
                return None
            except ValueError:
                continue
        return f"{where}={value!r} does not match {schema}"

    def _validate_request(self, request: web.Request, body: Any, raw: bytes) -> None:
        path, method = request.path, request.method.lower()
        where = f"{request.method} {path}"
        headers = request.headers
        if headers.get("X-GitHub-Api-Version") != API_VERSION:
            self.violations.append(f"{where}: X-GitHub-Api-Version must be {API_VERSION}")
        if "application/vnd.github+json" not in headers.get("Accept", ""):
            self.violations.append(f"{where}: Accept should be application/vnd.github+json")
        if not headers.get("User-Agent"):
            self.violations.append(f"{where}: GitHub rejects requests without a User-Agent")
        if not headers.get("Authorization", "").startswith("Bearer "):
            self.violations.append(f"{where}: Authorization: Bearer <token> missing")

        for op in self._ops:
            m = op.regex.match(path)
            if not m:
                continue
            detail = op.methods.get(method)
            if detail is None:
                self.violations.append(f"{where}: method not allowed on {op.template}")
                return
            params = [self._resolve(p) for p in detail.get("parameters", [])]
            known_query = {p["name"]: p for p in params if p["in"] == "query"}
            for p in params:
                if p["in"] == "path":
                    problem = self._check_value(
                        f"{where}: path {p['name']}", m[p["name"]], p["schema"]
                    )
                    if problem:
                        self.violations.append(problem)
                if p["in"] == "query" and p.get("required") and p["name"] not in request.query:
                    self.violations.append(f"{where}: required query parameter {p['name']} missing")
            for name, value in request.query.items():
                if name not in known_query:
                    self.violations.append(f"{where}: unknown query parameter {name!r}")
                    continue
                problem = self._check_value(f"{where}: {name}", value, known_query[name]["schema"])
                if problem:
                    self.violations.append(problem)
            rb = detail.get("requestBody")
            if rb is not None:
                if rb.get("required") and not raw:
                    self.violations.append(f"{where}: request body is required")
                elif raw:
                    ctype = request.headers.get("Content-Type", "")
                    if "application/json" not in ctype:
                        self.violations.append(f"{where}: body must be application/json")
                    schema = rb["content"]["application/json"]["schema"]
                    for err in jsonschema.Draft7Validator(self._schema(schema)).iter_errors(body):
                        self.violations.append(f"{where}: body {err.json_path}: {err.message}")
            elif raw:
                self.violations.append(f"{where}: operation takes no body")
            return
        for template, rx, methods in self._extra:
            if rx.match(path):
                if method not in methods:
                    self.violations.append(f"{where}: method not allowed on {template}")
                self.unspecified.append(where)
                return
        self.violations.append(f"{where}: no such operation in the GitHub subset")

    def _validate_response(self, template: str, method: str, status: int, payload: Any) -> None:
        op = next(o for o in self._ops if o.template == template)
        response = op.methods[method]["responses"].get(str(status))
        if response is None:
            self.response_violations.append(f"{method} {template}: status {status} not in spec")
            return
        content = response.get("content")
        if content is None:
            return
        schema = content["application/json"]["schema"]
        for err in jsonschema.Draft7Validator(self._schema(schema)).iter_errors(payload):
            self.response_violations.append(
                f"fake {method} {template} {status}: {err.json_path}: {err.message}"
            )

    def _auth(self, request: web.Request) -> str:
        value = request.headers.get("Authorization", "")
        if not value:
            return "missing"
        return "ok" if value == f"Bearer {self.token}" else "bad"

    def _take_fault(self, request: web.Request) -> _Fault | None:
        for fault in self._faults:
            if fault.times <= 0:
                continue
            if fault.method and fault.method != request.method:
                continue
            if fault.pattern.search(request.path):
                fault.times -= 1
                return fault
        return None

    def _fault_response(self, fault: _Fault) -> web.Response:
        if fault.body is not None:
            return web.json_response(fault.body, status=fault.status, headers=fault.headers)
        if fault.status >= 500:
            return web.Response(
                status=fault.status,
                text="<html><body><h1>Unicorn!</h1></body></html>",
                content_type="text/html",
                headers=fault.headers,
            )
        return web.json_response({"message": "error"}, status=fault.status, headers=fault.headers)

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
        self._validate_request(request, body, raw)
        fault = self._take_fault(request)
        if fault is not None and not fault.after:
            record.status = fault.status
            return self._fault_response(fault)
        response = self._route(request, body, record)
        if fault is not None:
            response = self._fault_response(fault)
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

    def _owner_repo(self) -> tuple[str, str]:
        owner, _, name = self.repository.partition("/")
        return owner, name

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
            created_at=(created_at or datetime.now(UTC)).replace(microsecond=0),
            states=states,
            event=event,
            display_title=title,
            hidden_lists=self.appear_after_lists,
            durations=durations,
            fail_step=fail_step,
        )
        self._next_id += 17
        self.runs[run.id] = run
        self._schedule_hooks(run)
        return run

    def _run_json(self, run: FakeRun) -> dict[str, Any]:
        example = self._spec["components"]["examples"]["workflow-run"]["value"]
        data: dict[str, Any] = copy.deepcopy(example)
        owner, name = self._owner_repo()
        status, conclusion = run.state()
        ts = run.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        data.update(
            id=run.id,
            name="AMM",
            head_branch=run.ref,
            event=run.event,
            status=status,
            conclusion=conclusion,
            display_title=run.display_title,
            path=".github/workflows/amm.yml",
            url=f"{self.url}/repos/{owner}/{name}/actions/runs/{run.id}",
            html_url=f"https://github.com/{owner}/{name}/actions/runs/{run.id}",
            created_at=ts,
            updated_at=ts,
            run_started_at=ts,
            run_attempt=1,
        )
        return data

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
            owner, name = self._owner_repo()
            payload = {
                "workflow_run_id": run.id,
                "run_url": f"{self.url}/repos/{owner}/{name}/actions/runs/{run.id}",
                "html_url": f"https://github.com/{owner}/{name}/actions/runs/{run.id}",
            }
            self._validate_response(
                "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
                "post",
                200,
                payload,
            )
            return web.json_response(payload)
        return web.Response(status=204)

    @staticmethod
    def _created_filter(expr: str) -> tuple[datetime | None, datetime | None, bool, bool]:
        def parse(v: str) -> datetime:
            if len(v) == 10:
                v += "T00:00:00Z"
            d = datetime.fromisoformat(v.replace("Z", "+00:00"))
            return d if d.tzinfo else d.replace(tzinfo=UTC)

        if ".." in expr:
            lo, hi = expr.split("..", 1)
            return (
                (None if lo == "*" else parse(lo)),
                (None if hi == "*" else parse(hi)),
                True,
                True,
            )
        for op in (">=", "<=", ">", "<"):
            if expr.startswith(op):
                value = parse(expr[len(op) :])
                if op.startswith(">"):
                    return value, None, op == ">=", True
                return None, value, True, op == "<="
        value = parse(expr)
        return value, value, True, True

    def _list_runs(self, workflow: str, request: web.Request) -> web.Response:
        if workflow not in self.workflows:
            return self._not_found()
        q = request.query
        runs = sorted(self.runs.values(), key=lambda r: (r.created_at, r.id), reverse=True)
        selected = []
        lo = hi = None
        lo_inc = hi_inc = True
        if "created" in q:
            try:
                lo, hi, lo_inc, hi_inc = self._created_filter(q["created"])
            except ValueError:
                return web.json_response({"message": "Invalid created filter"}, status=422)
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
            if lo is not None and (run.created_at < lo or (not lo_inc and run.created_at == lo)):
                continue
            if hi is not None and (run.created_at > hi or (not hi_inc and run.created_at == hi)):
                continue
            selected.append(run)
        per_page = int(q.get("per_page", "30"))
        payload = {
            "total_count": len(selected),
            "workflow_runs": [self._run_json(r) for r in selected[:per_page]],
        }
        self._validate_response(
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
        self._validate_response("/repos/{owner}/{repo}/actions/runs/{run_id}", "get", 200, payload)
        return web.json_response(payload, headers={"ETag": etag})

    def _job_json(self, run: FakeRun) -> dict[str, Any] | None:
        """The run's one job as GitHub lists it (None while the run is queued)."""
        steps = run.step_states(tuple(self.job_steps))
        if not steps:
            return None
        example = self._spec["components"]["examples"]["job-paginated"]["value"]["jobs"][0]
        data: dict[str, Any] = copy.deepcopy(example)
        owner, name = self._owner_repo()
        status, conclusion = run.state(seen=True)
        ts = run.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        job_id = run.id * 10 + 1
        data.update(
            id=job_id,
            run_id=run.id,
            run_url=f"{self.url}/repos/{owner}/{name}/actions/runs/{run.id}",
            url=f"{self.url}/repos/{owner}/{name}/actions/jobs/{job_id}",
            html_url=f"https://github.com/{owner}/{name}/actions/runs/{run.id}/job/{job_id}",
            check_run_url=f"{self.url}/repos/{owner}/{name}/check-runs/{job_id}",
            name=self.job_name,
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

    def _list_jobs(self, run_id: int) -> web.Response:
        run = self.runs.get(run_id)
        if run is None:
            return self._not_found()
        job = self._job_json(run)
        jobs = [job] if job is not None else []
        payload = {"total_count": len(jobs), "jobs": jobs}
        self._validate_response(
            "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs", "get", 200, payload
        )
        return web.json_response(payload)

    def _workflow(self, workflow: str) -> web.Response:
        if workflow not in self.workflows:
            return self._not_found()
        owner, name = self._owner_repo()
        return web.json_response(
            {
                "id": 161335,
                "node_id": "MDg6V29ya2Zsb3cxNjEzMzU=",
                "name": "AMM",
                "path": f".github/workflows/{workflow}",
                "state": self.workflow_state,
                "created_at": "2024-01-08T23:48:37.000-08:00",
                "updated_at": "2024-01-08T23:50:21.000-08:00",
                "url": f"{self.url}/repos/{owner}/{name}/actions/workflows/161335",
                "html_url": f"https://github.com/{owner}/{name}/blob/main/.github/workflows/{workflow}",
                "badge_url": f"https://github.com/{owner}/{name}/workflows/AMM/badge.svg",
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
