"""What the fake Web API keeps: the calls it received, the violations it saw, the messages
and ephemerals posted; and the small rules shared by every method."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.fakes.signing import API_APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID

# Arguments slack_sdk serialises to JSON strings when it form-encodes a call.
JSON_ARGS = frozenset({"blocks", "attachments", "view", "metadata", "unfurls", "user_auth_blocks"})
CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{2,}$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
FIRST_TS = 1_732_262_400  # 2024-11-22T08:00:00Z
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000
# Slack's rule for a metadata event_type: letters, digits, underscores, dots, ≤ 255.
EVENT_TYPE = re.compile(r"^[A-Za-z0-9_.]{1,255}$")


@dataclass(frozen=True)
class Call:
    """One request the fake received at ``/api/{method}``.

    ``args`` merges query, form and JSON arguments (JSON strings such as ``blocks``
    decoded); the token is not in ``args`` but in ``token``.
    """

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    token: str | None
    http_method: str = "POST"
    at: float = field(default_factory=time.monotonic, compare=False)  # when it arrived


@dataclass(frozen=True)
class Violation:
    """A call that the spec (or Slack) would reject."""

    method: str
    problem: str
    args: dict[str, Any] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return f"{self.method}: {self.problem}"


@dataclass
class Message:
    """The current version of a message the bot posted (``versions`` holds earlier ones)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None = None
    attachments: list[dict[str, Any]] | None = None
    user: str = BOT_USER_ID
    metadata: dict[str, Any] | None = None
    versions: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    @property
    def edits(self) -> int:
        return len(self.versions)

    def to_api(self, *, with_metadata: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "user": self.user}
        if self.user == BOT_USER_ID:  # a person's message carries no bot or app id
            out.update(bot_id=BOT_ID, app_id=API_APP_ID)
        out.update(team=TEAM_ID, text=self.text, ts=self.ts)
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.attachments is not None:
            out["attachments"] = self.attachments
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
            out["parent_user_id"] = self.user
        if self.metadata is not None and with_metadata:
            out["metadata"] = self.metadata
        if self.versions:
            out["edited"] = {"user": self.user, "ts": self.versions[-1]["replaced_at"]}
        return out


@dataclass(frozen=True)
class Ephemeral:
    """A message only ``user`` sees in ``channel`` (chat.postEphemeral)."""

    channel: str
    user: str
    message_ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None = None


@dataclass
class Fault:
    error: str
    status: int
    retry_after: int | None
    times: int
    html: bool = False
    plain: bool = False


def present(value: Any) -> bool:
    return value is not None and value != "" and value != []


def decode(key: str, value: Any) -> Any:
    if key in JSON_ARGS and isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra
