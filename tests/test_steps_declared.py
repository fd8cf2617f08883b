"""Every durable step is declared with `bot.workflows.steps.step`, which scrubs what DBOS
records of it: a bare `@DBOS.step` would let a secret an upstream echoed reach the
database."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"


def _dbos_steps(tree: ast.AST) -> list[int]:
    """Lines where `DBOS.step(...)` is used as a decorator or called."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "step":
            if isinstance(node.value, ast.Name) and node.value.id == "DBOS":
                found.append(node.lineno)
    return found


def test_only_the_step_declarer_uses_dbos_step() -> None:
    uses = {
        str(path.relative_to(BOT)): lines
        for path in BOT.rglob("*.py")
        if (lines := _dbos_steps(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert list(uses) == ["workflows/steps/__init__.py"], uses
    assert len(uses["workflows/steps/__init__.py"]) == 1


def test_the_declarer_is_used_for_every_step() -> None:
    steps = 0
    for path in (BOT / "workflows" / "steps").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.AsyncFunctionDef) and node.name.endswith("_step"):
                decorators = [ast.unparse(d) for d in node.decorator_list]
                assert any(d.startswith("step(") for d in decorators), (path, node.name)
                steps += 1
    assert steps > 20  # the walk found the steps (a wrong folder would pass vacuously)
