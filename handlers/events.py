"""Events: the App Home tab, and messages (DMs to the bot, and channels it is in)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.afterack import lazy_runner, tell_failures_to
from bot.home import HomeViews
from bot.integrations.slack import SlackNotifier
from bot.rollout.port import Service
from bot.watches.port import Message, WatchPort
from handlers.relay import relay_dm


def register(
    app: AsyncApp,
    service: Service,
    home: HomeViews,
    notifier: SlackNotifier,
    watches: WatchPort,
) -> None:
    after_ack = lazy_runner(app)

    @app.event("app_home_opened")
    async def publish_home(ack: AsyncAck, event: dict[str, Any]) -> None:
        await ack()
        if event.get("tab", "home") == "home":
            after_ack.spawn(home.opened(str(event.get("user", ""))))

    async def on_dm(event: dict[str, Any]) -> None:
        if await leak_guard(watches, event):
            return
        # Our own messages and edits come back as events too: answer people only, in DMs.
        if event.get("bot_id") or event.get("subtype") or not event.get("channel"):
            return
        if event.get("channel_type", "im") != "im":
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

    @app.event("message")
    async def on_message(ack: AsyncAck, event: dict[str, Any]) -> None:
        await ack()
        channel, ts = event.get("channel"), event.get("thread_ts") or event.get("ts")
        if channel and ts and not event.get("bot_id") and event.get("channel_type") == "im":
            # An event has no `response_url`: a person whose DM could not be handled (the
            # database away, the bot restarting) hears it in the DM's thread, not nothing.
            async def in_thread(text: str, **_: Any) -> None:
                await notifier.post(str(channel), text, thread_ts=str(ts))

            tell_failures_to(in_thread)
        after_ack.spawn(on_dm(event))


def person_message(event: dict[str, Any]) -> Message | None:
    """The message a person posted (or edited into) `event`; None for the bot's own."""
    message = event.get("message") if event.get("subtype") == "message_changed" else event
    if not isinstance(message, dict) or message.get("bot_id"):
        return None
    if message.get("subtype") not in (None, "thread_broadcast"):
        return None
    channel, ts, user = event.get("channel"), message.get("ts"), message.get("user")
    if not (channel and ts and user):
        return None
    return Message(
        user=str(user),
        channel=str(channel),
        channel_type=str(event.get("channel_type") or ""),
        ts=str(ts),
        thread_ts=str(message["thread_ts"]) if message.get("thread_ts") else None,
        text=str(message.get("text") or ""),
    )


async def leak_guard(watches: WatchPort, event: dict[str, Any]) -> bool:
    """A message that holds the Credential Secret gets one threaded warning (and nothing
    else from this listener)."""
    message = person_message(event)
    return message is not None and await watches.guard(message)
