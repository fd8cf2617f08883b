"""Everything manifest.yml subscribes to has a listener in the app `create_app` builds.

Checked twice: by asking the AsyncApp's registered listeners whether one matches a
request of each kind, and by sending the signed request over HTTP and seeing it handled
(Bolt answers 404 to a request no listener takes). Interactivity is enabled in the
manifest, so every button id the block builders can emit is checked the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.app import create_app
from bot.blocks.ids import (
    CHECKIN_ACTIONS,
    DEPLOY_ACTIONS,
    PING_DEVOPS,
    REPLY,
    REPLY_MODAL,
    RERUN_VERIFY,
    START_ROTATION,
    STUCK,
    runbook_action_id,
    step_value,
)
from bot.commands import COMMAND
from bot.deps import build_deps
from bot.runbook import load_runbook
from bot.sandbox.fakes.signing import (
    block_action_body,
    event_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from tests.manifest import declared_bot_events, declared_commands, load_manifest
from tests.scenario import DEVOPS, OWNER, World, eventually

TS = "1700000000.000100"  # before any ts the fake hands out


def event_for(name: str, user: str, channel: str) -> dict[str, Any]:
    """A realistic payload for a manifest event name such as `message.im`."""
    kind, _, channel_type = name.partition(".")
    if kind == "app_home_opened":
        return {
            "type": "app_home_opened",
            "user": user,
            "channel": channel,
            "tab": "home",
            "event_ts": TS,
        }
    if kind == "message":
        # message.channels → "channel", message.groups → "group", message.im → "im".
        singular = {"channels": "channel", "groups": "group"}.get(channel_type, channel_type)
        return {
            "type": "message",
            "channel_type": singular or "channel",
            "channel": channel,
            "user": user,
            "text": "hi",
            "ts": TS,
            "event_ts": TS,
        }
    raise AssertionError(f"the test does not know how to build a {name!r} event yet")


def button_ids() -> list[str]:
    """Every action id a block builder can put on a button."""
    ids = {runbook_action_id(a.id) for step in load_runbook().steps for a in step.actions}
    ids |= {
        STUCK,
        PING_DEVOPS,
        RERUN_VERIFY,
        REPLY,
        *DEPLOY_ACTIONS,
        *CHECKIN_ACTIONS,
        START_ROTATION,
    }
    return sorted(ids)


def declared_events() -> list[str]:
    events = declared_bot_events()
    assert events, "the manifest subscribes to no bot events?"
    return events


def test_manifest_declares_what_the_bot_serves() -> None:
    assert declared_commands() == [COMMAND]
    assert set(declared_events()) == {
        "app_home_opened",
        "message.im",
        "message.channels",
        "message.groups",
    }
    assert load_manifest()["settings"]["interactivity"]["is_enabled"] is True


# ---------------------------------------------------------------- listener inspection


@pytest.fixture
async def app(world: World) -> AsyncIterator[AsyncApp]:
    async with aiohttp.ClientSession() as session:
        deps = build_deps(world.settings(), session)
        try:
            yield create_app(world.settings(), deps)
        finally:
            deps.store.dispose()


async def takers(app: AsyncApp, body: str) -> list[int]:
    """Which registered listeners (by their place: Bolt gives a request to the first)
    match this request."""
    req = AsyncBoltRequest(body=body, headers=signed_headers(body, "unused-secret-000"))
    resp = BoltResponse(status=404)
    return [
        n
        for n, listener in enumerate(app._async_listeners)
        if await listener.async_matches(req=req, resp=resp)
    ]


async def matching(app: AsyncApp, body: str) -> int:
    """How many registered listeners would take this request."""
    return len(await takers(app, body))


def fallback(app: AsyncApp) -> int:
    """The listener for any button none of the others took: `handlers.fallback` registers
    it, then the one for any form, after all the others."""
    return len(app._async_listeners) - 2


@pytest.mark.parametrize("command", declared_commands())
async def test_every_command_has_a_listener(app: AsyncApp, command: str) -> None:
    for text in ("", "help", "status", "start", "deploy dev", "nonsense"):
        assert await matching(app, slash_command_body(text, DEVOPS, command=command)) == 1


@pytest.mark.parametrize("name", declared_events())
async def test_every_event_has_a_listener(app: AsyncApp, name: str) -> None:
    body = event_body(event_for(name, OWNER, "D0OWNER1"))
    assert await matching(app, body) == 1


@pytest.mark.parametrize("action_id", button_ids())
async def test_every_button_has_a_listener(app: AsyncApp, action_id: str) -> None:
    body = block_action_body(
        DEVOPS,
        action_id,
        step_value("rollout-1", "prereq", "x"),
        channel_id="D0DEVOPS1",
        message_ts=TS,
    )
    # Its own listener, and after it the fallback for buttons none takes.
    [own, last] = await takers(app, body)
    assert own < last == fallback(app)
    # Bolt works out the arguments of each listener's matcher in turn until one takes the
    # request (tens of microseconds each): a press's own is among the first four tried.
    assert own <= 3, own


async def test_undeclared_things_match_nothing(app: AsyncApp) -> None:
    """The inspection can say no: otherwise the tests above prove nothing. A button no
    listener knows goes to the fallback alone, which answers it in words."""
    assert await matching(app, slash_command_body("help", DEVOPS, command="/other")) == 0
    reaction = {"type": "reaction_added", "user": OWNER, "reaction": "+1", "event_ts": TS}
    assert await matching(app, event_body(reaction)) == 0
    body = block_action_body(DEVOPS, "not_ours", "v", channel_id="D0DEVOPS1", message_ts=TS)
    assert await takers(app, body) == [fallback(app)]
    # A form: the Reply modal goes to its own listener first; any other to the last one.
    last = len(app._async_listeners) - 1
    for callback_id, expected in ((REPLY_MODAL, 2), ("not_ours_either", 1)):
        view = {"id": "V1", "hash": "h", "type": "modal", "callback_id": callback_id}
        found = await takers(app, view_submission_body(DEVOPS, view, {}))
        assert len(found) == expected and found[-1] == last, (callback_id, found)


async def test_no_listener_has_bolt_deep_copy_its_request_before_the_ack(app: AsyncApp) -> None:
    """Bolt copies the whole request (context and client included) for each lazy listener,
    before it answers; our listeners ack, then hand their work to `after_ack.spawn`."""
    assert app._async_listeners
    lazy = [listener for listener in app._async_listeners if listener.lazy_functions]
    assert lazy == []


# ---------------------------------------------------------------------- over HTTP


async def test_every_declared_request_is_handled_over_http(world: World) -> None:
    async with world.bot():
        # Control: what Bolt answers when no listener takes a request.
        reaction = {"type": "reaction_added", "user": OWNER, "reaction": "+1", "event_ts": TS}
        status, _ = await world.event(reaction)
        assert status == 404

        for command in declared_commands():
            status, payload = await world.post(slash_command_body("help", DEVOPS, command=command))
            assert status == 200, (command, payload)
            assert "start [@owner]" in json.loads(payload)["text"]

        for name in declared_events():
            channel = world.dm(OWNER)
            status, payload = await world.event(event_for(name, OWNER, channel))
            assert status == 200, (name, payload)

        # The work left for after the acks was done: the Home tab and a hint in the DM.
        await eventually(lambda: world.slack.home_view(OWNER), what="the App Home view")
        await eventually(
            lambda: world.slack.thread(world.dm(OWNER), TS), what="a DM hint in thread"
        )

        for action_id in button_ids():
            body = block_action_body(
                DEVOPS,
                action_id,
                step_value("rollout-1", "prereq", "eligible"),
                channel_id=world.dm(DEVOPS),
                message_ts=TS,
                response_url=world.slack.response_url(f"press-{action_id}"),
            )
            status, payload = await world.post(body)
            assert status == 200, (action_id, status, payload)

        # A button none of them knows: acked and answered in words, never Bolt's 404.
        body = block_action_body(
            DEVOPS,
            "not_ours",
            "v",
            channel_id=world.dm(DEVOPS),
            message_ts=TS,
            response_url=world.slack.response_url("not-ours"),
        )
        status, _ = await world.post(body)
        assert status == 200
        [told] = await eventually(lambda: world.slack.responses("not-ours"), what="the answer")
        assert "older version of the bot" in told["text"]
    world.slack.assert_no_violations()


async def test_handled_requests_are_counted_per_listener(world: World) -> None:
    """Metrics label each request with the listener it reached."""
    async with world.bot():
        await world.command("help")
        await world.event(event_for("message.im", OWNER, world.dm(OWNER)))
        assert world.http is not None
        started = time.monotonic()
        while True:
            async with world.http.get(f"{world.base_url}/metrics") as resp:
                text = await resp.text()
            if 'listener="event:message"' in text or time.monotonic() - started > 5:
                break
    assert 'listener="command:help"' in text
    assert 'listener="event:message"' in text
