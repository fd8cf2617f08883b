"""What no other listener takes: a button or a form from another version of the bot (an
action id or a callback id this one does not have), or a made-up one. Registered after
every other listener (Bolt gives a request to the first that matches). Without them Bolt
answers 404, which Slack shows the person as a bare warning icon, or as "We had some
trouble connecting" in the form, and nothing says why."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.afterack import lazy_runner
from bot.blocks.stale import STALE_FORM, stale_form_view
from bot.integrations.slack import SlackNotifier
from bot.rollout.port import Service
from handlers.actions import press_listener

ANY_BUTTON: dict[str, str | re.Pattern[str]] = {
    "type": "block_actions",
    "action_id": re.compile(r"^"),
}
ANY_FORM = re.compile(r"^")


def register(app: AsyncApp, service: Service, notifier: SlackNotifier) -> None:
    """Last of all. A press is answered in words and audited like any unreadable button
    (`handlers.actions.handle_press`); a form's Send replaces the form with why, and is
    audited."""
    after_ack = lazy_runner(app)
    app.action(ANY_BUTTON)(press_listener(app, service, notifier))

    async def on_stale_form(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack(response_action="update", view=stale_form_view())
        user = str((body.get("user") or {}).get("id", ""))
        action = f"form:{str(view.get('callback_id') or '')[:59]}"

        async def audit() -> None:
            await service.reject(user, action, STALE_FORM)

        after_ack.spawn(audit())

    app.view_submission(ANY_FORM)(on_stale_form)
