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

from bot.integrations.bff import texts
from bot.integrations.bff.client import Answer
from bot.integrations.bff.report import SmokeCheck
from bot.integrations.bff.texts import ERROR_CODES, diagnose
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
        body, status = answer.body, answer.status
        if not isinstance(body, dict):
            what = "non-JSON" if body is None else f"a JSON {type(body).__name__}"
            return texts.problem("not_an_object", status=status, what=what)
        if body.get("asin") != self.asin:
            found = body.get("asin")
            return texts.problem("wrong_asin", status=status, found=found, asin=self.asin)
        errors = sorted(self._validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            listed = "; ".join(
                f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message[:120]}"
                for e in errors[:3]
            )
            more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
            return texts.problem("not_the_dto", status=status, errors=listed + more)
        nulls = [n for n in self._full_required if body.get(n) is None]
        if status == 200 and nulls:
            verb = "is" if len(nulls) == 1 else "are"
            return texts.problem("null_core_fields", fields=", ".join(nulls), verb=verb)
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


def red(name: str, answer: Answer, problem: Problem, code: str | None = None) -> SmokeCheck:
    """A failed check, with the status and timing of the answer it judges."""
    return SmokeCheck(
        name=name,
        status=answer.status,
        code=code,
        problem=problem,
        duration_ms=answer.duration_ms,
    )


def green(name: str, answer: Answer, seen: str, code: str | None = None) -> SmokeCheck:
    """A passed check: what it saw, with the status and timing of its answer."""
    return SmokeCheck(
        name=name, status=answer.status, code=code, seen=seen, duration_ms=answer.duration_ms
    )


def no_token(name: str, ctx: Context, what: str) -> SmokeCheck:
    """A check that needs the token, when none is configured."""
    auth = ctx.diagnosis("AUTHENTICATION_REQUIRED")
    assert auth is not None
    problem = texts.problem("no_token", what=what, token_env=ctx.token_env, auth_fix=auth.fix)
    return SmokeCheck(name=name, problem=problem)


def no_answer(name: str, ctx: Context, answer: Answer) -> SmokeCheck:
    """A check whose request got no answer at all."""
    failure = answer.failure or ""
    why: texts.TextName = "hanging" if failure.startswith("no answer") else "unreachable"
    problem = texts.problem(why, url=ctx.url, failure=failure, partition=ctx.partition)
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
            problem = texts.problem("unknown_code", expected=expected, status=status, code=code)
        return red(name, answer, problem, code)
    ctype = answer.content_type.split(";")[0] or "no content type"
    if answer.body is None and answer.text.strip():
        shape = f"a non-JSON body ({ctype})"
    elif answer.body is None:
        shape = "an empty body"
    else:
        shape = "JSON without the {error: {code, message}} shape"
    if status is not None and status >= 500:
        why: texts.TextName = "server_failed"
    elif status == 404:
        why = "no_route"
    elif status in (301, 302, 303, 307, 308):
        why = "redirects"
    else:
        why = "off_contract"
    facts = {"expected": expected, "status": status, "shape": shape, "path": ctx.path}
    return red(name, answer, texts.problem(why, **facts))


# -------------------------------------------------------------------------- checks
# Each judges an answer that came; `no_answer` judges one that did not.


def judge_import(contract: Contract, ctx: Context, answer: Answer) -> SmokeCheck:
    """The success path: 200 (full) or 206 (partial) with a v1 DTO for the ASIN."""
    name = "import"
    if answer.status in SUCCESS:
        problem = contract.dto_problem(answer)
        if problem is not None:
            return red(name, answer, problem)
        kind = "full" if answer.status == 200 else "partial"
        return green(name, answer, f"Imported {contract.asin}: {answer.status} {kind} v1 DTO.")
    return unexpected(name, ctx, answer, "200 or 206 with the product")


def judge_error_path(ctx: Context, answer: Answer) -> SmokeCheck:
    """A non-Amazon link must be refused with a 4xx UNRECOGNIZED_AMAZON_URL."""
    name = "error_path"
    code, well = error_code(answer)
    status = answer.status or 0
    expected_code = "UNRECOGNIZED_AMAZON_URL"
    if 400 <= status < 500 and code == expected_code and well:
        seen = f"A non-Amazon link is refused with {status} UNRECOGNIZED_AMAZON_URL."
        return green(name, answer, seen, code)
    if 200 <= status < 300:
        accepted = texts.problem("non_amazon_accepted", url=NON_AMAZON_URL, status=status)
        return red(name, answer, accepted)
    if code == expected_code:
        why: texts.TextName = "error_without_message" if not well else "error_not_4xx"
        return red(name, answer, texts.problem(why, status=status), code)
    return unexpected(name, ctx, answer, "a 4xx UNRECOGNIZED_AMAZON_URL for a non-Amazon link")


def judge_auth_required(ctx: Context, answer: Answer) -> SmokeCheck:
    """The success request without a token must give 401 AUTHENTICATION_REQUIRED."""
    name = "auth_required"
    code, well = error_code(answer)
    status = answer.status
    if status == 401 and code == "AUTHENTICATION_REQUIRED" and well:
        seen = "A request without a token is refused with 401 AUTHENTICATION_REQUIRED."
        return green(name, answer, seen, code)
    if status is not None and 200 <= status < 300:
        served = texts.problem("served_without_token", status=status)
        return red(name, answer, served)
    if code == "AUTHENTICATION_REQUIRED" or status == 401:
        shape = texts.problem("auth_wrong_shape", status=status, code=code or "")
        return red(name, answer, shape, code)
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
    if answer.status in SUCCESS:
        dto_problem = contract.dto_problem(answer)
        return None if dto_problem is None else red(name, answer, dto_problem)
    code, well = error_code(answer)
    if answer.status == 429 and code == "AMAZON_RATE_LIMITED" and well:
        return green(name, answer, "throttled", code)
    if code == "AMAZON_RATE_LIMITED":
        shape = texts.problem("throttle_wrong_shape", status=answer.status)
        return red(name, answer, shape, code)
    check = unexpected(name, ctx, answer, "success or 429 AMAZON_RATE_LIMITED under a burst")
    assert check.problem is not None
    cause = "Under a short burst the BFF fails instead of answering 429: " + check.problem.cause
    return check.model_copy(update={"problem": check.problem.model_copy(update={"cause": cause})})
