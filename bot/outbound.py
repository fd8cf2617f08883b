"""The one outbound scrubber: nothing the bot writes carries a configured secret.

Logs are redacted by `bot.logging`'s Redactor; everything else the bot writes goes
through the same Redactor here, at its boundary: Slack (`SlackNotifier`), Linear
(`LinearClient`), the audit table (`Store.record`), what DBOS stores (every step's result
and exception, via `@scrubbed`; requests handed to a rollout) and the exceptions a step
raises. An outside system that echoes a token back — in an error body, URL-encoded,
base64-encoded, JSON-escaped — cannot carry it any further.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ParamSpec, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from bot.logging import REDACTOR

P = ParamSpec("P")
T = TypeVar("T")


def know_secrets(values: Iterable[str]) -> None:
    """Tell the scrubber (and the log redaction) every configured secret value."""
    REDACTOR.add(values)


def scrub_text(text: str) -> str:
    return REDACTOR.scrub(text)


def scrub(value: T) -> T:
    """`value` with every string in it scrubbed (dicts, lists, tuples, pydantic models).
    Keys are kept: only values can carry a secret the bot did not put there."""
    return _scrub(value)  # type: ignore[no-any-return]


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return REDACTOR.scrub(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_scrub(v) for v in value)
    if isinstance(value, BaseModel):
        dumped = value.model_dump(mode="json")
        cleaned = _scrub(dumped)
        return value if cleaned == dumped else type(value).model_validate(cleaned)
    return value


class ScrubbedError(Exception):
    """An exception whose text carried a secret, re-raised without it."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (ScrubbedError, (self.kind, self.message))


@runtime_checkable
class _CarriesProblem(Protocol):
    """An exception that knows how to copy itself with its text scrubbed
    (`bot.integrations.errors.IntegrationError`)."""

    def with_scrubbed(self, scrub: Callable[[Any], Any]) -> BaseException: ...


def scrub_exception(exc: BaseException) -> BaseException:
    """The same exception when its text is clean; else a copy (or a ScrubbedError)
    whose text is scrubbed."""
    if isinstance(exc, _CarriesProblem):
        # An integration's error keeps its kind and its problem, scrubbed.
        return exc.with_scrubbed(_scrub)
    text = str(exc)
    cleaned_text = REDACTOR.scrub(text)
    if cleaned_text == text:
        return exc
    return ScrubbedError(type(exc).__name__, cleaned_text)


def scrubbed(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """For a DBOS step (put it under `@DBOS.step`): what DBOS records — the result, or
    the exception — is scrubbed."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            result = await fn(*args, **kwargs)
        except Exception as exc:
            clean = scrub_exception(exc)
            if clean is exc:
                raise
            raise clean from None
        return scrub(result)

    return wrapper
