"""Thin Bolt listeners: parse → submit → ack/render."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps
from bot.home import HomeViews
from bot.rollout.port import Service
from handlers import actions, commands, events


def register(app: AsyncApp, deps: Deps, service: Service) -> None:
    config = deps.settings.config
    commands.register(app, service, config)
    actions.register(app, service)
    home = HomeViews(service, deps.notifier, config)
    deps.index.watch(home)
    events.register(app, home, deps.notifier)
