"""GitHub's workflow_run webhook: a concluded run is acted on at once, not at the next poll.

The fake GitHub sends deliveries as GitHub does (signed, each with its GUID, redelivered
on demand) to the bot's real `POST /github/events`; polls are set 10 minutes apart, so
only the webhook can have woken the follow.
"""

from __future__ import annotations

import json

import structlog

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
