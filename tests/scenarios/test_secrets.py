"""Plant known secrets, run a rollout through a deploy, and look for them everywhere."""

from __future__ import annotations

import io
import json
import logging

from bot.logging import configure_logging
from tests.scenario import (
    BOT_TOKEN,
    DEVOPS,
    GITHUB_TOKEN,
    LINEAR_KEY,
    PLANTED_SECRET,
    SIGNING_SECRET,
    World,
)
from tests.scenarios.test_rollout import deploy, to_gate, wait_partition


async def test_planted_secrets_never_leave_the_process(world: World) -> None:
    stream = io.StringIO()
    env = world.env()
    secrets = [
        BOT_TOKEN,
        SIGNING_SECRET,
        LINEAR_KEY,
        GITHUB_TOKEN,
        world.op.token,
        *(v for k, v in env.items() if k.startswith("BFF_TOKEN_")),
    ]
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging(level="DEBUG", fmt="json", secrets=secrets, stream=stream)
    try:
        async with world.bot():
            await to_gate(world)
            await deploy(world, "dev")
            await wait_partition(world, "dev", "green")
            # A failure path too: Linear refusing the key logs an error.
            world.linear.fail_next(1, status=500)
            await world.command("verify", DEVOPS)
            await world.wait(lambda s: len(s.history) > 0, "history")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])

    logs = stream.getvalue()
    assert "rollout_id" in logs  # the capture really saw the bot's logs
    slack = json.dumps([(c.method, c.args) for c in world.slack.calls()])
    linear = json.dumps([(r.document, r.variables) for r in world.linear.requests])
    database = b"".join(p.read_bytes() for p in world.tmp.glob("bot.sqlite*"))
    for name, haystack in (("logs", logs), ("slack", slack), ("linear", linear)):
        for secret in (PLANTED_SECRET, *secrets):
            assert secret not in haystack, f"a secret reached {name}"
    for secret in (PLANTED_SECRET, *secrets):
        assert secret.encode() not in database, "a secret reached the database"
