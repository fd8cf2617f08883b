"""`/creators-onboard …`: parse the text, submit the request, ack with the answer.

Everything here is a config lookup or a database round trip; the slow work (Slack
messages, 1Password, GitHub, Linear) happens in the rollout workflow.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.blocks.help import help_blocks, help_text
from bot.blocks.status import status_board_blocks, status_summary
from bot.commands import COMMAND, Parsed, parse
from bot.logging import bind_request
from bot.rollout.events import (
    AbortRequest,
    DeployRequest,
    Request,
    RetryRequest,
    SmokeRequest,
    VerifyRequest,
)
from bot.rollout.port import Found, Service, now_iso
from bot.runbook import load_runbook
from bot.settings import FileConfig


def register(app: AsyncApp, service: Service, config: FileConfig) -> None:
    @app.command(COMMAND)
    async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(**await answer(service, config, command))


async def answer(service: Service, config: FileConfig, command: dict[str, Any]) -> dict[str, Any]:
    """The ephemeral answer to one slash command (what `ack` sends back)."""
    parsed = parse(command.get("text"))
    user = str(command.get("user_id", ""))
    bind_request(subcommand=parsed.name if parsed.known else "unknown")
    if not parsed.known:
        return {
            "text": help_text(unknown=parsed.name, suggestion=parsed.suggestion),
            "blocks": help_blocks(unknown=parsed.name, suggestion=parsed.suggestion),
            "response_type": "ephemeral",
        }
    if parsed.name == "help":
        return {"text": help_text(), "blocks": help_blocks(), "response_type": "ephemeral"}
    if parsed.name == "status":
        return {**status(await service.latest()), "response_type": "ephemeral"}
    if parsed.name == "audit":
        trail = await service.audit(user=user, rollout=parsed.args[0] if parsed.args else None)
        shown = {"blocks": trail.blocks} if trail.blocks else {}
        return {**_text(trail.accepted, trail.text), **shown}
    if parsed.name in ("start", "rotate"):
        mentions = parsed.mentions
        result = await service.start(
            user=user,
            owner=mentions[0] if mentions else None,
            devops=mentions[1] if len(mentions) > 1 else None,
            kind="rotation" if parsed.name == "rotate" else "onboarding",
        )
        return _text(result.accepted, result.text)
    request = request_for(parsed, user, command, config)
    if isinstance(request, str):
        return _text(True, request)
    key = str(command.get("trigger_id") or f"{user}:{parsed.name}:{request.at}")
    result = await service.submit(request, rollout_id=None, key=key)
    return _text(result.accepted, result.text)


def _text(accepted: bool, text: str) -> dict[str, Any]:
    return {"text": text if accepted else f":no_entry: {text}", "response_type": "ephemeral"}


def request_for(
    parsed: Parsed, user: str, command: dict[str, Any], config: FileConfig
) -> Request | str:
    """The request a subcommand makes, or what is missing from it."""
    base: dict[str, Any] = {
        "user": user,
        "at": now_iso(),
        "channel": command.get("channel_id"),
        "response_url": command.get("response_url"),
    }
    name = parsed.name
    if name in ("deploy", "smoke"):
        if not parsed.args:
            names = ", ".join(p.name for p in config.partitions)
            return f"Which partition? `{COMMAND} {name} <partition>` with one of: {names}."
        cls = DeployRequest if name == "deploy" else SmokeRequest
        return cls(partition=parsed.args[0][:64], **base)
    if name == "abort":
        if not parsed.rest:
            return f"Say why, so everyone knows: `{COMMAND} abort <reason>`."
        return AbortRequest(reason=parsed.rest, **base)
    if name == "retry":
        if parsed.args and parsed.args[0].lower() != "redeploy":
            return (
                f"`{COMMAND} retry` repeats the check that halted the rollout, and "
                f"`{COMMAND} retry redeploy` runs amm.yml again first: retry takes nothing else."
            )
        return RetryRequest(redeploy=bool(parsed.args), **base)
    return VerifyRequest(**base)


def status(found: Found | None) -> dict[str, Any]:
    if found is not None and found.state is None:
        return {"text": f"{found.rollout_id} is starting: opening the DMs. Ask again in a moment."}
    if found is None or found.state is None:
        return {"text": f"No rollout yet. devOps starts one with `{COMMAND} start`."}
    runbook = load_runbook()
    return {
        "text": status_summary(found.state, runbook),
        "blocks": status_board_blocks(found.state, runbook),
    }
