"""A forwarding HTTP proxy on loopback, as a corporate egress proxy works for plain
`http://` targets: the client sends the absolute URL in the request line (with
`Proxy-Authorization` when the proxy wants credentials) and the proxy makes the request
itself. Records what went through it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Self

import aiohttp
from aiohttp import web
from yarl import URL

# Hop-by-hop headers a proxy does not pass on (RFC 9110 §7.6.1), and the Host it rewrites.
_HOP = {
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


@dataclass
class ForwardingProxy:
    user: str | None = None
    password: str | None = None
    # (method, absolute URL) of each request forwarded.
    forwarded: list[tuple[str, str]] = field(default_factory=list)
    refused: int = 0
    _runner: web.AppRunner | None = None
    _client: aiohttp.ClientSession | None = None
    url: str = ""

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._client = aiohttp.ClientSession(auto_decompress=False)  # bodies as they came
        return self

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def hosts(self) -> set[str]:
        return {str(URL(url).origin()) for _, url in self.forwarded}

    def _authorised(self, request: web.Request) -> bool:
        if self.user is None:
            return True
        wanted = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return request.headers.get("Proxy-Authorization") == f"Basic {wanted}"

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            self.refused += 1
            return web.Response(status=407, headers={"Proxy-Authenticate": 'Basic realm="egress"'})
        assert self._client is not None
        self.forwarded.append((request.method, str(request.url)))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        async with self._client.request(
            request.method,
            request.url,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as answer:
            body = await answer.read()
            passed = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
            return web.Response(status=answer.status, body=body, headers=passed)
