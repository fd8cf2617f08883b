"""`/creators-onboard …`: one listener that parses, authorises, hands off and acks.

Everything here is a config lookup or a database round trip; the slow work (Slack
messages, 1Password, GitHub, Linear) happens in the rollout workflow.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.blocks.help import help_blocks, help_text
from bot.blocks.status import status_board_blocks, status_summary
from bot.commands import BY_NAME, COMMAND, Parsed, parse
from bot.deps import Deps
from bot.logging import bind_request, get_logger
from bot.roles import require, roles_of
from bot.runbook import load_runbook
from bot.workflows import service
from bot.workflows.state import Event, RolloutKind

log = get_logger(__name__)

# Subcommands that become an event for the active rollout.
FORWARDED = ("verify", "deploy", "smoke", "retry", "abort")


def register(app: AsyncApp, deps: Deps) -> None:
    @app.command(COMMAND)
    async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        parsed = parse(command.get("text"))
        user = str(command.get("user_id", ""))
        bind_request(subcommand=parsed.name if parsed.known else "unknown")
        if not parsed.known:
            await ack(
                text=help_text(unknown=parsed.name, suggestion=parsed.suggestion),
                blocks=help_blocks(unknown=parsed.name, suggestion=parsed.suggestion),
                response_type="ephemeral",
            )
            return
        if parsed.name == "help":
            await ack(text=help_text(), blocks=help_blocks(), response_type="ephemeral")
            return
        if parsed.name == "status":
            await ack(**await _status())
            return
        role = BY_NAME[parsed.name].role
        if role == "devOps":
            decision = require(deps.settings.config, user, "devOps", what=f"run `{parsed.name}`")
            if not decision.allowed:
                await deps.store.record(
                    actor=user, action=parsed.name, outcome="refused", detail=decision.reason
                )
                await ack(text=f":no_entry: {decision.reason}", response_type="ephemeral")
                return
        if parsed.name in ("start", "rotate"):
            await ack(text=await _start(deps, user, parsed), response_type="ephemeral")
            return
        await ack(text=await _forward(deps, user, parsed, command), response_type="ephemeral")


async def _status() -> dict[str, Any]:
    rollout_id = await service.active_rollout_id() or await service.latest_rollout_id()
    state = await service.read_state(rollout_id) if rollout_id else None
    if rollout_id and state is None:
        return {
            "text": f"{rollout_id} is starting: opening the DMs. Ask again in a moment.",
            "response_type": "ephemeral",
        }
    if state is None:
        return {
            "text": f"No rollout yet. devOps starts one with `{COMMAND} start`.",
            "response_type": "ephemeral",
        }
    runbook = load_runbook()
    return {
        "text": status_summary(state, runbook),
        "blocks": status_board_blocks(state, runbook),
        "response_type": "ephemeral",
    }


async def _start(deps: Deps, user: str, parsed: Parsed) -> str:
    cfg = deps.settings.config
    owners, devops_users = cfg.slack.account_owners, cfg.slack.devops
    owner = parsed.mentions[0] if parsed.mentions else (owners[0] if owners else "")
    devops = parsed.mentions[1] if len(parsed.mentions) > 1 else user
    if not owner:
        return (
            ":no_entry: No account owner is configured. Add the Associates primary owner's "
            "Slack user ID to `slack.account_owners` in the YAML, then start again."
        )
    if "accountOwner" not in roles_of(cfg, owner):
        return (
            f":no_entry: <@{owner}> is not listed as an account owner (`slack.account_owners`), "
            "so I can't guide them through registration. Pick a listed owner or ask an admin "
            "to add them."
        )
    if devops not in devops_users:
        return f":no_entry: <@{devops}> is not listed as devOps (`slack.devops`)."
    kind: RolloutKind = "rotation" if parsed.name == "rotate" else "onboarding"
    rollout_id, created = await service.start_rollout(
        owner=owner, devops=devops, started_by=user, kind=kind
    )
    if not created:
        state = await service.read_state(rollout_id)
        where = status_summary(state, load_runbook()) if state else "starting up"
        return (
            f"A rollout is already under way ({rollout_id}), so I did not start another. "
            f"{where} Use `{COMMAND} status` for the board, or `{COMMAND} abort <reason>` "
            "to stop it first."
        )
    await deps.store.record(
        actor=user,
        action=parsed.name,
        outcome="done",
        rollout_id=rollout_id,
        detail={"owner": owner, "devops": devops},
    )
    what = "Credential rotation" if kind == "rotation" else "Rollout"
    return (
        f":rocket: {what} {rollout_id} started. I've sent <@{owner}> their first step by DM, "
        f"and <@{devops}> a thread to follow. `{COMMAND} status` shows where it stands."
    )


async def _forward(deps: Deps, user: str, parsed: Parsed, command: dict[str, Any]) -> str:
    active = await service.active_rollout()
    if active is None:
        return f"No rollout is active. Start one with `{COMMAND} start`."
    if parsed.name in ("deploy", "smoke") and not parsed.args:
        names = ", ".join(p.name for p in deps.settings.config.partitions)
        return f"Which partition? `{COMMAND} {parsed.name} <partition>` with one of: {names}."
    if parsed.name == "abort" and not parsed.args:
        return f"Say why, so everyone knows: `{COMMAND} abort <reason>`."
    rollout_id, state = active
    why = service.deploy_refusal(state, parsed.name, parsed.args[0] if parsed.args else None)
    if why:
        await deps.store.record(
            actor=user, action=parsed.name, outcome="refused", rollout_id=rollout_id, detail=why
        )
        return f":no_entry: {why}"
    event = Event(
        kind="command",
        name=parsed.name,
        user=user,
        at=service.now_iso(),
        args=parsed.args if parsed.name != "abort" else [parsed.rest],
        channel=command.get("channel_id"),
        response_url=command.get("response_url"),
    )
    key = str(command.get("trigger_id") or f"{user}:{parsed.name}:{event.at}")
    await service.send(rollout_id, event, idempotency_key=key)
    return f"On it: `{parsed.name}` sent to {rollout_id}. Results follow in the rollout's threads."
