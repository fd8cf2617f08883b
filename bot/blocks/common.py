"""Small pure helpers shared by the block builders: Slack limits, escaping, splitting."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

# Slack Block Kit limits.
MAX_BLOCKS = 50
SECTION_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
CONTEXT_TEXT_MAX = 3000
ACTIONS_ELEMENTS_MAX = 25


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack treats specially in mrkdwn (&, <, >)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_text(text: str, limit: int = SECTION_TEXT_MAX) -> list[str]:
    """Split text into chunks of at most `limit` characters.

    Prefers paragraph breaks, then line breaks, then spaces; cuts hard only when a single
    word is longer than the limit. A code block (```) cut in two is closed and reopened so
    each chunk renders on its own.
    """
    text = text.strip("\n")
    if not text:
        return []
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip("\n ")
        if head.count("```") % 2 == 1:  # keep code blocks balanced
            if len(head) + 4 > limit:
                head = head[: limit - 4].rstrip()
            head += "\n```"
            rest = "```\n" + rest
        chunks.append(head)
    if rest.strip():
        chunks.append(rest)
    return chunks


def _cut_point(text: str, limit: int) -> int:
    window = text[: limit - 8]  # room to close a code block
    for sep in ("\n\n", "\n", " "):
        at = window.rfind(sep)
        if at > limit // 3:
            return at
    return len(window)


def button(
    label: str, action_id: str, value: str, *, style: Literal["primary", "danger"] | None = None
) -> ButtonElement:
    """A button; `primary` is the one that moves the happy path forward (one per message)."""
    return ButtonElement(
        text=PlainTextObject(text=truncate(label, BUTTON_TEXT_MAX), emoji=True),
        action_id=action_id,
        value=value,
        style=style,
    )


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=truncate(text, HEADER_TEXT_MAX), emoji=True))


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def sections(text: str) -> list[Block]:
    """One section per ≤3,000-character chunk of mrkdwn."""
    return [section(chunk) for chunk in split_text(text, SECTION_TEXT_MAX)]


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, CONTEXT_TEXT_MAX))])


def pack(texts: Iterable[str], *, room: int, joiner: str = "\n\n") -> list[Block]:
    """Sections for `texts`: one each when they fit in `room` blocks, packed otherwise."""
    items = [t for t in texts if t.strip()]
    if len(items) <= room:
        return [b for t in items for b in sections(t)]
    packed: list[str] = []
    for item in items:
        if packed and len(packed[-1]) + len(joiner) + len(item) <= SECTION_TEXT_MAX:
            packed[-1] += joiner + item
        else:
            packed.append(item)
    return [b for t in packed for b in sections(t)]
