"""GitHub's workflow_run webhook: a concluded run is acted on at once, not at the next poll.

The fake GitHub sends deliveries as GitHub does (signed, each with its GUID, redelivered
on demand) to the bot's real `POST /github/events`; polls are set 10 minutes apart, so
only the webhook can have woken the follow.
"""

from __future__ import annotations

import json
import logging

import pytest
import structlog
from yarl import URL

from bot.integrations.github.webhook import signature, signed_by
from tests.scenario import World, eventually
from tests.scenarios.test_rollout import deploy, to_gate, wait_partition

SECRET = "whsec-test-0123456789abcdef"


def test_the_signature_is_githubs() -> None:
    # The test vector of GitHub's "Validating webhook deliveries".
    secret, body = "It's a Secret to Everybody", b"Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature(secret, body) == expected
    assert signed_by(secret, body, expected)
    assert not signed_by(secret, body + b" ", expected)
    assert not signed_by("another secret", body, expected)
    assert not signed_by(secret, body, None)


def slow_polls(world: World) -> None:
    world.webhook_secret = SECRET
    world.github.run_seconds = 0.5
    github = world.config()["github"]
    world.config_overrides["github"] = {**github, "poll_interval_seconds": 600}


async def dev_deployed(world: World) -> None:
    await to_gate(world)
    await deploy(world, "dev")
    await wait_partition(world, "dev", "green")


async def test_a_concluded_run_is_acted_on_when_github_says_so(world: World) -> None:
    slow_polls(world)
    async with world.bot():
        await dev_deployed(world)
        completed = [d for d in world.github.deliveries if d.action == "completed"]
        assert [d.statuses for d in completed] == [[200]]
        # A read when the follow started and one per delivery (requested, in progress,
        # completed): nothing in between, the next poll being 10 minutes away.
        reads = world.github.requests_to(r"/actions/runs/\d+$", "GET")
        assert len(reads) <= 4, [r.status for r in reads]


async def test_deliveries_are_checked_and_taken_once(world: World) -> None:
    slow_polls(world)
    async with world.bot():
        await dev_deployed(world)
        assert world.http is not None
        url = f"{world.base_url}/github/events"
        done = next(d for d in world.github.deliveries if d.action == "completed")
        # A redelivery (same GUID) is answered and changes nothing.
        reads = len(world.github.requests_to(r"/actions/runs/\d+$", "GET"))
        assert await world.github.redeliver(done.guid) == 200
        assert len(world.github.requests_to(r"/actions/runs/\d+$", "GET")) == reads

        async def post(body: bytes, **headers: str) -> tuple[int, dict[str, str]]:
            base = {
                "X-GitHub-Event": "workflow_run",
                "X-GitHub-Delivery": "7a4c2a10-0000-4000-8000-000000000001",
                "X-Hub-Signature-256": signature(SECRET, body),
                "Content-Type": "application/json",
            }
            assert world.http is not None
            async with world.http.post(url, data=body, headers={**base, **headers}) as resp:
                return resp.status, await resp.json()

        with structlog.testing.capture_logs() as logs:
            wrong = signature("wrong", done.body)
            status, _ = await post(done.body, **{"X-Hub-Signature-256": wrong})
            assert status == 401
            status, _ = await post(done.body, **{"X-Hub-Signature-256": ""})
            assert status == 401
        # Said once a minute, with what it means when every delivery fails so.
        [refused] = [e for e in logs if e["event"] == "github_webhook_refused"]
        assert "Settings → Webhooks" in refused["meaning"] and "polling" in refused["meaning"]
        status, answer = await post(b"{not json")
        assert status == 400 and "malformed" in answer["outcome"]
        status, _ = await post(json.dumps({"action": "completed"}).encode())
        assert status == 400
        status, _ = await post(done.body, **{"X-GitHub-Delivery": ""})
        assert status == 400
        status, answer = await post(
            b'{"zen": "Keep it logically awesome."}', **{"X-GitHub-Event": "ping"}
        )
        assert status == 200 and "ignored" in answer["outcome"]
        other = json.dumps(
            {"action": "completed", "workflow_run": {"id": 1, "status": "completed"}}
        )
        status, answer = await post(other.encode())
        assert status == 200 and "not a run the bot follows" in answer["outcome"]

    # Taken deliveries are remembered across a restart.
    async with world.bot():
        world.github.send_webhooks(f"{world.base_url}/github/events", SECRET)
        assert await world.github.redeliver(done.guid) == 200
        assert await eventually(lambda: done.statuses[-1] == 200, what="the redelivery")


