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
* ``fake.script_timed_run(match, [("queued", 0.5), ("in_progress", 3.0),
  ("completed:failure", 0)])`` — a run that moves by the clock instead of by polls: each
  state lasts its seconds (a 3-minute run stood in for by seconds, so progress can be
  watched at a test's pace).
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
* ``fake.clock_offset = -5.0`` — GitHub's clock 5 s behind this host's: new runs are
  dated by it (a bot whose clock runs ahead of GitHub's).
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

from bot.sandbox.fakes.github.runs import (
    DEFAULT_JOB_STEPS,
    DEFAULT_WORKFLOW_YAML,
    FakeRun,
    RecordedRequest,
)
from bot.sandbox.fakes.github.server import FakeGitHub
from bot.sandbox.fakes.github.spec import API_VERSION, SPEC_PATH
from bot.sandbox.fakes.github.webhooks import Delivery

__all__ = [
    "API_VERSION",
    "DEFAULT_JOB_STEPS",
    "DEFAULT_WORKFLOW_YAML",
    "SPEC_PATH",
    "Delivery",
    "FakeGitHub",
    "FakeRun",
    "RecordedRequest",
]
