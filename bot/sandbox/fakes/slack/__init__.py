"""A local stand-in for the Slack Web API (``https://slack.com/api/``).

Start it, point a client at it, drive the bot, then look at what was sent::

    async with FakeSlack(token="xoxb-test") as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
        await client.chat_postMessage(channel="C0ENG123", text="hi")
        assert fake.calls("chat.postMessage")[0].args["text"] == "hi"
        fake.assert_no_violations()

It listens on 127.0.0.1 on an ephemeral port and only there.

What it checks, on every call to ``/api/{method}``:

* the method exists in the official OpenAPI description of the Web API
  (``bot/sandbox/specs/slack-web-openapi-v2.json``), else ``unknown_method``;
* a token came with it (``Authorization: Bearer …`` as slack_sdk sends it, or a
  ``token`` form/query field) and it is the configured bot token, else
  ``not_authed`` / ``invalid_auth``;
* every parameter the spec marks ``required`` for that operation is present,
  else ``invalid_arguments``.

Unknown methods and missing arguments are also kept in ``fake.violations`` so a
test can fail on them with ``fake.assert_no_violations()`` even when the bot
swallowed the error.

Notes on the spec, as followed here:

* The spec describes the token as a required parameter named ``token`` that lives
  ``in: header`` for most methods and ``in: query`` for some (``users.info``,
  ``chat.getPermalink``). Real Slack takes it from ``Authorization: Bearer`` or
  from a ``token`` form/query field, whatever the spec says, and so does the fake.
* The spec lists some methods under ``get`` with query parameters
  (``views.publish``, ``auth.test``, ``users.info``) although Slack accepts, and
  slack_sdk sends, POST with a JSON or form body too. The fake does not check the
  HTTP verb; it merges query, form and JSON arguments and checks presence only.
* Everything the spec marks required for the methods the bot uses is something
  real Slack needs as well (``chat.postMessage``: channel; ``chat.update``:
  channel, ts; ``chat.postEphemeral``: channel, user; ``views.publish``: user_id,
  view; ``chat.getPermalink``: channel, message_ts; ``auth.test``: only the token).
  The reverse gaps (Slack needs it, the spec does not say so) are checked too and
  reported as violations worded "required by Slack (the spec does not mark it)":
  ``users.info`` needs ``user``, ``chat.delete`` needs ``channel`` and ``ts``,
  ``conversations.open`` needs ``users`` or ``channel``, and
  ``chat.postMessage``/``chat.postEphemeral`` need one of text, blocks,
  attachments (Slack answers ``no_text``).

Parameters newer than the bundled spec, described from Slack's method pages and
checked like Slack does: ``chat.postMessage``'s ``metadata`` (``{"event_type": …,
"event_payload": {…}}``; anything else is ``invalid_metadata_format``), and
``conversations.history``/``conversations.replies``' ``include_all_metadata`` (messages
carry their ``metadata`` only when it is true) with ``limit``/``cursor`` paging
(history newest first, replies oldest first, the parent included).

``stall_next(method, seconds, text=…)`` stores what the call carries, then holds the
answer back: a test can kill the bot while Slack has the post but the bot has no answer.

Beyond the spec, the methods the bot relies on behave like Slack: a message store
(post, update in place, thread replies, delete), DM channels per user, the App
Home view per user, permalinks, users, channels (``add_channel``): ``conversations.info``
answers a channel as the spec's example does with the bot's ``is_member``, and
``channel_not_found`` for one it does not know (or a private one the bot is not in); posting
to a known channel the bot is not a member of answers ``not_in_channel`` (a bot without
``chat:write.public``). Channels never added are accepted for posting, as before.
``fail_next`` injects errors, including a 429 with ``Retry-After`` as Slack rate-limits.
``response_url(id)`` gives a URL on the fake for slash-command payloads; what the bot
posts there is in ``responses(id)``.

Modals: ``views.open`` / ``views.push`` / ``views.update`` keep each user's stack of open
modals (``modals(user)``); the user is the one ``issue_trigger(user)`` gave the
``trigger_id`` to (Slack ties a trigger to the person whose action made it, and a trigger
lasts 3 seconds: the fake does not expire them). ``close_modal(user, view_id)`` is what
Slack does when a submission is acked without ``response_action`` (or the person closes it).

Watching: ``subscribe(listener)`` calls ``listener(method, result)`` after every call the
fake carried out (``chat.postMessage``, ``chat.update``, ``views.open``, …; ``result`` is
the answer's payload) and ``listener("response_url", {"id": …, "body": …})`` for posts to a
``response_url`` and ``listener("modals", {"user": …, "modals": […]})`` when a user's
modals change, so a viewer can show messages and edits as they happen.

Socket Mode: ``apps.connections.open`` is not in the bundled spec (it predates the
method), so the fake describes it from Slack's method page: POST, the app-level
token (``xapp-…``, not the bot token) in ``Authorization: Bearer`` only (Slack
rejects it as a body field), answering ``{"ok": true, "url": "wss://…/link/?ticket=…"}``.
``attach_socket_mode(app_token, issue_url)`` turns it on; a bot token gets
``not_allowed_token_type``, another app token ``invalid_auth``. The WebSocket server
behind the URL is ``bot/sandbox/fakes/socket_mode.py``.

Layout: ``openapi`` (what the spec says of each method), ``records`` (what a call leaves
behind: calls, violations, messages), ``workspace`` (the workspace's state and the views
tests and the sandbox read), ``methods`` and ``modals`` (the Web API methods carried out),
``server`` (HTTP, dispatching, faults).
"""

from __future__ import annotations

from bot.sandbox.fakes.slack.openapi import MethodSpec, load_method_specs, spec_path
from bot.sandbox.fakes.slack.records import Call, Ephemeral, Message, Violation
from bot.sandbox.fakes.slack.server import FakeSlack
from bot.sandbox.fakes.slack.workspace import Listener

__all__ = [
    "Call",
    "Ephemeral",
    "FakeSlack",
    "Listener",
    "Message",
    "MethodSpec",
    "Violation",
    "load_method_specs",
    "spec_path",
]
