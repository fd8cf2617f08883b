"""A local stand-in for Linear's GraphQL API (https://api.linear.app/graphql).

Every request is parsed and validated with graphql-core against the published schema
(`bot/sandbox/specs/linear-schema.graphql`), its variables are coerced against the
operation's variable definitions, and only then executed by a handful of resolvers:
`commentCreate`, `commentUpdate`, `comment`, `issue` and `viewer`. Anything the schema
rejects gets the 400 + `{"errors": [...]}` answer Linear gives, so a typo in one of the
bot's documents fails the tests instead of production.

Error bodies copy Linear's shape: `{"errors": [{"message", "extensions": {"type", "code",
"statusCode", "userError", "userPresentableMessage"}}], "data": null}`.

    async with FakeLinear(api_key="lin_api_test", issue="PDEV-446") as fake:
        client = LinearClient(session, fake.url, SecretStr("lin_api_test"))
        ...
        fake.comments   # {id: FakeComment}
        fake.requests   # [RecordedRequest], in arrival order

Fault injection: `fail_next(n, status=500)` answers the next n requests with an error
before doing anything; `drop_response_next(n)` carries out the next n requests and then
answers 500 (the "lost response" that makes a client retry); `stall_next(n, seconds)`
waits before handling (to trip a client timeout).
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web
from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    execute,
    parse,
    validate,
)

from bot.sandbox.fakes.server import LoopbackFake
from bot.sandbox.specs import spec

SCHEMA_PATH = spec("linear-schema.graphql")


@functools.cache
def linear_schema() -> GraphQLSchema:
    """Linear's schema, built once per process (the SDL is 1.2 MB; building takes ~2 s)."""
    return build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))


def validation_errors(document: str) -> list[str]:
    """Why `document` is not a valid request against Linear's schema ([] when it is)."""
    try:
        ast = parse(document)
    except GraphQLError as exc:
        return [exc.message]
    return [err.message for err in validate(linear_schema(), ast)]


@dataclass
class RecordedRequest:
    document: str
    operation_name: str | None
    variables: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeComment:
    id: str
    issue_id: str
    body: str
    created_at: float
    updated_at: float
    edits: int = 0


@dataclass
class _Fault:
    kind: str  # "fail" | "drop" | "stall"
    status: int = 500
    seconds: float = 0.0


def _error(
    message: str,
    *,
    code: str,
    type_: str,
    status: int,
    presentable: str | None = None,
) -> GraphQLError:
    extensions: dict[str, Any] = {
        "type": type_,
        "code": code,
        "statusCode": status,
        "userError": status < 500,
    }
    if presentable:
        extensions["userPresentableMessage"] = presentable
    return GraphQLError(message, extensions=extensions)


def _not_found(entity: str) -> GraphQLError:
    return _error(
        f"Entity not found: {entity}",
        code="INPUT_ERROR",
        type_="invalid input",
        status=400,
        presentable=f"Could not find referenced {entity}.",
    )


AUTH_ERROR_BODY: dict[str, Any] = {
    "errors": [
        {
            "message": "Authentication required, not authenticated",
            "extensions": {
                "type": "authentication error",
                "code": "AUTHENTICATION_ERROR",
                "statusCode": 401,
                "userError": True,
                "userPresentableMessage": "You need to authenticate to access this operation.",
            },
        }
    ]
}


