"""Events: the App Home tab, and direct messages to the bot."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.app import lazy_runner
from bot.home import HomeViews
from bot.integrations.slack import SlackNotifier


async def _ack(ack: AsyncAck) -> None:
    await ack()


def register(app: AsyncApp, home: HomeViews, notifier: SlackNotifier) -> None:
    after_ack = lazy_runner(app)

    @app.event("app_home_opened")
    async def publish_home(ack: AsyncAck, event: dict[str, Any]) -> None:
        await ack()
        if event.get("tab", "home") == "home":
            after_ack.spawn(home.opened(str(event.get("user", ""))))

    async def on_dm(event: dict[str, Any]) -> None:
        # Our own messages and edits come back as events too: answer people only.
        if event.get("bot_id") or event.get("subtype") or not event.get("channel"):
            return
        # Posted directly (not with `say`): Bolt's `say` first fetches a thread's parent,
        # and fails when that parent is gone.
        await notifier.post(
            str(event["channel"]),
            "I follow the buttons in my messages and `/creators-onboard` commands. "
            "Type `/creators-onboard help` for the list, or `/creators-onboard status`.",
            thread_ts=str(event.get("thread_ts") or event.get("ts")),
        )

    app.event("message")(ack=_ack, lazy=[on_dm])
