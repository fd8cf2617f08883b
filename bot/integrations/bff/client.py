"""The BFF's import endpoint over HTTP: one POST, its answer, and how long it took.

Never raises for the BFF's sake: a refused connection or a timeout comes back as an
`Answer` whose `failure` says what happened, so the checks can judge it like any answer.
The token goes only into the Authorization header.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from pydantic import SecretStr

MAX_BODY_BYTES = 1_000_000
USER_AGENT = "creators-onboard-smoke/0.1"


@dataclass(frozen=True)
class Answer:
    status: int | None
    content_type: str
    body: Any  # parsed JSON, or None
    text: str
    failure: str | None  # no answer at all ("connection failed (…)", "no answer within 5 s")
    duration_ms: int


class BffClient:
    """POSTs JSON to a BFF with one shared session and a timeout per request."""

    def __init__(self, session: aiohttp.ClientSession, *, timeout: float = 30.0) -> None:
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._timeout_s = timeout

    async def post(self, url: str, body: Mapping[str, Any], token: SecretStr | None) -> Answer:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        started = time.perf_counter()

        def elapsed() -> int:
            return int((time.perf_counter() - started) * 1000)

        def failed(what: str) -> Answer:
            return Answer(None, "", None, "", what, elapsed())

        try:
            async with self._session.post(
                url, json=dict(body), headers=headers, timeout=self._timeout, allow_redirects=False
            ) as resp:
                raw = await resp.content.read(MAX_BODY_BYTES)
                ctype = resp.headers.get("Content-Type", "")
                text = raw.decode("utf-8", "replace")
                parsed: Any = None
                try:
                    parsed = json.loads(text) if text.strip() else None
                except ValueError:
                    parsed = None
                return Answer(resp.status, ctype, parsed, text, None, elapsed())
        except aiohttp.ClientConnectorError as exc:
            return failed(f"connection failed ({exc.strerror or type(exc).__name__})")
        except TimeoutError:
            return failed(f"no answer within {self._timeout_s:g} s")
        except aiohttp.ClientError as exc:
            return failed(f"{type(exc).__name__}")
