"""Stops, restarts and kill -9: the rollout continues where it stood, nothing twice."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.blocks.ids import DEPLOY
from tests.scenario import DEVOPS, OWNER, World, eventually
from tests.scenarios.test_handover import start

REPO = Path(__file__).resolve().parents[2]


def thread_replies(world: World, user: str, needle: str) -> list[object]:
    return [
        m
        for m in world.slack.messages(world.dm(user))
        if m.thread_ts and m.ts != m.thread_ts and needle in (m.text or "")
    ]


async def test_stop_and_start_between_steps_loses_and_repeats_nothing(world_db: World) -> None:
    world = world_db
    async with world.bot():
        await start(world)
        await world.click(OWNER, "co:eligible")
        await world.wait_step("register_sign_in")
        # Stop once the step is on screen (a stop in the middle of a post is
        # tests/scenarios/test_exactly_once.py).
        await world.wait_button(OWNER, "co:done")
    calls_before = len(world.slack.calls("chat.postMessage"))

    async with world.bot():
        # The button posted before the restart still works after it.
        await world.click(OWNER, "co:done")
        state = await world.wait_step("register_app")
        assert [t.action for t in state.history] == ["eligible", "done"]
        # Recovery replayed the workflow without re-posting anything already posted.
        await eventually(
            lambda: len(world.slack.calls("chat.postMessage")) > calls_before,
            what="the next step's post",
        )
        assert len(thread_replies(world, OWNER, "Sign in to Amazon Associates")) == 1
        assert len(thread_replies(world, OWNER, "Check that Arda can get")) == 1
        parents = [m for m in world.slack.messages(world.dm(OWNER)) if not m.thread_ts]
        assert len(parents) == 1
        answer = await world.command("start", DEVOPS)
        assert "already under way" in answer["text"]


@asynccontextmanager
async def bot_process(
    world: World,
    log: Path,
    *,
    executor: str | None = None,
    extra_env: dict[str, str] | None = None,
    max_fds: int | None = None,
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """`python -m bot serve` as its own process, pointed at the World's fakes (with its own
    DBOS executor id when several run at once; `max_fds`: its file descriptor limit)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DBOS"))}
    env.update(world.env())
    if executor:
        env["DBOS__VMID"] = executor
    env.update(extra_env or {})

    def limit_fds() -> None:
        if max_fds is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max_fds, max_fds))

    start_offset = log.stat().st_size if log.exists() else 0
    handle = log.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=REPO,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        preexec_fn=limit_fds if max_fds is not None else None,
    )
    try:

        def port() -> int | None:
            if proc.poll() is not None:
                raise AssertionError(f"bot exited early:\n{log.read_text()[-3000:]}")
            for line in log.read_bytes()[start_offset:].decode(errors="replace").splitlines():
                if '"listening"' in line:
                    return int(json.loads(line)["port"])
            return None

        world.base_url = f"http://127.0.0.1:{await eventually(port, timeout=30, what='listening')}"
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        handle.close()


async def test_kill_9_after_dispatch_follows_the_same_run(world_db: World, tmp_path: Path) -> None:
    world = world_db
    # dev's run stays in progress long enough to kill the bot while it follows it.
    world.github.script_run(
        {"partition": "dev"}, ["queued"] + ["in_progress"] * 40 + ["completed:success"]
    )
    log = tmp_path / "bot.log"
    async with bot_process(world, log) as proc:
        await start(world)
        await drive_owner_http(world)
        message, button = await world.wait_button(DEVOPS, DEPLOY, timeout=60)
        status, _ = await world.press(DEVOPS, button, message)
        assert status == 200
        await eventually(lambda: world.github.dispatches, timeout=30, what="the dev dispatch")
        await asyncio.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    async with bot_process(world, log):
        await eventually(
            lambda: thread_replies(world, DEVOPS, "dev is green"),
            timeout=60,
            what="dev green after the restart",
        )
    dev = [d for d in world.github.dispatches if d["inputs"]["partition"] == "dev"]
    assert len(dev) == 1, world.github.dispatches
    # The second process recovered the rollout instead of starting anything new.
    assert "rollout-2" not in log.read_text()


async def drive_owner_http(world: World) -> None:
    """Phases 1–6 against a bot in another process: wait on what Slack shows, not on DBOS."""
    path = [
        (OWNER, "co:eligible"),
        (OWNER, "co:done"),
        (OWNER, "co:done"),
        (OWNER, "co:done"),
        (OWNER, "co:have_all_four"),
        (OWNER, "co:choose_send"),
        (OWNER, "co:sent"),
        (DEVOPS, "co:received"),
        (DEVOPS, "co:vaults_populated"),
    ]
    pressed: set[str] = set()
    for user, action in path:

        def fresh(user: str = user, action: str = action) -> object:
            found = world.find_button(user, action)
            return found if found and found[0].ts not in pressed else None

        message, button = await eventually(fresh, timeout=30, what=f"{action} for {user}")
        pressed.add(message.ts)
        status, _ = await world.press(user, button, message)
        assert status == 200


async def test_a_press_acked_just_before_shutdown_is_not_lost(world: World) -> None:
    async with world.bot():
        await start(world)
        await world.wait_step("prereq")
        message, button = await world.wait_button(OWNER, "co:eligible")
        status, _ = await world.press(OWNER, button, message)
        assert status == 200
        # Stop at once: the press was acked, its hand-over runs in a lazy listener.
    async with world.bot():
        state = await world.wait_step("register_sign_in")
        assert [t.action for t in state.history] == ["eligible"]
