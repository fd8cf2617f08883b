"""Thin Bolt listeners: parse → submit → ack/render."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps
from bot.home import HomeViews
from bot.integrations.slack import SlackDirectory
from bot.rollout.port import Service
from bot.watches.port import WatchPort
from handlers import actions, commands, events, fallback, relay, watches


def register(app: AsyncApp, deps: Deps, service: Service, ongoing: WatchPort) -> None:
    """Bolt tries the listeners in this order, working out each matcher's arguments, until
    one takes the request: commands first, then the presses (one listener per area), the
    events, and last what none of them takes."""
    config = deps.settings.config
    directory = SlackDirectory(deps.slack, [*config.slack.account_owners, *config.slack.devops])
    commands.register(app, service, config, ongoing, directory)
    actions.register(app, service, deps.notifier)
    watches.register(app, service, ongoing)
    home = HomeViews(service, deps.notifier, config, ongoing)
    deps.index.watch(home)
    relay.register(app, service)
    events.register(app, service, home, deps.notifier, ongoing)
    fallback.register(app, service, deps.notifier)  # last: takes what none took
