"""GitHubActions against the local fake GitHub (validated against the spec subset)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from pydantic import SecretStr

from bot.integrations.errors import IntegrationError
from bot.integrations.github import (
    DispatchResult,
    GitHubActions,
    GitHubError,
    Next,
    Run,
    RunPace,
    conclusion_diagnosis,
    failed_place,
    running_place,
)
from bot.sandbox.fakes.github import FakeGitHub

TOKEN = "ghp_fake_token_for_tests"
STAGE = {"partition": "stage"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeGitHub]:
    async with FakeGitHub(token=TOKEN) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def client(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str = TOKEN, **kw: object
) -> GitHubActions:
    options: dict[str, object] = {
        "retry_base_delay": 0.01,
        "run_appear_timeout": 1.0,
        "request_timeout": 5.0,
    }
    options.update(kw)
    return GitHubActions(
        session,
        fake.url,
        SecretStr(token),
        "Arda-cards/infrastructure",
        "amm.yml",
        "main",
        **options,  # type: ignore[arg-type]
    )


def now() -> datetime:
    return datetime.now(UTC)


async def test_dispatch_returns_run_details(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    gh = client(fake, session)
    result = await gh.dispatch(STAGE, not_before=now())
    assert result.via == "run_details"
    assert len(fake.dispatches) == 1
    assert result.run_id == fake.dispatches[0]["run_id"]
    assert fake.dispatches[0]["inputs"] == STAGE
    assert result.html_url and str(result.run_id) in result.html_url
    post = fake.requests_to("/dispatches$", "POST")[0]
    assert post.body == {"ref": "main", "inputs": STAGE, "return_run_details": True}
    assert post.auth == "ok"
    assert post.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert post.headers["Accept"] == "application/vnd.github+json"
    assert post.headers["User-Agent"]
    fake.assert_no_violations()
    assert json.loads(result.model_dump_json()) == result.model_dump(mode="json")


async def test_dispatch_204_falls_back_to_listing(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.mode = "204"
    fake.appear_after_lists = 2  # the run takes a moment to show up in the list
    # An older run of another partition, and one from before not_before, must be ignored.
    fake.add_run(inputs={"partition": "dev"}, states=["completed:success"])
    fake.add_run(inputs=STAGE, created_at=now() - timedelta(hours=1))
    fake.appear_after_lists = 2
    gh = client(fake, session)
    result = await gh.dispatch(STAGE, not_before=now())
    assert result.via == "listed"
    assert len(fake.dispatches) == 1
    assert result.run_id == fake.dispatches[0]["run_id"]
    lists = fake.requests_to("/runs$", "GET")
    assert len(lists) >= 3
    assert lists[-1].query["event"] == "workflow_dispatch"
    assert lists[-1].query["branch"] == "main"
    assert lists[-1].query["created"].startswith(">=")
    fake.assert_no_violations()


async def test_502_twice_then_success_dispatches_exactly_once(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.fail_next("/dispatches$", status=502, times=2)
    gh = client(fake, session)
    result = await gh.dispatch(STAGE, not_before=now())
    assert len(fake.requests_to("/dispatches$", "POST")) == 3
    assert len(fake.dispatches) == 1
    assert result.run_id == fake.dispatches[0]["run_id"]
    fake.assert_no_violations()


async def test_ambiguous_502_after_the_run_was_created_is_adopted_not_redispatched(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    # GitHub created the run but the gateway answered 502: a blind retry would deploy twice.
    fake.fail_next("/dispatches$", status=502, times=1, after=True)
    gh = client(fake, session)
    result = await gh.dispatch(STAGE, not_before=now())
    assert result.via == "adopted"
    assert len(fake.requests_to("/dispatches$", "POST")) == 1
    assert len(fake.dispatches) == 1
    assert result.run_id == fake.dispatches[0]["run_id"]
    fake.assert_no_violations()


@pytest.mark.parametrize("answer", ["502 after creating the run", "204"])
async def test_a_bot_clock_ahead_of_githubs_still_finds_the_run_its_dispatch_started(
    fake: FakeGitHub, session: aiohttp.ClientSession, answer: str
) -> None:
    # The bot's clock 5 s ahead of GitHub's: the run its dispatch starts is dated before
    # the press. A run of the same partition that was there before the dispatch, inside
    # the margin, is not taken for it.
    fake.clock_offset = -5.0
    older = fake.add_run(inputs=STAGE, created_at=fake.now() - timedelta(seconds=20))
    if answer == "204":
        fake.mode = "204"
    else:
        fake.fail_next("/dispatches$", status=502, after=True)
    gh = client(fake, session)
    result = await gh.dispatch(STAGE, not_before=now())
    assert len(fake.requests_to("/dispatches$", "POST")) == 1
    assert len(fake.dispatches) == 1
    assert result.run_id == fake.dispatches[0]["run_id"] != older.id
    assert result.via == ("listed" if answer == "204" else "adopted")
    fake.assert_no_violations()


def test_the_clock_margin_covers_every_clock_a_press_gets_through() -> None:
    from bot.inbound import MAX_AGE_SECONDS
    from bot.integrations.github.runs import CLOCK_MARGIN

    assert CLOCK_MARGIN.total_seconds() >= MAX_AGE_SECONDS


async def test_persistent_502_gives_retryable_error(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.fail_next("/dispatches$", status=503, times=10)
    gh = client(fake, session, max_attempts=3, run_appear_timeout=0.05)
    with pytest.raises(GitHubError) as info:
        await gh.dispatch(STAGE, not_before=now())
    assert info.value.retryable
    assert "githubstatus" in info.value.problem.fix
    assert fake.dispatches == []


async def test_connection_refused_is_an_integration_error(session: aiohttp.ClientSession) -> None:
    async with FakeGitHub() as dead:
        url = dead.url
    gh = GitHubActions(
        session, url, SecretStr(TOKEN), "Arda-cards/infrastructure", "amm.yml", "main",
        max_attempts=2, retry_base_delay=0.01,
    )  # fmt: skip
    with pytest.raises(IntegrationError) as info:
        await gh.find_run(not_before=now())
    assert "cannot connect" in info.value.problem.symptom
    assert info.value.retryable


async def follow(
    gh: GitHubActions,
    run_id: int,
    *,
    poll_interval: float,
    timeout: float,
    wait: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_report: Callable[[Run], Awaitable[None]] | None = None,
) -> Run:
    """Follow a run as the follow workflow does (bot.workflows.steps.checks): conditional
    reads paced by `RunPace`, without DBOS."""
    pace = RunPace(
        poll_interval=poll_interval, progress_interval=30.0, deadline=time.time() + timeout
    )
    etag: str | None = None
    while True:
        run, etag = await gh.get_run(run_id, etag)
        nxt = pace.after(run, time.time())
        assert pace.latest is not None
        if nxt.concluded:
            return pace.latest
        if nxt.timed_out:
            raise gh.still_going(pace.latest, timeout)
        if nxt.report and on_report is not None:
            await on_report(pace.latest)
        await wait(nxt.wait)


async def test_follow_uses_etags_until_success(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.script_run(STAGE, ["queued", "queued", "in_progress", "in_progress", "completed:success"])
    gh = client(fake, session)
    result = await gh.dispatch(STAGE, not_before=now())
    seen: list[str] = []

    async def on_report(run: Run) -> None:
        seen.append(run.status)

    run = await follow(gh, result.run_id, poll_interval=0.01, timeout=5, on_report=on_report)
    assert run.succeeded and run.conclusion == "success"
    assert seen == ["queued", "in_progress"]
    gets = fake.requests_to(r"/actions/runs/\d+$", "GET")
    assert [r.status for r in gets].count(304) == 2
    assert all("If-None-Match" in r.headers for r in gets[1:])
    assert conclusion_diagnosis(run) is None
    fake.assert_no_violations()


async def test_follow_reports_failure_with_diagnosis(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.set_conclusion(inputs=STAGE, conclusion="failure", after_polls=3)
    gh = client(fake, session)
    result = await gh.dispatch(STAGE, not_before=now())
    run = await follow(gh, result.run_id, poll_interval=0.01, timeout=5)
    assert run.completed and run.conclusion == "failure" and not run.succeeded
    diagnosis = conclusion_diagnosis(run, partition="stage")
    assert diagnosis is not None
    assert "stage" in diagnosis.symptom and run.html_url in diagnosis.fix
    fake.assert_no_violations()


async def test_follow_times_out_with_fix(fake: FakeGitHub, session: aiohttp.ClientSession) -> None:
    fake.script_run(STAGE, ["queued"])
    gh = client(fake, session)
    result = await gh.dispatch(STAGE, not_before=now())
    with pytest.raises(GitHubError) as info:
        await follow(gh, result.run_id, poll_interval=0.01, timeout=0.1)
    assert "queued" in info.value.problem.symptom
    assert "retry" in info.value.problem.fix and info.value.retryable


async def test_find_run_recovers_an_existing_run(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    started = now() - timedelta(minutes=5)
    fake.add_run(inputs={"partition": "dev"}, created_at=started - timedelta(minutes=30))
    mine = fake.add_run(inputs=STAGE, created_at=started + timedelta(seconds=3))
    fake.add_run(inputs={"partition": "demo"}, created_at=started + timedelta(seconds=4))
    gh = client(fake, session)
    found = await gh.find_run(not_before=started, inputs=STAGE)
    assert found is not None and found.id == mine.id
    assert found.event == "workflow_dispatch" and found.head_branch == "main"
    assert await gh.find_run(not_before=now() + timedelta(minutes=1), inputs=STAGE) is None
    assert await gh.find_run(not_before=started, inputs={"partition": "prod"}) is None
    assert fake.dispatches == []
    # JSON round trip (DBOS stores it)
    assert Run.model_validate_json(found.model_dump_json()) == found
    fake.assert_no_violations()


async def test_find_run_accepts_untitled_runs(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.run_name = None  # amm.yml without run-name: the title is the workflow name
    started = now()
    run = fake.add_run(inputs=STAGE, created_at=started)
    found = await client(fake, session).find_run(not_before=started, inputs=STAGE)
    assert found is not None and found.id == run.id


async def test_401_bad_token(fake: FakeGitHub, session: aiohttp.ClientSession) -> None:
    gh = client(fake, session, token="ghp_wrong_secret_value")
    with pytest.raises(GitHubError) as info:
        await gh.dispatch(STAGE, not_before=now())
    err = info.value
    assert (
        err.status == 401
        and "GITHUB_TOKEN" in err.problem.cause
        and "GITHUB_TOKEN" in err.problem.fix
    )
    for text in (str(err), repr(err), json.dumps(err.as_dict()), repr(gh)):
        assert "ghp_wrong_secret_value" not in text


async def test_403_lacks_actions_write(fake: FakeGitHub, session: aiohttp.ClientSession) -> None:
    fake.deny_write = True
    with pytest.raises(GitHubError) as info:
        await client(fake, session).dispatch(STAGE, not_before=now())
    assert info.value.status == 403
    assert "Actions write" in info.value.problem.cause
    assert "Resource not accessible" in info.value.problem.symptom
    assert fake.dispatches == []


async def test_404_workflow_missing(fake: FakeGitHub, session: aiohttp.ClientSession) -> None:
    gh = GitHubActions(
        session, fake.url, SecretStr(TOKEN), "Arda-cards/infrastructure", "nope.yml", "main",
        retry_base_delay=0.01,
    )  # fmt: skip
    with pytest.raises(GitHubError) as info:
        await gh.dispatch(STAGE, not_before=now())
    assert info.value.status == 404 and "nope.yml" in info.value.problem.cause


@pytest.mark.parametrize(
    ("setup", "inputs", "expect_msg", "expect_fix"),
    [
        ("inputs", {"partition": "stage", "color": "red"}, "Unexpected inputs", "workflow_inputs"),
        ("ref", STAGE, "No ref found", "github.ref"),
        ("trigger", STAGE, "workflow_dispatch", "workflow_dispatch"),
    ],
)
async def test_422_includes_githubs_message(
    fake: FakeGitHub,
    session: aiohttp.ClientSession,
    setup: str,
    inputs: dict[str, str],
    expect_msg: str,
    expect_fix: str,
) -> None:
    if setup == "ref":
        fake.refs = {"develop"}
    if setup == "trigger":
        fake.workflows["amm.yml"] = "name: AMM\non: push\n"
    with pytest.raises(GitHubError) as info:
        await client(fake, session).dispatch(inputs, not_before=now())
    assert info.value.status == 422
    assert expect_msg in info.value.problem.symptom
    assert expect_fix in info.value.problem.fix
    fake.assert_no_violations()


async def test_rate_limit_waits_for_reset_then_continues(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.rate_limit_next(r"/runs$", reset_in=0)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    gh = client(fake, session, sleep=fake_sleep)
    result = await gh.dispatch(STAGE, not_before=now())
    assert len(fake.dispatches) == 1 and result.via == "run_details"
    assert slept and slept[0] <= 2.0


async def test_rate_limit_too_long_is_retryable_error(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.rate_limit_next(r"/runs$", reset_in=3600)
    with pytest.raises(GitHubError) as info:
        await client(fake, session).find_run(not_before=now())
    assert info.value.retryable and "rate" in info.value.problem.symptom.lower()


async def test_workflow_visible_and_pull_request_gate(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    gh = client(fake, session)
    info = await gh.workflow_visible()
    assert info.path == ".github/workflows/amm.yml" and info.state == "active"
    assert info.has_dispatch_trigger is True
    fake.pulls = {41: False, 42: True}
    assert await gh.pull_request_merged(42) is True
    assert await gh.pull_request_merged(41) is False
    with pytest.raises(GitHubError):
        await gh.pull_request_merged(43)
    assert fake.requests_to("/contents/")[0].query == {"ref": "main"}
    fake.assert_no_violations()


async def test_workflow_visible_failures(fake: FakeGitHub, session: aiohttp.ClientSession) -> None:
    gh = client(fake, session)
    fake.refs = {"develop"}
    with pytest.raises(GitHubError) as info:
        await gh.workflow_visible()
    assert "main" in info.value.problem.symptom
    fake.refs = {"main"}
    fake.workflow_state = "disabled_manually"
    with pytest.raises(GitHubError) as info:
        await gh.workflow_visible()
    assert "Enable" in info.value.problem.fix


async def test_token_never_logged(
    fake: FakeGitHub,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next("/dispatches$", status=502, times=1)
    gh = client(fake, session)
    result = await gh.dispatch(STAGE, not_before=now())
    assert isinstance(result, DispatchResult)
    captured = capsys.readouterr()
    assert TOKEN not in caplog.text + captured.out + captured.err
    assert TOKEN not in repr(gh)
    assert all(TOKEN not in json.dumps(r.headers) for r in fake.requests)


async def test_fake_flags_requests_that_break_the_spec(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    url = f"{fake.url}/repos/Arda-cards/infrastructure/actions/workflows/amm.yml"
    async with session.post(f"{url}/dispatches", json={"inputs": {"a": 1}}) as resp:
        await resp.read()
    async with session.get(f"{url}/runs", params={"bogus": "1", "per_page": "x"}) as resp:
        await resp.read()
    async with session.delete(f"{fake.url}/repos/o/r/actions/runs/1") as resp:
        await resp.read()
    text = "\n".join(fake.violations)
    assert "'ref' is a required property" in text
    assert "unknown query parameter 'bogus'" in text
    assert "per_page" in text
    assert "X-GitHub-Api-Version" in text and "Authorization" in text
    assert "method not allowed" in text
    with pytest.raises(AssertionError):
        fake.assert_no_violations()


async def test_jobs_name_the_running_step_then_the_failed_one(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    """The jobs endpoint as GitHub serves it (validated against the spec): while the run
    moves, the step in progress; once it failed, the failed job and step with its log."""
    fake.script_run(
        STAGE,
        ["queued", "in_progress", "in_progress", "completed:failure"],
        fail_step="Check for drift",
    )
    gh = client(fake, session)
    result = await gh.dispatch(STAGE, not_before=now())
    assert await gh.jobs(result.run_id) == []  # queued: no job yet
    places = []
    while True:
        run, _ = await gh.get_run(result.run_id)
        assert run is not None
        jobs = await gh.jobs(result.run_id)
        if run.completed:
            break
        if run.status == "in_progress":
            places.append(running_place(jobs))
    assert places and all(p is not None and p.job == "deploy" for p in places)
    steps = [p.step for p in places if p]
    # The step in progress moves forward through the job's steps, before the drift check.
    assert len(set(steps)) == 2 and all(s in fake.job_steps for s in steps)
    assert [fake.job_steps.index(s) for s in steps] == sorted(
        fake.job_steps.index(s) for s in steps
    )
    failed = failed_place(jobs)
    assert failed is not None
    assert (failed.job, failed.step) == ("deploy", "Check for drift")
    assert failed.url and f"/actions/runs/{result.run_id}/job/" in failed.url
    problem = conclusion_diagnosis(run, partition="stage", failed=failed)
    assert problem is not None
    assert "job *deploy*, step *Check for drift*" in problem.symptom
    assert failed.url in problem.fix and "log of the failed step" in problem.fix
    assert running_place(jobs) is None
    fake.assert_no_violations()


async def test_a_successful_run_has_no_failed_place(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.script_run(STAGE, ["completed:success"])
    gh = client(fake, session)
    result = await gh.dispatch(STAGE, not_before=now())
    await gh.get_run(result.run_id)
    jobs = await gh.jobs(result.run_id)
    assert [s.conclusion for s in jobs[0].steps] == ["success"] * len(fake.job_steps)
    assert failed_place(jobs) is None
    fake.assert_no_violations()


async def test_a_run_that_moves_by_the_clock_is_reported_as_it_moves(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    """Where the run stands is reported when its status changes (and otherwise at most
    once per progress interval), then it concludes."""
    fake.script_timed_run(STAGE, [("queued", 0.3), ("in_progress", 0.6), ("completed:success", 0)])
    gh = client(fake, session)
    result = await gh.dispatch(STAGE, not_before=now())
    reported: list[str] = []

    async def report(run: Run) -> None:
        reported.append(run.status)

    run = await follow(gh, result.run_id, poll_interval=0.02, timeout=5, on_report=report)
    assert run.succeeded
    assert reported == ["queued", "in_progress"]  # each once: the interval is long
    fake.assert_no_violations()


async def test_follow_polls_at_a_fixed_interval_and_wakes_early(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    # An unchanged run (304s cost nothing) is read just as often: no backing off.
    fake.script_run(STAGE, ["queued"] * 8 + ["in_progress"] * 8 + ["completed:success"])
    gh = client(fake, session)
    result = await gh.dispatch(STAGE, not_before=now())
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    run = await follow(gh, result.run_id, poll_interval=2.0, timeout=3600, wait=wait)
    assert run.succeeded
    assert waits == [2.0] * 16
    gets = fake.requests_to(r"/actions/runs/\d+$", "GET")
    assert [r.status for r in gets].count(304) == 14


def test_the_pace_reads_at_a_fixed_interval_and_reports_at_most_once_per_interval() -> None:
    """Pure: what following does after each read (an unchanged run: `None`, a 304)."""
    born = datetime(2026, 1, 1, tzinfo=UTC)
    queued = Run(id=1, status="queued", created_at=born)
    running = Run(id=1, status="in_progress", created_at=born)
    pace = RunPace(poll_interval=2.0, progress_interval=30.0, deadline=100.0)
    assert pace.after(queued, 0.0).report  # the first read is reported
    assert pace.after(None, 2.0) == Next(report=False, wait=2.0)  # unchanged: same pace
    assert pace.after(running, 4.0).report  # a new status: at once
    assert not pace.after(None, 20.0).report
    assert pace.after(None, 34.0).report  # 30 s on: the elapsed time moves
    assert pace.after(None, 99.0).wait == 1.0  # never past the deadline
    assert pace.after(None, 100.0).timed_out
    done = Run(id=1, status="completed", conclusion="failure", created_at=born)
    assert pace.after(done, 50.0).concluded
