"""`/creators-onboard …`: one listener that routes subcommands."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.blocks.help import help_blocks, help_text
from bot.commands import COMMAND, parse
from bot.deps import Deps
from bot.logging import bind_request, get_logger

log = get_logger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    @app.command(COMMAND)
    async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        parsed = parse(command.get("text"))
        bind_request(subcommand=parsed.name if parsed.known else "unknown")
        if not parsed.known:
            await ack(
                text=help_text(),
                blocks=help_blocks(unknown=parsed.name, suggestion=parsed.suggestion),
                response_type="ephemeral",
            )
            return
        if parsed.name == "help":
            await ack(text=help_text(), blocks=help_blocks(), response_type="ephemeral")
            return
        await ack(
            text=help_text(),
            blocks=help_blocks(unknown=parsed.name),
            response_type="ephemeral",
        )
