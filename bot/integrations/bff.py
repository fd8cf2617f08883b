"""Smoke test of one partition's BFF (DESIGN.md §3, "Smoke contract").

`SmokeTester.run(bff_url, token)` performs these checks and returns a `SmokeReport`:

1. ``import`` — the success path: ``POST {bff_url}{path}`` with
   ``{"url": "https://www.amazon.com/dp/{asin}"}`` and ``Authorization: Bearer <token>``.
   Green on 200 (full) or 206 (partial) with a JSON object whose ``asin`` is the requested
   one and that validates against the v1 DTO JSON Schema; on 200 the properties the schema
   names in ``x-full-required`` must also be non-null.
2. ``error_path`` — a non-Amazon URL must give a 4xx with ``UNRECOGNIZED_AMAZON_URL``.
3. ``auth_required`` — the success request without a token must give 401
   ``AUTHENTICATION_REQUIRED``.
4. ``throttle`` (only with ``throttle_check=True``) — a burst of ``burst`` (default 3)
   concurrent success-path requests. Amazon allows 1 request per second per credential, so
   some may be throttled; that is fine as long as the BFF says so properly. Green when every
   answer is either a valid success (200/206, right ASIN) or a 429 with a well-formed
   ``{"error": {"code": "AMAZON_RATE_LIMITED", "message": …}}``; red on anything else (a 5xx,
   ``INTERNAL_ERROR``, a malformed body), because then real users would see breakage when
   traffic peaks. The burst costs at most ``burst`` requests of the partition's quota.

Every red check carries symptom → cause → fix. The token goes only into the Authorization
header; it is never in a report, a log line or an exception.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for
from pydantic import BaseModel, ConfigDict, SecretStr

log = structlog.get_logger(__name__)

DEFAULT_PATH = "/api/amazon/import"
DEFAULT_ASIN = "B08N5WRWNW"
NON_AMAZON_URL = "https://example.com/products/not-an-amazon-link"
MAX_BODY_BYTES = 1_000_000

ERROR_CODES = (
    "AUTHENTICATION_REQUIRED",
    "INVALID_REQUEST",
    "UNRECOGNIZED_AMAZON_URL",
    "UNSUPPORTED_SHORT_LINK",
    "UNSUPPORTED_AMAZON_LOCALE",
    "AMAZON_RATE_LIMITED",
    "AMAZON_UPSTREAM_UNAVAILABLE",
    "INTERNAL_ERROR",
)


@dataclass(frozen=True)
class Diagnosis:
    cause: str
    fix: str


def _diagnoses(token_env: str, partition: str) -> dict[str, Diagnosis]:
    retry = f"`/creators-onboard smoke {partition}`"
    return {
        "AUTHENTICATION_REQUIRED": Diagnosis(
            f"The smoke-test bearer token in the environment variable {token_env} is missing, "
            "expired, or belongs to another partition.",
            f"Put a current token for the {partition} BFF in {token_env} on the bot's host, "
            f"restart the bot, then {retry}.",
        ),
        "INVALID_REQUEST": Diagnosis(
            'The BFF did not accept the request body {"url": …}: its contract changed, or '
            "smoke.path points at a different route.",
            "Compare the BFF's import contract with smoke.path in the YAML; fix whichever is "
            f"wrong, then {retry}.",
        ),
        "UNRECOGNIZED_AMAZON_URL": Diagnosis(
            "The BFF did not recognise a plain https://www.amazon.com/dp/<ASIN> link: smoke.asin "
            "is malformed, or the BFF's URL parser has regressed.",
            "Check smoke.asin (ten letters/digits, e.g. B08N5WRWNW); if it is right, roll back "
            "this partition and tell engineering.",
        ),
        "UNSUPPORTED_SHORT_LINK": Diagnosis(
            "The BFF treated a full /dp/ link as a short link (amzn.to, a.co): a URL-parsing bug.",
            "Roll back this partition's deploy and tell engineering.",
        ),
        "UNSUPPORTED_AMAZON_LOCALE": Diagnosis(
            "The BFF thinks www.amazon.com is not a supported marketplace: its marketplace "
            "settings are missing, or AMAZON_ASSOCIATE_TAG is not the US tag.",
            "Check that the partition vault's associateTag is the US Associates tag and that "
            f"Amplify has AMAZON_ASSOCIATE_TAG; redeploy, then {retry}.",
        ),
        "AMAZON_RATE_LIMITED": Diagnosis(
            "Amazon throttled the credential: the Creators API allows 1 request per second per "
            "credential (ID, secret, version), up to 10 TPS as sales grow, and other traffic "
            "shares it.",
            f"Wait a minute and {retry}. If it keeps happening, tell engineering: the BFF needs "
            "to queue or cache, or the quota is too small.",
        ),
        "AMAZON_UPSTREAM_UNAVAILABLE": Diagnosis(
            "The BFF could not get an answer from Amazon. On a fresh deploy this is usually the "
            "Amplify environment variables missing or holding a wrong credential from the "
            "partition vault; otherwise the account lost Creators API access (30 days without "
            "qualified sales — it returns within 2 days of the next one), or Amazon is down.",
            "Check the Amplify variables (the bot's Amplify check) and the vault item for this "
            "partition, redeploy if either was wrong; check the Creators API page in Associates "
            f"Central for access; then {retry}.",
        ),
        "INTERNAL_ERROR": Diagnosis(
            "The BFF failed while handling the import: a bug or a misconfiguration in this deploy.",
            "Read the BFF logs for the time of the smoke test; roll back this partition's deploy "
            "and tell engineering.",
        ),
    }


class SmokeCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    ok: bool
    status: int | None = None
    code: str | None = None
    symptom: str
    cause: str = ""
    fix: str = ""
    duration_ms: int = 0


class SmokeReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    ok: bool
    bff_url: str
    asin: str
    checks: list[SmokeCheck]

    @property
    def failed(self) -> list[SmokeCheck]:
        return [c for c in self.checks if not c.ok]


def load_dto_schema(path: Path | None = None) -> dict[str, Any]:
    """The DTO schema: `path` (smoke.dto_schema) if given, else the shipped v1 schema."""
    if path is not None:
        text = path.read_text(encoding="utf-8")
    else:
        text = resources.files("bot").joinpath("schemas/creators_dto_v1.json").read_text("utf-8")
    schema = json.loads(text)
    if not isinstance(schema, dict):
        raise ValueError(f"{path or 'creators_dto_v1.json'}: a JSON Schema must be an object")
    validator_for(schema, default=Draft202012Validator).check_schema(schema)
    return schema


@dataclass
class _Answer:
    status: int | None
    content_type: str
    body: Any  # parsed JSON, or None
    text: str
    problem: str | None  # transport problem ("connection refused", "timeout")
    duration_ms: int


def _red(name: str, answer: _Answer, **details: Any) -> SmokeCheck:
    """A failed check, timed like the answer it judges."""
    return SmokeCheck(name=name, ok=False, duration_ms=answer.duration_ms, **details)


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
    ) -> None:
        self._session = session
        self.path = "/" + path.lstrip("/")
        self.asin = asin
        self.schema = schema if schema is not None else load_dto_schema()
        cls = validator_for(self.schema, default=Draft202012Validator)
        self._validator = cls(self.schema)
        full = self.schema.get("x-full-required", [])
        self._full_required = [str(n) for n in full] if isinstance(full, list) else []
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._timeout_s = timeout
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
        ctx = _Context(
            base + self.path,
            token_env or "the partition's bff_token_env variable",
            partition or "<partition>",
        )
        checks = [
            await self._check_import(ctx, token),
            await self._check_error_path(ctx, token),
            await self._check_auth_required(ctx),
        ]
        if throttle_check:
            checks.append(await self._check_throttle(ctx, token))
        report = SmokeReport(
            ok=all(c.ok for c in checks), bff_url=base, asin=self.asin, checks=checks
        )
        log.info(
            "bff.smoke",
            bff_url=base,
            ok=report.ok,
            failed=[c.name for c in report.failed],
        )
        return report

    # ------------------------------------------------------------------ transport

    async def _post(self, url: str, body: Mapping[str, Any], token: SecretStr | None) -> _Answer:
        headers = {"Accept": "application/json", "User-Agent": "creators-onboard-smoke/0.1"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        started = time.perf_counter()

        def elapsed() -> int:
            return int((time.perf_counter() - started) * 1000)

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
                return _Answer(resp.status, ctype, parsed, text, None, elapsed())
        except aiohttp.ClientConnectorError as exc:
            return _Answer(
                None,
                "",
                None,
                "",
                f"connection failed ({exc.strerror or type(exc).__name__})",
                elapsed(),
            )
        except TimeoutError:
            return _Answer(None, "", None, "", f"no answer within {self._timeout_s:g} s", elapsed())
        except aiohttp.ClientError as exc:
            return _Answer(None, "", None, "", f"{type(exc).__name__}", elapsed())

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _error_code(answer: _Answer) -> tuple[str | None, bool]:
        """(code, well_formed) for an `{"error": {"code", "message"}}` body."""
        body = answer.body
        if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
            return None, False
        err = body["error"]
        code = err.get("code")
        code = code if isinstance(code, str) else None
        well = code in ERROR_CODES and isinstance(err.get("message"), str)
        return code, well

    def _transport_check(self, name: str, ctx: _Context, answer: _Answer) -> SmokeCheck:
        assert answer.problem is not None
        if answer.problem.startswith("no answer"):
            cause = (
                "The BFF is hanging: a cold start, or it is waiting on Amazon (slow upstream or "
                "a wrong credential that makes every call time out)."
            )
        else:
            cause = (
                "Nothing is listening at that address: the partition's bff_url is wrong, DNS "
                "does not resolve, or the deploy has not finished."
            )
        return _red(
            name,
            answer,
            symptom=f"{ctx.url}: {answer.problem}.",
            cause=cause,
            fix=f"Check partitions[{ctx.partition}].bff_url in the YAML and that the amm.yml "
            f"run finished, then `/creators-onboard smoke {ctx.partition}`.",
        )

    def _unexpected(self, name: str, ctx: _Context, answer: _Answer, expected: str) -> SmokeCheck:
        """A red check for an answer that is not what `expected` describes."""
        code, _ = self._error_code(answer)
        status = answer.status
        if code is not None and code in ERROR_CODES:
            diag = ctx.diagnoses[code]
            return _red(
                name,
                answer,
                status=status,
                code=code,
                symptom=f"Expected {expected}; the BFF answered {status} {code}.",
                cause=diag.cause,
                fix=diag.fix,
            )
        if code is not None:
            return _red(
                name,
                answer,
                status=status,
                code=code,
                symptom=f"Expected {expected}; the BFF answered {status} with the unknown "
                f"error code {code!r}.",
                cause="The BFF's error codes differ from the eight the contract defines.",
                fix="Tell engineering: the BFF and the bot disagree on the error contract.",
            )
        ctype = answer.content_type.split(";")[0] or "no content type"
        if answer.body is None and answer.text.strip():
            shape = f"a non-JSON body ({ctype})"
        elif answer.body is None:
            shape = "an empty body"
        else:
            shape = "JSON without the {error: {code, message}} shape"
        if status is not None and status >= 500:
            cause = (
                "The BFF crashed or is not running behind the hosting layer (an HTML error "
                "page comes from Amplify/CloudFront, not from the BFF)."
            )
            fix = (
                "Open the Amplify console for this partition: check the latest deploy and the "
                "BFF logs; roll back this partition if the deploy broke it."
            )
        elif status == 404:
            cause = f"There is no {self.path} route at this address: wrong bff_url or smoke.path, "
            cause += "or a BFF version without the import endpoint."
            fix = "Check partitions[].bff_url and smoke.path in the YAML against the BFF."
        elif status in (301, 302, 303, 307, 308):
            cause = "The address redirects (often to a login page or the web app's front end)."
            fix = "Point bff_url at the BFF itself, not at the web app."
        else:
            cause = "The answer does not follow the BFF contract."
            fix = "Tell engineering; roll back this partition if the deploy changed the BFF."
        return _red(
            name,
            answer,
            status=status,
            symptom=f"Expected {expected}; the BFF answered {status} with {shape}.",
            cause=cause,
            fix=fix,
        )

    def _dto_problems(self, answer: _Answer) -> tuple[str, str, str] | None:
        """(symptom, cause, fix) when a 200/206 body is not a valid DTO, else None."""
        body = answer.body
        if not isinstance(body, dict):
            what = "non-JSON" if body is None else f"a JSON {type(body).__name__}"
            return (
                f"The BFF answered {answer.status} with {what} instead of a JSON object.",
                "bff_url probably points at the web app or a CDN page, not the BFF.",
                "Point partitions[].bff_url at the BFF.",
            )
        if body.get("asin") != self.asin:
            return (
                f"The BFF answered {answer.status} for ASIN {body.get('asin')!r} while "
                f"{self.asin} was requested.",
                "The BFF resolved a different product (a parent or variation ASIN) or served a "
                "cached or mocked answer.",
                "Tell engineering; do not promote this deploy until the ASIN matches.",
            )
        errors = sorted(self._validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            listed = "; ".join(
                f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message[:120]}"
                for e in errors[:3]
            )
            more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
            return (
                f"The {answer.status} answer does not match the v1 DTO schema: {listed}{more}.",
                "The BFF's product shape differs from the v1 DTO: this deploy changed it, or "
                "the schema is out of date.",
                "If the BFF is right, point smoke.dto_schema at an updated schema; otherwise "
                "roll back this partition and tell engineering.",
            )
        if answer.status == 200:
            nulls = [n for n in self._full_required if body.get(n) is None]
            if nulls:
                return (
                    f"The BFF answered 200 (full) but {', '.join(nulls)} "
                    f"{'is' if len(nulls) == 1 else 'are'} null.",
                    "A partial product must be answered with 206; 200 promises every core field.",
                    "Tell engineering: the BFF should answer 206 when Amazon leaves fields out.",
                )
        return None

    # ------------------------------------------------------------------ checks

    async def _check_import(self, ctx: _Context, token: SecretStr | None) -> SmokeCheck:
        name = "import"
        if token is None:
            diag = ctx.diagnoses["AUTHENTICATION_REQUIRED"]
            return SmokeCheck(
                name=name,
                ok=False,
                symptom="No smoke-test token is configured, so the import could not be tried.",
                cause=f"The environment variable {ctx.token_env} is unset or empty.",
                fix=diag.fix,
            )
        answer = await self._post(ctx.url, {"url": self.product_url}, token)
        if answer.problem:
            return self._transport_check(name, ctx, answer)
        if answer.status in (200, 206):
            problem = self._dto_problems(answer)
            if problem is not None:
                symptom, cause, fix = problem
                return _red(
                    name,
                    answer,
                    status=answer.status,
                    symptom=symptom,
                    cause=cause,
                    fix=fix,
                )
            kind = "full" if answer.status == 200 else "partial"
            return SmokeCheck(
                name=name,
                ok=True,
                status=answer.status,
                symptom=f"Imported {self.asin}: {answer.status} {kind} v1 DTO.",
                duration_ms=answer.duration_ms,
            )
        return self._unexpected(name, ctx, answer, "200 or 206 with the product")

    async def _check_error_path(self, ctx: _Context, token: SecretStr | None) -> SmokeCheck:
        name = "error_path"
        expected = "a 4xx UNRECOGNIZED_AMAZON_URL for a non-Amazon link"
        if token is None:
            return SmokeCheck(
                name=name,
                ok=False,
                symptom="No smoke-test token is configured, so the error path could not be tried.",
                cause=f"The environment variable {ctx.token_env} is unset or empty.",
                fix=ctx.diagnoses["AUTHENTICATION_REQUIRED"].fix,
            )
        answer = await self._post(ctx.url, {"url": NON_AMAZON_URL}, token)
        if answer.problem:
            return self._transport_check(name, ctx, answer)
        code, well = self._error_code(answer)
        status = answer.status or 0
        if 400 <= status < 500 and code == "UNRECOGNIZED_AMAZON_URL" and well:
            return SmokeCheck(
                name=name,
                ok=True,
                status=status,
                code=code,
                symptom=f"A non-Amazon link is refused with {status} UNRECOGNIZED_AMAZON_URL.",
                duration_ms=answer.duration_ms,
            )
        if 200 <= status < 300:
            return _red(
                name,
                answer,
                status=status,
                symptom=f"The BFF accepted a non-Amazon link ({NON_AMAZON_URL}) with {status}.",
                cause="The BFF's URL validation is missing or broken in this deploy.",
                fix="Roll back this partition's deploy and tell engineering.",
            )
        if code == "UNRECOGNIZED_AMAZON_URL" and not well:
            return _red(
                name,
                answer,
                status=status,
                code=code,
                symptom=f"UNRECOGNIZED_AMAZON_URL came with status {status} or without a message.",
                cause="The BFF's error answers do not follow the contract (4xx, error.message).",
                fix="Tell engineering: error answers must be 4xx {error: {code, message}}.",
            )
        if code == "UNRECOGNIZED_AMAZON_URL":
            return _red(
                name,
                answer,
                status=status,
                code=code,
                symptom=f"UNRECOGNIZED_AMAZON_URL came with status {status} instead of a 4xx.",
                cause="The BFF maps a client error to the wrong HTTP status.",
                fix="Tell engineering: a bad link is the caller's error and must be a 4xx.",
            )
        return self._unexpected(name, ctx, answer, expected)

    async def _check_auth_required(self, ctx: _Context) -> SmokeCheck:
        name = "auth_required"
        answer = await self._post(ctx.url, {"url": self.product_url}, None)
        if answer.problem:
            return self._transport_check(name, ctx, answer)
        code, well = self._error_code(answer)
        if answer.status == 401 and code == "AUTHENTICATION_REQUIRED" and well:
            return SmokeCheck(
                name=name,
                ok=True,
                status=401,
                code=code,
                symptom="A request without a token is refused with 401 AUTHENTICATION_REQUIRED.",
                duration_ms=answer.duration_ms,
            )
        if answer.status is not None and 200 <= answer.status < 300:
            return _red(
                name,
                answer,
                status=answer.status,
                symptom=f"The BFF served an import WITHOUT a token ({answer.status}).",
                cause="Authentication is switched off or bypassed in this deploy: anyone could "
                "spend the partition's Amazon quota.",
                fix="Roll back this partition's deploy now and tell engineering.",
            )
        if code == "AUTHENTICATION_REQUIRED" or answer.status == 401:
            return _red(
                name,
                answer,
                status=answer.status,
                code=code,
                symptom=f"A request without a token got {answer.status} {code or ''} but not "
                "the contract's 401 {error: {code: AUTHENTICATION_REQUIRED, message}}.",
                cause="The BFF's authentication error does not follow the contract.",
                fix="Tell engineering: a missing token must give 401 AUTHENTICATION_REQUIRED.",
            )
        return self._unexpected(name, ctx, answer, "401 AUTHENTICATION_REQUIRED without a token")

    async def _check_throttle(self, ctx: _Context, token: SecretStr | None) -> SmokeCheck:
        name = "throttle"
        if token is None:
            return SmokeCheck(
                name=name,
                ok=False,
                symptom="No smoke-test token is configured, so the throttle path was not tried.",
                cause=f"The environment variable {ctx.token_env} is unset or empty.",
                fix=ctx.diagnoses["AUTHENTICATION_REQUIRED"].fix,
            )
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(self._post(ctx.url, {"url": self.product_url}, token) for _ in range(self.burst))
        )
        total_ms = int((time.perf_counter() - started) * 1000)
        limited = 0
        for answer in answers:
            if answer.problem:
                check = self._transport_check(name, ctx, answer)
                return check.model_copy(update={"duration_ms": total_ms})
            if answer.status in (200, 206) and self._dto_problems(answer) is None:
                continue
            code, well = self._error_code(answer)
            if answer.status == 429 and code == "AMAZON_RATE_LIMITED" and well:
                limited += 1
                continue
            if answer.status in (200, 206):
                symptom, cause, fix = self._dto_problems(answer) or ("", "", "")
                return SmokeCheck(
                    name=name, ok=False, status=answer.status, symptom=symptom,
                    cause=cause, fix=fix, duration_ms=total_ms,
                )  # fmt: skip
            if code == "AMAZON_RATE_LIMITED":
                return SmokeCheck(
                    name=name,
                    ok=False,
                    status=answer.status,
                    code=code,
                    symptom=f"Throttling came back as {answer.status} instead of 429 "
                    "{error: {code: AMAZON_RATE_LIMITED, message}}.",
                    cause="The BFF reports Amazon's throttling with the wrong shape or status.",
                    fix="Tell engineering: throttling must be a 429 AMAZON_RATE_LIMITED.",
                    duration_ms=total_ms,
                )
            check = self._unexpected(
                name, ctx, answer, "success or 429 AMAZON_RATE_LIMITED under a burst"
            )
            return check.model_copy(
                update={
                    "duration_ms": total_ms,
                    "cause": "Under a short burst the BFF fails instead of answering 429: "
                    + check.cause,
                }
            )
        return SmokeCheck(
            name=name,
            ok=True,
            status=429 if limited else 200,
            code="AMAZON_RATE_LIMITED" if limited else None,
            symptom=f"A burst of {self.burst} requests: {self.burst - limited} served, "
            f"{limited} properly throttled (429 AMAZON_RATE_LIMITED).",
            duration_ms=total_ms,
        )


class _Context:
    __slots__ = ("diagnoses", "partition", "token_env", "url")

    def __init__(self, url: str, token_env: str, partition: str) -> None:
        self.url = url
        self.token_env = token_env
        self.partition = partition
        self.diagnoses = _diagnoses(token_env, partition)


def diagnose(
    code: str,
    *,
    token_env: str = "BFF_TOKEN_<PARTITION>",  # noqa: S107 - a variable's name, not a secret
    partition: str = "<partition>",
) -> Diagnosis | None:
    """The cause and fix for one BFF error code (None for an unknown code)."""
    return _diagnoses(token_env, partition).get(code)
