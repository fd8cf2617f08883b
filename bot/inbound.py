"""What reaches `/slack/events` is checked before Bolt sees it.

Unsigned (no, stale or wrong signature, a timestamp that is not a number) → 401.
Signed but malformed (not UTF-8, a `payload=` that is not a JSON object, JSON that is
not an object, fields of the wrong type where Bolt or our listeners read them) → 400.
Only a well-formed, signed request is dispatched, so nothing a client sends can make a
listener raise; the answer is never a 5xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    StrictStr,
    StringConstraints,
    ValidationError,
    model_validator,
)
from yarl import URL

from bot import commands

# Slack's window for a signed request (its docs: reject anything older than 5 minutes).
MAX_AGE_SECONDS = 60 * 5
# How Slack writes a signature: version 0, then the HMAC-SHA256 in hex.
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str
    # A request signed with our secret but dated outside the window: how many seconds
    # older than this host's clock says it is (negative: from the future). Either a
    # replay, or this host's clock is off, when every request from Slack comes so.
    skew: float | None = None
    # A recent request with a well-formed signature that is not ours: someone else's, or
    # SLACK_SIGNING_SECRET is not this app's, when every request from Slack comes so.
    other_secret: bool = False


# Slack's ids (users, channels, teams) are short upper-case words; anything else in an
# id field is not from Slack.
SlackId = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z0-9]{1,32}$")]
Short = Annotated[str, StringConstraints(strict=True, max_length=255)]
Url = Annotated[str, StringConstraints(strict=True, max_length=2000, pattern=r"^https?://[^\s]+$")]


class _Shape(BaseModel):
    """Typed where read, anything else allowed (Slack adds fields)."""

    model_config = ConfigDict(extra="allow", strict=True)


class _Id(_Shape):
    id: SlackId | None = None
    team_id: SlackId | None = None
    enterprise_id: SlackId | None = None


class _Action(_Shape):
    action_id: Short  # Slack's limit
    value: Annotated[str, StringConstraints(strict=True, max_length=2000)] | None = None
    action_ts: Short | None = None
    block_id: StrictStr | None = None
    type: StrictStr | None = None


class _Authorization(_Shape):
    team_id: StrictStr | None = None
    enterprise_id: StrictStr | None = None
    user_id: StrictStr | None = None
    is_enterprise_install: StrictBool | None = None


class _Message(_Shape):
    ts: Short | None = None
    thread_ts: Short | None = None
    user: SlackId | None = None
    channel: SlackId | None = None


class _Event(_Message):
    type: StrictStr
    tab: StrictStr | None = None
    bot_id: StrictStr | None = None
    subtype: StrictStr | None = None
    channel_type: StrictStr | None = None
    team: StrictStr | None = None
    user_team: StrictStr | None = None
    text: StrictStr | None = None
    item: dict[str, StrictStr] | None = None
    message: _Message | None = None
    previous_message: _Message | None = None


class _Payload(_Shape):
    type: StrictStr | None = None
    token: StrictStr | None = None
    challenge: StrictStr | None = None
    team: _Id | SlackId | None = None
    enterprise: _Id | SlackId | None = None
    team_id: SlackId | None = None
    enterprise_id: SlackId | None = None
    user: _Id | SlackId | None = None
    user_id: SlackId | None = None
    channel: _Id | SlackId | None = None
    channel_id: SlackId | None = None
    api_app_id: StrictStr | None = None
    trigger_id: Short | None = None
    response_url: Url | None = None
    event_id: Short | None = None
    event_time: int | None = None
    is_enterprise_install: StrictBool | StrictStr | None = None
    is_ext_shared_channel: StrictBool | None = None
    authorizations: list[_Authorization] | None = None
    actions: list[_Action] | None = None
    container: dict[str, Any] | None = None
    message: _Message | None = None
    view: dict[str, Any] | None = None
    event: _Event | None = None
    thread_ts: StrictStr | None = None

    @model_validator(mode="after")
    def _what_bolt_indexes(self) -> _Payload:
        # Bolt indexes these without looking: present means usable.
        fields = self.model_fields_set
        for name in ("event", "view", "container", "actions"):
            if name in fields and not getattr(self, name):
                raise ValueError(f"{name} is empty")
        return self


def check_signature(
    secret: str, body: bytes, headers: Any, *, now: float | None = None
) -> Refusal | None:
    """401 unless the request carries Slack's signature over this body, made recently."""
    stamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not stamp or not signature:
        return Refusal(401, "unsigned request")
    try:
        at = int(stamp)
    except ValueError:
        return Refusal(401, "the request timestamp is not a number")
    if not 0 <= at < 10**12:  # Unix seconds; a 400-digit one would not subtract from a float
        return Refusal(401, "the request timestamp is not a time")
    base = b"v0:" + stamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    age = (now or time.time()) - at
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        recent = abs(age) <= MAX_AGE_SECONDS
        shaped = _SIGNATURE.fullmatch(signature) is not None
        return Refusal(401, "the signature does not match", other_secret=recent and shaped)
    if abs(age) > MAX_AGE_SECONDS:
        return Refusal(401, "the request timestamp is outside Slack's 5-minute window", age)
    return None


