"""Judging the BFF's answers against its contract. Pure: answers in, `SmokeCheck`s out.

Every red check carries a `Problem` (symptom → cause → fix) built from the answer's status,
error code and body shape; the token is never part of an answer, so never part of a check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

from bot.integrations.bff.client import Answer
from bot.integrations.bff.diagnoses import ERROR_CODES, diagnose
from bot.integrations.bff.report import SmokeCheck
from bot.runbook.problem import Problem

NON_AMAZON_URL = "https://example.com/products/not-an-amazon-link"
SUCCESS = (200, 206)


@dataclass(frozen=True)
class Context:
    """Where the checks ran, for the advice: the import URL, the route, the token's
    variable and the partition."""

    url: str
    path: str
    token_env: str
    partition: str

    def diagnosis(self, code: str) -> Problem | None:
        return diagnose(code, token_env=self.token_env, partition=self.partition)


class Contract:
    """What a good import answer is: a v1 DTO for the requested ASIN."""

    def __init__(self, schema: dict[str, Any], asin: str) -> None:
        self.asin = asin
        self._validator = validator_for(schema, default=Draft202012Validator)(schema)
        full = schema.get("x-full-required", [])
        self._full_required = [str(n) for n in full] if isinstance(full, list) else []

    def dto_problem(self, answer: Answer) -> Problem | None:
        """Why a 200/206 answer is not a valid DTO for the ASIN, or None when it is."""
        body = answer.body
        if not isinstance(body, dict):
            what = "non-JSON" if body is None else f"a JSON {type(body).__name__}"
            return Problem(
                symptom=f"The BFF answered {answer.status} with {what} instead of a JSON object.",
                cause="bff_url probably points at the web app or a CDN page, not the BFF.",
                fix="Point partitions[].bff_url at the BFF.",
            )
        if body.get("asin") != self.asin:
            return Problem(
                symptom=f"The BFF answered {answer.status} for ASIN {body.get('asin')!r} while "
                f"{self.asin} was requested.",
                cause="The BFF resolved a different product (a parent or variation ASIN) or "
                "served a cached or mocked answer.",
                fix="Tell engineering; do not promote this deploy until the ASIN matches.",
            )
        errors = sorted(self._validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            listed = "; ".join(
                f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message[:120]}"
                for e in errors[:3]
            )
            more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
            return Problem(
                symptom=f"The {answer.status} answer does not match the v1 DTO schema: "
                f"{listed}{more}.",
                cause="The BFF's product shape differs from the v1 DTO: this deploy changed it, "
                "or the schema is out of date.",
                fix="If the BFF is right, point smoke.dto_schema at an updated schema; otherwise "
                "roll back this partition and tell engineering.",
            )
        nulls = [n for n in self._full_required if body.get(n) is None]
        if answer.status == 200 and nulls:
            return Problem(
                symptom=f"The BFF answered 200 (full) but {', '.join(nulls)} "
                f"{'is' if len(nulls) == 1 else 'are'} null.",
                cause="A partial product must be answered with 206; 200 promises every core field.",
                fix="Tell engineering: the BFF should answer 206 when Amazon leaves fields out.",
            )
        return None


# ------------------------------------------------------------------------- helpers


def error_code(answer: Answer) -> tuple[str | None, bool]:
    """(code, well_formed) for an `{"error": {"code", "message"}}` body."""
    body = answer.body
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None, False
    err = body["error"]
    code = err.get("code")
    code = code if isinstance(code, str) else None
    well = code in ERROR_CODES and isinstance(err.get("message"), str)
    return code, well


def red(
    name: str,
    answer: Answer,
    problem: Problem,
    *,
    status: int | None = None,
    code: str | None = None,
) -> SmokeCheck:
    """A failed check, timed like the answer it judges."""
    return SmokeCheck(
        name=name, status=status, code=code, problem=problem, duration_ms=answer.duration_ms
    )


def green(name: str, answer: Answer, seen: str, *, code: str | None = None) -> SmokeCheck:
    return SmokeCheck(
        name=name, status=answer.status, code=code, seen=seen, duration_ms=answer.duration_ms
    )


def no_token(name: str, ctx: Context, what: str) -> SmokeCheck:
    """A check that needs the token, when none is configured."""
    auth = ctx.diagnosis("AUTHENTICATION_REQUIRED")
    assert auth is not None
    problem = Problem(
        symptom=f"No smoke-test token is configured, so {what} could not be tried.",
        cause=f"The environment variable {ctx.token_env} is unset or empty.",
        fix=auth.fix,
    )
    return SmokeCheck(name=name, problem=problem)


def no_answer(name: str, ctx: Context, answer: Answer) -> SmokeCheck:
    """A check whose request got no answer at all."""
    if (answer.failure or "").startswith("no answer"):
        cause = (
            "The BFF is hanging: a cold start, or it is waiting on Amazon (slow upstream or "
            "a wrong credential that makes every call time out)."
        )
    else:
        cause = (
            "Nothing is listening at that address: the partition's bff_url is wrong, DNS "
            "does not resolve, or the deploy has not finished."
        )
    problem = Problem(
        symptom=f"{ctx.url}: {answer.failure}.",
        cause=cause,
        fix=f"Check partitions[{ctx.partition}].bff_url in the YAML and that the amm.yml "
        f"run finished, then `/creators-onboard smoke {ctx.partition}`.",
    )
    return red(name, answer, problem)


def unexpected(name: str, ctx: Context, answer: Answer, expected: str) -> SmokeCheck:
    """A red check for an answer that is not what `expected` describes."""
    code, _ = error_code(answer)
    status = answer.status
    if code is not None:
        diag = ctx.diagnosis(code)
        if diag is not None:
            symptom = f"Expected {expected}; the BFF answered {status} {code}."
            problem = diag.model_copy(update={"symptom": symptom})
        else:
            problem = Problem(
                symptom=f"Expected {expected}; the BFF answered {status} with the unknown "
                f"error code {code!r}.",
                cause="The BFF's error codes differ from the eight the contract defines.",
                fix="Tell engineering: the BFF and the bot disagree on the error contract.",
            )
        return red(name, answer, problem, status=status, code=code)
    ctype = answer.content_type.split(";")[0] or "no content type"
    if answer.body is None and answer.text.strip():
        shape = f"a non-JSON body ({ctype})"
    elif answer.body is None:
        shape = "an empty body"
    else:
        shape = "JSON without the {error: {code, message}} shape"
    cause, fix = _off_contract(status, ctx.path)
    symptom = f"Expected {expected}; the BFF answered {status} with {shape}."
    return red(name, answer, Problem(symptom=symptom, cause=cause, fix=fix), status=status)


def _off_contract(status: int | None, path: str) -> tuple[str, str]:
    """(cause, fix) for an answer without the contract's error shape, by its status."""
    if status is not None and status >= 500:
        return (
            "The BFF crashed or is not running behind the hosting layer (an HTML error "
            "page comes from Amplify/CloudFront, not from the BFF).",
            "Open the Amplify console for this partition: check the latest deploy and the "
            "BFF logs; roll back this partition if the deploy broke it.",
        )
    if status == 404:
        return (
            f"There is no {path} route at this address: wrong bff_url or smoke.path, "
            "or a BFF version without the import endpoint.",
            "Check partitions[].bff_url and smoke.path in the YAML against the BFF.",
        )
    if status in (301, 302, 303, 307, 308):
        return (
            "The address redirects (often to a login page or the web app's front end).",
            "Point bff_url at the BFF itself, not at the web app.",
        )
    return (
        "The answer does not follow the BFF contract.",
        "Tell engineering; roll back this partition if the deploy changed the BFF.",
    )


