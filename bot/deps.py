"""The objects every part of the bot shares, built once per process and injected."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.integrations.amplify import AmplifyChecker
from bot.integrations.bff import SmokeTester, load_dto_schema
from bot.integrations.github import GitHubActions
from bot.integrations.linear import LinearClient
from bot.integrations.slack import SlackNotifier, make_web_client
from bot.integrations.vaults import VaultReader
from bot.metrics import Metrics
from bot.outbound import know_secrets
from bot.pacing import Pacer
from bot.settings import Settings
from bot.store import Store


@dataclass
class Deps:
    settings: Settings
    session: aiohttp.ClientSession
    slack: AsyncWebClient
    notifier: SlackNotifier
    store: Store
    vaults: VaultReader
    bff: SmokeTester
    amplify: AmplifyChecker
    linear: LinearClient | None = None
    github: GitHubActions | None = None
    metrics: Metrics = field(default_factory=Metrics)
    creators_api_pacer: Pacer = field(default_factory=lambda: Pacer(1.0))
    extra: dict[str, Any] = field(default_factory=dict)


def build_deps(settings: Settings, session: aiohttp.ClientSession) -> Deps:
    env = settings.env
    cfg = settings.config
    # Every secret the bot knows of is kept out of what it writes (bot/outbound.py).
    know_secrets(settings.secret_values())
    slack = make_web_client(env.slack_bot_token.get_secret_value(), env.slack_api_url)
    linear = (
        LinearClient(session, env.linear_api_url, env.linear_api_key)
        if env.linear_api_key is not None
        else None
    )
    gh = cfg.github
    github = (
        GitHubActions(
            session,
            env.github_api_url,
            env.github_token,
            gh.repository,
            gh.workflow,
            gh.ref,
            run_appear_timeout=gh.run_appear_timeout_seconds,
        )
        if env.github_token is not None
        else None
    )
    return Deps(
        settings=settings,
        session=session,
        slack=slack,
        notifier=SlackNotifier(slack, min_interval=cfg.slack.min_post_interval_seconds),
        store=Store(settings.database_url),
        vaults=VaultReader(
            env.op_cli_path,
            env.op_service_account_token,
            cfg.onepassword.item_title,
            timeout=cfg.onepassword.timeout_seconds,
        ),
        linear=linear,
        github=github,
        bff=SmokeTester(
            session,
            path=cfg.smoke.path,
            asin=cfg.smoke.asin,
            schema=load_dto_schema(cfg.smoke.dto_schema),
            timeout=cfg.smoke.timeout_seconds,
        ),
        amplify=AmplifyChecker(),
    )
