"""Serve a stand-in on loopback, on a port the OS picks (never a fixed port)."""

from __future__ import annotations

from typing import Self

from aiohttp import web

# aiohttp's own default: how long a closing server waits for requests in flight.
SHUTDOWN_TIMEOUT_SECONDS = 60.0


async def serve_loopback(
    app: web.Application, *, shutdown_timeout: float = SHUTDOWN_TIMEOUT_SECONDS
) -> tuple[web.AppRunner, str]:
    """Start `app` on 127.0.0.1:<ephemeral>; returns the runner and its base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


class LoopbackFake:
    """A stand-in served on loopback: a subclass adds its routes in `routes(app)`.

    `async with fake:` means `await fake.start()`, then `await fake.close()`; `base_url`
    is where it listens once started.
    """

    shutdown_timeout: float = SHUTDOWN_TIMEOUT_SECONDS
    _runner: web.AppRunner | None = None
    _base_url: str | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> Self:
        app = web.Application()
        self.routes(app)
        self._runner, self._base_url = await serve_loopback(
            app, shutdown_timeout=self.shutdown_timeout
        )
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            name = type(self).__name__
            raise RuntimeError(f"{name} is not started (use `async with {name}() as fake`)")
        return self._base_url

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
