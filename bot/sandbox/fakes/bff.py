"""A local BFF serving several partitions, each under its own path prefix.

``async with FakeBFF() as fake:`` then ``fake.url_for("dev")`` is the partition's bff_url
(``http://127.0.0.1:<port>/dev``), so its import endpoint is ``/dev/api/amazon/import``.

Behaviour per partition (``fake.set_behaviour("stage", "error:AMAZON_UPSTREAM_UNAVAILABLE")``):

* ``ok`` — 200 with a full v1 DTO (the default)
* ``partial`` — 206 with nullable fields null and ``missingFields``
* ``error:<CODE>`` — the success path answers that error code with its usual status
* ``bad_shape`` — 200 whose ``price`` is a string (fails the schema)
* ``wrong_asin`` — 200 for another ASIN
* ``full_with_nulls`` — 200 whose core fields are null (should have been 206)
* ``html_500`` — a 500 HTML page from the hosting layer
* ``not_json`` — 200 with an HTML page (bff_url points at the front end)
* ``slow:<seconds>`` — answers ``ok`` after a delay
* ``throttle`` — after the first request in a second, 429 AMAZON_RATE_LIMITED
* ``throttle_500`` — after the first request in a second, 500 INTERNAL_ERROR

Independent switches (sets of partition names): ``no_auth`` (serves without a token),
``accept_any_url`` (error path broken: 200 for any URL), ``auth_wrong_shape`` (401 without
the error body); ``error_path_code[partition] = "INVALID_REQUEST"`` makes the error path
answer another code.

The error path is implemented as the contract says: a non-Amazon URL → 400
UNRECOGNIZED_AMAZON_URL; amzn.to / a.co → UNSUPPORTED_SHORT_LINK; another Amazon
marketplace → UNSUPPORTED_AMAZON_LOCALE; no ``url`` → INVALID_REQUEST; no/wrong token → 401
AUTHENTICATION_REQUIRED.

Requests are recorded in ``fake.requests`` with ``auth`` = "ok" | "bad" | "missing"; the
token itself is never stored.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from aiohttp import web

from bot.sandbox.fakes.server import LoopbackFake

STATUS_FOR_CODE = {
    "AUTHENTICATION_REQUIRED": 401,
    "INVALID_REQUEST": 400,
    "UNRECOGNIZED_AMAZON_URL": 400,
    "UNSUPPORTED_SHORT_LINK": 400,
    "UNSUPPORTED_AMAZON_LOCALE": 400,
    "AMAZON_RATE_LIMITED": 429,
    "AMAZON_UPSTREAM_UNAVAILABLE": 502,
    "INTERNAL_ERROR": 500,
}

IMPORT_PATH = "/api/amazon/import"


def full_dto(asin: str) -> dict[str, Any]:
    return {
        "asin": asin,
        "url": f"https://www.amazon.com/dp/{asin}?tag=arda-20",
        "title": "Echo Dot (4th Gen) | Smart speaker with Alexa | Charcoal",
        "brand": "Amazon",
        "imageUrl": f"https://m.media-amazon.com/images/I/{asin}.jpg",
        "additionalImageUrls": [],
        "price": {"amount": 49.99, "currency": "USD", "displayAmount": "$49.99"},
        "availability": "IN_STOCK",
        "features": ["Meet Echo Dot", "Rich and loud sound"],
        "category": "Electronics",
        "rating": 4.7,
        "reviewCount": 1234,
        "missingFields": None,
        "fetchedAt": "2025-01-01T00:00:00Z",
    }


def partial_dto(asin: str) -> dict[str, Any]:
    dto = full_dto(asin)
    missing = ["price", "availability", "rating", "reviewCount", "brand"]
    for name in missing:
        dto[name] = None
    dto["missingFields"] = missing
    return dto


def error_body(code: str, message: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message or code.replace("_", " ").lower()}}


@dataclass
class BffRequest:
    partition: str
    path: str
    url: str | None
    auth: str
    status: int = 0
    at: float = field(default_factory=time.monotonic)


class FakeBFF(LoopbackFake):
    def __init__(self, tokens: dict[str, str] | None = None) -> None:
        # partition -> the bearer token it accepts
        self.tokens: dict[str, str] = dict(tokens or {})
        self.behaviour: dict[str, str] = {}
        self.no_auth: set[str] = set()
        self.accept_any_url: set[str] = set()
        self.auth_wrong_shape: set[str] = set()
        # partition -> code the error path answers instead of UNRECOGNIZED_AMAZON_URL
        self.error_path_code: dict[str, str] = {}
        self.requests: list[BffRequest] = []
        self._last_success: dict[str, float] = {}

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{partition}/{tail:.*}", self._handle)

    @property
    def url(self) -> str:
        return self.base_url

    def url_for(self, partition: str) -> str:
        return f"{self.url}/{partition}"

    def set_behaviour(self, partition: str, behaviour: str) -> None:
        self.behaviour[partition] = behaviour

    def requests_for(self, partition: str) -> list[BffRequest]:
        return [r for r in self.requests if r.partition == partition]

    def _auth(self, partition: str, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        if not header:
            return "missing"
        expected = self.tokens.get(partition)
        return "ok" if expected and header == f"Bearer {expected}" else "bad"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        partition = request.match_info["partition"]
        tail = "/" + request.match_info["tail"]
        record = BffRequest(partition, tail, None, self._auth(partition, request))
        self.requests.append(record)
        response = await self._respond(partition, tail, request, record)
        record.status = response.status
        return response

    async def _respond(
        self, partition: str, tail: str, request: web.Request, record: BffRequest
    ) -> web.Response:
        if tail != IMPORT_PATH:
            return web.Response(status=404, text="<html>Not Found</html>", content_type="text/html")
        if request.method != "POST":
            return web.json_response(error_body("INVALID_REQUEST", "use POST"), status=405)
        behaviour = self.behaviour.get(partition, "ok")
        if behaviour == "html_500":
            return web.Response(
                status=500,
                text="<html><body>502 Bad Gateway (CloudFront)</body></html>",
                content_type="text/html",
            )
        if behaviour == "not_json":
            return web.Response(
                status=200, text="<!doctype html><html></html>", content_type="text/html"
            )
        if record.auth != "ok" and partition not in self.no_auth:
            if partition in self.auth_wrong_shape:
                return web.Response(status=401, text="Unauthorized")
            return web.json_response(
                error_body("AUTHENTICATION_REQUIRED", "a bearer token is required"), status=401
            )
        try:
            body = await request.json()
        except ValueError:
            return web.json_response(error_body("INVALID_REQUEST", "body must be JSON"), status=400)
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url:
            return web.json_response(error_body("INVALID_REQUEST", "url is required"), status=400)
        record.url = url
        asin = self._asin(url)
        if partition in self.accept_any_url:
            return web.json_response(full_dto(asin or "B000000000"))
        if isinstance(asin, web.Response):
            override = self.error_path_code.get(partition)
            if override:
                return web.json_response(
                    error_body(override), status=STATUS_FOR_CODE.get(override, 500)
                )
            return asin
        return await self._success(partition, behaviour, asin)

    @staticmethod
    def _asin(url: str) -> Any:
        parsed = urlparse(url)
        host = (parsed.hostname or "").lower()
        if host in {"amzn.to", "a.co", "amzn.eu"}:
            return web.json_response(
                error_body("UNSUPPORTED_SHORT_LINK", "expand the short link first"), status=400
            )
        if host.endswith("amazon.com") or re.search(r"(^|\.)amazon\.[a-z.]+$", host):
            if not host.endswith("amazon.com"):
                return web.json_response(
                    error_body("UNSUPPORTED_AMAZON_LOCALE", "only amazon.com is supported"),
                    status=400,
                )
            m = re.search(r"/(?:dp|gp/product)/([A-Z0-9]{10})", parsed.path)
            if m:
                return m[1]
        return web.json_response(
            error_body("UNRECOGNIZED_AMAZON_URL", "not an Amazon product link"), status=400
        )

    async def _success(self, partition: str, behaviour: str, asin: str) -> web.Response:
        if behaviour.startswith("slow:"):
            await asyncio.sleep(float(behaviour.split(":", 1)[1]))
            behaviour = "ok"
        if behaviour in {"throttle", "throttle_500"}:
            now = time.monotonic()
            last = self._last_success.get(partition)
            if last is not None and now - last < 1.0:
                if behaviour == "throttle":
                    return web.json_response(
                        error_body("AMAZON_RATE_LIMITED", "Amazon throttled the request"),
                        status=429,
                        headers={"Retry-After": "1"},
                    )
                return web.json_response(error_body("INTERNAL_ERROR", "oops"), status=500)
            self._last_success[partition] = now
            behaviour = "ok"
        if behaviour.startswith("error:"):
            code = behaviour.split(":", 1)[1]
            return web.json_response(error_body(code), status=STATUS_FOR_CODE.get(code, 500))
        if behaviour == "partial":
            return web.json_response(partial_dto(asin), status=206)
        if behaviour == "bad_shape":
            dto = full_dto(asin)
            dto["price"] = "$49.99"
            return web.json_response(dto)
        if behaviour == "wrong_asin":
            return web.json_response(full_dto("B07XJ8C8F5"))
        if behaviour == "full_with_nulls":
            return web.json_response(partial_dto(asin), status=200)
        return web.json_response(full_dto(asin))