# -------------------------------------------------------------------------- checks


def judge_import(contract: Contract, ctx: Context, answer: Answer) -> SmokeCheck:
    """The success path: 200 (full) or 206 (partial) with a v1 DTO for the ASIN."""
    name = "import"
    if answer.failure:
        return no_answer(name, ctx, answer)
    if answer.status in SUCCESS:
        problem = contract.dto_problem(answer)
        if problem is not None:
            return red(name, answer, problem, status=answer.status)
        kind = "full" if answer.status == 200 else "partial"
        return green(name, answer, f"Imported {contract.asin}: {answer.status} {kind} v1 DTO.")
    return unexpected(name, ctx, answer, "200 or 206 with the product")


def judge_error_path(ctx: Context, answer: Answer) -> SmokeCheck:
    """A non-Amazon link must be refused with a 4xx UNRECOGNIZED_AMAZON_URL."""
    name = "error_path"
    if answer.failure:
        return no_answer(name, ctx, answer)
    code, well = error_code(answer)
    status = answer.status or 0
    expected_code = "UNRECOGNIZED_AMAZON_URL"
    if 400 <= status < 500 and code == expected_code and well:
        seen = f"A non-Amazon link is refused with {status} UNRECOGNIZED_AMAZON_URL."
        return green(name, answer, seen, code=code)
    if 200 <= status < 300:
        problem = Problem(
            symptom=f"The BFF accepted a non-Amazon link ({NON_AMAZON_URL}) with {status}.",
            cause="The BFF's URL validation is missing or broken in this deploy.",
            fix="Roll back this partition's deploy and tell engineering.",
        )
        return red(name, answer, problem, status=status)
    if code == expected_code and not well:
        problem = Problem(
            symptom=f"UNRECOGNIZED_AMAZON_URL came with status {status} or without a message.",
            cause="The BFF's error answers do not follow the contract (4xx, error.message).",
            fix="Tell engineering: error answers must be 4xx {error: {code, message}}.",
        )
        return red(name, answer, problem, status=status, code=code)
    if code == expected_code:
        problem = Problem(
            symptom=f"UNRECOGNIZED_AMAZON_URL came with status {status} instead of a 4xx.",
            cause="The BFF maps a client error to the wrong HTTP status.",
            fix="Tell engineering: a bad link is the caller's error and must be a 4xx.",
        )
        return red(name, answer, problem, status=status, code=code)
    return unexpected(name, ctx, answer, "a 4xx UNRECOGNIZED_AMAZON_URL for a non-Amazon link")


