"""What a form from another version of the bot is replaced with when it is sent. Pure."""

from __future__ import annotations

from slack_sdk.models.blocks import PlainTextObject
from slack_sdk.models.views import View

from bot.blocks.common import section

STALE_FORM = (
    "This form is from another version of the bot, so I did nothing with it. Close it; "
    "`/creators-onboard status` shows where the rollout stands, and the newest messages "
    "have the buttons that work."
)


def stale_form_view() -> View:
    """The form, replaced: why nothing was done, and only a Close button."""
    return View(
        type="modal",
        title=PlainTextObject(text="Nothing was sent"),
        close=PlainTextObject(text="Close"),
        blocks=[section(f":warning: {STALE_FORM}")],
    )
