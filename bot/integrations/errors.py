"""A small shared error type for integrations: every failure carries symptom → cause → fix.

Integrations raise `IntegrationError` (or a subclass) so that workflows and block builders
can render one troubleshooting card without knowing which system failed. The message never
contains a secret: integrations build it from status codes, names and the remote system's
own error text, never from request headers or credential values.
"""

from __future__ import annotations

from typing import Any


class IntegrationError(Exception):
    """A failure a person can act on.

    symptom: what was observed ("GitHub answered 401 to the dispatch request").
    cause:   the most likely reason, in plain language.
    fix:     what to do about it.
    retryable: True when trying again later may succeed without anyone changing anything.
    """

    def __init__(
        self,
        symptom: str,
        cause: str,
        fix: str,
        *,
        retryable: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{symptom} — {cause} Fix: {fix}")
        self.symptom = symptom
        self.cause = cause
        self.fix = fix
        self.retryable = retryable
        self.status = status

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (for DBOS step results, Slack cards and logs)."""
        return {
            "kind": type(self).__name__,
            "symptom": self.symptom,
            "cause": self.cause,
            "fix": self.fix,
            "retryable": self.retryable,
            "status": self.status,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(symptom={self.symptom!r}, status={self.status!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the error picklable (DBOS may serialise a step's exception).
        return (
            _rebuild,
            (type(self), self.symptom, self.cause, self.fix, self.retryable, self.status),
        )


def _rebuild(
    cls: type[IntegrationError],
    symptom: str,
    cause: str,
    fix: str,
    retryable: bool,
    status: int | None,
) -> IntegrationError:
    err = cls.__new__(cls)
    IntegrationError.__init__(err, symptom, cause, fix, retryable=retryable, status=status)
    return err
