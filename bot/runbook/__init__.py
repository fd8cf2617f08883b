"""The runbook as data: load, validate and check the shipped `runbook.yml`.

`load_runbook()` reads the packaged YAML once (cached) and returns the validated
`Runbook`. Any problem raises `RunbookError` with a message that names the step.
Nothing is read at import time.
"""

from __future__ import annotations

import functools
import string
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from bot.runbook.model import Action, Effect, Persona, Phase, Runbook, Step, TroubleRow

__all__ = [
    "BODY_MAX_CHARS",
    "PLACEHOLDERS",
    "Action",
    "Effect",
    "Persona",
    "Phase",
    "Runbook",
    "RunbookError",
    "Step",
    "TroubleRow",
    "load_runbook",
    "parse_runbook",
    "placeholders_in",
]

# The names a runbook text may use; the renderer fills them with str.format_map.
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "owner",
        "devops",
        "item_title",
        "vaults",
        "systems_vault",
        "issue",
        "partitions",
        "rotation_reason",
        # The infrastructure pull request gate, in a sentence of its own (empty without one).
        "pr_gate",
    }
)

# A body must stay well under Slack's 3,000-character section limit once rendered
# (mentions and the vault list add a little).
BODY_MAX_CHARS = 2500


class RunbookError(ValueError):
    """The runbook data is invalid; the message names the step at fault."""


def placeholders_in(template: str) -> set[str]:
    """The placeholder names used in a format template (`{{`/`}}` are literal braces)."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:  # e.g. a lone "{" or "}"
        raise ValueError(f"malformed braces: {exc}") from exc
    return {field for _, field, _, _ in parsed if field is not None}


@functools.cache
def load_runbook() -> Runbook:
    """The shipped runbook, validated (read once per process)."""
    text = resources.files(__name__).joinpath("runbook.yml").read_text(encoding="utf-8")
    return parse_runbook(text, source="runbook.yml")


def parse_runbook(text: str, *, source: str = "<string>") -> Runbook:
    """Parse and validate runbook YAML; raise `RunbookError` naming the step on bad data."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RunbookError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RunbookError(f"{source}: expected a mapping at the top level")
    try:
        runbook = Runbook.model_validate(data)
    except ValidationError as exc:
        raise RunbookError(_describe(exc, data, source)) from exc
    problems = check_runbook(runbook)
    if problems:
        raise RunbookError(f"{source}: invalid runbook:\n  " + "\n  ".join(problems))
    return runbook


def check_runbook(runbook: Runbook) -> list[str]:
    """Checks beyond the model: reachability, placeholders, body size, effect wiring."""
    problems: list[str] = []
    reachable = _reachable(runbook, [runbook.start, runbook.rotation_start])
    for step in runbook.steps:
        where = f"step {step.id}"
        if step.id not in reachable:
            problems.append(f"{where}: not reachable from start {runbook.start!r}")
        for name, body in (("body", step.body), ("rotation_body", step.rotation_body or "")):
            if len(body) > BODY_MAX_CHARS:
                problems.append(f"{where}: {name} is {len(body)} characters (max {BODY_MAX_CHARS})")
        texts = {"title": step.title, "body": step.body}
        if step.rotation_body:
            texts["rotation_body"] = step.rotation_body
        for i, row in enumerate(step.troubleshooting):
            texts[f"troubleshooting[{i}].symptom"] = row.symptom
            texts[f"troubleshooting[{i}].cause"] = row.cause
            texts[f"troubleshooting[{i}].fix"] = row.fix
        for name, text in texts.items():
            try:
                unknown = placeholders_in(text) - PLACEHOLDERS
            except ValueError as exc:
                problems.append(f"{where}: {name}: {exc}")
                continue
            if unknown:
                problems.append(f"{where}: {name}: unknown placeholder(s) {sorted(unknown)}")
        if (
            step.effect is not None
            and step.actions
            and not any(a.effect_runs for a in step.actions)
        ):
            problems.append(f"{where}: effect {step.effect!r} is never run by any action")
        if step.effect is None and any(a.runs_effect for a in step.actions):
            problems.append(f"{where}: an action runs the effect but the step has none")
    return problems


def _reachable(runbook: Runbook, roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        step_id = todo.pop()
        if step_id in seen:
            continue
        seen.add(step_id)
        step = runbook.step(step_id)
        todo.extend(a.goto for a in step.actions if a.goto)
        if step.next:
            todo.append(step.next)
    return seen


def _describe(exc: ValidationError, data: dict[str, Any], source: str) -> str:
    """Turn pydantic's error locations into lines that name the step by id."""
    lines = []
    steps = data.get("steps")
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(part) for part in loc) or "runbook"
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
            raw = steps[loc[1]] if isinstance(steps, list) and loc[1] < len(steps) else None
            step_id = raw.get("id") if isinstance(raw, dict) else None
            name = f"step {step_id}" if step_id else f"step #{loc[1] + 1}"
            rest = ".".join(str(part) for part in loc[2:])
            where = f"{name}: {rest}" if rest else name
        lines.append(f"{where}: {err['msg']}")
    return f"{source}: invalid runbook:\n  " + "\n  ".join(lines)
