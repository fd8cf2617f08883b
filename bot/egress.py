"""The bot's HTTP client session, through the proxy the environment names.

A host that reaches the internet only through a proxy says so with `HTTPS_PROXY` /
`HTTP_PROXY` (either case) and exempts hosts with `NO_PROXY`. slack_sdk, boto3 and `op`
read those themselves; aiohttp does not unless told to trust the environment, which also
makes it read `~/.netrc` for every request (on the loop's default executor) and refuse a
request that carries its own `Authorization` header to a host `~/.netrc` names — every
GitHub, Linear and BFF call. So the session gets the proxy from a middleware instead: the
variables are read once, when the session is made, and a host's answer is kept.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp import ClientHandlerType, ClientRequest, ClientResponse
from yarl import URL

from bot.logging import get_logger

log = get_logger(__name__)


def _variable(environ: Mapping[str, str], name: str) -> str:
    """`name` in lower case first, as curl and Python's urllib read it, then upper case."""
    return (environ.get(name.lower()) or environ.get(name.upper()) or "").strip()


def _credentials(url: URL) -> str | None:
    """The `Proxy-Authorization` value for the user and password in a proxy's URL."""
    if not url.user:
        return None
    pair = f"{url.user}:{url.password or ''}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _exempted(host: str, port: int | None, no_proxy: list[str]) -> bool:
    """Whether NO_PROXY's entries exempt `host`: `*`, the host itself or a domain it is in
    (`example.com` and `.example.com` both take `api.example.com`), either with `:port`
    to exempt only that port — as curl and Python's urllib read them."""
    host = host.lower().rstrip(".")
    for entry in no_proxy:
        if entry == "*":
            return True
        name, wanted = entry, None
        if entry.count(":") == 1:  # name:port (an IPv6 address has several colons)
            name, _, number = entry.partition(":")
            wanted = int(number) if number.isdigit() else -1
        name = name.strip("[]").lstrip(".").rstrip(".")
        if wanted is not None and wanted != port:
            continue
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


class EnvironmentProxy:
    """An aiohttp client middleware: each request goes through the proxy its scheme's
    variable names, unless `NO_PROXY` exempts its host or it already has a proxy."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._proxies: dict[str, tuple[URL, str | None]] = {}
        for scheme in ("http", "https"):
            value = _variable(environ, f"{scheme}_proxy")
            if not value:
                continue
            url = URL(value if "://" in value else f"http://{value}")
            if url.scheme != "http" or not url.host:
                log.warning(
                    "proxy_ignored",
                    variable=f"{scheme.upper()}_PROXY",
                    reason="only an http:// proxy (host and port) can be used; "
                    "the bot's GitHub, Linear and BFF calls go out directly",
                )
                continue
            self._proxies[scheme] = (url.with_user(None), _credentials(url))
        no_proxy = _variable(environ, "no_proxy").lower().split(",")
        self._exempt = [entry.strip() for entry in no_proxy if entry.strip()]
        self._chosen: dict[tuple[str, str, int | None], tuple[URL, str | None] | None] = {}

    def __bool__(self) -> bool:
        return bool(self._proxies)

    def proxy_for(self, url: URL) -> tuple[URL, str | None] | None:
        """The proxy (and its credentials) for `url`, None to go direct."""
        key = (url.scheme, url.host or "", url.port)
        if key not in self._chosen:
            proxy = self._proxies.get(url.scheme)
            if proxy is not None and _exempted(key[1], key[2], self._exempt):
                proxy = None
            if len(self._chosen) > 256:  # hosts come from the configuration: a few
                self._chosen.clear()
            self._chosen[key] = proxy
        return self._chosen[key]

    async def __call__(self, req: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        if req.proxy is None:
            chosen = self.proxy_for(req.url)
            if chosen is not None:
                proxy, credentials = chosen
                if credentials is None:
                    req.update_proxy(proxy, None, None)
                elif req.is_ssl():  # the CONNECT that opens the tunnel carries them
                    req.update_proxy(proxy, None, {"Proxy-Authorization": credentials})
                else:  # the request itself goes to the proxy: it carries them
                    req.update_proxy(proxy, None, None)
                    req.headers["Proxy-Authorization"] = credentials
        return await handler(req)


def http_session(environ: Mapping[str, str] | None = None, **kwargs: Any) -> aiohttp.ClientSession:
    """The session every outbound call of the bot shares (`**kwargs` as aiohttp takes
    them), through the environment's proxy when it names one."""
    proxy = EnvironmentProxy(os.environ if environ is None else environ)
    if proxy:
        kwargs["middlewares"] = (proxy,)
    return aiohttp.ClientSession(**kwargs)
