"""Socket Mode: with SLACK_APP_TOKEN set the bot takes Slack's traffic
over a WebSocket instead of signed HTTP, and still serves health and metrics.

Everything is loopback: the fake Web API answers `apps.connections.open` with a URL on
`FakeSocketMode`, which speaks Slack's side of the protocol (hello, envelopes, acks).

The settings rule "SLACK_APP_TOKEN set ⇒ SLACK_SIGNING_SECRET may be absent" is
tests/test_settings.py::test_socket_mode_needs_no_signing_secret; "a SLACK_APP_TOKEN that
is not xapp- is refused, naming the variable, never echoing the value" is
test_settings.py::test_app_token_must_be_an_app_token, and a configuration problem
exiting 2 from `serve` is tests/test_cli.py. Only the CLI path for this variable is new
here (`test_cli_refuses_a_non_app_token`).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.commands import COMMAND, SUBCOMMANDS
from bot.sandbox.fakes.signing import FORM_CONTENT_TYPE, slash_command_body
from bot.sandbox.fakes.socket_mode import Ack, FakeSocketMode
from bot.server import Running, running_bot
from bot.settings import load_settings
from tests.scenario import DEVOPS, OWNER, STRANGER, World, eventually

REPO = Path(__file__).resolve().parents[1]


def socket_env(world: World, sm: FakeSocketMode) -> dict[str, str]:
    env = world.env()
    env["SLACK_APP_TOKEN"] = sm.app_token
    env.pop("SLACK_SIGNING_SECRET")
    return env


@asynccontextmanager
async def socket_bot(world: World) -> AsyncIterator[tuple[Running, FakeSocketMode]]:
    async with FakeSocketMode() as sm:
        sm.attach(world.slack)
        settings = load_settings(socket_env(world, sm))
        assert settings.socket_mode and settings.env.slack_signing_secret is None
        async with running_bot(settings) as running:
            world.running = running
            world.base_url = running.base_url
            try:
                await sm.wait_connected()
                yield running, sm
            finally:
                world.running = None
        sm.assert_no_violations()


async def command(sm: FakeSocketMode, world: World, text: str, user: str = DEVOPS) -> Ack:
    envelope = sm.slash_command(text, user, response_url=world.slack.response_url(f"cmd-{user}"))
    return await sm.request(envelope)


def answer_text(ack: Ack) -> str:
    assert ack.payload is not None, ack.raw
    return str(ack.payload.get("text", "")) + json.dumps(ack.payload.get("blocks", []))


def assert_help(ack: Ack) -> None:
    assert ack.payload is not None, ack.raw
    assert ack.payload["response_type"] == "ephemeral"
    for sub in SUBCOMMANDS:
        assert f"{COMMAND} {sub.usage}" in ack.payload["text"], sub.name


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.text()


# ---------------------------------------------------------------------------- tests


async def test_connects_over_socket_mode_and_still_serves_health(world: World) -> None:
    async with socket_bot(world) as (running, sm):
        opens = world.slack.calls("apps.connections.open")
        assert len(opens) == 1
        assert opens[0].token == sm.app_token
        assert opens[0].headers["Authorization"] == f"Bearer {sm.app_token}"
        assert opens[0].http_method == "POST"
        assert len(sm.open_connections) == 1
        assert running.socket_handler is not None

        status, _ = await get(f"{running.base_url}/healthz")
        assert status == 200
        status, body = await get(f"{running.base_url}/metrics")
        assert status == 200
        assert "# TYPE" in body
    world.slack.assert_no_violations()


async def test_no_unsigned_http_commands_in_socket_mode(world: World) -> None:
    async with socket_bot(world) as (running, _):
        body = slash_command_body("help", DEVOPS)  # unsigned: there is no secret to sign with
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{running.base_url}/slack/events",
                data=body.encode(),
                headers={"Content-Type": FORM_CONTENT_TYPE},
            ) as resp,
        ):
            status, text = resp.status, await resp.text()
    assert status in (401, 403, 404), (status, text[:200])
    assert COMMAND not in text


async def test_help_and_unknown_subcommand_are_acked_with_the_answer(world: World) -> None:
    async with socket_bot(world) as (_, sm):
        help_ack = await command(sm, world, "help")
        empty_ack = await command(sm, world, "", user=STRANGER)
        typo_ack = await command(sm, world, "stat")
    assert_help(help_ack)
    assert_help(empty_ack)
    assert_help(typo_ack)
    assert "I don't know `stat`" in answer_text(typo_ack)
    assert f"Did you mean `{COMMAND} status`" in answer_text(typo_ack)
    for ack in (help_ack, empty_ack, typo_ack):
        assert ack.elapsed < 3.0
    world.slack.assert_no_violations()


async def test_start_over_socket_mode_runs_the_same_listeners(world: World) -> None:
    async with socket_bot(world) as (_, sm):
        ack = await command(sm, world, "start", user=DEVOPS)
        assert "rollout-1 started" in answer_text(ack), ack.raw

        owner_dm = world.dm(OWNER)
        await eventually(
            lambda: any(
                OWNER in str(c.args.get("users", ""))
                for c in world.slack.calls("conversations.open")
            ),
            what="conversations.open with the owner",
        )
        await eventually(lambda: world.slack.messages(owner_dm), what="a post in the owner's DM")
        posts = [
            c
            for c in world.slack.calls("chat.postMessage")
            if c.args.get("channel") in (owner_dm, OWNER)
        ]
        assert posts, [c.args.get("channel") for c in world.slack.calls("chat.postMessage")]

        # A button press arrives as an `interactive` envelope and moves the rollout on.
        await world.wait_step("prereq")
        message, button = await world.wait_button(OWNER, "co:eligible")
        press = await sm.request(
            sm.block_action(
                OWNER,
                button["action_id"],
                button["value"],
                channel_id=message.channel,
                message_ts=message.ts,
                response_url=world.slack.response_url("press-owner"),
            )
        )
        assert press.elapsed < 3.0
        await world.wait_step("register_sign_in")

        # An `events_api` envelope (App Home opened) publishes the Home tab.
        event_ack = await sm.request(
            sm.event(
                {
                    "type": "app_home_opened",
                    "user": OWNER,
                    "channel": owner_dm,
                    "tab": "home",
                    "event_ts": "1700000000.000100",
                }
            )
        )
        assert event_ack.payload in (None, {}), event_ack.raw
        await eventually(lambda: world.slack.home_view(OWNER), what="the owner's App Home")
    world.slack.assert_no_violations()


async def test_reconnects_when_slack_asks(world: World) -> None:
    async with socket_bot(world) as (_, sm):
        await sm.disconnect()
        await eventually(
            lambda: (
                len(world.slack.calls("apps.connections.open")) >= 2
                and len(sm.connections) >= 2
                and sm.open_connections
            ),
            what="a second connection after a disconnect message",
        )
        assert_help(await command(sm, world, "help"))


async def test_apps_connections_open_wants_the_app_token_in_the_header(world: World) -> None:
    async with FakeSocketMode() as sm:
        sm.attach(world.slack)
        url = f"{world.slack.api_url}apps.connections.open"
        async with aiohttp.ClientSession() as http:

            async def call(**kwargs: Any) -> dict[str, Any]:
                async with http.post(url, **kwargs) as resp:
                    result: dict[str, Any] = await resp.json()
                    return result

            ok = await call(headers={"Authorization": f"Bearer {sm.app_token}"})
            assert ok["ok"] is True
            assert ok["url"].startswith(f"{sm.base_url}/link/?ticket=")
            bot = await call(headers={"Authorization": f"Bearer {world.slack.token}"})
            assert bot == {"ok": False, "error": "not_allowed_token_type"}
            other = await call(headers={"Authorization": "Bearer xapp-1-A0OTHER-1-other"})
            assert other == {"ok": False, "error": "invalid_auth"}
            in_body = await call(data={"token": sm.app_token})
            assert in_body["ok"] is False
            # An unissued ticket is refused at the upgrade.
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(f"{sm.base_url}/link/?ticket=nope")
    assert [str(v) for v in world.slack.violations] == [
        "apps.connections.open: the app-level token must be sent as Authorization: Bearer"
    ]


async def test_cli_refuses_a_non_app_token(world: World, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DBOS"))}
    env.update(world.env())
    env["SLACK_APP_TOKEN"] = "xoxb-not-an-app-token-0123"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2, (out, err)
    text = (out + err).decode()
    assert "SLACK_APP_TOKEN" in text and "xapp-" in text
    assert "xoxb-not-an-app-token-0123" not in text


async def test_a_refused_app_token_fails_startup(world: World) -> None:
    async with FakeSocketMode() as sm:
        sm.attach(world.slack)
        env = socket_env(world, sm)
        env["SLACK_APP_TOKEN"] = "xapp-1-A0OTHER-1111111111-revoked"
        settings = load_settings(env)
        with pytest.raises(Exception) as failure:
            async with asyncio.timeout(5), running_bot(settings):
                pass
    assert not isinstance(failure.value, TimeoutError), "startup hung on the refused token"
    assert "SLACK_APP_TOKEN" in str(failure.value)


async def test_a_proxy_error_opening_socket_mode_fails_startup_saying_it_passes(
    world: World,
) -> None:
    """A text/plain 503 from a proxy in front of Slack to `apps.connections.open`: the
    start ends saying Slack did not answer, that the app token is not at fault and to
    start again (slack_sdk's own reading of the code raised AttributeError)."""
    world.slack.fail_next(
        "apps.connections.open",
        error="upstream connect error or disconnect/reset before headers",
        status=503,
        plain=True,
    )
    async with FakeSocketMode() as sm:
        sm.attach(world.slack)
        settings = load_settings(socket_env(world, sm))
        with pytest.raises(RuntimeError) as failure:
            async with asyncio.timeout(10), running_bot(settings):
                pass
    said = str(failure.value)
    assert "Slack did not answer apps.connections.open properly (http_503)" in said
    assert "nothing wrong with SLACK_APP_TOKEN" in said and "start the bot again" in said
    assert sm.app_token not in said
