"""LinearClient against a local fake that validates every request with Linear's schema."""

from __future__ import annotations

import asyncio
import logging
import pickle
import re
import socket
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
import structlog
from graphql import OperationDefinitionNode, parse
from pydantic import SecretStr

from bot.integrations import linear
from bot.integrations.linear import (
    DOCUMENTS,
    IssueInfo,
    LinearClient,
    LinearError,
    comment_id_for,
)
from bot.runbook.problem import Problem
from bot.sandbox.fakes.linear import FakeLinear, validation_errors

KEY = "lin_api_TESTKEY0123456789abcdef"
PLANTED = "lin_api_PLANTEDwrongKEY9876543210zz"
ISSUE = "PDEV-446"


@pytest.fixture
async def fake() -> AsyncIterator[FakeLinear]:
    async with FakeLinear(api_key=KEY, issue=ISSUE) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def client_for(
    session: aiohttp.ClientSession, fake: FakeLinear, key: str = KEY, timeout: float = 5.0
) -> LinearClient:
    return LinearClient(session, fake.url, SecretStr(key), timeout=timeout)


# -- comment_create ----------------------------------------------------------------------


async def test_create_posts_exactly_one_comment_on_the_issue(
    fake: FakeLinear, session: aiohttp.ClientSession
) -> None:
    client = client_for(session, fake)
    cid = comment_id_for("rollout-1", "handover.sent")

    returned = await client.comment_create(ISSUE, "Credentials are on the way.", cid)

    assert returned == cid
    assert [c.body for c in fake.comments_on(ISSUE)] == ["Credentials are on the way."]
    assert fake.comments[cid].issue_id == fake.issue_uuid
    sent = fake.requests[-1]
    assert sent.operation_name == "CommentCreate"
    assert sent.variables == {
        "input": {"id": cid, "issueId": ISSUE, "body": "Credentials are on the way."}
    }
    # A personal API key goes as-is: no "Bearer".
    assert sent.headers["Authorization"] == KEY


async def test_lost_response_then_retry_posts_once(
    fake: FakeLinear, session: aiohttp.ClientSession
) -> None:
    client = client_for(session, fake)
    cid = comment_id_for("rollout-1", "devops.received")
    fake.drop_response_next(1)

    with pytest.raises(LinearError) as first:
        await client.comment_create(ISSUE, "devOps has the values.", cid)
    assert first.value.retryable is True
    assert len(fake.comments) == 1  # Linear did it; we just never heard back

    again = await client.comment_create(ISSUE, "devOps has the values.", cid)

    assert again == cid
    assert [c.body for c in fake.comments_on(ISSUE)] == ["devOps has the values."]
    # The retry was refused as a duplicate and then confirmed by looking the id up.
    assert fake.operations()[-2:] == ["CommentCreate", "CommentLookup"]


async def test_same_id_many_times_stays_one_comment(
    fake: FakeLinear, session: aiohttp.ClientSession
) -> None:
    client = client_for(session, fake)
    cid = comment_id_for("rollout-2", "smoke.dev")
    results = [await client.comment_create(ISSUE, "smoke dev green", cid) for _ in range(3)]
    assert results == [cid, cid, cid]
    assert len(fake.comments) == 1


async def test_timeout_is_retryable_and_the_retry_does_not_duplicate(
    fake: FakeLinear, session: aiohttp.ClientSession
) -> None:
    client = client_for(session, fake, timeout=0.2)
    cid = comment_id_for("rollout-3", "deploy.dev")
    fake.stall_next(1, seconds=0.6)

    with pytest.raises(LinearError) as exc:
        await client.comment_create(ISSUE, "dev deployed", cid)
    assert exc.value.retryable is True
    assert exc.value.code == "TIMEOUT"

    # The slow request still lands on Linear's side after we gave up on it.
    for _ in range(50):
        if cid in fake.comments:
            break
        await asyncio.sleep(0.05)
    assert cid in fake.comments

    # The retry (as the step makes it) with a timeout a busy machine cannot trip: only
    # the first call was meant to time out.
    patient = client_for(session, fake, timeout=30)
    assert await patient.comment_create(ISSUE, "dev deployed", cid) == cid
    assert len(fake.comments) == 1


async def test_create_on_an_unknown_issue_is_a_clear_permanent_error(
    fake: FakeLinear, session: aiohttp.ClientSession
) -> None:
    client = client_for(session, fake)
    with pytest.raises(LinearError) as exc:
        await client.comment_create("PDEV-9999", "hello", comment_id_for("r", "e"))
    err = exc.value
    assert err.retryable is False
    assert err.code == "NOT_FOUND"
    assert "PDEV-9999" in str(err)
    assert "linear.issue" in str(err)
    assert fake.comments == {}


