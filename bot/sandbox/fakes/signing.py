"""Sign request bodies the way Slack does, and build the bodies Slack sends.

Slack signs every request it sends to the app: the base string is
``v0:{timestamp}:{raw body}``, HMAC-SHA256 with the app's signing secret, hex
digest, prefixed ``v0=``; it arrives in ``X-Slack-Signature`` next to
``X-Slack-Request-Timestamp``. Bolt rejects anything older than five minutes, so
the timestamp defaults to now.

The body builders reproduce the wire format: slash commands and interactivity are
``application/x-www-form-urlencoded`` (interactivity as a single ``payload`` field
holding JSON), events and URL verification are JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from typing import Any

# Identifiers shared with the fake Web API (bot/sandbox/fakes/slack.py) so that signed
# requests and the fake describe the same workspace and app.
TEAM_ID = "T0FAKE001"
TEAM_DOMAIN = "fake-team"
API_APP_ID = "A0FAKEAPP"
BOT_USER_ID = "U0FAKEBOT"
BOT_ID = "B0FAKEBOT"
# The deprecated verification token Slack still includes in payloads; Bolt ignores it.
VERIFICATION_TOKEN = "fake-verification-token"  # noqa: S105 (a stand-in value)
DEFAULT_COMMAND = "/creators-onboard"
DEFAULT_CHANNEL_ID = "D0FAKEDM1"

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

_counter = itertools.count(1)


def _unique(prefix: str) -> str:
    return f"{prefix}{int(time.time())}{next(_counter):06d}"


def _trigger_id() -> str:
    return _unique("13345224609.") + ".fakeTrigger"


def sign(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Return the two signature headers Slack would send with ``body``."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode("ascii") + b":" + raw
    digest = hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def signed_headers(
    body: bytes | str, secret: str, *, timestamp: int | None = None
) -> dict[str, str]:
    """`sign()` plus the Content-Type Slack uses for this body (JSON or form)."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    content_type = JSON_CONTENT_TYPE if raw.lstrip().startswith(b"{") else FORM_CONTENT_TYPE
    return {"Content-Type": content_type, **sign(raw, secret, timestamp)}


def slash_command_body(
    text: str,
    user_id: str,
    *,
    command: str = DEFAULT_COMMAND,
    response_url: str = "https://hooks.slack.com/commands/T0FAKE001/1/fake",
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = "directmessage",
    trigger_id: str | None = None,
    user_name: str | None = None,
    team_id: str = TEAM_ID,
) -> str:
    """A slash-command invocation, form-encoded exactly as Slack posts it."""
    fields = _from_slack(
        team_id,
        team_domain=TEAM_DOMAIN,
        channel_id=channel_id,
        channel_name=channel_name,
        user_id=user_id,
        user_name=user_name or user_id.lower(),
        command=command,
        text=text,
        is_enterprise_install="false",
        response_url=response_url,
        trigger_id=trigger_id or _trigger_id(),
    )
    return urllib.parse.urlencode(fields)


def _from_slack(team_id: str, **fields: Any) -> dict[str, Any]:
    """What every request from Slack carries (a command, an event envelope), and `fields`."""
    return {"token": VERIFICATION_TOKEN, "team_id": team_id, "api_app_id": API_APP_ID, **fields}


def _user(user_id: str, team_id: str) -> dict[str, str]:
    """The `user` of an interactivity payload."""
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def _interaction(kind: str, user_id: str, team_id: str, **fields: Any) -> dict[str, Any]:
    """What every interactivity payload carries (its type, team, user, app), and `fields`."""
    return {
        "type": kind,
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        **fields,
    }


def block_action_payload(
    user_id: str,
    action_id: str,
    value: str,
    *,
    channel_id: str | None = None,
    message_ts: str | None = None,
    response_url: str | None = None,
    container: dict[str, Any] | None = None,
    block_id: str = "actions",
    action_type: str = "button",
    action_text: str = "Button",
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """The `block_actions` payload as a dict (see `block_action_body`)."""
    if container is None:
        if channel_id is not None and message_ts is not None:
            container = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            }
        else:
            # A button in the App Home tab lives in a view, not in a message.
            container = {"type": "view", "view_id": (view or {}).get("id", "V0FAKEHOME")}
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": f"{time.time():.6f}",
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": action_text, "emoji": True}
        action["value"] = value
    elif action_type == "static_select":
        action["selected_option"] = {
            "text": {"type": "plain_text", "text": action_text, "emoji": True},
            "value": value,
        }
    else:
        action["value"] = value
    payload = _interaction(
        "block_actions",
        user_id,
        team_id,
        container=container,
        trigger_id=trigger_id or _trigger_id(),
        enterprise=None,
        is_enterprise_install=False,
        state={"values": {}},
        actions=[action],
    )
    if channel_id is not None:
        payload["channel"] = {"id": channel_id, "name": "directmessage"}
    if container.get("type") == "message":
        payload["message"] = message or {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": container.get("message_ts", message_ts),
            "text": "",
            "blocks": [],
        }
    if view is not None or container.get("type") == "view":
        payload["view"] = view or {
            "id": container.get("view_id", "V0FAKEHOME"),
            "type": "home",
            "blocks": [],
            "team_id": team_id,
            "app_id": API_APP_ID,
            "bot_id": BOT_ID,
        }
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def block_action_body(user_id: str, action_id: str, value: str, **kwargs: Any) -> str:
    """A button press: form-encoded ``payload=<json>`` of type ``block_actions``.

    With ``channel_id`` and ``message_ts`` the button sits in that message; with
    neither (and no ``container``) it sits in the App Home view. The keyword arguments
    are `block_action_payload`'s.
    """
    return interactivity_body(block_action_payload(user_id, action_id, value, **kwargs))


def interactivity_body(payload: dict[str, Any]) -> str:
    """An interactivity request as Slack posts it: form-encoded ``payload=<json>``."""
    return urllib.parse.urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def view_submission_payload(
    user_id: str,
    view: dict[str, Any],
    state_values: dict[str, dict[str, Any]],
    *,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A modal's submit (``view_submission``): the open `view` with `state_values`
    (block_id → action_id → the element's state, as Slack reports it)."""
    shown = {k: v for k, v in view.items() if k != "trigger_id"}
    return _interaction(
        "view_submission",
        user_id,
        team_id,
        trigger_id=trigger_id or _trigger_id(),
        view={**shown, "state": {"values": state_values}},
        response_urls=[],
        is_enterprise_install=False,
        enterprise=None,
    )


def view_submission_body(
    user_id: str, view: dict[str, Any], values: dict[str, dict[str, str]], *, team_id: str = TEAM_ID
) -> str:
    """A modal's submit, form-encoded; `values` maps block_id → action_id → the typed text
    (plain_text_input)."""
    state = {
        block: {action: {"type": "plain_text_input", "value": text}}
        for block, actions in values.items()
        for action, text in actions.items()
    }
    return interactivity_body(view_submission_payload(user_id, view, state, team_id=team_id))


def view_closed_payload(
    user_id: str, view: dict[str, Any], *, team_id: str = TEAM_ID
) -> dict[str, Any]:
    """What Slack sends when a person closes a modal that asked (``notify_on_close``)."""
    return _interaction("view_closed", user_id, team_id, view=view, is_cleared=False)


def event_body(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    event_time: int | None = None,
    team_id: str = TEAM_ID,
) -> str:
    """An Events API ``event_callback`` envelope around ``event`` (JSON)."""
    bot = {
        "enterprise_id": None,
        "team_id": team_id,
        "user_id": BOT_USER_ID,
        "is_bot": True,
        "is_enterprise_install": False,
    }
    envelope = _from_slack(
        team_id,
        event=event,
        type="event_callback",
        event_id=event_id or _unique("Ev"),
        event_time=int(time.time()) if event_time is None else event_time,
        authorizations=[bot],
        is_ext_shared_channel=False,
        event_context=_unique("4-fake-context-"),
    )
    return json.dumps(envelope)


def url_verification_body(challenge: str) -> str:
    """The handshake Slack sends when the Request URL is saved (JSON)."""
    return json.dumps(
        {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    )


def app_rate_limited_body(minute: int, *, team_id: str = TEAM_ID) -> str:
    """Slack's notice that it drops the app's events from `team_id` since `minute` (an
    epoch second on a minute), as the Events API sends it (JSON, no inner event)."""
    return json.dumps(
        {
            "token": VERIFICATION_TOKEN,
            "type": "app_rate_limited",
            "team_id": team_id,
            "minute_rate_limited": minute,
            "api_app_id": API_APP_ID,
        }
    )


def ssl_check_body() -> str:
    """The certificate probe Slack sends to slash-command URLs (form-encoded)."""
    return urllib.parse.urlencode({"ssl_check": "1", "token": VERIFICATION_TOKEN})