async def raw_delivery(
    world: World, head_extra: str, body: bytes, *, split: int | None, gap: float = 0.05
) -> tuple[bytes, float]:
    """POST /github/events over a bare socket: the head, then the body in one write or in
    two with `gap` seconds between (as a proxy or a slow network hands it over). Returns
    the status line and how long the answer took."""
    import asyncio
    import time

    url = URL(world.base_url)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = (
        "POST /github/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
        "X-GitHub-Event: workflow_run\r\n"
        f"{head_extra}Connection: close\r\n\r\n"
    ).encode("latin-1")
    started = time.monotonic()
    try:
        if split is None:
            writer.write(head + body)
        else:
            writer.write(head + body[:split])
            await writer.drain()
            await asyncio.sleep(gap)
            writer.write(body[split:])
        await writer.drain()
        # The status line only: after answering, aiohttp reads what is left of an unread
        # body for a while (its lingering time) before it closes the connection.
        answer = await asyncio.wait_for(reader.readline(), timeout=30)
    finally:
        writer.close()
    return answer.rstrip(b"\r\n"), time.monotonic() - started


async def test_a_delivery_in_pieces_is_read_whole(world: World) -> None:
    """A delivery's body may arrive in several reads: its signature is checked over all
    of it (it was checked over the first piece and refused 401)."""
    slow_polls(world)
    run = {"id": 987654, "status": "completed", "conclusion": "success", "pad": "x" * 30_000}
    body = json.dumps({"action": "completed", "workflow_run": run}).encode()
    async with world.bot():
        for n, split in enumerate((None, 1448, 16_384)):
            head = (
                f"X-GitHub-Delivery: 7a4c2a10-0000-4000-8000-00000000010{n}\r\n"
                f"X-Hub-Signature-256: {signature(SECRET, body)}\r\n"
                f"Content-Length: {len(body)}\r\n"
            )
            status, _ = await raw_delivery(world, head, body, split=split)
            assert status == b"HTTP/1.1 200 OK", (split, status)


async def test_a_body_that_never_comes_is_answered_408_in_time(world: World) -> None:
    """Headers, then nothing: answered within the body time-out (the connection, and the
    server's shutdown, are not held for as long as the client likes)."""
    slow_polls(world)
    world.config_overrides["http"] = {**world.config().get("http", {}), "body_timeout_seconds": 1}
    async with world.bot():
        head = (
            "X-GitHub-Delivery: 7a4c2a10-0000-4000-8000-000000000200\r\n"
            "X-Hub-Signature-256: sha256=00\r\nContent-Length: 100000\r\n"
        )
        status, took = await raw_delivery(world, head, b"{", split=1, gap=0)
        assert status == b"HTTP/1.1 408 Request Timeout"
        assert took < 10, took


async def test_hostile_headers_are_refused_not_errors(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A signature header with a byte that is not UTF-8, a body over the limit: 401 and
    413, never a 500 with a traceback in the log."""
    slow_polls(world)
    body = b'{"action": "completed", "workflow_run": {"id": 1}}'
    async with world.bot():
        head = (
            "X-GitHub-Delivery: 7a4c2a10-0000-4000-8000-000000000300\r\n"
            "X-Hub-Signature-256: sha256=\xff\xfe\r\n"
            f"Content-Length: {len(body)}\r\n"
        )
        status, _ = await raw_delivery(world, head, body, split=None)
        assert status == b"HTTP/1.1 401 Unauthorized"
        head = (
            "X-GitHub-Delivery: 7a4c2a10-0000-4000-8000-000000000301\r\n"
            f"X-Hub-Signature-256: sha256=00\r\nContent-Length: {3 * 1024 * 1024}\r\n"
        )
        status, _ = await raw_delivery(world, head, b"", split=None)
        assert status == b"HTTP/1.1 413 Request Entity Too Large"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
