"""What the GitHub stand-in checks every request (and its own answers) against.

The OpenAPI subset in ``bot/sandbox/specs/github-actions-subset.json``: path template,
method, known and required parameters and their types, the JSON body against the
operation's requestBody schema, and the REST headers GitHub wants. The few endpoints the
bot uses outside the subset are accepted loosely and listed in ``unspecified``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from aiohttp import web

from bot.sandbox.specs import spec

SPEC_PATH = spec("github-actions-subset.json")
API_VERSION = "2022-11-28"

# Endpoints the bot uses that are outside the spec subset (validated loosely here).
EXTRA_TEMPLATES = {
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}": {"get"},
    "/repos/{owner}/{repo}/contents/{path}": {"get"},
    "/repos/{owner}/{repo}/pulls/{pull_number}": {"get"},
}


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` → JSON Schema (type [..., "null"] or anyOf null)."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_to_jsonschema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    out = ""
    for part in parts:
        if part.startswith("{"):
            name = part[1:-1]
            # contents paths may contain slashes
            out += f"(?P<{name}>.+)" if name == "path" else f"(?P<{name}>[^/]+)"
        else:
            out += re.escape(part)
    return re.compile(f"^{out}$")


@dataclass
class _SpecOp:
    template: str
    regex: re.Pattern[str]
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)


class SpecChecks:
    """The spec, and what was found wrong so far (requests and the stand-in's answers)."""

    def __init__(self, spec_path: Path = SPEC_PATH) -> None:
        self.spec: dict[str, Any] = json.loads(spec_path.read_text(encoding="utf-8"))
        self.violations: list[str] = []
        self.response_violations: list[str] = []
        self.unspecified: list[str] = []
        self._components = _openapi_to_jsonschema(self.spec["components"])
        self._ops = self._load_ops()
        self._extra = [(t, _template_regex(t), m) for t, m in EXTRA_TEMPLATES.items()]

    def example(self, name: str) -> Any:
        """One of the spec's response examples (the stand-in's answers start from them)."""
        return self.spec["components"]["examples"][name]["value"]

    def _load_ops(self) -> list[_SpecOp]:
        ops = []
        for template, item in self.spec["paths"].items():
            op = _SpecOp(template, _template_regex(template))
            for method, detail in item.items():
                if method in {"get", "post", "put", "patch", "delete"}:
                    op.methods[method] = detail
            ops.append(op)
        return ops

    def _resolve(self, node: Any) -> Any:
        if isinstance(node, dict) and "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return self._resolve(target)
        return node

    def _schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # Let "#/components/..." references resolve against the spec's own components.
        return {**_openapi_to_jsonschema(schema), "components": self._components}

    def _check_value(self, where: str, value: str, schema: dict[str, Any]) -> str | None:
        schema = self._resolve(schema)
        typ = schema.get("type")
        candidates = [schema] if typ else [self._resolve(s) for s in schema.get("oneOf", [])]
        for cand in candidates:
            ctype = cand.get("type")
            try:
                if ctype == "integer":
                    int(value)
                elif ctype == "boolean" and value not in ("true", "false"):
                    continue
                if "enum" in cand and value not in cand["enum"]:
                    continue
                return None
            except ValueError:
                continue
        return f"{where}={value!r} does not match {schema}"

    def request(self, request: web.Request, body: Any, raw: bytes) -> None:
        """Check one request; what is wrong goes to `violations`."""
        path, method = request.path, request.method.lower()
        where = f"{request.method} {path}"
        headers = request.headers
        if headers.get("X-GitHub-Api-Version") != API_VERSION:
            self.violations.append(f"{where}: X-GitHub-Api-Version must be {API_VERSION}")
        if "application/vnd.github+json" not in headers.get("Accept", ""):
            self.violations.append(f"{where}: Accept should be application/vnd.github+json")
        if not headers.get("User-Agent"):
            self.violations.append(f"{where}: GitHub rejects requests without a User-Agent")
        if not headers.get("Authorization", "").startswith("Bearer "):
            self.violations.append(f"{where}: Authorization: Bearer <token> missing")

        for op in self._ops:
            m = op.regex.match(path)
            if not m:
                continue
            detail = op.methods.get(method)
            if detail is None:
                self.violations.append(f"{where}: method not allowed on {op.template}")
                return
            self._parameters(request, where, m, detail)
            self._body(request, where, detail, body, raw)
            return
        for template, rx, methods in self._extra:
            if rx.match(path):
                if method not in methods:
                    self.violations.append(f"{where}: method not allowed on {template}")
                self.unspecified.append(where)
                return
        self.violations.append(f"{where}: no such operation in the GitHub subset")

    def _parameters(
        self, request: web.Request, where: str, m: re.Match[str], detail: dict[str, Any]
    ) -> None:
        params = [self._resolve(p) for p in detail.get("parameters", [])]
        known_query = {p["name"]: p for p in params if p["in"] == "query"}
        for p in params:
            if p["in"] == "path":
                problem = self._check_value(f"{where}: path {p['name']}", m[p["name"]], p["schema"])
                if problem:
                    self.violations.append(problem)
            if p["in"] == "query" and p.get("required") and p["name"] not in request.query:
                self.violations.append(f"{where}: required query parameter {p['name']} missing")
        for name, value in request.query.items():
            if name not in known_query:
                self.violations.append(f"{where}: unknown query parameter {name!r}")
                continue
            problem = self._check_value(f"{where}: {name}", value, known_query[name]["schema"])
            if problem:
                self.violations.append(problem)

    def _body(
        self, request: web.Request, where: str, detail: dict[str, Any], body: Any, raw: bytes
    ) -> None:
        rb = detail.get("requestBody")
        if rb is None:
            if raw:
                self.violations.append(f"{where}: operation takes no body")
            return
        if rb.get("required") and not raw:
            self.violations.append(f"{where}: request body is required")
        elif raw:
            if "application/json" not in request.headers.get("Content-Type", ""):
                self.violations.append(f"{where}: body must be application/json")
            schema = rb["content"]["application/json"]["schema"]
            for err in jsonschema.Draft7Validator(self._schema(schema)).iter_errors(body):
                self.violations.append(f"{where}: body {err.json_path}: {err.message}")

    def response(self, template: str, method: str, status: int, payload: Any) -> None:
        """Check one of the stand-in's own answers; what is wrong goes to
        `response_violations`."""
        op = next(o for o in self._ops if o.template == template)
        response = op.methods[method]["responses"].get(str(status))
        if response is None:
            self.response_violations.append(f"{method} {template}: status {status} not in spec")
            return
        content = response.get("content")
        if content is None:
            return
        schema = content["application/json"]["schema"]
        for err in jsonschema.Draft7Validator(self._schema(schema)).iter_errors(payload):
            self.response_violations.append(
                f"fake {method} {template} {status}: {err.json_path}: {err.message}"
            )
