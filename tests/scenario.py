"""A whole bot against local fakes: the harness every scenario test stands on.

`World` starts the fake Slack, Linear, GitHub, BFF and `op`, writes the YAML, builds the
settings from an environment as a user would, and either runs the bot in this process
(`async with world.bot():`) or gives the environment to run it as a subprocess. Requests
reach the bot as Slack sends them: signed, over HTTP, into `/slack/events`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bot.sandbox.fakes.bff import FakeBFF
from bot.sandbox.fakes.github import FakeGitHub
from bot.sandbox.fakes.linear import FakeLinear
from bot.sandbox.fakes.op import FakeOp
from bot.sandbox.fakes.signing import (
    block_action_body,
    event_body,
    signed_headers,
    slash_command_body,
)
from bot.sandbox.fakes.slack import FakeSlack, Message
from bot.sandbox.scene import DEVOPS, ENGINEERING, OWNER, PARTITIONS, VAULTS
from bot.server import Running, running_bot
from bot.settings import Settings, load_settings
from bot.watches.model import WATCHES

STRANGER = "U0STRANGER"
ENG = ENGINEERING
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-1111-2222-testbottoken"
LINEAR_KEY = "lin_api_testkey0123456789"
GITHUB_TOKEN = "ghp_testtoken0123456789abcdefghijklmnop"
PLANTED_SECRET = "PLANTED-credential-SECRET-9f8e7d6c"


async def eventually(
    check: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition"
) -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


class World:
    def __init__(
        self, tmp: Path, *, database_url: str | None = None, github_token: str = GITHUB_TOKEN
    ) -> None:
        self.tmp = tmp
        self.github_token = github_token
        self.database_url = database_url or f"sqlite:///{tmp / 'bot.sqlite'}"
        self.slack = FakeSlack(token=BOT_TOKEN)
        self.slack.add_channel(ENG, "engineering", member=True)
        self.linear = FakeLinear(api_key=LINEAR_KEY, issue="PDEV-446")
        self.github = FakeGitHub(token=github_token)
        self.bff = FakeBFF(tokens={p: f"bff-token-{p}-0123456789" for p in PARTITIONS})
        self.op = FakeOp(tmp / "op")
        self.op.populate_all(
            list(VAULTS.values()),
            credential_id="amzn1.application-oa2-client.0123abcd",
            secret=PLANTED_SECRET,
            version="3.1",
            tag="arda-20",
        )
        self.config_overrides: dict[str, Any] = {}
        # Set it to have the bot take GitHub's webhook and the fake GitHub send it.
        self.webhook_secret = ""
        self.running: Running | None = None
        self._stack = AsyncExitStack()
        self.http: aiohttp.ClientSession | None = None

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> World:
        for fake in (self.slack, self.linear, self.github, self.bff):
            await self._stack.enter_async_context(fake)  # type: ignore[arg-type]
        self.http = await self._stack.enter_async_context(aiohttp.ClientSession())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "slack": {
                "engineering_channel": ENG,
                "account_owners": [OWNER],
                "devops": [DEVOPS],
                "min_post_interval_seconds": 0.02,
            },
            "linear": {"issue": "PDEV-446", "retry_initial_seconds": 0.2, "retry_max_seconds": 1},
            "github": {
                "repository": "Arda-cards/infrastructure",
                "workflow": "amm.yml",
                "ref": "main",
                "poll_interval_seconds": 0.05,
                "run_timeout_minutes": 1,
                "run_appear_timeout_seconds": 1.5,
            },
            "smoke": {"asin": "B08N5WRWNW", "throttle_check": False, "timeout_seconds": 5},
            # The watches' schedules are off unless a test turns one on: a daily tick must
            # never fire in the middle of an unrelated test (`watch <name>` still runs them).
            "watch": {name: {"enabled": False} for name in WATCHES},
            "partitions": [
                {
                    "name": p,
                    "vault": VAULTS[p],
                    "region": "us-east-2" if p == "prod" else "us-east-1",
                    "workflow_inputs": {"partition": p},
                    "bff_url": self.bff.url_for(p),
                    "bff_token_env": f"BFF_TOKEN_{p.upper()}",
                }
                for p in PARTITIONS
            ],
        }
        for key, value in self.config_overrides.items():
            cfg[key] = value
        if self.webhook_secret:
            cfg["github"] = {**cfg["github"], "webhook_secret": "GITHUB_WEBHOOK_SECRET"}
        return cfg

    def env(self) -> dict[str, str]:
        config_path = self.tmp / "creators-onboard.yml"
        config_path.write_text(yaml.safe_dump(self.config()), encoding="utf-8")
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.api_url,
            "LINEAR_API_KEY": LINEAR_KEY,
            "LINEAR_API_URL": self.linear.url,
            "GITHUB_TOKEN": self.github_token,
            "GITHUB_API_URL": self.github.url,
            "OP_SERVICE_ACCOUNT_TOKEN": self.op.token,
            "OP_CLI_PATH": self.op.op_path,
            "DATABASE_URL": self.database_url,
            "CREATORS_ONBOARD_CONFIG": str(config_path),
            "HOST": "127.0.0.1",
            "PORT": "0",
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
        }
        for p in PARTITIONS:
            env[f"BFF_TOKEN_{p.upper()}"] = self.bff.tokens[p]
        if self.webhook_secret:
            env["GITHUB_WEBHOOK_SECRET"] = self.webhook_secret
        return env

    def settings(self) -> Settings:
        return load_settings(self.env())

    @asynccontextmanager
    async def bot(self) -> AsyncIterator[Running]:
        async with running_bot(self.settings()) as running:
            self.running = running
            self.base_url = running.base_url
            if self.webhook_secret:
                self.github.send_webhooks(f"{self.base_url}/github/events", self.webhook_secret)
            try:
                yield running
            finally:
                self.running = None

    # -------------------------------------------------------------- Slack traffic

    base_url: str = ""

    async def post(
        self, body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
    ) -> tuple[int, str]:
        assert self.http is not None
        headers = signed_headers(body, secret, timestamp=timestamp)
        async with self.http.post(
            f"{self.base_url}/slack/events", data=body.encode(), headers=headers
        ) as resp:
            return resp.status, await resp.text()

    async def command(self, text: str, user: str = DEVOPS, **kwargs: Any) -> dict[str, Any]:
        body = slash_command_body(
            text, user, response_url=self.slack.response_url(f"cmd-{user}"), **kwargs
        )
        status, payload = await self.post(body)
        assert status == 200, (status, payload)
        return json.loads(payload) if payload else {}

    def press_body(
        self, user: str, button: dict[str, Any], message: Message, *, response_id: str = ""
    ) -> str:
        """The body Slack sends when `user` presses `button` on `message`."""
        return block_action_body(
            user,
            button["action_id"],
            button["value"],
            channel_id=message.channel,
            message_ts=message.ts,
            response_url=self.slack.response_url(response_id or f"press-{user}"),
            action_text=button.get("text", {}).get("text", "Button"),
        )

    async def press(
        self, user: str, button: dict[str, Any], message: Message, *, response_id: str = ""
    ) -> tuple[int, str]:
        return await self.post(self.press_body(user, button, message, response_id=response_id))

    async def open_home(self, user: str) -> None:
        """The person opens the bot's Home tab (App Home is published for those looking)."""
        opened = {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"}
        status, _ = await self.event(opened)
        assert status == 200

    async def event(self, event: dict[str, Any]) -> tuple[int, str]:
        return await self.post(event_body(event))

    # ---------------------------------------------------------------- inspection

    def dm(self, user: str) -> str:
        return self.slack.dm_channel(user)

    def buttons(self, message: Message) -> list[dict[str, Any]]:
        found = []
        for block in message.blocks or []:
            if block.get("type") == "actions":
                found.extend(e for e in block.get("elements", []) if e.get("type") == "button")
        return found

    def find_button(self, user: str, action_id: str) -> tuple[Message, dict[str, Any]] | None:
        """The newest message in the user's DM with a button of that action id."""
        for message in reversed(self.slack.messages(self.dm(user))):
            for button in self.buttons(message):
                if button["action_id"] == action_id:
                    return message, button
        return None

    async def wait_button(
        self, user: str, action_id: str, timeout: float = 20.0
    ) -> tuple[Message, dict[str, Any]]:
        found: tuple[Message, dict[str, Any]] = await eventually(
            lambda: self.find_button(user, action_id),
            timeout=timeout,
            what=f"a {action_id} button in {user}'s DM",
        )
        return found

    async def click(
        self, user: str, action_id: str, timeout: float = 20.0
    ) -> tuple[Message, dict[str, Any]]:
        message, button = await self.wait_button(user, action_id, timeout)
        status, _ = await self.press(user, button, message)
        assert status == 200
        return message, button

    async def wait_text(self, channel: str, needle: str, timeout: float = 20.0) -> str:
        """Everything visible in the channel, once `needle` is among it."""
        text: str = await eventually(
            lambda: (lambda t: t if needle in t else None)(self.texts(channel)),
            timeout=timeout,
            what=f"{needle!r} in {channel}",
        )
        return text

    def texts(self, channel: str) -> str:
        """Everything visible in a channel (messages, their blocks), for content checks."""
        parts = []
        for message in self.slack.messages(channel):
            parts.append(message.text or "")
            parts.append(json.dumps(message.blocks or [], ensure_ascii=False))
        return "\n".join(parts)

    async def refused(self, answer: dict[str, Any], needle: str, user: str = DEVOPS) -> None:
        """A command was refused with `needle`: at once in its ack, or later via its
        response_url (when the rollout saw the event before publishing its state)."""
        if needle in answer.get("text", ""):
            return
        await eventually(
            lambda: any(
                needle in (r.get("text") or "") for r in self.slack.responses(f"cmd-{user}")
            ),
            what=f"a refusal saying {needle!r}",
        )

    async def state(self, rollout_id: str = "rollout-1") -> Any:
        """The rollout's published state: the running bot's read model, else the table."""
        from bot.readmodel import RolloutIndex

        if self.running is not None:
            found = await self.running.deps.index.get(rollout_id)
        else:
            index = RolloutIndex(self.database_url)  # not started: reads go to the table
            try:
                found = await index.get(rollout_id)
            finally:
                await index.close()
        return found.state if found else None

    async def wait_step(
        self, step: str, rollout_id: str = "rollout-1", timeout: float = 20.0
    ) -> Any:
        from bot.runbook import load_runbook

        # A person's step counts once its message is posted (the state is published just
        # before the post, so that its buttons are judged against it).
        posted = load_runbook().step(step).persona != "bot"

        async def check() -> Any:
            state = await self.state(rollout_id)
            if state is None or state.step != step:
                return None
            return state if not posted or step in state.step_ts else None

        return await eventually(check, timeout=timeout, what=f"rollout at step {step}")

    async def wait(self, predicate: Callable[[Any], bool], what: str, timeout: float = 30.0) -> Any:
        async def check() -> Any:
            state = await self.state()
            return state if state is not None and predicate(state) else None

        return await eventually(check, timeout=timeout, what=what)


AsyncCheck = Callable[[], Awaitable[bool]]
