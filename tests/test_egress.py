"""Outbound HTTP through the proxy the environment names (`bot.egress`): read as curl and
Python read HTTP(S)_PROXY and NO_PROXY, and applied to the session every GitHub, Linear
and BFF call shares — proved through a forwarding proxy on loopback."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import structlog
from yarl import URL

from bot.egress import EnvironmentProxy, _exempted, http_session
from bot.preflight import check_github, check_linear, collect
from tests.proxy_fake import ForwardingProxy
from tests.scenario import DEVOPS, World, eventually


@pytest.mark.parametrize(
    ("host", "port", "no_proxy", "exempt"),
    [
        ("api.github.com", 443, "*", True),
        ("api.github.com", 443, "github.com", True),
        ("api.github.com", 443, ".github.com", True),
        ("github.com", 443, ".github.com", True),
        ("notgithub.com", 443, "github.com", False),
        ("api.linear.app", 443, "github.com, linear.app", True),
        ("API.Linear.App", 443, "linear.app", True),
        ("127.0.0.1", 8080, "127.0.0.1:8080", True),
        ("127.0.0.1", 8081, "127.0.0.1:8080", False),
        ("bff.internal", 80, "", False),
    ],
)
def test_no_proxy_is_read_as_curl_reads_it(
    host: str, port: int, no_proxy: str, exempt: bool
) -> None:
    entries = [e.strip().lower() for e in no_proxy.split(",") if e.strip()]
    assert _exempted(host, port, entries) is exempt


def test_the_variables_are_read_in_either_case_lower_first() -> None:
    proxy = EnvironmentProxy(
        {
            "https_proxy": "http://lower:3128",
            "HTTPS_PROXY": "http://upper:3128",
            "HTTP_PROXY": "proxy.corp:8080",
            "NO_PROXY": "internal",
        }
    )
    assert proxy.proxy_for(URL("https://api.github.com/x")) == (URL("http://lower:3128"), None)
    # No scheme: http:// is meant, as curl takes it.
    assert proxy.proxy_for(URL("http://bff.dev/x")) == (URL("http://proxy.corp:8080"), None)
    assert proxy.proxy_for(URL("http://bff.internal/x")) is None
    assert not EnvironmentProxy({})


def test_a_proxy_the_session_cannot_use_is_named_and_not_used() -> None:
    with structlog.testing.capture_logs() as logs:
        proxy = EnvironmentProxy({"HTTPS_PROXY": "https://secure-proxy:443"})
    assert not proxy
    [entry] = [e for e in logs if e["event"] == "proxy_ignored"]
    assert entry["variable"] == "HTTPS_PROXY" and "only an http:// proxy" in entry["reason"]


async def test_without_proxy_variables_the_session_has_no_middleware() -> None:
    async with http_session({}) as session:
        assert not session._middlewares


async def test_github_and_linear_calls_go_through_the_proxy_with_its_credentials(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = await ForwardingProxy(user="bot", password="s3cr3t-proxy-pass").start()
    try:
        # Without credentials the proxy refuses (407), and the checks say so.
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        rows = await collect(world.settings(), [check_github, check_linear])
        assert proxy.refused and not proxy.forwarded
        assert not all(row.ok for row in rows)

        monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("//", "//bot:s3cr3t-proxy-pass@"))
        rows = await collect(world.settings(), [check_github, check_linear])
        assert all(row.ok for row in rows), rows
        assert proxy.hosts() == {
            str(URL(world.github.url).origin()),
            str(URL(world.linear.url).origin()),
        }

        # NO_PROXY exempts them: straight to the fakes.
        before = len(proxy.forwarded)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        rows = await collect(world.settings(), [check_github, check_linear])
        assert all(row.ok for row in rows), rows
        assert len(proxy.forwarded) == before
    finally:
        await proxy.close()


async def test_the_running_bot_s_calls_go_through_the_proxy(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve`'s session, as `check`'s: devOps runs the probe watch, which calls each
    partition's BFF; Slack's calls (slack_sdk reads the same variable) go the same way."""
    proxy = await ForwardingProxy().start()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    try:
        async with world.bot():
            answer = await world.command("watch probe", DEVOPS)
            assert not answer["text"].startswith(":no_entry:"), answer
            bff = str(URL(world.bff.url).origin())
            await eventually(
                lambda: world.bff.requests and bff in proxy.hosts(),
                what="the probe's BFF calls, through the proxy",
            )
        assert str(URL(world.slack.api_url).origin()) in proxy.hosts()
    finally:
        await proxy.close()


async def test_an_https_call_asks_the_proxy_for_a_tunnel_with_the_credentials() -> None:
    """What production does (every upstream is https): a `CONNECT host:443` to the proxy,
    carrying `Proxy-Authorization`; the request itself then goes inside the tunnel. The
    proxy here refuses the tunnel, so nothing leaves this machine."""
    heads: list[str] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append((await reader.readuntil(b"\r\n\r\n")).decode())
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        environ = {"HTTPS_PROXY": f"http://bot:pw@127.0.0.1:{port}"}
        async with http_session(environ) as session:
            with pytest.raises(aiohttp.ClientHttpProxyError) as refused:
                await session.get("https://api.github.com/repos/Arda-cards/infrastructure")
    finally:
        server.close()
        await server.wait_closed()
    assert refused.value.status == 403
    [head] = heads
    assert head.startswith("CONNECT api.github.com:443 HTTP/1.1\r\n"), head
    assert "Proxy-Authorization: Basic Ym90OnB3\r\n" in head  # bot:pw
    assert "Authorization: Bearer" not in head  # the request's own headers stay inside
