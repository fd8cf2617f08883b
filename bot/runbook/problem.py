"""One shape for everything that can go wrong: what was seen, why, and what to do.

Vault verification, GitHub runs, smoke tests, the Amplify check and the preflight all
describe a failure as a `Problem`, so a halt card, a troubleshooting row and a
preflight line are rendered the same way whatever system failed. A problem never holds
a secret: it is built from status codes, names and the remote system's own error text.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Problem(BaseModel):
    """symptom: what was observed ("GitHub answered 401 to the dispatch request");
    cause: the most likely reason, in plain language; fix: what to do about it;
    where: what it concerns (a vault, a partition, a check), when that helps."""

    model_config = ConfigDict(frozen=True)

    symptom: str
    cause: str
    fix: str
    where: str | None = None

    def one_line(self) -> str:
        """symptom — cause Fix: fix, for logs and plain-text channels (empty parts left out)."""
        text = self.symptom
        if self.cause:
            text += f" — {self.cause}"
        if self.fix:
            text += f" Fix: {self.fix}"
        return text
