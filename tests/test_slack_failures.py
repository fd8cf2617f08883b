"""Every way a Slack Web API call fails reaches the bot as a SlackCallError that says
whether waiting helps: against the fake Slack server over HTTP, and a closed port."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.integrations.slack import (
    SlackCallError,
    SlackNotifier,
    make_web_client,
    slack_should_retry,
)
from bot.sandbox.fakes.slack import FakeSlack

TOKEN = "xoxb-test-failures"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(token=TOKEN) as server:
        server.add_channel("C0ENG", "engineering")
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def notifier(url: str, session: aiohttp.ClientSession) -> SlackNotifier:
    return SlackNotifier(make_web_client(TOKEN, url, session), min_interval=0)


async def failure(call: object) -> SlackCallError:
    with pytest.raises(SlackCallError) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def test_an_html_error_page_is_an_outage_worth_waiting_for(
    slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    slack.fail_next("chat.postMessage", error="Service Unavailable", status=503, html=True)
    err = await failure(notifier(slack.api_url, session).post("C0ENG", "hello"))
    assert (err.code, err.status, err.retryable) == ("http_503", 503, True)
    assert "http_503" in err.problem.symptom and "slack-status.com" in err.problem.fix
    assert slack_should_retry(err)


async def test_slacks_own_not_now_codes_are_worth_waiting_for(
    slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    for code in ("fatal_error", "internal_error", "service_unavailable", "request_timeout"):
        slack.fail_next("chat.postMessage", error=code, status=200)
        err = await failure(notifier(slack.api_url, session).post("C0ENG", "hello"))
        assert (err.code, err.retryable) == (code, True), code


async def test_a_refusal_only_a_person_can_mend_is_not_tried_again(
    slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    slack.fail_next("conversations.open", error="user_not_found", status=200)
    err = await failure(notifier(slack.api_url, session).open_dm("U0NOBODY"))
    assert (err.code, err.retryable) == ("user_not_found", False)
    assert "member ID" in err.problem.fix
    assert not slack_should_retry(err)


async def test_no_answer_at_all_is_an_outage_too(session: aiohttp.ClientSession) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on `port` any more: connection refused (after the client's own retries).
    err = await failure(notifier(f"http://127.0.0.1:{port}/api/", session).post("C0ENG", "hi"))
    assert (err.code, err.retryable) == ("connection_failed", True)
    assert "could not be reached" in err.problem.symptom


def test_a_failure_that_is_not_slacks_is_tried_again() -> None:
    assert slack_should_retry(RuntimeError("a bug: DBOS records it after the last try"))
