"""The leak guard: the Credential Secret pasted into Slack — by the owner in the bot's DM,
by devOps in the engineering channel — gets one threaded warning each (a Slack retry gets
none), devOps and the channel are told, and the value appears nowhere the bot writes."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any

from bot.afterack import lazy_runner
from bot.blocks.ids import START_ROTATION
from bot.logging import configure_logging
from bot.sandbox.fakes.signing import event_body, signed_headers
from tests.scenario import (
    DEVOPS,
    ENG,
    OWNER,
    PLANTED_SECRET,
    SIGNING_SECRET,
    World,
    eventually,
)
from tests.scenarios.test_rollout import to_gate

WARNING = "Please *delete it now*"


def message(user: str, channel: str, channel_type: str, ts: str, text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "channel_type": channel_type,
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
    }


async def deliver(world: World, body: str, *, retry: int = 0) -> None:
    """An Events API request as Slack sends it (a retry repeats the body, with its number)."""
    assert world.http is not None
    headers = signed_headers(body, SIGNING_SECRET)
    if retry:
        headers = {**headers, "X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "timeout"}
    async with world.http.post(
        f"{world.base_url}/slack/events", data=body.encode(), headers=headers
    ) as resp:
        assert resp.status == 200


def replies(world: World, channel: str, ts: str, needle: str) -> list[Any]:
    return [
        m
        for m in world.slack.messages(channel)
        if m.thread_ts == ts and m.ts != ts and needle in (m.text or "")
    ]


async def settled(world: World) -> None:
    """Every acked event has been handled (the lazy listeners are done)."""
    assert world.running is not None
    runner = lazy_runner(world.running.bolt)
    await eventually(lambda: not runner.tasks, what="the event listeners to finish")


async def test_a_pasted_secret_is_warned_about_once_each_and_written_nowhere(
    world: World,
) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging(level="DEBUG", fmt="json", secrets=[], stream=stream)
    try:
        async with world.bot():
            await to_gate(world)  # the vaults verified green: the guard knows the secret
            owner_dm = world.dm(OWNER)
            pasted = event_body(
                message(
                    OWNER,
                    owner_dm,
                    "im",
                    "1800000000.000100",
                    f"is this right? credentialSecret: `{PLANTED_SECRET}`",
                ),
                event_id="Ev0PASTED1",
            )
            await deliver(world, pasted)
            await deliver(world, pasted, retry=1)  # Slack retries the same event
            in_channel = event_body(
                message(DEVOPS, ENG, "channel", "1800000000.000200", PLANTED_SECRET),
                event_id="Ev0PASTED2",
            )
            await deliver(world, in_channel)

            await eventually(
                lambda: replies(world, owner_dm, "1800000000.000100", WARNING),
                what="the warning in the owner's DM thread",
            )
            await eventually(
                lambda: replies(world, ENG, "1800000000.000200", WARNING),
                what="the warning in the channel thread",
            )
            # devOps and the channel are told about the DM paste, without the value.
            await world.wait_text(world.dm(DEVOPS), "in their DM with me")
            await world.wait_text(ENG, "in their DM with me")
            await world.wait_text(world.dm(DEVOPS), f"in <#{ENG}>")
            await settled(world)
            await deliver(world, pasted, retry=2)
            await deliver(world, in_channel, retry=1)
            await settled(world)

            assert len(replies(world, owner_dm, "1800000000.000100", WARNING)) == 1
            assert len(replies(world, ENG, "1800000000.000200", WARNING)) == 1
            devops_dm = world.dm(DEVOPS)
            notices = [
                m for m in world.slack.messages(devops_dm) if "was posted in Slack" in m.text
            ]
            assert len(notices) == 2
            # A warning in the channel is broadcast there; the DM paste gets a channel notice.
            channel_notices = [m for m in world.slack.messages(ENG) if "was posted in" in m.text]
            assert len(channel_notices) == 1
            # Nobody is told twice: no canned "I follow the buttons" answer to the paste.
            assert not replies(world, owner_dm, "1800000000.000100", "I follow the buttons")

            # Start rotation is on the warning; while this rollout runs it is refused clearly.
            press = await world.wait_button(DEVOPS, START_ROTATION)
            await world.press(DEVOPS, press[1], press[0], response_id="rotate")
            await eventually(
                lambda: any(
                    "already under way" in (r.get("text") or "")
                    for r in world.slack.responses("rotate")
                ),
                what="the refusal while a rollout runs",
            )
            store = world.running.deps.store  # type: ignore[union-attr]

            async def audited() -> int:
                # Each warning's audit row is its workflow's last step, after its notices.
                return [e.action for e in await store.entries()].count("credential_pasted")

            async def both() -> bool:
                return await audited() >= 2

            await eventually(both, what="both warnings audited")
            await asyncio.sleep(0.3)
            assert await audited() == 2
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])

    # The value is nowhere the bot writes: Slack, Linear, its logs, its database.
    slack = json.dumps([(c.method, c.args) for c in world.slack.calls()])
    linear = json.dumps([(r.document, r.variables) for r in world.linear.requests])
    database = b"".join(p.read_bytes() for p in world.tmp.glob("bot.sqlite*"))
    logs = stream.getvalue()
    assert "credential_pasted" in logs  # the capture saw the guard's own log line
    for where, haystack in (("slack", slack), ("linear", linear), ("logs", logs)):
        assert PLANTED_SECRET not in haystack, f"the secret reached {where}"
    assert PLANTED_SECRET.encode() not in database


async def test_the_four_values_pasted_together_are_recognised_before_any_verification(
    world: World,
) -> None:
    async with world.bot():
        channel = world.dm(OWNER)
        text = (
            "credentialId: amzn1.application-oa2-client.abc\n"
            "credentialSecret: not-verified-yet-value-0099\nversion: 3.1\nassociateTag: arda-20"
        )
        await deliver(world, event_body(message(OWNER, channel, "im", "1800000001.000100", text)))
        found = await eventually(
            lambda: replies(world, channel, "1800000001.000100", WARNING), what="the warning"
        )
        assert "looks like the Amazon Creators API credentials" in found[0].text
        assert "not-verified-yet-value-0099" not in json.dumps(
            [c.args for c in world.slack.calls()]
        )
        # An ordinary message in a channel the bot is in is left alone (no canned answer).
        await deliver(
            world, event_body(message(DEVOPS, ENG, "channel", "1800000001.000200", "lunch?"))
        )
        await world.wait_text(ENG, "posted in Slack")
        await settled(world)
        # The channel heard about the DM paste, and nothing about lunch.
        assert [m.thread_ts for m in world.slack.messages(ENG)] == [None]
        assert "posted in Slack" in world.slack.messages(ENG)[0].text
