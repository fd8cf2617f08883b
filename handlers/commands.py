"""`/creators-onboard …`: parse the text, judge it, ack with the answer.

The ack is answered from the read model alone (no write, no outside call); what the
answer promised — an accepted request handed to the rollout, a refusal audited, a typed
`@name` looked up before a start — is done right after it, in a task the app tracks (and
lets finish on shutdown), once per delivery: a replayed command does none of it and its
author is told so. `start`, `rotate` and `watch` start what they report before they ack
(claiming the command first). The slow work (Slack messages, 1Password, GitHub, Linear)
happens in the workflow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import cache
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.afterack import first_delivery, lazy_runner
from bot.blocks.common import section
from bot.blocks.help import help_blocks, help_text
from bot.blocks.status import status_board_blocks, status_summary
from bot.blocks.steps import to_dicts
from bot.blocks.watches import board_blocks
from bot.commands import COMMAND, Parsed, parse
from bot.config import FileConfig
from bot.inbound import DUPLICATE
from bot.logging import bind_request
from bot.rollout.events import (
    AbortRequest,
    DeployRequest,
    Request,
    RetryRequest,
    SmokeRequest,
    VerifyRequest,
)
from bot.rollout.port import Directory, Found, Service, StartRequest, now_iso
from bot.rollout.roles import audit_refusal, watch_refusal
from bot.rollout.rules import stranded_warning
from bot.runbook import load_runbook
from bot.watches.model import TITLES, WatchStatus, parse_watch
from bot.watches.port import WatchPort

# Says something to the person who typed the command (ephemeral, after the ack).
Say = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Reply:
    """The ack's payload, and what it promised to do once it has been sent."""

    payload: dict[str, Any]
    promised: Callable[[Say], Coroutine[Any, Any, None]] | None = None


def register(
    app: AsyncApp,
    service: Service,
    config: FileConfig,
    watches: WatchPort | None = None,
    directory: Directory | None = None,
) -> None:
    after_ack = lazy_runner(app)
    boards = StatusBoards()

    @app.command(COMMAND)
    async def on_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        reply = await reply_to(service, config, command, watches, directory, boards)
        await ack(**reply.payload)
        if reply.promised is not None:

            async def say(text: str) -> None:
                await respond(text=text, response_type="ephemeral", replace_original=False)

            async def repeated() -> None:
                await say(DUPLICATE)

            after_ack.spawn(reply.promised(say), repeated)


@cache
def _help() -> dict[str, Any]:
    """`help`'s answer: always the same, so rendered once (the blocks as JSON-ready dicts)."""
    return {"text": help_text(), "blocks": to_dicts(help_blocks()), "response_type": "ephemeral"}


def _starts(parsed: Parsed) -> bool:
    return parsed.known and parsed.name in ("start", "rotate")


async def answer(
    service: Service,
    config: FileConfig,
    command: dict[str, Any],
    watches: WatchPort | None = None,
    directory: Directory | None = None,
) -> dict[str, Any]:
    """The ephemeral answer to one slash command, with what it promised done (anything it
    says afterwards is dropped: see `lookup`)."""
    reply = await reply_to(service, config, command, watches, directory)
    if reply.promised is not None:

        async def nobody(text: str) -> None:
            return None

        await reply.promised(nobody)
    return reply.payload


async def reply_to(
    service: Service,
    config: FileConfig,
    command: dict[str, Any],
    watches: WatchPort | None = None,
    directory: Directory | None = None,
    boards: StatusBoards | None = None,
) -> Reply:
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
        return Reply(_help())
    if parsed.name == "status":
        board = await watches.board() if watches is not None else []
        shown = (boards or StatusBoards()).answer(await service.latest(), board)
        return Reply({**shown, "response_type": "ephemeral"})
    if parsed.name == "audit":
        denied = audit_refusal(config, user)
        if denied:
            return _refused(service, user, "audit", denied)
        trail = await service.audit(user=user, rollout=parsed.args[0] if parsed.args else None)
        shown = {"blocks": trail.blocks} if trail.blocks else {}
        return Reply({**_text(trail.accepted, trail.text), **shown})
    if _starts(parsed):
        return await _start_reply(service, directory, parsed, command)
    if parsed.name == "watch":
        if watches is None or not parsed.args:
            return Reply(
                _text(
                    True,
                    f"Which watch? `{COMMAND} watch <name>` with one of: "
                    "eligibility, probe, rotation, service_account.",
                )
            )
        name = parsed.args[0][:64]
        watch = parse_watch(name)
        if watch is not None:
            denied = watch_refusal(config, user, TITLES[watch])
            if denied:
                return _refused(service, user, f"watch:{watch}", denied)
        if not await first_delivery():
            return Reply(_text(True, DUPLICATE))
        key = str(command.get("trigger_id") or f"{user}:watch:{now_iso()}")
        ran = await watches.run_now(name, user=user, key=key)
        return Reply(_text(ran.accepted, ran.text))
    request = request_for(parsed, user, command, config)
    if isinstance(request, str):
        return Reply(_text(True, request))
    key = str(command.get("trigger_id") or f"{user}:{parsed.name}:{request.at}")
    judged = await service.judge(request, rollout_id=None)

    async def deliver(_: Say) -> None:
        await service.deliver(judged, request, key=key)

    return Reply(_text(judged.accepted, judged.text), deliver)