@dataclass
class FakeLinear(LoopbackFake):
    api_key: str = "lin_api_test"
    issue: str = "PDEV-446"
    issue_title: str = "Amazon Creators API onboarding"
    viewer_name: str = "Onboarding Bot"
    viewer_email: str = "onboarding-bot@example.com"
    # HTTP status for a request whose errors leave `data` null (Linear has been seen to
    # answer both 200 and 400 for "Entity not found").
    user_error_status: int = 400
    # HTTP status for a refused key (Linear sends 401 with the body in AUTH_ERROR_BODY).
    auth_status: int = 401

    comments: dict[str, FakeComment] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.issue_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"linear-issue:{self.issue}"))
        self.viewer_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"linear-user:{self.viewer_email}"))
        self._faults: list[_Fault] = []
        self._last_sync = 1000.0

    # -- lifecycle -----------------------------------------------------------------------

    shutdown_timeout = 1.0

    async def start(self) -> Self:
        await asyncio.to_thread(linear_schema)  # build once, off the event loop
        return await super().start()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/graphql", self._handle)

    @property
    def url(self) -> str:
        return f"{self.base_url}/graphql"

    # -- fault injection -----------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next n requests with `status` without carrying them out."""
        self._faults.extend(_Fault("fail", status=status) for _ in range(n))

    def pending_faults(self) -> int:
        """Faults armed and not yet served."""
        return len(self._faults)

    def drop_response_next(self, n: int = 1) -> None:
        """Carry out the next n requests, then answer 500 as if the response was lost."""
        self._faults.extend(_Fault("drop") for _ in range(n))

    def stall_next(self, n: int = 1, seconds: float = 1.0) -> None:
        """Wait `seconds` before handling each of the next n requests."""
        self._faults.extend(_Fault("stall", seconds=seconds) for _ in range(n))

    def clear_faults(self) -> None:
        """Forget every fault not yet used: the next request is answered normally."""
        self._faults.clear()

    # -- helpers for tests ---------------------------------------------------------------

    def comments_on(self, issue: str | None = None) -> list[FakeComment]:
        wanted = self.issue_uuid
        if issue is not None and issue not in (self.issue, self.issue_uuid):
            return []
        return [c for c in self.comments.values() if c.issue_id == wanted]

    def operations(self) -> list[str | None]:
        return [r.operation_name for r in self.requests]

    # -- HTTP ----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.text()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            self.requests.append(RecordedRequest(raw, None, {}, dict(request.headers)))
            return self._errors(
                400, [{"message": "Must provide query string.", "extensions": _BAD_REQUEST}]
            )
        document: str = body["query"]
        variables = body.get("variables") or {}
        operation_name = body.get("operationName")
        try:
            ast = parse(document)
        except GraphQLError as exc:
            self.requests.append(
                RecordedRequest(document, operation_name, variables, dict(request.headers))
            )
            return self._errors(400, [_formatted(exc, "GRAPHQL_PARSE_FAILED")])
        if operation_name is None:
            ops = [d for d in ast.definitions if isinstance(d, OperationDefinitionNode)]
            if len(ops) == 1 and ops[0].name is not None:
                operation_name = ops[0].name.value
        self.requests.append(
            RecordedRequest(document, operation_name, variables, dict(request.headers))
        )

        fault = self._faults.pop(0) if self._faults else None
        if fault is not None and fault.kind == "stall":
            await asyncio.sleep(fault.seconds)
        if fault is not None and fault.kind == "fail":
            return self._fault_response(fault.status)

        if request.headers.get("Authorization") != self.api_key:
            return web.json_response(AUTH_ERROR_BODY, status=self.auth_status)

        schema = linear_schema()
        invalid = validate(schema, ast)
        if invalid:
            return self._errors(400, [_formatted(e, "GRAPHQL_VALIDATION_FAILED") for e in invalid])

        result = execute(
            schema,
            ast,
            root_value=self._root(),
            variable_values=variables,
            operation_name=operation_name,
        )
        assert isinstance(result, ExecutionResult), "resolvers are synchronous"
        if fault is not None and fault.kind == "drop":
            return self._fault_response(500)

        payload: dict[str, Any] = {"data": result.data}
        errors = result.errors
        if errors:
            if result.data is None and all(e.path is None for e in errors):
                # Variables that do not fit the operation's definitions.
                return self._errors(400, [_formatted(e, "BAD_USER_INPUT") for e in errors])
            payload["errors"] = [e.formatted for e in errors]
            status = self.user_error_status if result.data is None else 200
            return web.json_response(payload, status=status)
        return web.json_response(payload)

    def _errors(self, status: int, errors: list[dict[str, Any]]) -> web.Response:
        return web.json_response({"errors": errors}, status=status)

    def _fault_response(self, status: int) -> web.Response:
        if status == 429:
            body = {
                "errors": [
                    {
                        "message": "Rate limit exceeded",
                        "extensions": {
                            "type": "ratelimited",
                            "code": "RATELIMITED",
                            "statusCode": 429,
                            "userPresentableMessage": "Too many requests, slow down.",
                        },
                    }
                ]
            }
            return web.json_response(body, status=429, headers={"Retry-After": "1"})
        if status >= 500:
            # What a load balancer in front of Linear answers: not JSON.
            return web.Response(
                status=status, text="upstream connect error", content_type="text/plain"
            )
        return web.json_response(
            {"errors": [{"message": f"HTTP {status}", "extensions": {"statusCode": status}}]},
            status=status,
        )

    # -- resolvers -----------------------------------------------------------------------

    def _root(self) -> dict[str, Any]:
        return {
            "commentCreate": self._comment_create,
            "commentUpdate": self._comment_update,
            "comment": self._comment,
            "issue": self._issue,
            "viewer": self._viewer,
        }

    def _issue_node(self) -> dict[str, Any]:
        return {
            "id": self.issue_uuid,
            "identifier": self.issue,
            "title": self.issue_title,
            "url": f"https://linear.app/example/issue/{self.issue.lower()}/",
        }

    def _comment_node(self, comment: FakeComment) -> dict[str, Any]:
        return {
            "id": comment.id,
            "body": comment.body,
            "issueId": comment.issue_id,
            "issue": self._issue_node(),
            "url": f"https://linear.app/example/issue/{self.issue.lower()}#comment-{comment.id[:8]}",
        }

    def _payload(self, comment: FakeComment) -> dict[str, Any]:
        self._last_sync += 1
        return {
            "success": True,
            "lastSyncId": self._last_sync,
            "comment": self._comment_node(comment),
        }

    def _comment_create(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        issue_id = input.get("issueId")
        if issue_id not in (self.issue, self.issue_uuid):
            raise _not_found("Issue")
        comment_id = input.get("id") or str(uuid.uuid4())
        try:
            parsed = uuid.UUID(comment_id)
        except ValueError:
            parsed = None
        if parsed is None or parsed.version != 4 or str(parsed) != comment_id.lower():
            raise _error(
                "Argument Validation Error",
                code="INVALID_INPUT",
                type_="invalid input",
                status=400,
                presentable="id must be a UUID",
            )
        if comment_id in self.comments:
            raise _error(
                "Entity already exists",
                code="INVALID_INPUT",
                type_="invalid input",
                status=400,
                presentable="A comment with this id already exists.",
            )
        now = time.time()
        comment = FakeComment(comment_id, self.issue_uuid, str(input.get("body") or ""), now, now)
        self.comments[comment_id] = comment
        return self._payload(comment)

    def _comment_update(
        self,
        _info: Any,
        id: str,
        input: dict[str, Any],
        skipEditedAt: bool | None = None,
    ) -> dict[str, Any]:
        comment = self.comments.get(id)
        if comment is None:
            raise _not_found("Comment")
        if "body" in input and input["body"] is not None:
            comment.body = str(input["body"])
            comment.updated_at = time.time()
            comment.edits += 1
        return self._payload(comment)

    def _comment(self, _info: Any, id: str | None = None, hash: str | None = None) -> Any:
        comment = self.comments.get(id or "")
        if comment is None:
            raise _not_found("Comment")
        return self._comment_node(comment)

    def _issue(self, _info: Any, id: str) -> dict[str, Any]:
        if id not in (self.issue, self.issue_uuid):
            raise _not_found("Issue")
        return self._issue_node()

    def _viewer(self, _info: Any) -> dict[str, Any]:
        return {
            "id": self.viewer_id,
            "name": self.viewer_name,
            "displayName": self.viewer_name.split()[0].lower(),
            "email": self.viewer_email,
        }


_BAD_REQUEST: dict[str, Any] = {
    "type": "graphql error",
    "code": "BAD_REQUEST",
    "statusCode": 400,
    "userError": True,
}


def _formatted(err: GraphQLError, code: str) -> dict[str, Any]:
    out: dict[str, Any] = dict(err.formatted)
    out["extensions"] = {
        **(out.get("extensions") or {}),
        "type": "graphql error",
        "code": code,
        "statusCode": 400,
        "userError": True,
    }
    return out
