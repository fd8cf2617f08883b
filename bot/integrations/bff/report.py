"""What a smoke test found: one `SmokeCheck` per check, gathered in a `SmokeReport`.

Both are plain JSON (DBOS records a smoke test's report as its result). A failed check
carries a `Problem`; a passed one says what it saw. Neither ever holds the token.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for
from pydantic import BaseModel, ConfigDict, computed_field, model_validator

from bot.runbook.problem import Problem


class SmokeCheck(BaseModel):
    """One check: its HTTP status and the BFF's error code when there was one; `seen` for
    a check that passed, `problem` (symptom → cause → fix) for one that did not."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: int | None = None
    code: str | None = None
    seen: str = ""
    problem: Problem | None = None
    duration_ms: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def summary(self) -> str:
        """One line: what a passed check saw, or what went wrong."""
        return self.problem.symptom if self.problem is not None else self.seen

    @model_validator(mode="before")
    @classmethod
    def _recorded_before_problems(cls, data: Any) -> Any:
        """Read a check recorded by an earlier version (flat symptom, cause and fix), so a
        rollout that spans a redeploy still loads the reports its smoke tests returned."""
        if not isinstance(data, dict) or "symptom" not in data or "problem" in data:
            return data
        data = dict(data)
        symptom = str(data.pop("symptom"))
        cause, fix = str(data.pop("cause", "")), str(data.pop("fix", ""))
        if data.pop("ok", False):
            data["seen"] = symptom
        else:
            data["problem"] = Problem(symptom=symptom, cause=cause, fix=fix)
        return data


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
