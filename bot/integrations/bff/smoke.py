"""`SmokeTester`: run the smoke checks against one partition's BFF and report."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import aiohttp
from pydantic import SecretStr

from bot.integrations.bff.checks import (
    NON_AMAZON_URL,
    Context,
    Contract,
    judge_auth_required,
    judge_burst,
    judge_error_path,
    judge_import,
    no_answer,
    no_token,
)
from bot.integrations.bff.client import Answer, BffClient
from bot.integrations.bff.report import SmokeCheck, SmokeReport, load_dto_schema
from bot.logging import get_logger
from bot.pacing import Pacer

log = get_logger(__name__)

DEFAULT_PATH = "/api/amazon/import"
DEFAULT_ASIN = "B08N5WRWNW"


class SmokeTester:
    """Runs the smoke checks against a partition's BFF."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        path: str = DEFAULT_PATH,
        asin: str = DEFAULT_ASIN,
        schema: dict[str, Any] | None = None,
        timeout: float = 30.0,
        burst: int = 3,
        pacer: Pacer | None = None,
    ) -> None:
        self._pacer = pacer
        self._client = BffClient(session, timeout=timeout)
        self.path = "/" + path.lstrip("/")
        self.asin = asin
        self.schema = schema if schema is not None else load_dto_schema()
        self._contract = Contract(self.schema, asin)
        self.burst = max(1, burst)

    @property
    def product_url(self) -> str:
        return f"https://www.amazon.com/dp/{self.asin}"

    async def run(
        self,
        bff_url: str,
        token: SecretStr | None,
        *,
        throttle_check: bool = False,
        token_env: str | None = None,
        partition: str | None = None,
    ) -> SmokeReport:
        """All checks against `bff_url`; `token_env`/`partition` only improve the advice."""
        base = bff_url.rstrip("/")
        ctx = Context(
            url=base + self.path,
            path=self.path,
            token_env=token_env or "the partition's bff_token_env variable",
            partition=partition or "<partition>",
        )
        checks = [
            await self._import(ctx, token),
            await self._error_path(ctx, token),
            await self._auth_required(ctx),
        ]
        if throttle_check:
            checks.append(await self._throttle(ctx, token))
        report = SmokeReport(
            ok=all(c.ok for c in checks), bff_url=base, asin=self.asin, checks=checks
        )
        log.info(
            "bff_smoke_tested", bff_url=base, ok=report.ok, failed=[c.name for c in report.failed]
        )
        return report

    async def _judged(
        self,
        name: str,
        ctx: Context,
        url: str,
        token: SecretStr | None,
        judge: Callable[[Answer], SmokeCheck],
    ) -> SmokeCheck:
        """POST `url` for import, then judge the answer (or its absence)."""
        answer = await self._client.post(ctx.url, {"url": url}, token)
        return no_answer(name, ctx, answer) if answer.failure else judge(answer)

    async def _import(self, ctx: Context, token: SecretStr | None) -> SmokeCheck:
        if token is None:
            return no_token("import", ctx, "the import")
        judge = partial(judge_import, self._contract, ctx)
        if self._pacer is not None:
            await self._pacer.wait()  # the call that reaches Amazon
        return await self._judged("import", ctx, self.product_url, token, judge)

    async def _error_path(self, ctx: Context, token: SecretStr | None) -> SmokeCheck:
        if token is None:
            return no_token("error_path", ctx, "the error path")
        judge = partial(judge_error_path, ctx)
        return await self._judged("error_path", ctx, NON_AMAZON_URL, token, judge)

    async def _auth_required(self, ctx: Context) -> SmokeCheck:
        judge = partial(judge_auth_required, ctx)
        return await self._judged("auth_required", ctx, self.product_url, None, judge)

    async def _throttle(self, ctx: Context, token: SecretStr | None) -> SmokeCheck:
        """A burst of concurrent imports. Amazon allows 1 request per second per credential,
        so some may be throttled: fine, as long as the BFF says so properly."""
        if token is None:
            return no_token("throttle", ctx, "the throttle path")
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(
                self._client.post(ctx.url, {"url": self.product_url}, token)
                for _ in range(self.burst)
            )
        )
        total_ms = int((time.perf_counter() - started) * 1000)
        return judge_burst(self._contract, ctx, answers, total_ms)
