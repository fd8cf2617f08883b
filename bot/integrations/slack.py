"""Everything the bot says in Slack goes through here: DMs, threads, edits, App Home."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.integrations.errors import IntegrationError
from bot.outbound import scrub, scrub_text
from bot.pacing import Pacer
from bot.runbook.problem import Problem

BlocksLike = Sequence[Block | dict[str, Any]]
# The message metadata event type our posts carry their idempotency key in.
POST_EVENT_TYPE = "creators_onboard_post"
# A thread is read at most this many pages of 200 replies deep when looking for a post.
_LOOKUP_PAGES = 10
T = TypeVar("T")


class SlackCallError(IntegrationError):
    """A Slack Web API call failed. Picklable (DBOS records a failed step's exception),
    unlike SlackApiError, and it carries Slack's own error code."""

    def __init__(
        self, method: str, code: str, *, retryable: bool = False, status: int | None = None
    ) -> None:
        unreachable = code in _UNREACHABLE
        super().__init__(
            Problem(
                symptom=(
                    f"Slack could not be reached for {method} ({_UNREACHABLE[code]})."
                    if unreachable
                    else f"Slack answered `{code}` to {method}."
                ),
                cause=_CAUSES.get(
                    code,
                    _DOWN_CAUSE if retryable else "Slack refused the call.",
                ),
                fix=_FIXES.get(
                    code,
                    _DOWN_FIX
                    if retryable
                    else "Check the bot's token, scopes and the IDs in the YAML.",
                ),
            ),
            retryable=retryable,
            status=status,
        )
        self.method = method
        self.code = code


# The bot token's scopes, as manifest.yml asks for them (tests/test_manifest.py holds the
# two the same): `creators-onboard check` compares them with the token's own.
BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "im:history",
    "channels:history",
    "groups:history",
    "users:read",
    "channels:read",
    "groups:read",
)

_CAUSES = {
    "user_not_found": "The user ID is not a member of this workspace.",
    "channel_not_found": "The channel ID is wrong, or the bot is not in that channel.",
    "not_in_channel": "The bot has not been invited to the channel.",
    "cannot_dm_bot": "The user ID belongs to a bot.",
    "invalid_auth": "SLACK_BOT_TOKEN is not valid for this workspace.",
    "missing_scope": "The app lacks a scope the call needs.",
}
_FIXES = {
    "user_not_found": "Fix the Slack member ID in the YAML (profile → ⋯ → Copy member ID).",
    "channel_not_found": "Fix slack.engineering_channel and /invite the bot there.",
    "not_in_channel": "/invite the bot to the channel.",
    "cannot_dm_bot": "Use a person's member ID in the YAML.",
    "invalid_auth": "Set SLACK_BOT_TOKEN to the app's Bot User OAuth Token.",
    "missing_scope": "Reinstall the app from manifest.yml so it gets every scope.",
}


# Slack's own codes for "not now" (docs.slack.dev, every method's Errors table).
_PASSING_CODES = frozenset(
    {"ratelimited", "fatal_error", "internal_error", "service_unavailable", "request_timeout"}
)
# Slack refusing the bot token itself (docs.slack.dev, every method's Errors table):
# `account_inactive`, a bot token whose app was uninstalled (its bot user deactivated) or
# whose workspace was deleted; `token_revoked`, a token revoked or its app removed;
# `invalid_auth`, a token that is not valid here, or a call from an IP address the app's
# token settings do not allow.
TOKEN_REFUSED_CODES = frozenset({"account_inactive", "invalid_auth", "token_revoked"})
# Failures with no answer from Slack: the code we give them and how we say it.
_UNREACHABLE = {
    "connection_failed": "the connection failed or was dropped",
    "timeout": "no answer in time",
}
_DOWN_CAUSE = "Slack or the network to it is having trouble; nothing is wrong with the bot."
_DOWN_FIX = (
    "Nothing to change in the bot: a rollout's messages are tried again for a few minutes. "
    "If it lasts, see https://slack-status.com."
)


