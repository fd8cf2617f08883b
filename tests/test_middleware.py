"""The app's middleware units: `respond()` over the app's HTTP session (bot/middleware/
respond.py), against a local aiohttp server standing in for Slack's response_url."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.afterack import TrackedLazyRunner, lazy_runner
from bot.logging import bind_request, clear_request
from bot.middleware.failed import answer_failures
from bot.middleware.respond import SessionRespond
from bot.outbound import know_secrets

PLANTED = "planted-secret-7f3c9a"  # made up: the scrubber must catch it


@pytest.fixture
async def hooks() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        got.append({"body": await request.json(), "peer": peer})
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook/{id}", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/hook", got
    await runner.cleanup()


async def test_answers_go_over_one_connection_and_say_what_bolts_would(
    hooks: tuple[str, list[dict[str, Any]]],
) -> None:
    url, got = hooks
    async with aiohttp.ClientSession() as session:
        for n in (1, 2):
            respond = SessionRespond(response_url=f"{url}/{n}", session=session)
            sent = await respond(
                text=f"answer {n}", response_type="ephemeral", replace_original=False
            )
            assert sent.status_code == 200
    assert [g["body"] for g in got] == [
        {"text": f"answer {n}", "response_type": "ephemeral", "replace_original": False}
        for n in (1, 2)
    ]
    # Bolt's respond() opens a session (a TCP and TLS connection) per answer; ours reuses.
    assert got[0]["peer"] == got[1]["peer"]


async def test_blocks_and_whole_messages_are_sent_and_scrubbed(
    hooks: tuple[str, list[dict[str, Any]]],
) -> None:
    url, got = hooks
    know_secrets([PLANTED])
    section = {"type": "section", "text": {"type": "mrkdwn", "text": f"key {PLANTED}"}}
    async with aiohttp.ClientSession() as session:
        respond = SessionRespond(response_url=f"{url}/b", session=session)
        await respond(text=f"it was {PLANTED}", blocks=[section])
        await respond({"text": "whole", "replace_original": True})
    assert PLANTED not in json.dumps(got)
    assert got[0]["body"]["blocks"][0]["type"] == "section"
    assert got[1]["body"] == {"text": "whole", "replace_original": True}


async def test_a_copy_for_a_lazy_listener_is_the_same_responder() -> None:
    async with aiohttp.ClientSession() as session:
        respond = SessionRespond(response_url="http://127.0.0.1:9/x", session=session)
        assert copy.deepcopy({"respond": respond})["respond"] is respond


def _app_with_runner() -> AsyncApp:
    app = AsyncApp(signing_secret="s", token="xoxb-test")
    app.listener_runner.lazy_listener_runner = TrackedLazyRunner(app.logger)
    return app


async def test_a_command_that_fails_is_answered_in_words_with_an_id_to_pass_on() -> None:
    on_error = answer_failures(_app_with_runner())
    bind_request(request_id="req-1234")
    try:
        with structlog.testing.capture_logs() as logs:
            answer = await on_error(
                error=KeyError("a fault"), body={"command": "/creators-onboard"}, respond=None
            )
    finally:
        clear_request()
    assert answer is not None and answer.status == 200
    said = json.loads(answer.body)
    assert said["response_type"] == "ephemeral"
    assert "something went wrong inside the bot" in said["text"] and "`req-1234`" in said["text"]
    [logged] = [e for e in logs if e["event"] == "request_failed"]
    assert logged["request_id"] == "req-1234" and isinstance(logged["exc_info"], KeyError)


async def test_a_press_that_fails_is_acked_and_told_by_its_response_url() -> None:
    app, told = _app_with_runner(), []

    async def respond(**message: object) -> None:
        told.append(message)

    answer = await answer_failures(app)(
        error=KeyError("a fault"), body={"type": "block_actions"}, respond=respond
    )
    assert answer is not None and (answer.status, answer.body) == (200, "")
    await lazy_runner(app).drain(5)
    assert "something went wrong inside the bot" in str(told[0]["text"])


async def test_an_event_that_fails_is_left_to_slack_to_deliver_again() -> None:
    answer = await answer_failures(_app_with_runner())(
        error=KeyError("a fault"), body={"type": "event_callback"}, respond=None
    )
    assert answer is None  # Bolt's 500: Slack retries the event
