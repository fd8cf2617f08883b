"""`/slack/events` checks a request once and hands Bolt what it checked: Bolt neither
parses nor verifies the same body again (`bot.app.checked_request`). So the endpoint's
own check is the only guard, and these prove it holds: over real HTTP into a real Bolt
app, nothing unsigned, tampered or unverifiable reaches a listener, and what a listener
gets is the body as sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult

from bot.app import create_web_app
from bot.deps import Deps
from bot.metrics import Metrics
from bot.sandbox.fakes.signing import signed_headers, slash_command_body

SECRET = "test-signing-secret-2b7e"  # made up


async def _ready() -> bool:
    return True


def _deps(secret: str | None) -> Deps:
    env = SimpleNamespace(slack_signing_secret=SecretStr(secret) if secret else None)
    config = SimpleNamespace(http=SimpleNamespace(body_timeout_seconds=5.0))
    return cast(
        Deps, SimpleNamespace(settings=SimpleNamespace(env=env, config=config), metrics=Metrics())
    )


async def _serve(secret: str | None) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    heard: list[dict[str, Any]] = []

    async def authorize(**_: Any) -> AuthorizeResult:  # no auth.test: nothing leaves here
        return AuthorizeResult(enterprise_id=None, team_id="T0FAKE001", bot_token="xoxb-none")

    bolt = AsyncApp(signing_secret=SECRET, authorize=authorize, process_before_response=True)

    @bolt.command("/creators-onboard")
    async def listen(ack: AsyncAck, command: dict[str, Any]) -> None:
        heard.append(command)
        await ack("heard")

    runner = web.AppRunner(create_web_app(bolt, _deps(secret), _ready))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/slack/events", heard
    finally:
        await runner.cleanup()


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    async for served in _serve(SECRET):
        yield served


@pytest.fixture
async def no_secret() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    async for served in _serve(None):
        yield served


async def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body.encode(), headers=headers) as resp,
    ):
        return resp.status, await resp.text()


async def test_a_listener_gets_the_body_as_sent(
    endpoint: tuple[str, list[dict[str, Any]]],
) -> None:
    url, heard = endpoint
    body = slash_command_body("status", "U0SOMEONE1")
    assert await post(url, body, signed_headers(body, SECRET)) == (200, "heard")
    assert heard == [dict(parse_qsl(body, keep_blank_values=True))]


async def test_unsigned_tampered_and_wrongly_signed_bodies_reach_no_listener(
    endpoint: tuple[str, list[dict[str, Any]]],
) -> None:
    url, heard = endpoint
    body = slash_command_body("status", "U0SOMEONE1")
    headers = signed_headers(body, SECRET)
    tampered = body.replace("status", "start")
    assert (await post(url, tampered, headers))[0] == 401
    assert (await post(url, body, signed_headers(body, "another-secret")))[0] == 401
    unsigned = {"Content-Type": headers["Content-Type"]}
    assert (await post(url, body, unsigned))[0] == 401
    assert heard == []


async def test_without_a_signing_secret_nothing_is_dispatched(
    no_secret: tuple[str, list[dict[str, Any]]],
) -> None:
    url, heard = no_secret
    body = slash_command_body("status", "U0SOMEONE1")
    status, text = await post(url, body, signed_headers(body, SECRET))
    assert status == 401 and "SLACK_SIGNING_SECRET" in text
    assert heard == []
