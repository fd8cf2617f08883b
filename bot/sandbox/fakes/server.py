"""Serve a fake on loopback, on a port the OS picks (never a fixed port)."""

from __future__ import annotations

from typing import Self

from aiohttp import web


async def serve_loopback(
    app: web.Application, **runner_options: float
) -> tuple[web.AppRunner, str]:
    """Start `app` on 127.0.0.1:<ephemeral>; returns the runner and its base URL."""
    runner = web.AppRunner(app, access_log=None, **runner_options)  # type: ignore[arg-type]
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


class LoopbackFake:
    """`async with fake:` means `await fake.start()`, then `await fake.close()`."""

    async def start(self) -> Self:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
