"""A local stand-in for the AWS Amplify REST API: GetApp and GetBranch, as boto3 calls them.

boto3 (≥ 1.28) sends Amplify calls to ``AWS_ENDPOINT_URL_AMPLIFY`` when it is set, so the
bot's real `AmplifyChecker` reaches this server unchanged. The protocol is Amplify's
``rest-json``: ``GET /apps/{appId}`` answers ``{"app": {...}}``,
``GET /apps/{appId}/branches/{branchName}`` answers ``{"branch": {...}}``; timestamps are
epoch seconds; an error is its HTTP status with ``x-amzn-ErrorType`` naming the exception
and ``{"message": …}`` as the body. A request without a SigV4 ``Authorization`` header is
refused as AWS does (``MissingAuthenticationTokenException``, 403). Each request's region
is read from the signature's credential scope and kept in ``requests``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.sandbox.fakes.server import LoopbackFake

_CREATED = 1_735_689_600  # 2025-01-01T00:00:00Z
# An app id for tests that answer boto3 through botocore's Stubber (moto has no Amplify).
APP_ID = "d123abc"
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/amplify/aws4_request")


@dataclass
class FakeApp:
    app_id: str
    name: str
    region: str
    variables: dict[str, str] = field(default_factory=dict)
    branches: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class AmplifyRequest:
    path: str
    region: str | None
    signed: bool


class FakeAmplify(LoopbackFake):
    """``async with FakeAmplify() as fake:``; ``fake.url`` is AWS_ENDPOINT_URL_AMPLIFY."""

    def __init__(self) -> None:
        self.apps: dict[str, FakeApp] = {}
        self.requests: list[AmplifyRequest] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/apps/{app_id}", self._get_app)
        app.router.add_get("/apps/{app_id}/branches/{branch}", self._get_branch)

    @property
    def url(self) -> str:
        return self.base_url

    def add_app(
        self, app_id: str, name: str, region: str, variables: dict[str, str], branch: str
    ) -> FakeApp:
        """An app in `region` whose `branch` exists (branch variables empty)."""
        app = FakeApp(app_id, name, region, dict(variables), {branch: {}})
        self.apps[app_id] = app
        return app

    # ------------------------------------------------------------------ protocol

    def _found(self, request: web.Request) -> FakeApp | web.Response:
        auth = request.headers.get("Authorization", "")
        scope = _SCOPE.search(auth)
        region = scope[1] if scope else None
        self.requests.append(AmplifyRequest(request.path, region, bool(auth)))
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return _error(403, "MissingAuthenticationTokenException", "Missing Authentication")
        app = self.apps.get(request.match_info["app_id"])
        if app is None or app.region != region:
            # An app id is regional: asked in another region, AWS does not find it.
            return _error(404, "NotFoundException", "App not found.")
        return app

    async def _get_app(self, request: web.Request) -> web.Response:
        app = self._found(request)
        if isinstance(app, web.Response):
            return app
        body = app_json(app.app_id, app.name, app.region, app.variables, _CREATED)
        return web.json_response({"app": body})

    async def _get_branch(self, request: web.Request) -> web.Response:
        app = self._found(request)
        if isinstance(app, web.Response):
            return app
        name = request.match_info["branch"]
        variables = app.branches.get(name)
        if variables is None:
            return _error(404, "NotFoundException", f"Branch {name} not found.")
        body = branch_json(app.app_id, app.region, name, variables, _CREATED)
        return web.json_response({"branch": body})


def app_json(
    app_id: str, name: str, region: str, variables: dict[str, str], created: Any
) -> dict[str, Any]:
    """GetApp's `app` (`created` as the wire has it: epoch seconds; boto3 gives datetimes)."""
    return {
        "appId": app_id,
        "appArn": f"arn:aws:amplify:{region}:123456789012:apps/{app_id}",
        "name": name,
        "description": "",
        "repository": "https://github.com/Arda-cards/web",
        "platform": "WEB_COMPUTE",
        "createTime": created,
        "updateTime": created,
        "environmentVariables": dict(variables),
        "defaultDomain": f"{app_id}.amplifyapp.com",
        "enableBranchAutoBuild": False,
        "enableBasicAuth": False,
    }


def branch_json(
    app_id: str, region: str, name: str, variables: dict[str, str], created: Any
) -> dict[str, Any]:
    """GetBranch's `branch`."""
    return {
        "branchArn": f"arn:aws:amplify:{region}:123456789012:apps/{app_id}/branches/{name}",
        "branchName": name,
        "description": "",
        "stage": "PRODUCTION",
        "displayName": name,
        "enableNotification": False,
        "createTime": created,
        "updateTime": created,
        "environmentVariables": dict(variables),
        "enableAutoBuild": True,
        "customDomains": [],
        "framework": "Next.js - SSR",
        "activeJobId": "1",
        "totalNumberOfJobs": "1",
        "enableBasicAuth": False,
        "ttl": "5",
        "enablePullRequestPreview": False,
    }


def _error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response(
        {"message": message}, status=status, headers={"x-amzn-ErrorType": kind}
    )


# ------------------------------------------------------- as boto3 hands them back
# The same answers parsed, for botocore's Stubber (boto3 gives timestamps as datetimes).

_PARSED_CREATED = datetime.fromtimestamp(_CREATED, UTC)


def app_response(variables: dict[str, str]) -> dict[str, Any]:
    return {"app": app_json(APP_ID, "arda-web-dev", "us-east-1", variables, _PARSED_CREATED)}


def branch_response(variables: dict[str, str], name: str = "main") -> dict[str, Any]:
    return {"branch": branch_json(APP_ID, "us-east-1", name, variables, _PARSED_CREATED)}
