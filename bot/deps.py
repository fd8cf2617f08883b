"""The objects every part of the bot shares, built once per process and injected.

Each outside system's client is built from the settings by one function here, used by
the bot (`build_deps`) and by the preflight (`creators-onboard check`) alike. The
preflight asks for `quick` clients: it reports rather than waits, so it gets shorter
timeouts, one retry and no sleeping through a rate limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.integrations.amplify import AmplifyChecker
from bot.integrations.bff import SmokeTester, load_dto_schema
from bot.integrations.github import GitHubActions, Limits
from bot.integrations.linear import LinearClient
from bot.integrations.slack import SlackNotifier, make_web_client
from bot.integrations.vaults import VaultReader
from bot.metrics import Metrics
from bot.outbound import know_secrets
from bot.pacing import Pacer
from bot.readmodel import RolloutIndex
from bot.settings import Settings
from bot.store import Store
from bot.watches.board import WatchBoard

# A quick client's limits: the preflight prints a table, it does not wait for one.
QUICK_TIMEOUT_SECONDS = 10.0
QUICK_GITHUB: Limits = {
    "max_attempts": 2,
    "retry_base_delay": 0.5,
    "request_timeout": QUICK_TIMEOUT_SECONDS,
    "max_rate_limit_wait": 0.0,
}


@dataclass
class Deps:
    settings: Settings
    session: aiohttp.ClientSession
    slack: AsyncWebClient
    notifier: SlackNotifier
    store: Store
    index: RolloutIndex
    vaults: VaultReader
    bff: SmokeTester
    amplify: AmplifyChecker
    linear: LinearClient | None = None
    github: GitHubActions | None = None
    metrics: Metrics = field(default_factory=Metrics)
    watch_board: WatchBoard = field(default_factory=WatchBoard)
    extra: dict[str, Any] = field(default_factory=dict)


def slack_client(
    settings: Settings, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    env = settings.env
    return make_web_client(env.slack_bot_token.get_secret_value(), env.slack_api_url, session)


def vault_reader(settings: Settings) -> VaultReader:
    return VaultReader.from_settings(settings)


def linear_client(
    settings: Settings, session: aiohttp.ClientSession, *, quick: bool = False
) -> LinearClient | None:
    """None when LINEAR_API_KEY is not set."""
    env = settings.env
    if env.linear_api_key is None:
        return None
    if quick:
        return LinearClient(
            session, env.linear_api_url, env.linear_api_key, timeout=QUICK_TIMEOUT_SECONDS
        )
    return LinearClient(session, env.linear_api_url, env.linear_api_key)


def github_client(
    settings: Settings, session: aiohttp.ClientSession, *, quick: bool = False
) -> GitHubActions | None:
    """None when GITHUB_TOKEN is not set."""
    env = settings.env
    gh = settings.config.github
    if env.github_token is None:
        return None
    where = (session, env.github_api_url, env.github_token, gh.repository, gh.workflow, gh.ref)
    if quick:
        return GitHubActions(*where, **QUICK_GITHUB)
    return GitHubActions(*where, run_appear_timeout=gh.run_appear_timeout_seconds)


def smoke_tester(settings: Settings, session: aiohttp.ClientSession) -> SmokeTester:
    smoke = settings.config.smoke
    return SmokeTester(
        session,
        path=smoke.path,
        asin=smoke.asin,
        schema=load_dto_schema(smoke.dto_schema),
        timeout=smoke.timeout_seconds,
        # Imports reach Amazon's Creators API: 1 TPS per credential triple (in-process; the
        # smoke queue keeps replicas apart).
        pacer=Pacer(1.0),
    )


def build_deps(settings: Settings, session: aiohttp.ClientSession) -> Deps:
    # Every secret the bot knows of is kept out of what it writes (bot/outbound.py).
    know_secrets(settings.secret_values())
    slack = slack_client(settings, session)
    return Deps(
        settings=settings,
        session=session,
        slack=slack,
        notifier=SlackNotifier(slack, min_interval=settings.config.slack.min_post_interval_seconds),
        store=Store(settings.database_url),
        index=RolloutIndex(settings.database_url),
        vaults=vault_reader(settings),
        linear=linear_client(settings, session),
        github=github_client(settings, session),
        bff=smoke_tester(settings, session),
        amplify=AmplifyChecker(),
    )
