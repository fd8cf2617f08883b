"""Faults the GitHub stand-in serves instead of (or after) the real answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web


@dataclass
class Fault:
    pattern: re.Pattern[str]
    method: str | None
    status: int
    times: int
    after: bool  # the request is processed first (a run IS created), then answered so
    headers: dict[str, str]
    body: Any

    def response(self) -> web.Response:
        """As GitHub fails: its JSON message, or the HTML page of an overloaded front end."""
        if self.body is not None:
            return web.json_response(self.body, status=self.status, headers=self.headers)
        if self.status >= 500:
            return web.Response(
                status=self.status,
                text="<html><body><h1>Unicorn!</h1></body></html>",
                content_type="text/html",
                headers=self.headers,
            )
        return web.json_response({"message": "error"}, status=self.status, headers=self.headers)


class Faults:
    def __init__(self) -> None:
        self._armed: list[Fault] = []

    def arm(
        self,
        path_pattern: str,
        *,
        status: int = 502,
        times: int = 1,
        method: str | None = None,
        after: bool = False,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        self._armed.append(
            Fault(
                re.compile(path_pattern),
                method.upper() if method else None,
                status,
                times,
                after,
                dict(headers or {}),
                body,
            )
        )

    def rate_limit(self, path_pattern: str, *, reset_in: int = 1, times: int = 1) -> None:
        """GitHub's primary rate limit: 403 with the X-RateLimit headers."""
        reset = int(datetime.now(UTC).timestamp()) + reset_in
        self.arm(
            path_pattern,
            status=403,
            times=times,
            headers={
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset),
            },
            body={"message": "API rate limit exceeded for user ID 1."},
        )

    def pending(self, path_pattern: str) -> int:
        """Faults armed for exactly this pattern and not yet served."""
        return sum(f.times for f in self._armed if f.pattern.pattern == path_pattern)

    def take(self, request: web.Request) -> Fault | None:
        for fault in self._armed:
            if fault.times <= 0:
                continue
            if fault.method and fault.method != request.method:
                continue
            if fault.pattern.search(request.path):
                fault.times -= 1
                return fault
        return None
