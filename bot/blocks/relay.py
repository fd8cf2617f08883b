"""The human bridge: one person's words in the other's thread, and the Reply modal. Pure."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
)
from slack_sdk.models.views import View

from bot.blocks.common import SECTION_TEXT_MAX, button, context, section, truncate
from bot.blocks.ids import REPLY, REPLY_BLOCK, REPLY_INPUT, REPLY_MODAL, rollout_value

# What a person may write in the Reply modal (Slack's plain-text input holds 3,000).
REPLY_MAX = 2000


def relayed_blocks(rollout_id: str, by: str, verb: str, shown: str) -> list[Block]:
    """`<@by> asks:` and their words (already made safe to show: `commands.as_text`),
    quoted, with a Reply button."""
    quoted = "\n".join(f"> {line}" for line in shown.splitlines() or [""])
    return [
        section(truncate(f"<@{by}> {verb}:\n{quoted}", SECTION_TEXT_MAX)),
        ActionsBlock(elements=[button("Reply", REPLY, rollout_value(rollout_id, "reply"))]),
        context("Or reply in this thread: I pass it on."),
    ]


def reply_modal(rollout_id: str, to: str) -> View:
    """The Reply modal: one text box; its answer goes back into `to`'s thread."""
    return View(
        type="modal",
        callback_id=REPLY_MODAL,
        private_metadata=rollout_id,
        title=PlainTextObject(text="Reply"),
        submit=PlainTextObject(text="Send"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            InputBlock(
                block_id=REPLY_BLOCK,
                label=PlainTextObject(text=truncate(f"Your answer for {to}", 2000)),
                element=PlainTextInputElement(
                    action_id=REPLY_INPUT, multiline=True, max_length=REPLY_MAX
                ),
            )
        ],
    )
