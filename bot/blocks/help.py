"""The help card for /creators-onboard (pure Block Kit)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.commands import COMMAND, SUBCOMMANDS


def unknown_line(unknown: str, suggestion: str | None) -> str:
    hint = f" Did you mean `{COMMAND} {suggestion}`?" if suggestion else ""
    return f":warning: I don't know `{unknown[:40]}`.{hint}"


def help_text(*, unknown: str | None = None, suggestion: str | None = None) -> str:
    lines = [unknown_line(unknown, suggestion)] if unknown is not None else []
    lines += [f"*{COMMAND}* — guided Amazon Creators API onboarding. Subcommands:"]
    lines += [f"• `{COMMAND} {s.usage}` — {s.summary}" for s in SUBCOMMANDS]
    return "\n".join(lines)


def help_blocks(*, unknown: str | None = None, suggestion: str | None = None) -> list[Block]:
    blocks: list[Block] = []
    if unknown is not None:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=unknown_line(unknown, suggestion))))
    blocks.append(SectionBlock(text=MarkdownTextObject(text=help_text())))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="The rollout's buttons (Deploy, Retry, Redeploy, Abort, Re-run "
                    "verification, the watches' Run now) have a subcommand that does the "
                    "same; a person's own step buttons (Done, I'm stuck, Ping devOps…) are "
                    "in their DM thread with the bot."
                )
            ]
        )
    )
    return blocks