async def _start_reply(
    service: Service, directory: Directory | None, parsed: Parsed, command: dict[str, Any]
) -> Reply:
    """`start`/`rotate`: refused at once from the read model, or started before the ack;
    people given as typed `@name`s are looked up after the ack, then the start follows."""
    user = str(command.get("user_id", ""))
    if parsed.typed_names:
        names = ", ".join(f"`{n[:40]}`" for n in parsed.typed_names)

        async def look_up(say: Say) -> None:
            reply = await lookup(service, directory, command)
            if reply is not None:
                await say(reply)

        return Reply(_text(True, f"Looking up {names}…"), look_up)
    people = list(parsed.mentions)
    refused = await service.judge_start(start_request(parsed, user, people))
    if refused is not None:
        return _refused(service, user, parsed.name, refused.text, refused.rollout_id)
    if not await first_delivery():
        return Reply(_text(True, DUPLICATE))
    return Reply(_text(*await start(service, parsed, user, people)))


def _refused(
    service: Service, user: str, action: str, why: str, rollout_id: str | None = None
) -> Reply:
    """A refusal, answered at once and audited after the ack."""

    async def audit(_: Say) -> None:
        await service.reject(user, action, why, rollout_id=rollout_id)

    return Reply(_text(False, why), audit)


def start_request(parsed: Parsed, user: str, people: list[str]) -> StartRequest:
    """`start [@owner] [@devops]` / `rotate [reason]`, the people given as member IDs."""
    rotation = parsed.name == "rotate"
    return StartRequest(
        user=user,
        kind="rotation" if rotation else "onboarding",
        owner=people[0] if people else None,
        devops=people[1] if len(people) > 1 else None,
        reason=" ".join(parsed.args) if rotation else "",
    )


async def start(service: Service, parsed: Parsed, user: str, people: list[str]) -> tuple[bool, str]:
    result = await service.start(start_request(parsed, user, people))
    return result.accepted, result.text


UNKNOWN_NAME = (
    "I couldn't tell who {names} {verb}. When you type `@` Slack offers a list of people: pick "
    "them from it, so the command carries who they are. Or type their member ID (their "
    "profile → ⋯ → Copy member ID). Only the people listed in the bot's YAML "
    "(`slack.account_owners`, `slack.devops`) can take part in a rollout."
)


async def lookup(
    service: Service, directory: Directory | None, command: dict[str, Any]
) -> str | None:
    """After the ack: find the people given as typed `@name`s, then start. None when the
    command needed no lookup (its ack already answered)."""
    parsed = parse(command.get("text"))
    if not _starts(parsed) or not parsed.typed_names:
        return None
    resolved: list[str] = []
    unknown: list[str] = []
    for person in parsed.mentions:
        if not person.startswith("@"):
            resolved.append(person)
            continue
        found = await directory.resolve(person) if directory is not None else None
        if found is None:
            unknown.append(person)
        resolved.append(found or "")
    if unknown:
        names = ", ".join(f"`{n[:40]}`" for n in unknown)
        return ":no_entry: " + UNKNOWN_NAME.format(
            names=names, verb="is" if len(unknown) == 1 else "are"
        )
    accepted, text = await start(service, parsed, str(command.get("user_id", "")), resolved)
    return text if accepted else f":no_entry: {text}"


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


class StatusBoards:
    """`status` answers, rendered again only when what they show has changed: the same
    published state (the read model's copy holds each version as one object, never changed
    in place) and an equal watch board (its next runs are to the minute) show the same
    board. One per app."""

    def __init__(self) -> None:
        self._last: tuple[Found | None, list[WatchStatus], dict[str, Any]] | None = None

    def answer(self, found: Found | None, board: list[WatchStatus]) -> dict[str, Any]:
        last = self._last
        if last is not None and _same(last[0], found) and last[1] == board:
            return last[2]
        shown = status(found, board)
        if "blocks" in shown:  # as JSON-ready dicts, so no ack converts them again
            shown = {**shown, "blocks": to_dicts(shown["blocks"])}
        self._last = (found, board, shown)
        return shown


def _same(a: Found | None, b: Found | None) -> bool:
    if a is None or b is None:
        return a is b
    return (
        a.rollout_id == b.rollout_id
        and a.version == b.version
        and a.state is b.state
        and a.stranded_by == b.stranded_by
    )


def status(found: Found | None, board: list[WatchStatus] | None = None) -> dict[str, Any]:
    """The status board, and under it the watches (last result and next run)."""
    watches = board_blocks(board or [])
    if found is not None and found.state is None:
        text = f"{found.rollout_id} is starting: opening the DMs. Ask again in a moment."
    elif found is None or found.state is None:
        text = f"No rollout yet. devOps starts one with `{COMMAND} start`."
    else:
        runbook = load_runbook()
        text = status_summary(found.state, runbook)
        blocks = [*status_board_blocks(found.state, runbook), *watches]
        if found.stranded_by is not None:  # another workflow version started it
            warning = stranded_warning(found.rollout_id, found.stranded_by)
            return {"text": f"{warning}\n{text}", "blocks": [section(warning), *blocks]}
        return {"text": text, "blocks": blocks}
    if not watches:
        return {"text": text}
    return {"text": text, "blocks": [section(text), *watches]}
