"""`/creators-onboard …`: parse the text, judge the request, ack with the answer.

The ack is answered from the read model alone (no write, no outside call); what the
answer promised — an accepted request handed to the rollout, a refusal audited — is done
right after it, in a task the app tracks (and lets finish on shutdown). `start` and
`rotate` create the rollout before they ack. The slow work (Slack messages, 1Password,
GitHub, Linear) happens in the workflow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.app import lazy_runner
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


@dataclass(frozen=True)
class Reply:
    """The ack's payload, and what it promised to do once it has been sent."""

    payload: dict[str, Any]
    promised: Callable[[], Awaitable[None]] | None = None


def register(app: AsyncApp, service: Service, config: FileConfig) -> None:
    after_ack = lazy_runner(app)

    @app.command(COMMAND)
    async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        reply = await reply_to(service, config, command)
        await ack(**reply.payload)
        if reply.promised is not None:
            after_ack.spawn(reply.promised())


async def answer(service: Service, config: FileConfig, command: dict[str, Any]) -> dict[str, Any]:
    """The ephemeral answer to one slash command, with what it promised done."""
    reply = await reply_to(service, config, command)
    if reply.promised is not None:
        await reply.promised()
    return reply.payload


async def reply_to(service: Service, config: FileConfig, command: dict[str, Any]) -> Reply:
    """The ephemeral answer to one slash command (what `ack` sends back)."""
    parsed = parse(command.get("text"))
    user = str(command.get("user_id", ""))
    bind_request(subcommand=parsed.name if parsed.known else "unknown")
    if not parsed.known:
        return Reply(
            {
                "text": help_text(unknown=parsed.name, suggestion=parsed.suggestion),
                "blocks": help_blocks(unknown=parsed.name, suggestion=parsed.suggestion),
                "response_type": "ephemeral",
            }
        )
    if parsed.name == "help":
        return Reply({"text": help_text(), "blocks": help_blocks(), "response_type": "ephemeral"})
    if parsed.name == "status":
        return Reply({**status(await service.latest()), "response_type": "ephemeral"})
    if parsed.name in ("start", "rotate"):
        mentions = parsed.mentions
        who: dict[str, Any] = {
            "user": user,
            "owner": mentions[0] if mentions else None,
            "devops": mentions[1] if len(mentions) > 1 else None,
            "kind": "rotation" if parsed.name == "rotate" else "onboarding",
        }
        refused = await service.judge_start(**who)
        if refused is not None:
            why, where = refused.text, refused.rollout_id

            async def audit() -> None:
                await service.reject(user, parsed.name, why, rollout_id=where)

            return Reply(_text(False, why), audit)
        result = await service.start(**who)
        return Reply(_text(result.accepted, result.text))
    request = request_for(parsed, user, command, config)
    if isinstance(request, str):
        return Reply(_text(True, request))
    key = str(command.get("trigger_id") or f"{user}:{parsed.name}:{request.at}")
    judged = await service.judge(request, rollout_id=None)

    async def deliver() -> None:
        await service.deliver(judged, request, key=key)

    return Reply(_text(judged.accepted, judged.text), deliver)


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
        return RetryRequest(**base)
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
