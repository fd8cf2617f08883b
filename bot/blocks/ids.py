"""Action ids and button values: the contract between the block builders and the handlers.

Every runbook button has the action id ``co:<action id>`` and a compact JSON value naming
the rollout, the step and the action, so a press can be routed without any lookup.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

RUNBOOK_ACTION_PREFIX = "co:"
# Matches the action ids of runbook buttons (see `runbook_action_id`).
RUNBOOK_ACTION_PATTERN: re.Pattern[str] = re.compile(r"^co:[a-z][a-z0-9_]*$")

# Buttons that are not runbook actions.
STUCK = "co_stuck"
PING_DEVOPS = "co_ping_devops"

# Slack's limits for a button.
ACTION_ID_MAX = 255
VALUE_MAX = 2000


@dataclass(frozen=True)
class ButtonRef:
    """What a button press refers to: rollout id, step id and action id."""

    r: str
    s: str
    a: str

    @property
    def rollout_id(self) -> str:
        return self.r

    @property
    def step_id(self) -> str:
        return self.s

    @property
    def action_id(self) -> str:
        return self.a


def runbook_action_id(action_id: str) -> str:
    """The Slack action id of the button for a runbook action."""
    return f"{RUNBOOK_ACTION_PREFIX}{action_id}"


def encode_value(rollout_id: str, step_id: str, action_id: str) -> str:
    """Compact JSON button value ``{"r":..,"s":..,"a":..}`` (at most 2,000 characters)."""
    value = json.dumps(
        {"r": rollout_id, "s": step_id, "a": action_id},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    if len(value) > VALUE_MAX:
        raise ValueError(f"button value is {len(value)} characters (Slack allows {VALUE_MAX})")
    return value


def decode_value(value: str) -> ButtonRef:
    """Parse a value made by `encode_value`; raise ValueError on anything else."""
    try:
        data = json.loads(value)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"button value is not JSON: {_preview(value)}") from exc
    if not isinstance(data, dict) or set(data) != {"r", "s", "a"}:
        raise ValueError(f"button value has the wrong shape: {_preview(value)}")
    r, s, a = data["r"], data["s"], data["a"]
    if not (isinstance(r, str) and isinstance(s, str) and isinstance(a, str)) or not (
        r and s and a
    ):
        raise ValueError(f"button value fields must be non-empty strings: {_preview(value)}")
    return ButtonRef(r=r, s=s, a=a)


def _preview(value: object) -> str:
    return repr(value)[:80]
