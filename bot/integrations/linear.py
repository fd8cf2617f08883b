"""Linear: post the rollout's notifications to the ticket (PDEV-446) over GraphQL.

Plain aiohttp, no GraphQL client library: every request is `POST <LINEAR_API_URL>` with a
JSON body `{query, variables, operationName}` and the header `Authorization: <key>` (a
personal API key is sent as-is, without "Bearer").

Delivering exactly once. `comment_create` sends a client-chosen comment id derived from
the rollout and the event (`comment_id_for`), so a retry after a lost response cannot
create a second comment: Linear refuses the repeated id, and we then look the comment up
by that id and report success. Retrying is the caller's job (a DBOS step with retries);
this module only classifies failures through `LinearError.retryable`.

Every GraphQL document is a module-level constant listed in `DOCUMENTS`, so the tests
validate each one against the published schema (`linear-schema.graphql`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
from pydantic import SecretStr

from bot.integrations.errors import IntegrationError
from bot.logging import get_logger
from bot.outbound import scrub_text
from bot.runbook.problem import Problem

log = get_logger(__name__)

DEFAULT_TIMEOUT_SECONDS = 15.0

# Fixed forever: changing it would change every comment id and break deduplication of
# posts that are retried across a deploy.
COMMENT_ID_NAMESPACE = uuid.UUID("76410603-d1b0-424c-b787-0e0176ab5e73")

COMMENT_CREATE = """
mutation CommentCreate($input: CommentCreateInput!) {
  commentCreate(input: $input) {
    success
    comment {
      id
    }
  }
}
""".strip()

COMMENT_UPDATE = """
mutation CommentUpdate($id: String!, $input: CommentUpdateInput!) {
  commentUpdate(id: $id, input: $input) {
    success
    comment {
      id
    }
  }
}
""".strip()

COMMENT_LOOKUP = """
query CommentLookup($id: String!) {
  comment(id: $id) {
    id
    issue {
      identifier
    }
  }
}
""".strip()

ISSUE_VISIBLE = """
query IssueVisible($id: String!) {
  issue(id: $id) {
    id
    identifier
    title
    url
  }
}
""".strip()

VIEWER = """
query Viewer {
  viewer {
    id
    name
    email
  }
}
""".strip()

DOCUMENTS: dict[str, str] = {
    "CommentCreate": COMMENT_CREATE,
    "CommentUpdate": COMMENT_UPDATE,
    "CommentLookup": COMMENT_LOOKUP,
    "IssueVisible": ISSUE_VISIBLE,
    "Viewer": VIEWER,
}

# Linear's personal API keys can be limited to some permissions (Read, Write, Admin, Create
# issues, Create comments) and to some teams: the bot edits its comments, so it needs
# Write, on the issue's team.
KEY_STEPS = (
    "create a personal API key in Linear → Settings → Security & access → Personal API "
    "keys, with Full access (or at least Read and Write: the bot edits its comments, which "
    "Create comments alone does not allow) and, if it is limited to teams, the issue's team "
    "among them"
)
_KEY_FIX = f"{KEY_STEPS}, and set LINEAR_API_KEY to it (sent as-is, without 'Bearer')"


class LinearError(IntegrationError):
    """A Linear call failed. `retryable` says whether trying again later may succeed.

    Retryable: HTTP 5xx and 429, Linear's RATELIMITED / INTERNAL_ERROR codes, timeouts and
    connection failures. Not retryable: a refused key, missing access, an unknown issue or
    comment, and any request Linear rejects as invalid. `code` is Linear's error code (or
    ours: NO_KEY, TIMEOUT, CONNECTION, UNSUCCESSFUL, …).
    """

    def __init__(
        self,
        problem: Problem,
        *,
        retryable: bool = False,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(problem, retryable=retryable, status=status)
        self.code = code

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "code": self.code}

    def __repr__(self) -> str:
        return (
            f"LinearError({self.problem.symptom!r}, retryable={self.retryable!r}, "
            f"status={self.status!r}, code={self.code!r})"
        )


def _error(
    symptom: str,
    *,
    cause: str,
    fix: str,
    code: str,
    retryable: bool = False,
    status: int | None = None,
) -> LinearError:
    return LinearError(
        Problem(symptom=symptom, cause=cause, fix=fix),
        retryable=retryable,
        status=status,
        code=code,
    )


@dataclass(frozen=True)
class IssueInfo:
    id: str
    identifier: str
    title: str
    url: str


def comment_id_for(rollout_id: str, event: str) -> str:
    """The comment id for one notification of one rollout: same inputs, same id.

    A uuid5 (SHA-1 of the pair in `COMMENT_ID_NAMESPACE`) with its version bits set to 4:
    Linear documents a client-supplied id as "UUID v4 format", so the id must look like
    one while staying deterministic.
    """
    name = json.dumps([rollout_id, event], ensure_ascii=False)
    digest = uuid.uuid5(COMMENT_ID_NAMESPACE, name)
    return str(uuid.UUID(bytes=digest.bytes, version=4))


@dataclass(frozen=True)
class _GraphQLError:
    message: str
    code: str
    type: str
    presentable: str


def _graphql_errors(payload: Any) -> list[_GraphQLError]:
    if not isinstance(payload, dict) or not isinstance(payload.get("errors"), list):
        return []
    found = []
    for raw in payload["errors"]:
        if not isinstance(raw, dict):
            continue
        ext_raw = raw.get("extensions")
        ext: dict[str, Any] = ext_raw if isinstance(ext_raw, dict) else {}
        found.append(
            _GraphQLError(
                message=str(raw.get("message") or ""),
                code=str(ext.get("code") or "").upper(),
                type=str(ext.get("type") or "").lower(),
                presentable=str(ext.get("userPresentableMessage") or ""),
            )
        )
    return found


# Failures that say nothing about whether our comment id is taken.
_NO_LOOKUP_CODES = {"AUTHENTICATION_ERROR", "FORBIDDEN", "NO_KEY"}
_RETRYABLE_CODES = {"RATELIMITED", "INTERNAL_ERROR", "INTERNAL_SERVER_ERROR", "LOCK_TIMEOUT"}
_RETRYABLE_TYPES = {"ratelimited", "internal error", "network error", "lock timeout"}


def _is_not_found(err: _GraphQLError) -> bool:
    text = f"{err.message} {err.presentable}".lower()
    return "not found" in text or "could not find" in text


class LinearClient:
    """The Linear GraphQL API, with one shared aiohttp session and a timeout per request."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        api_key: SecretStr,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._session = session
        self._url = url
        self._api_key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        return f"LinearClient(url={self._url!r})"

    # -- public API --------------------------------------------------------------------

    async def comment_create(self, issue: str, body: str, comment_id: str) -> str:
        """Post `body` on `issue` (identifier like PDEV-446, or its UUID) under `comment_id`.

        Idempotent: if a comment with `comment_id` already exists (an earlier attempt
        reached Linear but its answer was lost), this returns `comment_id` without posting
        again. Returns the comment id.
        """
        # Everything the bot writes to Linear is scrubbed of secrets (bot/outbound.py).
        variables = {"input": {"id": comment_id, "issueId": issue, "body": scrub_text(body)}}
        try:
            data = await self._execute("CommentCreate", COMMENT_CREATE, variables, issue=issue)
        except LinearError as exc:
            if exc.retryable or exc.code in _NO_LOOKUP_CODES:
                raise
            # Linear refused the create. If the reason is that our id is already taken,
            # the comment is there: that is the success a retry was hoping for.
            if await self._comment_exists(comment_id):
                log.info("linear_comment_already_posted", comment_id=comment_id, issue=issue)
                return comment_id
            raise
        payload = data.get("commentCreate") or {}
        if not payload.get("success"):
            raise _error(
                f"Linear did not post the comment on {issue}",
                retryable=True,
                cause="commentCreate answered success: false without an error.",
                fix="the post will be retried; if it keeps failing, check status.linear.app.",
                code="UNSUCCESSFUL",
            )
        created = str((payload.get("comment") or {}).get("id") or comment_id)
        log.info("linear_comment_created", comment_id=created, issue=issue)
        return created

    async def comment_update(self, comment_id: str, body: str) -> None:
        """Replace the body of an existing comment (e.g. the rollout log)."""
        variables = {"id": comment_id, "input": {"body": scrub_text(body)}}
        data = await self._execute("CommentUpdate", COMMENT_UPDATE, variables)
        if not (data.get("commentUpdate") or {}).get("success"):
            raise _error(
                f"Linear did not update comment {comment_id}",
                retryable=True,
                cause="commentUpdate answered success: false without an error.",
                fix="the update will be retried; if it keeps failing, check status.linear.app.",
                code="UNSUCCESSFUL",
            )
        log.info("linear_comment_updated", comment_id=comment_id)

    async def issue_visible(self, issue: str) -> IssueInfo | None:
        """The issue as the key's user sees it, or None when Linear has no such issue.

        A refused key raises LinearError: it never reads as "issue absent".
        """
        try:
            data = await self._execute("IssueVisible", ISSUE_VISIBLE, {"id": issue}, issue=issue)
        except LinearError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise
        found = data.get("issue")
        if not isinstance(found, dict):
            return None
        return IssueInfo(
            id=str(found.get("id", "")),
            identifier=str(found.get("identifier", "")),
            title=str(found.get("title", "")),
            url=str(found.get("url", "")),
        )

    async def viewer(self) -> str:
        """Who the API key belongs to, as "Name <email>"."""
        data = await self._execute("Viewer", VIEWER, {})
        me = data.get("viewer") or {}
        name = str(me.get("name") or me.get("id") or "unknown user")
        email = str(me.get("email") or "")
        return f"{name} <{email}>" if email else name

    # -- plumbing ----------------------------------------------------------------------

    async def _comment_exists(self, comment_id: str) -> bool:
        try:
            data = await self._execute("CommentLookup", COMMENT_LOOKUP, {"id": comment_id})
        except LinearError as exc:
            if exc.code == "NOT_FOUND":
                return False
            raise
        found = data.get("comment")
        return isinstance(found, dict) and found.get("id") == comment_id

    async def _execute(
        self,
        operation: str,
        document: str,
        variables: dict[str, Any],
        *,
        issue: str | None = None,
    ) -> dict[str, Any]:
        key = self._api_key.get_secret_value()
        if not key:
            raise _error(
                "Linear is not configured",
                cause="LINEAR_API_KEY is empty.",
                fix=_KEY_FIX,
                code="NO_KEY",
            )
        headers = {
            "Authorization": key,
            "Content-Type": "application/json",
            "User-Agent": "creators-onboard",
        }
        body = {"query": document, "variables": variables, "operationName": operation}
        try:
            async with self._session.post(
                self._url, json=body, headers=headers, timeout=self._timeout
            ) as response:
                status = response.status
                text = await response.text()
                retry_after = response.headers.get("Retry-After")
        except TimeoutError:
            raise _error(
                f"Linear did not answer {operation} within {self._timeout.total:g} s",
                retryable=True,
                cause="Linear or the network to it is slow or down.",
                fix="the call will be retried; if it keeps failing, check status.linear.app "
                "and this host's outbound HTTPS access to LINEAR_API_URL.",
                code="TIMEOUT",
            ) from None
        except aiohttp.ClientError as exc:
            raise _error(
                f"could not reach Linear for {operation} ({type(exc).__name__})",
                retryable=True,
                cause="the connection to LINEAR_API_URL failed (DNS, TLS, proxy or outage).",
                fix="the call will be retried; check LINEAR_API_URL (default "
                "https://api.linear.app/graphql) and this host's outbound HTTPS access.",
                code="CONNECTION",
            ) from None

        payload: Any = None
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = None
        errors = _graphql_errors(payload)
        if errors or status >= 400 or not isinstance(payload, dict):
            error = self._classify(operation, status, errors, issue, retry_after)
            # NOT_FOUND is an answer the callers ask for (does this comment exist yet?):
            # not a failure worth a warning on every rollout's first log comment.
            report = log.info if error.code == "NOT_FOUND" else log.warning
            report(
                "linear_request_failed",
                operation=operation,
                status=status,
                code=error.code,
                retryable=error.retryable,
            )
            raise error
        data = payload.get("data")
        return data if isinstance(data, dict) else {}

    def _classify(
        self,
        operation: str,
        status: int,
        errors: list[_GraphQLError],
        issue: str | None,
        retry_after: str | None,
    ) -> LinearError:
        first = errors[0] if errors else None
        code = first.code if first else ""
        kind = first.type if first else ""
        detail = self._scrub(first.presentable or first.message) if first else ""
        said = f" (Linear said: {detail})" if detail else ""

        if status == 401 or code == "AUTHENTICATION_ERROR" or kind == "authentication error":
            return _error(
                f"Linear refused the API key (HTTP {status})",
                cause="LINEAR_API_KEY is invalid, expired or revoked.",
                fix=_KEY_FIX,
                status=status,
                code="AUTHENTICATION_ERROR",
            )
        if status == 429 or code == "RATELIMITED" or kind == "ratelimited":
            wait = f" (Retry-After: {retry_after} s)" if retry_after else ""
            return _error(
                f"Linear rate-limited {operation}{wait}",
                retryable=True,
                cause="too many requests with this API key in the current window.",
                fix="the call will be retried after a pause; nothing to change unless it "
                "persists for hours (then look for another tool using the same key).",
                status=status,
                code="RATELIMITED",
            )
        if status == 403 or code == "FORBIDDEN" or kind == "forbidden":
            return _error(
                f"Linear refused {operation}: the key's user lacks access{said}",
                cause="the API key is valid but its user cannot see or write to the issue's "
                "team, or the key lacks write access.",
                fix="use a key of a user who is a member of the issue's team: "
                f"{KEY_STEPS}; set LINEAR_API_KEY to it.",
                status=status,
                code="FORBIDDEN",
            )
        if status >= 500 or code in _RETRYABLE_CODES or kind in _RETRYABLE_TYPES:
            return _error(
                f"Linear failed on {operation} (HTTP {status}){said}",
                retryable=True,
                cause="a temporary problem on Linear's side.",
                fix="the call will be retried; if it keeps failing, check status.linear.app.",
                status=status,
                code=code or "SERVER_ERROR",
            )
        if first is not None and _is_not_found(first):
            what = f"issue {issue}" if issue is not None else "the requested object"
            return _error(
                f"Linear cannot find {what}{said}",
                cause="the identifier is wrong, the issue was deleted or moved, or the key's "
                "user cannot see its team.",
                fix="set linear.issue in creators-onboard.yml to an existing issue (e.g. "
                "PDEV-446) and check that the LINEAR_API_KEY user can open it in Linear.",
                status=status,
                code="NOT_FOUND",
            )
        if first is not None:
            return _error(
                f"Linear rejected {operation}{said}",
                cause=f"Linear answered HTTP {status} with error code {code or 'none'}: the "
                "request is not valid for this workspace.",
                fix="this is a bug in creators-onboard or a Linear API change: report it with "
                "this message; retrying will not help.",
                status=status,
                code=code or "GRAPHQL_ERROR",
            )
        return _error(
            f"Linear answered {operation} with HTTP {status} and no GraphQL result",
            cause="an unexpected response, often a proxy or a wrong LINEAR_API_URL.",
            fix="check that LINEAR_API_URL points at Linear's GraphQL endpoint "
            "(https://api.linear.app/graphql).",
            status=status,
            code="UNEXPECTED_RESPONSE",
        )

    def _scrub(self, text: str) -> str:
        key = self._api_key.get_secret_value()
        if key:
            text = text.replace(key, "[redacted]")
        return text[:300]


__all__ = [
    "COMMENT_CREATE",
    "COMMENT_LOOKUP",
    "COMMENT_UPDATE",
    "DOCUMENTS",
    "ISSUE_VISIBLE",
    "VIEWER",
    "IssueInfo",
    "LinearClient",
    "LinearError",
    "comment_id_for",
]
