"""Thin Bolt listeners: parse → submit → ack/render."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps
from bot.rollout.port import Service
from handlers import actions, commands, events


def register(app: AsyncApp, deps: Deps, service: Service) -> None:
    config = deps.settings.config
    commands.register(app, service, config)
    actions.register(app, service, deps.notifier)
    events.register(app, service, config, deps.notifier)
