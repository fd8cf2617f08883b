"""Who may do what, from the YAML. No Slack imports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.settings import FileConfig

Role = Literal["accountOwner", "devOps"]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def roles_of(config: FileConfig, user_id: str) -> set[Role]:
    roles: set[Role] = set()
    if user_id in config.slack.account_owners:
        roles.add("accountOwner")
    if user_id in config.slack.devops:
        roles.add("devOps")
    return roles


def require(config: FileConfig, user_id: str, role: Role, *, what: str) -> Decision:
    """Allow `user_id` to do `what` only when the YAML gives them `role`."""
    if role in roles_of(config, user_id):
        return Decision(True)
    listed = config.slack.devops if role == "devOps" else config.slack.account_owners
    key = "slack.devops" if role == "devOps" else "slack.account_owners"
    who = ", ".join(f"<@{u}>" for u in listed) or "nobody yet"
    return Decision(
        False,
        f"Only {role} can {what}, and you are not listed as {role} "
        f"(`{key}` in the bot's YAML lists: {who}). Ask one of them, "
        "or ask an admin to add you to that list.",
    )
