"""Action ids and button values: the contract between the block builders and the handlers.

A runbook button has the action id ``co:<action>`` and the value
``{"rollout": …, "step": …, "action": …}``; a deploy-phase button (deploy, retry,
redeploy, abort) names a partition instead of a step; a button about the whole rollout
(Reply) names neither. The value only says which message a press came from: what the
press may do is judged against the rollout's current state.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

RUNBOOK_ACTION_PREFIX = "co:"
# Matches the action ids of runbook buttons (see `runbook_action_id`).
RUNBOOK_ACTION_PATTERN: re.Pattern[str] = re.compile(r"^co:[a-z][a-z0-9_]*$")

# The verification card's button (the runbook's `verify` step action).
RERUN_VERIFY = "co:rerun_verify"
# Buttons that are not runbook actions.
STUCK = "co_stuck"
PING_DEVOPS = "co_ping_devops"
DEPLOY = "co_deploy"
RETRY = "co_retry"
REDEPLOY = "co_redeploy"
ABORT = "co_abort"
DEPLOY_ACTIONS = (DEPLOY, RETRY, REDEPLOY, ABORT)
# The Reply button under a relayed message, and the modal it opens.
REPLY = "co_reply"
REPLY_MODAL = "co_reply_modal"
REPLY_BLOCK = "reply"
REPLY_INPUT = "text"

# Slack's limits for a button.
ACTION_ID_MAX = 255
VALUE_MAX = 2000
ROLLOUT_ID: re.Pattern[str] = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
# Ours: a rollout id, a step id, an action id or a partition name is short.
FIELD_MAX = 64


@dataclass(frozen=True)
class StepButton:
    """A button on a runbook step's message."""

    rollout_id: str
    step_id: str
    action: str


@dataclass(frozen=True)
class PartitionButton:
    """A deploy-phase button: deploy, retry, redeploy or abort, for one partition."""

    rollout_id: str
    partition: str
    action: str


@dataclass(frozen=True)
class RolloutButton:
    """A button about the rollout as a whole (Reply)."""

    rollout_id: str
    action: str


ButtonRef = StepButton | PartitionButton | RolloutButton


def runbook_action_id(action_id: str) -> str:
    """The Slack action id of the button for a runbook action."""
    return f"{RUNBOOK_ACTION_PREFIX}{action_id}"


def _encode(data: dict[str, str]) -> str:
    value = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if len(value) > VALUE_MAX:
        raise ValueError(f"button value is {len(value)} characters (Slack allows {VALUE_MAX})")
    return value


def step_value(rollout_id: str, step_id: str, action: str) -> str:
    """The value of a runbook step's button."""
    return _encode({"rollout": rollout_id, "step": step_id, "action": action})


def partition_value(rollout_id: str, partition: str, action: str) -> str:
    """The value of a deploy-phase button."""
    return _encode({"rollout": rollout_id, "partition": partition, "action": action})


def rollout_value(rollout_id: str, action: str) -> str:
    """The value of a button about the rollout as a whole."""
    return _encode({"rollout": rollout_id, "action": action})


def decode_value(value: str) -> ButtonRef:
    """Parse a value made by `step_value`/`partition_value`; ValueError on anything else."""
    try:
        data: Any = json.loads(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"button value is not JSON: {_preview(value)}") from exc
    if not isinstance(data, dict) or set(data) not in (
        {"rollout", "step", "action"},
        {"rollout", "partition", "action"},
        {"rollout", "action"},
    ):
        raise ValueError(f"button value has the wrong shape: {_preview(value)}")
    fields = list(data.values())
    if not all(isinstance(f, str) and 0 < len(f) <= FIELD_MAX for f in fields):
        raise ValueError(f"button value fields must be short non-empty strings: {_preview(value)}")
    if not ROLLOUT_ID.match(data["rollout"]):
        raise ValueError(f"button value names no rollout id: {_preview(value)}")
    if "step" in data:
        return StepButton(data["rollout"], data["step"], data["action"])
    if "partition" in data:
        return PartitionButton(data["rollout"], data["partition"], data["action"])
    return RolloutButton(data["rollout"], data["action"])


# What a person hears when a button's value cannot be read, or names no button we know.
OLD_BUTTON = (
    "That button is from an older version of the bot and no longer works. "
    "Use `/creators-onboard status` to see where the rollout stands."
)
UNKNOWN_BUTTON = (
    "I don't know that button, so it does nothing. "
    "Use `/creators-onboard status` to see where the rollout stands."
)


def _preview(value: object) -> str:
    return repr(value)[:80]


# ------------------------------------------------------------ ongoing operations
# Buttons outside a rollout: the monthly eligibility check-in's two answers, and
# "Start rotation" (on rotation reminders and leak warnings).
CHECKIN_NORMAL = "co_checkin_normal"
CHECKIN_NO_SALES = "co_checkin_no_sales"
CHECKIN_ACTIONS = (CHECKIN_NORMAL, CHECKIN_NO_SALES)
START_ROTATION = "co_start_rotation"


def any_of(*action_ids: str | re.Pattern[str]) -> re.Pattern[str]:
    """One pattern for several action ids (exact ids, or anchored patterns), so one
    listener takes them all: Bolt tries each listener's matcher in turn, working out its
    arguments every time, so a press went through up to eight before reaching its own."""
    parts = [
        a.pattern.removeprefix("^").removesuffix("$") if isinstance(a, re.Pattern) else re.escape(a)
        for a in action_ids
    ]
    return re.compile("^(?:" + "|".join(parts) + ")$")


# The presses of a rollout's messages (`handlers.actions`) and of the watches' (`handlers.watches`).
ROLLOUT_PRESSES = any_of(RUNBOOK_ACTION_PATTERN, STUCK, PING_DEVOPS, *DEPLOY_ACTIONS)
WATCH_PRESSES = any_of(*CHECKIN_ACTIONS, START_ROTATION)
ROTATION_REASONS = ("hygiene", "leak")


@dataclass(frozen=True)
class CheckinButton:
    """An answer to one eligibility check-in (`checkin` is the check-in's workflow id)."""

    checkin: str
    answer: str


def checkin_value(checkin: str, answer: str) -> str:
    return _encode({"checkin": checkin, "answer": answer})


def decode_checkin(value: str) -> CheckinButton:
    """Parse a value made by `checkin_value`; ValueError on anything else."""
    data = _decode_object(value, {"checkin", "answer"})
    if data["answer"] not in ("normal", "no_sales") or len(data["checkin"]) > 200:
        raise ValueError(f"not a check-in answer: {_preview(value)}")
    return CheckinButton(data["checkin"], data["answer"])


def rotation_value(reason: str) -> str:
    return _encode({"start": "rotation", "reason": reason})


def decode_rotation(value: str) -> str:
    """The reason a Start rotation button carries; ValueError on anything else."""
    data = _decode_object(value, {"start", "reason"})
    if data["start"] != "rotation" or data["reason"] not in ROTATION_REASONS:
        raise ValueError(f"not a Start rotation button: {_preview(value)}")
    return data["reason"]


def _decode_object(value: str, keys: set[str]) -> dict[str, str]:
    try:
        data: Any = json.loads(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"button value is not JSON: {_preview(value)}") from exc
    if not isinstance(data, dict) or set(data) != keys:
        raise ValueError(f"button value has the wrong shape: {_preview(value)}")
    if not all(isinstance(v, str) and v for v in data.values()):
        raise ValueError(f"button value fields must be non-empty strings: {_preview(value)}")
    return data
