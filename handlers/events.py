"""Events: the App Home tab, and direct messages to the bot."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.blocks.home import home_blocks
from bot.integrations.slack import SlackNotifier
from bot.rollout.port import Service
from bot.runbook import load_runbook
from bot.settings import FileConfig
from handlers.relay import relay_dm


async def _ack(ack: AsyncAck) -> None:
    await ack()


def register(app: AsyncApp, service: Service, config: FileConfig, notifier: SlackNotifier) -> None:
    async def publish_home(event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event.get("user", ""))
        found = await service.latest()
        state = found.state if found else None
        past = await service.past()
        blocks = home_blocks(state, load_runbook(), viewer=user, config=config, past=past)
        await notifier.publish_home(user, blocks)

    app.event("app_home_opened")(ack=_ack, lazy=[publish_home])

    async def on_dm(event: dict[str, Any]) -> None:
        # Our own messages and edits come back as events too: answer people only.
        if event.get("bot_id") or event.get("subtype") or not event.get("channel"):
            return
        if await relay_dm(service, notifier, event):
            return  # words for the other person on the rollout: passed on
        # Posted directly (not with `say`): Bolt's `say` first fetches a thread's parent,
        # and fails when that parent is gone.
        await notifier.post(
            str(event["channel"]),
            "I follow the buttons in my messages and `/creators-onboard` commands. "
            "Type `/creators-onboard help` for the list, or `/creators-onboard status`.",
            thread_ts=str(event.get("thread_ts") or event.get("ts")),
        )

    app.event("message")(ack=_ack, lazy=[on_dm])