# -- comment_update ----------------------------------------------------------------------


async def test_update_edits_the_body_in_place(
    fake: FakeLinear, session: aiohttp.ClientSession
) -> None:
    client = client_for(session, fake)
    cid = comment_id_for("rollout-4", "log")
    await client.comment_create(ISSUE, "dev: deploying", cid)

    await client.comment_update(cid, "dev: green\nstage: deploying")

    assert len(fake.comments) == 1
    assert fake.comments[cid].body == "dev: green\nstage: deploying"
    assert fake.comments[cid].edits == 1
    assert fake.requests[-1].variables == {
        "id": cid,
        "input": {"body": "dev: green\nstage: deploying"},
    }


async def test_update_of_a_missing_comment_is_permanent(
    fake: FakeLinear, session: aiohttp.ClientSession
) -> None:
    client = client_for(session, fake)
    with structlog.testing.capture_logs() as logs, pytest.raises(LinearError) as exc:
        await client.comment_update(str(uuid.uuid4()), "x")
    assert exc.value.retryable is False
    assert exc.value.code == "NOT_FOUND"
    # An answer the rollout log's upsert asks for on every first comment: no warning.
    failed = [e for e in logs if e["event"] == "linear_request_failed"]
    assert [e["log_level"] for e in failed] == ["info"]


# -- preflight ---------------------------------------------------------------------------


async def test_issue_visible_and_viewer(fake: FakeLinear, session: aiohttp.ClientSession) -> None:
    client = client_for(session, fake)
    info = await client.issue_visible(ISSUE)
    assert info == IssueInfo(
        id=fake.issue_uuid,
        identifier=ISSUE,
        title=fake.issue_title,
        url=f"https://linear.app/example/issue/{ISSUE.lower()}/",
    )
    assert await client.viewer() == "Onboarding Bot <onboarding-bot@example.com>"


@pytest.mark.parametrize("status", [200, 400])
async def test_issue_visible_is_none_for_an_unknown_issue(
    status: int, session: aiohttp.ClientSession
) -> None:
    # Linear has been seen answering "Entity not found" with both 200 and 400.
    async with FakeLinear(api_key=KEY, issue=ISSUE, user_error_status=status) as fake:
        assert await client_for(session, fake).issue_visible("PDEV-1") is None