def slack_error_code(exc: SlackApiError) -> tuple[str, int | None]:
    """Slack's error code and the HTTP status of its answer, whatever the answer was:
    `http_<status>` when it was not Slack's JSON (an HTML 503 from a load balancer during
    an outage; a text/plain 503 from a proxy in front of Slack, such as Envoy's "upstream
    connect error ... reset before headers", which slack_sdk keeps as a str, on which
    `exc.response.get` raises AttributeError), `unknown_error` without even a status.
    Every place that reads a SlackApiError's code reads it here; it never raises."""
    response = exc.response
    status = getattr(response, "status_code", None)
    if status is None:  # a body that claimed to be JSON and was not: aiohttp's own response
        status = getattr(response, "status", None)
    status = status if isinstance(status, int) else None
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str) and error:
        return error, status
    return (f"http_{status}" if status else "unknown_error"), status


def is_passing(code: str, status: int | None) -> bool:
    """Whether a failed call may succeed by itself later (Slack's own "not now" codes, a
    5xx, a 429 after the client's own retries), as opposed to a refusal that only a person
    can mend (`channel_not_found`, `invalid_auth`)."""
    return code in _PASSING_CODES or (status is not None and (status >= 500 or status == 429))


async def _call(method: str, call: Awaitable[T]) -> T:
    """One Web API call; every way it can fail comes out as a SlackCallError."""
    try:
        return await call
    except SlackApiError as exc:
        code, status = slack_error_code(exc)
        raise SlackCallError(
            method, code, retryable=is_passing(code, status), status=status
        ) from None
    except TimeoutError:
        raise SlackCallError(method, "timeout", retryable=True) from None
    except (aiohttp.ClientError, OSError):
        raise SlackCallError(method, "connection_failed", retryable=True) from None


def slack_should_retry(exc: BaseException) -> bool:
    """For a step's `should_retry`: a Slack failure is worth another try only when it
    may pass by itself (an outage, a rate limit), never a refusal (`channel_not_found`,
    `invalid_auth`) that only a person can mend."""
    return exc.retryable if isinstance(exc, SlackCallError) else True


def make_web_client(
    token: str, base_url: str, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """The one Slack client: injected base URL, retries on 429 and refused connections,
    over `session` when given (without one, every call opens a new HTTP session: a new
    TCP and TLS connection to Slack each time)."""
    if not base_url.endswith("/"):
        base_url += "/"
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        session=session,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            # Only a connection that was never made is tried again here: after a request
            # went out (a reset, a disconnect) Slack may have carried it out, and a blind
            # second chat.postMessage is a second message. The step that made the call
            # tries again instead, and first looks for its post (`post_once`).
            AsyncConnectionErrorRetryHandler(
                max_retry_count=2, error_types=[aiohttp.ClientConnectorError]
            ),
        ],
    )


def _dicts(blocks: BlocksLike | None) -> list[dict[str, Any]] | None:
    """Blocks as Slack takes them, scrubbed of secrets like everything the bot writes."""
    if blocks is None:
        return None
    return scrub([b.to_dict() if isinstance(b, Block) else b for b in blocks])


