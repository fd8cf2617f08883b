"""The app's middleware units: `respond()` over the app's HTTP session (bot/middleware/
respond.py), against a local aiohttp server standing in for Slack's response_url."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

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
