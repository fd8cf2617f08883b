"""The one error type of the integrations: a `Problem` (symptom → cause → fix) to act on.

Integrations raise `IntegrationError` (or a subclass) so that workflows and block builders
can render one troubleshooting card without knowing which system failed. The problem never
contains a secret: integrations build it from status codes, names and the remote system's
own error text, never from request headers or credential values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.runbook.problem import Problem


class IntegrationError(Exception):
    """A failure a person can act on.

    problem:   what was seen, why, and what to do (`bot.runbook.problem.Problem`).
    retryable: True when trying again later may succeed without anyone changing anything.
    status:    the HTTP status that carried the failure, when there was one.

    Picklable, subclasses included (DBOS records a failed step's exception): the problem,
    the flags and whatever a subclass adds to the instance travel together.
    """

    def __init__(
        self, problem: Problem, *, retryable: bool = False, status: int | None = None
    ) -> None:
        super().__init__(problem.one_line())
        self.problem = problem
        self.retryable = retryable
        self.status = status

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (for DBOS step results, Slack cards and logs)."""
        return {
            "kind": type(self).__name__,
            **self.problem.model_dump(mode="json"),
            "retryable": self.retryable,
            "status": self.status,
        }

    def with_scrubbed(self, scrub: Callable[[Any], Any]) -> IntegrationError:
        """This error, or a copy of it whose problem and extra fields went through
        `scrub` (bot.outbound: no configured secret in anything recorded)."""
        problem = scrub(self.problem)
        extra = {k: v for k, v in vars(self).items() if k not in _BASE_STATE}
        cleaned_extra = scrub(extra)
        if problem == self.problem and cleaned_extra == extra:
            return self
        copy = type(self).__new__(type(self))
        IntegrationError.__init__(copy, problem, retryable=self.retryable, status=self.status)
        # What a subclass adds travels with it when pickled: scrubbed too.
        copy.__dict__.update(cleaned_extra)
        return copy

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(symptom={self.problem.symptom!r}, "
            f"retryable={self.retryable!r}, status={self.status!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        extra = {k: v for k, v in vars(self).items() if k not in _BASE_STATE}
        return (_rebuild, (type(self), self.problem, self.retryable, self.status), extra)


_BASE_STATE = frozenset({"problem", "retryable", "status"})


def _rebuild(
    cls: type[IntegrationError], problem: Problem, retryable: bool, status: int | None
) -> IntegrationError:
    err = cls.__new__(cls)
    IntegrationError.__init__(err, problem, retryable=retryable, status=status)
    return err
