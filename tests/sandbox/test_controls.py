"""The rehearsal strip through the page's API (no browser): kill -9 and restart, nudges,
every stand-in and the bot's every connection on loopback."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import aiohttp
import pytest

from bot.sandbox.platform import NOT_RESPONDING
from bot.sandbox.scene import DEVOPS, OWNER
from tests.sandbox.conftest import Running
from tests.sandbox.procs import children, state
from tests.scenario import eventually


async def call(running: Running, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(running.url.rstrip("/") + path, json=body) as r,
    ):
        answer: dict[str, Any] = await r.json()
        assert r.status == 200, answer
        return answer


def texts(running: Running, user: str) -> str:
    slack = running.sandbox.world.slack
    return "\n".join(m.text for m in slack.messages(slack.dm_channel(user)))


def ephemerals(running: Running, user: str) -> str:
    return "\n".join(e.text for e in running.sandbox.platform_or_fail.ephemerals if e.user == user)


@pytest.fixture(params=[False, True], ids=["tether-default", "tether-watchdog"])
def tether(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """How the rehearsal's bot is tied to the rehearsal: as on this platform, and by the
    pipe and watchdog macOS gets (bot.sandbox.process.Tether)."""
    import bot.sandbox.process

    watchdog: bool = request.param
    monkeypatch.setattr(bot.sandbox.process, "WATCHDOG", watchdog)
    return watchdog


async def test_kill_9_then_restart_carries_on(tether: bool, running: Running) -> None:
    process = running.sandbox.bot
    assert process is not None and process.pid is not None
    watchdogs = children(process.pid) if sys.platform.startswith("linux") else []
    if tether and sys.platform.startswith("linux"):
        assert len(watchdogs) == 1, watchdogs
    await call(running, "/api/control", {"action": "kill"})
    for watchdog in watchdogs:  # the bot gone, its watchdog goes too
        await eventually(lambda w=watchdog: state(w) in (None, "Z"), what="the watchdog left")
    assert running.sandbox.controls()["bot"] == "down"
    await call(
        running, "/api/act", {"user": DEVOPS, "kind": "command", "channel": "dm", "text": "status"}
    )
    assert NOT_RESPONDING in ephemerals(running, DEVOPS)

    await call(running, "/api/control", {"action": "restart"})
    assert running.sandbox.controls()["bot"] == "running"
    slack = running.sandbox.world.slack
    owner_dm = slack.dm_channel(OWNER)

    def step() -> Any:
        for message in reversed(slack.messages(owner_dm)):
            for n, block in enumerate(message.blocks or []):
                if block["type"] == "actions" and "co:eligible" in str(block):
                    return message, n
        return None

    message, block = await eventually(step, timeout=60, what="the owner's first step")
    where = {"channel": owner_dm, "ts": message.ts}
    press = {"kind": "press", "where": where, "action_id": "co:eligible", "block_id": f"#{block}"}
    await call(running, "/api/act", {"user": OWNER, **press})
    # The rollout started before the kill moves on after it: the next step is posted.
    await eventually(
        lambda: "Sign in to Amazon Associates" in texts(running, OWNER),
        timeout=60,
        what="the step after the kill",
    )
    assert "rollout-2" not in running.sandbox.bot.log_path.read_text()  # type: ignore[union-attr]


async def test_nudge_now_reminds_the_person_the_rollout_waits_for(running: Running) -> None:
    answer = await call(running, "/api/control", {"action": "nudge"})
    assert "nudges" in answer["done"]
    await eventually(
        lambda: "a gentle reminder" in texts(running, OWNER), timeout=60, what="the owner's nudge"
    )


def _tcp_peers(pid: int) -> list[str]:
    """The remote addresses of every TCP socket the process holds (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    peers = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                peers.append(fields[2][:width])
    return peers


LOOPBACK4 = "0100007F"  # 127.0.0.1, little-endian hex as /proc shows it
ANY4 = "00000000"


async def test_no_request_leaves_loopback(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = running.sandbox
    for name, url in sandbox.controls()["stand_ins"].items():
        assert urlparse(url).hostname == "127.0.0.1", (name, url)
    env = sandbox.world.bot_env()
    endpoints = {k: v for k, v in env.items() if k.endswith(("_URL", "_URL_AMPLIFY"))}
    assert set(endpoints) >= {
        "SLACK_API_URL",
        "GITHUB_API_URL",
        "LINEAR_API_URL",
        "AWS_ENDPOINT_URL_AMPLIFY",
    }
    for name, url in endpoints.items():
        if name != "DATABASE_URL":
            assert urlparse(url).hostname == "127.0.0.1", (name, url)
    assert env["HOST"] == "127.0.0.1"
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    for partition in sandbox.world.config()["partitions"]:
        assert urlparse(partition["bff_url"]).hostname == "127.0.0.1"
    # Nothing else from this environment reaches the bot (no real token, no AWS profile):
    # with a real deployment's variables around, the bot's environment is the same.
    real = {
        "SLACK_BOT_TOKEN": "xoxb-real-deployment",
        "GITHUB_API_URL": "https://api.github.com",
        "DATABASE_URL": "postgresql://prod.example/creators",
        "AWS_PROFILE": "production",
        "AWS_CONFIG_FILE": "/home/someone/.aws/config",
        "AWS_ENDPOINT_URL": "https://amplify.us-east-2.amazonaws.com",
    }
    for name, value in real.items():
        monkeypatch.setenv(name, value)
    again = sandbox.world.bot_env()
    assert again == env
    assert not set(real.values()) & set(again.values())
    assert not {k for k in again if k.startswith("AWS_PROFILE")}
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull

    # And the bot process itself: after it has posted and answered, every TCP socket it
    # holds is on loopback (or a listening socket, whose peer is 0.0.0.0).
    await call(
        running, "/api/act", {"user": DEVOPS, "kind": "command", "channel": "dm", "text": "verify"}
    )
    await asyncio.sleep(1)
    pid = sandbox.bot.pid  # type: ignore[union-attr]
    assert pid is not None
    peers = _tcp_peers(pid)
    assert peers
    for peer in peers:
        host = peer[:8] if len(peer) == 8 else peer[24:32]
        assert host in (LOOPBACK4, ANY4) or set(peer) == {"0"}, peer


async def test_reset_starts_a_fresh_rehearsal(running: Running) -> None:
    await call(running, "/api/control", {"action": "inject", "failure": "linear_down"})
    first = running.sandbox.world
    before = running.sandbox.generation
    answer = await call(running, "/api/control", {"action": "reset"})
    assert "back to the start" in answer["done"]
    assert running.sandbox.generation == before + 1
    assert running.sandbox.world is not first
    assert running.sandbox.controls()["injected"] == []
    await eventually(
        lambda: "Check that Arda can get Creators API access" in texts(running, OWNER),
        timeout=60,
        what="the fresh rollout's first step",
    )
