"""What the official OpenAPI description of the Slack Web API says about each method
(vendored in ``bot/sandbox/specs/``), plus the methods newer than it."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.sandbox.specs import spec

_SPEC_NAME = "slack-web-openapi-v2.json"


@dataclass(frozen=True)
class MethodSpec:
    """What the OpenAPI description says about one Web API method."""

    name: str
    http_verbs: tuple[str, ...]
    required: frozenset[str]
    parameters: frozenset[str]
    scopes: tuple[str, ...]


_SPEC_CACHE: dict[Path, dict[str, MethodSpec]] = {}

# Methods newer than the bundled spec, described from Slack's method pages.
EXTRA_METHODS = {
    "apps.connections.open": MethodSpec(
        "apps.connections.open",
        ("POST",),
        frozenset({"token"}),
        frozenset({"token"}),
        ("connections:write",),
    ),
}
# Methods that take the app-level token (xapp-…), and only as a header.
APP_LEVEL_METHODS = frozenset({"apps.connections.open"})


def spec_path() -> Path:
    """The vendored Slack Web API OpenAPI file."""
    return spec(_SPEC_NAME)


def load_method_specs(path: Path | None = None) -> dict[str, MethodSpec]:
    """Parse the spec once per process (it is 1.2 MB) into a per-method table."""
    path = (path or spec_path()).resolve()
    cached = _SPEC_CACHE.get(path)
    if cached is not None:
        return cached
    with path.open(encoding="utf-8") as fh:
        raw = json.load(fh)
    methods: dict[str, MethodSpec] = {}
    for route, operations in raw["paths"].items():
        name = route.lstrip("/")
        verbs: list[str] = []
        required: set[str] = set()
        params: set[str] = set()
        scopes: list[str] = []
        for verb, op in operations.items():
            if not isinstance(op, dict) or verb.startswith("x-"):
                continue
            verbs.append(verb.upper())
            for p in op.get("parameters", []):
                params.add(p["name"])
                if p.get("required"):
                    required.add(p["name"])
            for sec in op.get("security", []):
                for granted in sec.values():
                    scopes.extend(granted)
        methods[name] = MethodSpec(
            name, tuple(verbs), frozenset(required), frozenset(params), tuple(scopes)
        )
    _SPEC_CACHE[path] = methods
    return methods


@functools.cache
def _conversation_example_json() -> str:
    spec = json.loads(spec_path().read_text(encoding="utf-8"))
    example = spec["paths"]["/conversations.info"]["get"]["responses"]["200"]["examples"]
    return json.dumps(example["application/json"]["channel"])


def conversation_example() -> dict[str, Any]:
    """The spec's example answer of conversations.info (a fresh copy)."""
    found: dict[str, Any] = json.loads(_conversation_example_json())
    return found
