"""Who may do what, from the YAML: roles are lists of Slack user ids. No Slack imports."""

from __future__ import annotations

from typing import Literal

from bot.config import FileConfig

Role = Literal["accountOwner", "devOps"]


def roles_of(config: FileConfig, user_id: str) -> set[Role]:
    roles: set[Role] = set()
    if user_id in config.slack.account_owners:
        roles.add("accountOwner")
    if user_id in config.slack.devops:
        roles.add("devOps")
    return roles


def refuse_role(config: FileConfig, role: Role, *, what: str) -> str:
    """Why someone without `role` may not do `what`, and whom to ask instead."""
    listed = config.slack.devops if role == "devOps" else config.slack.account_owners
    key = "slack.devops" if role == "devOps" else "slack.account_owners"
    who = ", ".join(f"<@{u}>" for u in listed) or "nobody yet"
    return (
        f"Only {role} can {what}, and you are not listed as {role} "
        f"(`{key}` in the bot's YAML lists: {who}). Ask one of them, "
        "or ask an admin to add you to that list."
    )


def require(config: FileConfig, user_id: str, role: Role, *, what: str) -> str | None:
    """None when the YAML gives `user_id` the `role`, else why not."""
    return None if role in roles_of(config, user_id) else refuse_role(config, role, what=what)


def audit_refusal(config: FileConfig, user_id: str) -> str | None:
    """Why `user_id` may not read the audit trail (devOps only), or None."""
    return require(config, user_id, "devOps", what="read the audit trail")


def watch_refusal(config: FileConfig, user_id: str, title: str) -> str | None:
    """Why `user_id` may not run the watch titled `title` now (devOps only), or None."""
    return require(config, user_id, "devOps", what=f"run the {title} watch")
