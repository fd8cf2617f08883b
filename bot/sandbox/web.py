"""The page and its API, served by the supervisor on one loopback port.

`GET /` the page; `GET /api/snapshot` everything shown; `GET /api/feed` server-sent
events (a new or edited message, an ephemeral, an App Home, modals, controls, a reset);
`POST /api/act` what a person does (command, press, submit, close, home, message);
`POST /api/control` the rehearsal strip.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from bot.logging import get_logger
from bot.sandbox.platform import PlatformError
from bot.sandbox.scene import PEOPLE
from bot.sandbox.supervisor import Sandbox

log = get_logger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
KEEPALIVE_SECONDS = 15.0
SANDBOX: web.AppKey[Sandbox] = web.AppKey("sandbox", Sandbox)
_USERS = {p.user_id for p in PEOPLE}


def _sandbox(request: web.Request) -> Sandbox:
    return request.app[SANDBOX]


async def page(_: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def snapshot(request: web.Request) -> web.Response:
    return web.json_response(_sandbox(request).snapshot())


async def feed(request: web.Request) -> web.StreamResponse:
    sandbox = _sandbox(request)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sandbox.feeds.add(queue)
    try:
        await response.write(b": connected\n\n")
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            await response.write(f"data: {json.dumps(event)}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        sandbox.feeds.discard(queue)
    return response


async def act(request: web.Request) -> web.Response:
    """One thing a person does in the page, carried out as Slack would."""
    sandbox = _sandbox(request)
    body = await request.json()
    user = str(body.get("user", ""))
    if user not in _USERS:
        return web.json_response(
            {"error": f"nobody called {user!r} is in this rehearsal"}, status=400
        )
    platform = sandbox.platform_or_fail
    kind = body.get("kind")
    actions: dict[str, Callable[[], Awaitable[None]]] = {
        "command": lambda: platform.command(user, str(body["channel"]), str(body["text"])),
        "press": lambda: platform.press(
            user, dict(body["where"]), str(body["action_id"]), str(body["block_id"])
        ),
        "submit": lambda: platform.submit(user, str(body["view_id"]), dict(body["values"])),
        "close": lambda: platform.close(user, str(body["view_id"])),
        "home": lambda: platform.open_home(user),
        "message": lambda: platform.message(
            user, str(body["channel"]), str(body["text"]), body.get("thread_ts")
        ),
    }
    action = actions.get(str(kind))
    if action is None:
        return web.json_response({"error": f"unknown kind {kind!r}"}, status=400)
    try:
        await action()
    except (PlatformError, KeyError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"ok": True})


async def control(request: web.Request) -> web.Response:
    body = await request.json()
    try:
        done = await _sandbox(request).control(str(body.get("action", "")), body)
    except (ValueError, KeyError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"ok": True, "done": done})


def create_sandbox_app(sandbox: Sandbox) -> web.Application:
    app = web.Application()
    app[SANDBOX] = sandbox
    app.router.add_get("/", page)
    app.router.add_get("/api/snapshot", snapshot)
    app.router.add_get("/api/feed", feed)
    app.router.add_post("/api/act", act)
    app.router.add_post("/api/control", control)
    app.router.add_static("/static/", STATIC)
    return app


async def run_sandbox(
    host: str = "127.0.0.1", port: int = 3000, *, out: TextIO = sys.stdout
) -> None:
    """Start everything, print the URL, and serve until Ctrl-C or SIGTERM; then stop the
    bot and the stand-ins and remove the work directory."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    sandbox = Sandbox()
    runner = web.AppRunner(create_sandbox_app(sandbox), access_log=None, shutdown_timeout=1.0)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()  # the page's port first: if it is taken, nothing else starts
        bound = runner.addresses[0][1]
        await sandbox.start()
        print(
            f"Rehearsal sandbox: http://{host}:{bound}\n"
            "Nothing real is touched: Slack, GitHub, Linear, 1Password, Amplify and the BFFs "
            "are local stand-ins.\nTo serve Slack instead, set SLACK_BOT_TOKEN and "
            "SLACK_SIGNING_SECRET (README → Create the Slack app). Ctrl-C stops.",
            file=out,
            flush=True,
        )
        await stop.wait()
    finally:
        await runner.cleanup()
        await sandbox.close()
