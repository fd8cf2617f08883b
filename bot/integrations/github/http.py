"""GitHub's REST API over aiohttp: one exchange, retries, rate limits, conditional GETs.

Version 2022-11-28; the session and base URL are injected so tests point this at
`bot/sandbox/fakes/github.py`. A safe request (GET) is retried on 502/503/504 and dropped
connections with a doubling pause, and waits out a rate limit when the wait is short
enough; `send()` is the single exchange the dispatch builds its own, more careful,
retries on (a POST that failed ambiguously may still have started a run).

The token lives in a `SecretStr`, is only ever put in the Authorization header, and never
appears in an error, a log line or `repr`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypedDict, Unpack

import aiohttp
from pydantic import SecretStr

from bot.integrations.errors import IntegrationError
from bot.integrations.github import texts
from bot.logging import get_logger

log = get_logger(__name__)

API_VERSION = "2022-11-28"
USER_AGENT = "creators-onboard/0.1 (+https://github.com/Arda-cards)"
RETRY_STATUSES = frozenset({502, 503, 504})

Sleep = Callable[[float], Awaitable[None]]


class GitHubError(IntegrationError):
    """A GitHub request failed in a way a person can act on."""


class Response:
    """One answer: status, headers, the raw text and the parsed JSON body (or None)."""

    __slots__ = ("body", "headers", "status", "text")

    def __init__(self, status: int, headers: Mapping[str, str], text: str, body: Any) -> None:
        self.status = status
        self.headers = headers
        self.text = text
        self.body = body

    def message(self) -> str:
        """GitHub's own error message, short enough to quote."""
        if isinstance(self.body, dict) and isinstance(self.body.get("message"), str):
            return str(self.body["message"])[:300]
        return self.text[:200].strip()


class Ambiguous(Exception):
    """The request may or may not have reached GitHub (timeout, dropped connection, 5xx)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Limits(TypedDict, total=False):
    """How patient the transport is. Unset keys keep their defaults."""

    max_attempts: int  # tries per request, the first included (default 4)
    retry_base_delay: float  # seconds before the first retry, doubling after (default 1)
    request_timeout: float  # seconds per exchange (default 30)
    max_rate_limit_wait: float  # longest rate-limit wait slept through (default 120 s)
    sleep: Sleep  # injected in tests


class GitHubHttp:
    """Requests to one GitHub API with one token."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        token: SecretStr,
        **limits: Unpack[Limits],
    ) -> None:
        self._session = session
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.max_attempts = max(1, limits.get("max_attempts", 4))
        self.base_delay = limits.get("retry_base_delay", 1.0)
        self._timeout = aiohttp.ClientTimeout(total=limits.get("request_timeout", 30.0))
        self._max_rate_wait = limits.get("max_rate_limit_wait", 120.0)
        self.sleep = limits.get("sleep", asyncio.sleep)

    def __repr__(self) -> str:
        return f"GitHubHttp(api_url={self.api_url!r})"

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        if extra:
            headers.update(extra)
        return headers

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """One HTTP exchange. Raises `Ambiguous` when the outcome is unknown."""
        try:
            async with self._session.request(
                method,
                self.api_url + path,
                params=params,
                json=json_body,
                headers=self._headers(headers),
                timeout=self._timeout,
            ) as resp:
                text = await resp.text()
                body: Any = None
                if text and "json" in resp.headers.get("Content-Type", ""):
                    try:
                        body = await resp.json(content_type=None)
                    except ValueError:
                        body = None
                return Response(resp.status, resp.headers, text, body)
        except aiohttp.ClientConnectorError as exc:
            # Never connected: nothing was sent. Still worth a retry.
            raise Ambiguous(f"cannot connect to {self.api_url} ({type(exc).__name__})") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Ambiguous(f"{type(exc).__name__} talking to {self.api_url}") from None

    async def get(
        self,
        path: str,
        *,
        action: str,
        params: Mapping[str, str] | None = None,
        etag: str | None = None,
    ) -> Response:
        """A GET, retried on 502/503/504, connection errors and short rate limits.

        With `etag` it is conditional: an unchanged resource answers 304 with no body.
        """
        headers = {"If-None-Match": etag} if etag else None
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = await self.send("GET", path, params=params, headers=headers)
            except Ambiguous as exc:
                failure = exc.what
            else:
                if await self.waited_out_rate_limit(resp, attempt, action):
                    continue
                if resp.status not in RETRY_STATUSES:
                    return resp
                failure = f"HTTP {resp.status}"
            await self.retry_later(attempt, action, failure)

    # ------------------------------------------------------------------ retry policy

    def rate_limit_wait(self, resp: Response) -> float | None:
        """Seconds to wait when `resp` is a rate-limit answer, else None."""
        if resp.status not in (403, 429):
            return None
        retry_after = resp.headers.get("Retry-After")
        if retry_after and retry_after.isdigit():
            return float(retry_after)
        if resp.headers.get("X-RateLimit-Remaining") == "0":
            reset = resp.headers.get("X-RateLimit-Reset", "")
            if reset.isdigit():
                return max(0.0, int(reset) - time.time()) + 1.0
            return 60.0
        if resp.status == 429 or "secondary rate limit" in resp.message().lower():
            return 60.0
        return None

    async def waited_out_rate_limit(self, resp: Response, attempt: int, action: str) -> bool:
        """True after sleeping through a rate limit; False when `resp` is not one.

        Raises when the wait is longer than allowed or the attempts are used up.
        """
        wait = self.rate_limit_wait(resp)
        if wait is None:
            return False
        if wait > self._max_rate_wait or attempt >= self.max_attempts:
            raise GitHubError(texts.rate_limited(wait), retryable=True, status=429)
        log.warning("github_rate_limited", action=action, wait_s=round(wait, 1))
        await self.sleep(wait)
        return True

    async def retry_later(self, attempt: int, action: str, what: str) -> None:
        """Pause before the next attempt (doubling), or raise when none is left."""
        if attempt >= self.max_attempts:
            problem = texts.unavailable(action, what, self.max_attempts, self.api_url)
            raise GitHubError(problem, retryable=True)
        delay = self.base_delay * (2 ** (attempt - 1))
        log.warning("github_retry", action=action, attempt=attempt, problem=what, delay_s=delay)
        await self.sleep(delay)
