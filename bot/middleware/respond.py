"""`respond()` for every listener, over the app's own HTTP session and scrubbed like
everything else the bot writes to Slack.

Bolt's own `respond()` opens a new HTTP session for every message: a new TCP (and, against
Slack, TLS) connection each time an answer goes to a response_url."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.webhook.async_client import AsyncWebhookClient
from slack_sdk.webhook.webhook_response import WebhookResponse

from bot.afterack import tell_failures_to
from bot.middleware import Middleware, Next
from bot.outbound import scrub


def _dicts(items: Sequence[dict[str, Any] | Block | Attachment]) -> list[dict[str, Any]]:
    return [i if isinstance(i, dict) else i.to_dict() for i in items]


class SessionRespond(AsyncRespond):
    """Bolt's `respond()`, the same arguments, over `session`."""

    def __init__(self, *, response_url: str, session: aiohttp.ClientSession) -> None:
        super().__init__(response_url=response_url)
        self.session = session

    def __deepcopy__(self, memo: dict[int, Any]) -> SessionRespond:
        # Shared, never copied (Bolt deep-copies a request for each lazy listener; a live
        # HTTP session cannot be copied, and a copy would answer the same response_url).
        return self

    async def __call__(
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        given: dict[str, Any] = {
            "response_type": response_type,
            "replace_original": replace_original,
            "delete_original": delete_original,
            "unfurl_links": unfurl_links,
            "unfurl_media": unfurl_media,
            "thread_ts": thread_ts,
            "metadata": metadata,
        }
        message: dict[str, Any] = dict(text) if isinstance(text, dict) else {"text": text}
        given.update(blocks=blocks, attachments=attachments)
        message.update({k: v for k, v in given.items() if v is not None})
        for key in ("blocks", "attachments"):  # as Bolt does: empty lists are left out
            if message.get(key):
                message[key] = _dicts(message[key])
            else:
                message.pop(key, None)
        assert self.response_url is not None
        webhook = AsyncWebhookClient(self.response_url, session=self.session)
        return await webhook.send_dict(scrub(message))


class RespondOverSession(Middleware):
    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def around(self, req: AsyncBoltRequest, next: Next) -> BoltResponse | None:
        url = req.context.response_url
        respond = SessionRespond(response_url=url, session=self.session) if url else None
        if respond is not None:  # without one, Bolt's respond() says so when it is called
            req.context["respond"] = respond
        # Set for every request, so one request's respond never reaches the next (Socket
        # Mode dispatches several in one task): after-ack work that fails is told there.
        tell_failures_to(respond)
        return await next()
