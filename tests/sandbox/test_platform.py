"""The supervisor standing in for Slack: a slash command that opens a modal, its signed
`view_submission`, what Slack does with each ack (errors stay, no answer closes), and the
`view_closed` Slack sends when a person closes a modal that asked for it.

The bot opens no modal yet, so a small Bolt app behind the same signed endpoint plays the
app here; the sandbox's Platform and the fake Slack are the code under test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.fakes.server import serve_loopback
from bot.sandbox.fakes.slack import FakeSlack
from bot.sandbox.platform import NOT_RESPONDING, Platform
from tests.test_fake_slack import MODAL

TOKEN = "xoxb-0-0-platformtest"
SECRET = "platform-test-signing-secret"
USER = "U0OWNER1"
REASON_MODAL = {**MODAL, "callback_id": "reason", "notify_on_close": True}
Setup = tuple[Platform, FakeSlack, list[dict[str, Any]]]


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    # What the app received: each submission's state values, each close as its payload.
    submitted: list[dict[str, Any]] = []
    async with FakeSlack(token=TOKEN) as slack, aiohttp.ClientSession() as http:
        bolt = AsyncApp(
            client=AsyncWebClient(token=TOKEN, base_url=slack.api_url), signing_secret=SECRET
        )

        @bolt.command("/creators-onboard")
        async def open_modal(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            await client.views_open(trigger_id=body["trigger_id"], view=REASON_MODAL)

        @bolt.view("reason")
        async def on_submit(ack: AsyncAck, view: dict[str, Any]) -> None:
            value = view["state"]["values"]["reason"]["text"]["value"]
            submitted.append(view["state"]["values"])
            if not value:
                await ack(response_action="errors", errors={"reason": "Say why, please."})
            else:
                await ack()

        @bolt.view_closed("reason")
        async def on_close(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            submitted.append(body)

        async def events(request: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await bolt.async_dispatch(await to_bolt_request(request))
            )

        app = web.Application()
        app.router.add_post("/slack/events", events)
        runner, url = await serve_loopback(app)
        try:
            yield Platform(slack, SECRET, http, lambda: url), slack, submitted
        finally:
            await runner.cleanup()


async def test_modal_opened_by_a_command_submitted_with_errors_then_closed(
    setup: Setup,
) -> None:
    platform, slack, submitted = setup
    await platform.command(USER, slack.dm_channel(USER), "abort")
    (modal,) = slack.modals(USER)
    assert modal["title"]["text"] == "Abort"

    empty = {"reason": {"text": {"type": "plain_text_input", "value": None}}}
    await platform.submit(USER, modal["id"], empty)
    (shown,) = slack.modals(USER)
    assert shown["errors"] == {"reason": "Say why, please."}

    filled = {"reason": {"text": {"type": "plain_text_input", "value": "wrong account"}}}
    await platform.submit(USER, modal["id"], filled)
    assert slack.modals(USER) == []
    assert submitted[-1] == filled
    slack.assert_no_violations()


async def test_a_modal_that_asked_is_closed_with_a_signed_view_closed(setup: Setup) -> None:
    platform, slack, received = setup
    await platform.command(USER, slack.dm_channel(USER), "abort")
    (modal,) = slack.modals(USER)
    await platform.close(USER, modal["id"])
    assert slack.modals(USER) == []
    (closed,) = received
    assert closed["type"] == "view_closed"
    assert (closed["user"]["id"], closed["view"]["id"]) == (USER, modal["id"])


async def test_a_bot_that_is_down_is_shown_as_not_responding() -> None:
    async with FakeSlack(token=TOKEN) as slack, aiohttp.ClientSession() as http:
        platform = Platform(slack, SECRET, http, lambda: None)
        await platform.command(USER, slack.dm_channel(USER), "status")
        (told,) = platform.ephemerals
        assert (told.user, told.channel, told.text) == (
            USER,
            slack.dm_channel(USER),
            NOT_RESPONDING,
        )