async def test_a_refused_key_never_reads_as_issue_absent(
    fake: FakeLinear, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(LinearError) as exc:
        await client_for(session, fake, key=PLANTED).issue_visible(ISSUE)
    assert exc.value.code == "AUTHENTICATION_ERROR"


# -- error classification ----------------------------------------------------------------


@pytest.mark.parametrize(("status", "code"), [(500, "SERVER_ERROR"), (502, "SERVER_ERROR")])
async def test_server_errors_are_retryable(
    status: int, code: str, fake: FakeLinear, session: aiohttp.ClientSession
) -> None:
    fake.fail_next(1, status=status)
    with pytest.raises(LinearError) as exc:
        await client_for(session, fake).comment_create(ISSUE, "x", comment_id_for("r", "5xx"))
    assert exc.value.retryable is True
    assert exc.value.code == code
    assert exc.value.status == status
    assert fake.comments == {}


async def test_rate_limit_is_retryable(fake: FakeLinear, session: aiohttp.ClientSession) -> None:
    fake.fail_next(1, status=429)
    with pytest.raises(LinearError) as exc:
        await client_for(session, fake).viewer()
    assert exc.value.retryable is True
    assert exc.value.code == "RATELIMITED"


async def test_connection_refused_is_retryable(session: aiohttp.ClientSession) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = LinearClient(session, f"http://127.0.0.1:{port}/graphql", SecretStr(KEY))
    with pytest.raises(LinearError) as exc:
        await client.viewer()
    assert exc.value.retryable is True
    assert exc.value.code == "CONNECTION"
    assert "LINEAR_API_URL" in str(exc.value)


@pytest.mark.parametrize("auth_status", [401, 400])
async def test_bad_key_is_permanent_names_the_fix_and_never_leaks(
    auth_status: int,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeLinear(api_key=KEY, issue=ISSUE, auth_status=auth_status) as fake:
        client = client_for(session, fake, key=PLANTED)
        with structlog.testing.capture_logs() as logs, pytest.raises(LinearError) as exc:
            await client.comment_create(ISSUE, "hello", comment_id_for("r", "auth"))
        assert fake.requests[-1].headers["Authorization"] == PLANTED  # it was really sent

    err = exc.value
    assert err.retryable is False
    assert err.code == "AUTHENTICATION_ERROR"
    text = str(err)
    assert "LINEAR_API_KEY" in text
    assert "Settings" in text and "API key" in text  # how to get a new one
    assert fake.comments == {}
    # The key appears nowhere: message, repr, structured form, pickled form, logs, client.
    seen = [
        text,
        repr(err),
        str(err.as_dict()),
        repr(pickle.loads(pickle.dumps(err))),  # noqa: S301 - our own bytes
        repr(client),
        caplog.text,
        str(logs),
        capsys.readouterr().out,
    ]
    assert logs, "the failure is logged"
    for blob in seen:
        assert PLANTED not in blob
        assert KEY not in blob


async def test_empty_key_fails_before_any_request(
    fake: FakeLinear, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(LinearError) as exc:
        await client_for(session, fake, key="").viewer()
    assert exc.value.retryable is False
    assert "LINEAR_API_KEY" in str(exc.value)
    assert fake.requests == []


async def test_an_invalid_document_is_rejected_by_the_fake_and_permanent(
    fake: FakeLinear, session: aiohttp.ClientSession
) -> None:
    client = client_for(session, fake)
    with pytest.raises(LinearError) as exc:
        await client._execute("Bad", "query Bad { issue(id: 1) { nosuchfield } }", {})
    assert exc.value.retryable is False
    assert exc.value.code == "GRAPHQL_VALIDATION_FAILED"
    assert exc.value.status == 400


async def test_variables_that_do_not_fit_the_schema_are_rejected(
    fake: FakeLinear, session: aiohttp.ClientSession
) -> None:
    client = client_for(session, fake)
    with pytest.raises(LinearError) as exc:
        await client._execute(
            "CommentCreate", linear.COMMENT_CREATE, {"input": {"issueId": ISSUE, "bogus": 1}}
        )
    assert exc.value.retryable is False
    assert exc.value.code == "BAD_USER_INPUT"


def test_linear_error_survives_pickling() -> None:
    problem = Problem(symptom="boom", cause="c.", fix="f.")
    err = LinearError(problem, retryable=True, status=503, code="SERVER_ERROR")
    back = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own bytes
    assert isinstance(back, LinearError)
    assert (back.retryable, back.status, back.code, str(back), back.problem) == (
        True,
        503,
        "SERVER_ERROR",
        str(err),
        problem,
    )
    plain = LinearError(Problem(symptom="plain message", cause="", fix=""))
    assert str(plain) == "plain message"


# -- documents and ids -------------------------------------------------------------------


def test_every_graphql_document_validates_against_linears_schema() -> None:
    constants = {
        name: value
        for name, value in vars(linear).items()
        if name.isupper()
        and isinstance(value, str)
        and re.match(r"\s*(query|mutation|subscription)\b", value)
    }
    assert constants, "no GraphQL documents found"
    assert sorted(constants.values()) == sorted(DOCUMENTS.values()), "DOCUMENTS lists them all"
    for op_name, document in DOCUMENTS.items():
        assert validation_errors(document) == [], op_name
        ops = [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]
        assert len(ops) == 1 and ops[0].name is not None
        assert ops[0].name.value == op_name


def test_comment_id_is_deterministic_and_distinct() -> None:
    a = comment_id_for("rollout-1", "handover.sent")
    assert a == comment_id_for("rollout-1", "handover.sent")
    assert a != comment_id_for("rollout-1", "devops.received")
    assert a != comment_id_for("rollout-2", "handover.sent")
    # No ambiguity from joining the two parts.
    assert comment_id_for("a:b", "c") != comment_id_for("a", "b:c")
    parsed = uuid.UUID(a)
    assert str(parsed) == a
    assert parsed.version == 4  # Linear documents client ids as UUID v4 format
    # Pinned: a change here would re-post every notification of a running rollout.
    assert comment_id_for("r", "e") == "5661149a-6740-4ec8-821e-8b1f51a3b755"


async def test_a_key_that_may_not_write_is_permanent_and_says_which_permissions(
    fake: FakeLinear, session: aiohttp.ClientSession
) -> None:
    """A personal API key limited to Read (or to Create comments, which cannot edit the
    rollout log's comment), or to other teams: Linear answers 403. Waiting cannot mend
    it, and the fix names the permissions the key needs."""
    client = client_for(session, fake)
    fake.fail_next(status=403)
    with pytest.raises(LinearError) as exc:
        await client.comment_create(ISSUE, "hello", comment_id_for("r", "forbidden"))
    err = exc.value
    assert err.retryable is False and err.code == "FORBIDDEN"
    text = str(err)
    assert "lacks access" in text
    assert "Read and Write" in text and "Create comments alone does not allow" in text
    assert "the issue's team" in text
    assert fake.comments == {}