class SlackNotifier:
    """Posts with at most one message per channel per second (Slack's guidance)."""

    def __init__(self, client: AsyncWebClient, *, min_interval: float = 1.0) -> None:
        self.client = client
        self._pacer = Pacer(min_interval)
        self._dm_cache: dict[str, str] = {}

    async def open_dm(self, user: str) -> str:
        if user not in self._dm_cache:
            resp = await _call("conversations.open", self.client.conversations_open(users=user))
            self._dm_cache[user] = str(resp["channel"]["id"])
        return self._dm_cache[user]

    async def post(
        self,
        channel: str,
        text: str,
        blocks: BlocksLike | None = None,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
        key: str | None = None,
    ) -> str:
        """Post; with `key`, the message carries it as Slack message metadata so that
        `find_post` can tell later whether this post already happened."""
        await self._pacer.wait(channel)
        metadata = {"event_type": POST_EVENT_TYPE, "event_payload": {"key": key}} if key else None
        resp = await _call(
            "chat.postMessage",
            self.client.chat_postMessage(
                channel=channel,
                text=scrub_text(text),
                blocks=_dicts(blocks),
                thread_ts=thread_ts,
                reply_broadcast=broadcast if thread_ts else None,
                unfurl_links=False,
                unfurl_media=False,
                metadata=metadata,
            ),
        )
        return str(resp["ts"])

    async def find_post(self, channel: str, key: str, *, thread_ts: str | None) -> str | None:
        """The ts of the message posted with idempotency `key`, if Slack has it: in the
        thread under `thread_ts` (every reply, page by page), else among the channel's
        newest messages."""
        if channel[:1] in "UW":  # a post to a user id lands in the bot's DM with them
            channel = await self.open_dm(channel)
        cursor: str | None = None
        for _ in range(_LOOKUP_PAGES):
            if thread_ts:
                call = self.client.conversations_replies(
                    channel=channel,
                    ts=thread_ts,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                resp = await _call("conversations.replies", call)
            else:
                call = self.client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=200, cursor=cursor
                )
                resp = await _call("conversations.history", call)
            for message in resp.get("messages") or []:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if meta.get("event_type") == POST_EVENT_TYPE and payload.get("key") == key:
                    return str(message["ts"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not thread_ts or not resp.get("has_more") or not cursor:
                return None
        return None

    async def update(
        self, channel: str, ts: str, text: str, blocks: BlocksLike | None = None
    ) -> None:
        await _call(
            "chat.update",
            self.client.chat_update(
                channel=channel, ts=ts, text=scrub_text(text), blocks=_dicts(blocks)
            ),
        )

    async def ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: BlocksLike | None = None,
        *,
        thread_ts: str | None = None,
    ) -> None:
        await _call(
            "chat.postEphemeral",
            self.client.chat_postEphemeral(
                channel=channel,
                user=user,
                text=scrub_text(text),
                blocks=_dicts(blocks),
                thread_ts=thread_ts,
            ),
        )

    async def respond(self, response_url: str, text: str, blocks: BlocksLike | None = None) -> None:
        """Answer through an interaction's response_url (ephemeral, replaces nothing)."""
        webhook = AsyncWebhookClient(response_url, session=self.client.session)
        await webhook.send(
            text=scrub_text(text),
            blocks=_dicts(blocks),
            response_type="ephemeral",
            replace_original=False,
        )

    async def publish_home(self, user: str, blocks: BlocksLike) -> None:
        await _call(
            "views.publish",
            self.client.views_publish(
                user_id=user, view={"type": "home", "blocks": _dicts(blocks)}
            ),
        )

    async def auth_test(self) -> dict[str, Any]:
        resp = await self.client.auth_test()
        return dict(resp.data) if isinstance(resp.data, dict) else {}


class SlackDirectory:
    """Finds a person by the name typed after `@` (`start @alice @bob` when Slack sent the
    names as typed). Only the people the YAML lists are looked at — nobody else may take
    part in a rollout anyway — with one `users.info` each, remembered for a while."""

    def __init__(
        self, client: AsyncWebClient, candidates: Sequence[str], *, ttl: float = 600.0
    ) -> None:
        self.client = client
        self.candidates = list(dict.fromkeys(candidates))
        self.ttl = ttl
        self._names: dict[str, tuple[float, set[str]]] = {}

    async def _names_of(self, user: str) -> set[str]:
        cached = self._names.get(user)
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        resp = await _call("users.info", self.client.users_info(user=user))
        info = resp.get("user") or {}
        profile = info.get("profile") or {}
        found = {
            str(v).strip().lower()
            for v in (
                info.get("name"),
                info.get("real_name"),
                profile.get("display_name"),
                profile.get("display_name_normalized"),
                profile.get("real_name"),
                profile.get("real_name_normalized"),
            )
            if v
        }
        self._names[user] = (time.monotonic(), found)
        return found

    async def resolve(self, name: str) -> str | None:
        """The member ID of the listed person called `name` (with or without the @)."""
        wanted = name.lstrip("@").strip().lower()
        for user in self.candidates:
            if wanted in await self._names_of(user):
                return user
        return None
