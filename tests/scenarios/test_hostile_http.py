"""Hostile HTTP: slow clients, malformed and unsigned requests, unbounded metrics.

Each test here reproduces an attack that took the bot down or answered 500 before the
HTTP site was hardened (bot/httpguard.py, bot/inbound.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.sandbox.fakes.signing import FORM_CONTENT_TYPE, JSON_CONTENT_TYPE, sign, slash_command_body
from tests.scenario import DEVOPS, SIGNING_SECRET, STRANGER, World, eventually
from tests.scenarios.test_durability import bot_process


async def post_raw(
    world: World,
    body: bytes,
    *,
    content_type: str = FORM_CONTENT_TYPE,
    signed: bool = True,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    assert world.http is not None
    sent = {"Content-Type": content_type, **(sign(body, SIGNING_SECRET) if signed else {})}
    sent.update(headers or {})
    async with world.http.post(f"{world.base_url}/slack/events", data=body, headers=sent) as resp:
        return resp.status, await resp.text()


def payload_form(payload: object) -> bytes:
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


MALFORMED: list[tuple[str, bytes, str]] = [
    (
        "latin-1 form body",
        "command=/creators-onboard&text=caf\xe9".encode("latin-1"),
        FORM_CONTENT_TYPE,
    ),
    ("invalid utf-8 json", b'{"type": "event_callback", "x": "\xff\xfe"}', JSON_CONTENT_TYPE),
    ("payload is a list", payload_form([1, 2, 3]), FORM_CONTENT_TYPE),
    ("payload is a string", payload_form("hello"), FORM_CONTENT_TYPE),
    ("payload is null", payload_form(None), FORM_CONTENT_TYPE),
    ("payload not json", b"payload=%7Bnot-json", FORM_CONTENT_TYPE),
    ("json body is a list", b"[1, 2]", JSON_CONTENT_TYPE),
    ("broken json", b'{"type": "event_callback", ', JSON_CONTENT_TYPE),
    ("payload empty", b"payload=", FORM_CONTENT_TYPE),
    ("empty body", b"", FORM_CONTENT_TYPE),
    (
        "actions not a list",
        payload_form({"type": "block_actions", "user": {"id": DEVOPS}, "actions": "co_deploy"}),
        FORM_CONTENT_TYPE,
    ),
    (
        "action is a number",
        payload_form({"type": "block_actions", "user": {"id": DEVOPS}, "actions": [7]}),
        FORM_CONTENT_TYPE,
    ),
    (
        "user is a list",
        payload_form(
            {"type": "block_actions", "user": ["x"], "actions": [{"action_id": "co_deploy"}]}
        ),
        FORM_CONTENT_TYPE,
    ),
    (
        "value is an object",
        payload_form(
            {
                "type": "block_actions",
                "user": {"id": DEVOPS},
                "actions": [{"action_id": "co_deploy", "value": {"rollout": "rollout-1"}}],
            }
        ),
        FORM_CONTENT_TYPE,
    ),
    (
        "event is a string",
        json.dumps({"type": "event_callback", "event": "message", "event_id": "Ev1"}).encode(),
        JSON_CONTENT_TYPE,
    ),
    (
        "event channel is a number",
        json.dumps(
            {
                "type": "event_callback",
                "event_id": "Ev2",
                "event": {"type": "message", "channel": 5},
            }
        ).encode(),
        JSON_CONTENT_TYPE,
    ),
    (
        "team is a number",
        json.dumps(
            {"type": "event_callback", "team": 12, "event": {"type": "app_home_opened"}}
        ).encode(),
        JSON_CONTENT_TYPE,
    ),
    (
        "authorizations not a list",
        json.dumps(
            {"type": "event_callback", "authorizations": "x", "event": {"type": "message"}}
        ).encode(),
        JSON_CONTENT_TYPE,
    ),
]


async def test_malformed_signed_requests_get_400_and_never_a_traceback(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    async with world.bot():
        for name, body, content_type in MALFORMED:
            status, text = await post_raw(world, body, content_type=content_type)
            assert status == 400, (name, status, text)
        # Still serving, nothing logged as an error.
        answer = await world.command("help")
        assert "/creators-onboard" in answer["text"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def test_unsigned_and_badly_signed_requests_get_401(world: World) -> None:
    body = slash_command_body("abort now", DEVOPS).encode()
    good = sign(body, SIGNING_SECRET)
    cases = {
        "no signature": {},
        "timestamp not a number": {**good, "X-Slack-Request-Timestamp": "soon"},
        "timestamp empty": {**good, "X-Slack-Request-Timestamp": ""},
        "timestamp huge": {**good, "X-Slack-Request-Timestamp": "9" * 40},
        # Past what a float holds: subtracting it from the clock would raise, not refuse.
        "timestamp beyond a float": {**good, "X-Slack-Request-Timestamp": "9" * 400},
        "timestamp negative": {**good, "X-Slack-Request-Timestamp": "-5"},
        "stale": sign(body, SIGNING_SECRET, timestamp=1_000_000_000),
        "wrong secret": sign(body, "not-the-secret"),
        "signature garbage": {**good, "X-Slack-Signature": "v0=\u00e9\u00e9"},
    }
    async with world.bot():
        for name, headers in cases.items():
            status, _ = await post_raw(world, body, signed=False, headers=headers)
            assert status == 401, name
        # Non-UTF-8 unsigned: still 401 (the signature is judged first).
        status, _ = await post_raw(world, b"\xff\xfe", signed=False)
        assert status == 401


async def test_unknown_subcommands_do_not_grow_the_metrics(world: World) -> None:
    async with world.bot():
        for n in range(60):
            await world.command(f"nope{n} <!channel>", user=STRANGER)
        assert world.http is not None
        async with world.http.get(f"{world.base_url}/metrics") as resp:
            text = await resp.text()
    listeners = {
        sample.labels["listener"]
        for family in text_string_to_metric_families(text)
        if family.name == "creators_onboard_slack_requests"
        for sample in family.samples
    }
    assert listeners == {"command:unknown"}, listeners


async def slow_clients(port: int, count: int) -> list[asyncio.StreamWriter]:
    """`count` connections that each send part of a request line, then nothing."""
    writers = []
    for _ in range(count):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            break
        writer.write(b"POST /slack/events HTT")
        writers.append(writer)
    await asyncio.gather(*(w.drain() for w in writers), return_exceptions=True)
    return writers


async def test_slow_clients_cannot_take_the_bot_offline(world: World, tmp_path: Path) -> None:
    """With 256 file descriptors, 600 half-sent requests used to exhaust them: /healthz
    and Slack timed out and asyncio logged every failed accept()."""
    log = tmp_path / "bot.log"
    async with bot_process(world, log, max_fds=256):
        port = int(world.base_url.rsplit(":", 1)[1])
        writers = await slow_clients(port, 600)
        try:
            assert world.http is not None
            for _ in range(3):
                async with world.http.get(
                    f"{world.base_url}/healthz", timeout=_timeout(10)
                ) as resp:
                    assert resp.status == 200
                answer = await world.command("help")
                assert "/creators-onboard" in answer["text"]
            # The half-sent requests are closed once the header timeout passes.
            await eventually(
                lambda: (
                    sum(w.transport.is_closing() or _peer_closed(w) for w in writers)
                    >= len(writers) - 5
                ),
                timeout=30,
                what="the slow connections closed by the bot",
            )
        finally:
            for w in writers:
                w.close()
    lines = log.read_text(errors="replace").splitlines()
    floods = [ln for ln in lines if "out of system resource" in ln]
    assert len(floods) <= 2, len(floods)


def _peer_closed(writer: asyncio.StreamWriter) -> bool:
    reader = getattr(writer, "_protocol", None)
    stream = getattr(reader, "_stream_reader", None)
    return bool(stream is not None and stream.at_eof())


def _timeout(seconds: float) -> object:
    import aiohttp

    return aiohttp.ClientTimeout(total=seconds)


def _listen_backlog(port: int) -> int:
    """The backlog of the socket listening on `port` (`ss` shows it as Send-Q)."""
    out = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[2])


@pytest.mark.skipif(shutil.which("ss") is None, reason="iproute2's ss reads a socket's backlog")
async def test_a_burst_of_new_connections_is_queued_not_dropped(world: World) -> None:
    """aiohttp listens with a backlog of 128: the 129th connection of a burst (200 acks in
    flight) had its SYN dropped and waited a second for TCP to try again."""
    async with world.bot():
        port = int(world.base_url.rsplit(":", 1)[1])
        assert _listen_backlog(port) == 1024
    world.config_overrides["http"] = {"backlog": 300}
    async with world.bot():
        port = int(world.base_url.rsplit(":", 1)[1])
        assert _listen_backlog(port) == 300


async def test_a_command_that_says_payload_is_still_a_command(world: World) -> None:
    """Bolt takes any form body with the word `payload` in it for an interactive payload;
    a command is judged by its fields, so the word in its text or its channel's name does
    not turn it into a 400."""
    async with world.bot():
        help_answer = await world.command("help payload", channel_name="payload-team")
        assert "/creators-onboard" in help_answer["text"]
        # An abort whose reason says "payload": refused for want of a rollout, not a 400.
        answer = await world.command("abort the payload for prod is corrupt")
        assert answer["text"].startswith(":no_entry: No rollout is active."), answer
