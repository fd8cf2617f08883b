"""The sandbox, started in-process on a free loopback port (the bot is still a child
process, as under `creators-onboard sandbox`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from bot.sandbox.supervisor import Sandbox
from bot.sandbox.web import create_sandbox_app


@dataclass
class Running:
    sandbox: Sandbox
    url: str


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    sandbox = Sandbox()
    await sandbox.start()
    runner = web.AppRunner(create_sandbox_app(sandbox), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield Running(sandbox, f"http://127.0.0.1:{runner.addresses[0][1]}/")
    finally:
        await runner.cleanup()
        await sandbox.close()
