"""The objects every part of the bot shares, built once per process and injected."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.integrations.slack import SlackNotifier, make_web_client
from bot.metrics import Metrics
from bot.settings import Settings
from bot.store import Store


@dataclass
class Deps:
    settings: Settings
    session: aiohttp.ClientSession
    slack: AsyncWebClient
    notifier: SlackNotifier
    store: Store
    metrics: Metrics = field(default_factory=Metrics)
    extra: dict[str, Any] = field(default_factory=dict)


def build_deps(settings: Settings, session: aiohttp.ClientSession) -> Deps:
    env = settings.env
    slack = make_web_client(env.slack_bot_token.get_secret_value(), env.slack_api_url)
    return Deps(
        settings=settings,
        session=session,
        slack=slack,
        notifier=SlackNotifier(slack),
        store=Store(settings.database_url),
    )
