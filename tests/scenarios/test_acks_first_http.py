"""Over HTTP into the real app: while one request is being answered, the work another left
for after its ack waits (bot/afterack.py: AcksFirst), and starts once the answering ends.

Unit tests of the order itself: tests/test_acks_first.py.
"""

from __future__ import annotations

import asyncio

from bot.afterack import lazy_runner
from tests.scenario import OWNER, World, eventually
from tests.test_foundation_http import _dm_event


async def test_work_after_an_ack_waits_until_the_request_being_answered_is_answered(
    world: World,
) -> None:
    channel, ts = world.dm(OWNER), "1700000000.000900"
    async with world.bot() as running:
        turns = lazy_runner(running.bolt).turns
        turns.longest = 60  # only the end of the other request may start the work here
        # Another request is arriving: its headers are in, its body is not (yet).
        _, writer = await asyncio.open_connection(running.host, running.port)
        writer.write(
            b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\n\r\n{"
        )
        await writer.drain()
        await eventually(lambda: turns.answering_now() == 1, what="the request to arrive")

        # A DM from the owner: acked at once, its answer (a threaded reply) left for after.
        status, _ = await world.event(_dm_event(OWNER, channel, ts))
        assert status == 200
        await eventually(lambda: turns.waiting() >= 1, what="the DM's work to wait")
        await asyncio.sleep(0.3)
        assert world.slack.thread(channel, ts) == [] and turns.waiting() >= 1

        writer.write(b"}")  # the other request ends (refused: it is not signed)
        await writer.drain()
        await eventually(lambda: world.slack.thread(channel, ts), what="the reply to the DM")
        assert turns.answering_now() == 0 and turns.waiting() == 0
        writer.close()