def form_fields(text: str) -> dict[str, str]:
    """A form body's fields, exactly as `dict(urllib.parse.parse_qsl(text,
    keep_blank_values=True))` reads them (Bolt's reading; the last of a repeated name
    wins), decoded by yarl's compiled unquoter: parse_qsl decodes each `%XX` of a press's
    percent-encoded JSON in Python, a tenth of the whole ack's time (tests/test_inbound.py
    holds the two to the same answers)."""
    return dict(URL.build(query_string=text, encoded=True).query.items())


def is_ssl_check(body: bytes) -> bool:
    """Slack's certificate probe of a slash command's URL (`ssl_check=1&token=…`), which
    Slack sends unsigned: answered 200 with nothing done, before any signature check, as
    Bolt answers it. (In a form body `=` inside a value is `%3D`: the bytes can only be the
    field's name.)"""
    if b"ssl_check=" not in body:
        return False
    fields = form_fields(body.decode("utf-8", "replace"))
    return fields.get("ssl_check") == "1" and "command" not in fields and "payload" not in fields


def parse(body: bytes, content_type: str | None) -> dict[str, Any] | Refusal:
    """The request body as Bolt will read it, or why it is malformed (400)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "the body is not UTF-8")
    if not text:
        return Refusal(400, "the body is empty")
    try:
        data: Any
        if content_type == "application/json" or text.startswith("{"):
            data = json.loads(text)
        else:
            fields = form_fields(text)
            # A `payload` field, not the word anywhere (Bolt's test): a command typed as
            # `abort the payload is wrong`, or sent from #payload-team, is still a command.
            data = json.loads(fields["payload"]) if "payload" in fields else fields
    except (ValueError, RecursionError):
        return Refusal(400, "the body is not valid JSON")
    if not isinstance(data, dict):
        return Refusal(400, "the payload is not a JSON object")
    try:
        _Payload.model_validate(data)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        return Refusal(400, f"a field has the wrong type: {where[:80]}")
    return data


DUPLICATE = (
    "That command was already handled (Slack delivered it twice), so I did nothing "
    "more. `/creators-onboard status` shows where things stand."
)


# Subcommands that change nothing and audit nothing: answering a replay again is harmless.
READ_ONLY_SUBCOMMANDS = frozenset({"help", "status"})


def reads_only(body: dict[str, Any]) -> bool:
    """A slash command that only reads (`help`, `status`): nothing to do once only."""
    if "command" not in body:
        return False
    parsed = commands.parse(str(body.get("text") or ""))
    return parsed.known and parsed.name in READ_ONLY_SUBCOMMANDS


def once_key(body: dict[str, Any]) -> str | None:
    """What makes a request unique across Slack's retries and replays: an event's
    `event_id`, a command's or a press's `trigger_id`. None for anything else."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id") and ("command" in body or body.get("type") == "block_actions"):
        return f"trigger:{body['trigger_id']}"
    return None
