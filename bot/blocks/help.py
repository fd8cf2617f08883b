"""The help card for /creators-onboard (pure Block Kit)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.commands import COMMAND, SUBCOMMANDS


def help_text() -> str:
    lines = [f"*{COMMAND}* — guided Amazon Creators API onboarding. Subcommands:"]
    lines += [f"• `{COMMAND} {s.usage}` — {s.summary}" for s in SUBCOMMANDS]
    return "\n".join(lines)


def help_blocks(*, unknown: str | None = None, suggestion: str | None = None) -> list[Block]:
    blocks: list[Block] = []
    if unknown is not None:
        hint = f" Did you mean `{COMMAND} {suggestion}`?" if suggestion else ""
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=f":warning: I don't know `{unknown[:40]}`.{hint}")
            )
        )
    blocks.append(SectionBlock(text=MarkdownTextObject(text=help_text())))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Every button the bot shows has a subcommand that does the same, "
                    "so you can drive everything by typing."
                )
            ]
        )
    )
    return blocks