def judge_auth_required(ctx: Context, answer: Answer) -> SmokeCheck:
    """The success request without a token must give 401 AUTHENTICATION_REQUIRED."""
    name = "auth_required"
    if answer.failure:
        return no_answer(name, ctx, answer)
    code, well = error_code(answer)
    status = answer.status
    if status == 401 and code == "AUTHENTICATION_REQUIRED" and well:
        seen = "A request without a token is refused with 401 AUTHENTICATION_REQUIRED."
        return green(name, answer, seen, code=code)
    if status is not None and 200 <= status < 300:
        problem = Problem(
            symptom=f"The BFF served an import WITHOUT a token ({status}).",
            cause="Authentication is switched off or bypassed in this deploy: anyone could "
            "spend the partition's Amazon quota.",
            fix="Roll back this partition's deploy now and tell engineering.",
        )
        return red(name, answer, problem, status=status)
    if code == "AUTHENTICATION_REQUIRED" or status == 401:
        problem = Problem(
            symptom=f"A request without a token got {status} {code or ''} but not "
            "the contract's 401 {error: {code: AUTHENTICATION_REQUIRED, message}}.",
            cause="The BFF's authentication error does not follow the contract.",
            fix="Tell engineering: a missing token must give 401 AUTHENTICATION_REQUIRED.",
        )
        return red(name, answer, problem, status=status, code=code)
    return unexpected(name, ctx, answer, "401 AUTHENTICATION_REQUIRED without a token")


def judge_burst(
    contract: Contract, ctx: Context, answers: Sequence[Answer], total_ms: int
) -> SmokeCheck:
    """A burst of imports: each answer a valid success or a well-formed 429 AMAZON_RATE_LIMITED.

    The check is timed as the whole burst.
    """
    name = "throttle"
    limited = 0
    for answer in answers:
        check = _burst_answer(contract, ctx, answer)
        if check is None:
            continue
        if check.code == "AMAZON_RATE_LIMITED" and check.ok:
            limited += 1
            continue
        return check.model_copy(update={"duration_ms": total_ms})
    served = len(answers) - limited
    return SmokeCheck(
        name=name,
        status=429 if limited else 200,
        code="AMAZON_RATE_LIMITED" if limited else None,
        seen=f"A burst of {len(answers)} requests: {served} served, "
        f"{limited} properly throttled (429 AMAZON_RATE_LIMITED).",
        duration_ms=total_ms,
    )


def _burst_answer(contract: Contract, ctx: Context, answer: Answer) -> SmokeCheck | None:
    """None for a valid success; a green check for a proper 429; else the red check."""
    name = "throttle"
    if answer.failure:
        return no_answer(name, ctx, answer)
    dto_problem = contract.dto_problem(answer) if answer.status in SUCCESS else None
    if answer.status in SUCCESS:
        return None if dto_problem is None else red(name, answer, dto_problem, status=answer.status)
    code, well = error_code(answer)
    if answer.status == 429 and code == "AMAZON_RATE_LIMITED" and well:
        return green(name, answer, "throttled", code=code)
    if code == "AMAZON_RATE_LIMITED":
        problem = Problem(
            symptom=f"Throttling came back as {answer.status} instead of 429 "
            "{error: {code: AMAZON_RATE_LIMITED, message}}.",
            cause="The BFF reports Amazon's throttling with the wrong shape or status.",
            fix="Tell engineering: throttling must be a 429 AMAZON_RATE_LIMITED.",
        )
        return red(name, answer, problem, status=answer.status, code=code)
    check = unexpected(name, ctx, answer, "success or 429 AMAZON_RATE_LIMITED under a burst")
    assert check.problem is not None
    cause = "Under a short burst the BFF fails instead of answering 429: " + check.problem.cause
    return check.model_copy(update={"problem": check.problem.model_copy(update={"cause": cause})})
