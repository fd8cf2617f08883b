"""The stand-ins the rehearsed bot talks to, all on 127.0.0.1, and the bot's configuration
(YAML and environment) that points it at them."""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import yaml

from bot.integrations.amplify import REQUIRED_VARIABLES
from bot.sandbox.fakes.amplify import FakeAmplify
from bot.sandbox.fakes.bff import FakeBFF
from bot.sandbox.fakes.github import FakeGitHub
from bot.sandbox.fakes.linear import FakeLinear
from bot.sandbox.fakes.op import FakeOp
from bot.sandbox.fakes.slack import FakeSlack
from bot.sandbox.scene import (
    CREDENTIAL_ID,
    DEVOPS,
    ENGINEERING,
    ISSUE,
    OWNER,
    PARTITIONS,
    PEOPLE,
    VAULTS,
    Secrets,
    amplify_app_id,
    region,
)

# What a run takes at the rehearsal's pace (one GitHub poll a second), and sped up.
RUN_POLLS = {"real": 40, "fast": 2}
POLL_SECONDS = 1.0
# Variables the child process keeps from the supervisor's environment: nothing that
# could point it at a real system.
KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "SYSTEMROOT")


class StandIns:
    """Every outside system the bot uses, as a local server (or the fake `op`)."""

    def __init__(self, workdir: Path, secrets: Secrets) -> None:
        self.workdir = workdir
        self.secrets = secrets
        self.slack = FakeSlack(token=secrets.bot_token, team="Arda (rehearsal)")
        # The bot has been invited to the engineering channel, as the README asks.
        self.slack.add_channel(ENGINEERING, "engineering", member=True)
        self.github = FakeGitHub(token=secrets.github_token)
        self.linear = FakeLinear(api_key=secrets.linear_key, issue=ISSUE)
        self.bff = FakeBFF(tokens=dict(secrets.bff_tokens))
        self.amplify = FakeAmplify()
        self.op = FakeOp(workdir / "op")
        self._stack = AsyncExitStack()

    async def start(self) -> StandIns:
        for fake in (self.slack, self.github, self.linear, self.bff, self.amplify):
            await self._stack.enter_async_context(fake)
        for person in PEOPLE:
            self.slack.add_user(person.user_id, real_name=person.name)
        self.heal()
        self.set_pace("real")
        return self

    async def close(self) -> None:
        await self._stack.aclose()

    def addresses(self) -> dict[str, str]:
        """Every stand-in's base URL (the fake `op` is a local executable, no address)."""
        return {
            "slack": self.slack.base_url,
            "github": self.github.url,
            "linear": self.linear.url,
            "bff": self.bff.url,
            "amplify": self.amplify.url,
        }

    # ------------------------------------------------------------------ world

    def heal(self) -> None:
        """Everything as it should be: vaults filled, runs succeed, BFFs answer, Linear up,
        every Amplify app carries its four variables."""
        self.op.populate_all(
            list(VAULTS.values()),
            credential_id=CREDENTIAL_ID,
            secret=self.secrets.credential_secret,
        )
        self.github.clear_scripts()
        self.bff.behaviour.clear()
        self.linear.clear_faults()
        for partition in PARTITIONS:
            variables = {name: "written-by-amm" for name in REQUIRED_VARIABLES}
            app_id, name = amplify_app_id(partition), f"arda-web-{partition}"
            self.amplify.add_app(app_id, name, region(partition), variables, "main")

    def set_pace(self, pace: str) -> None:
        """Runs dispatched from now on, and those in progress, take `pace`'s polls."""
        polls = RUN_POLLS[pace]
        self.github.default_states = ["queued"] + ["in_progress"] * polls + ["completed:success"]
        for run in self.github.runs.values():
            status, _ = run.state()
            if status != "completed":
                end = run.states[-1]
                left = max(1, min(polls, len(run.states) - 1 - run.polls))
                run.states = run.states[: run.polls] + ["in_progress"] * left + [end]

    # ------------------------------------------------------------ the bot's side

    def config(self) -> dict[str, Any]:
        return {
            "slack": {
                "engineering_channel": ENGINEERING,
                "account_owners": [OWNER],
                "devops": [DEVOPS],
                "min_post_interval_seconds": 0.2,
            },
            "linear": {"issue": ISSUE, "retry_initial_seconds": 2, "retry_max_seconds": 10},
            "github": {"poll_interval_seconds": POLL_SECONDS, "run_appear_timeout_seconds": 5},
            "smoke": {"timeout_seconds": 10},
            "partitions": [
                {
                    "name": p,
                    "vault": VAULTS[p],
                    "region": region(p),
                    "workflow_inputs": {"partition": p},
                    "bff_url": self.bff.url_for(p),
                    "bff_token_env": f"BFF_TOKEN_{p.upper()}",
                    "amplify": {"app_id": amplify_app_id(p), "branch": "main"},
                }
                for p in PARTITIONS
            ],
        }

    def bot_env(self) -> dict[str, str]:
        """The environment `creators-onboard serve` runs with: every endpoint a stand-in,
        the database a SQLite file in the work directory."""
        config_path = self.workdir / "creators-onboard.yml"
        config_path.write_text(yaml.safe_dump(self.config()), encoding="utf-8")
        s = self.secrets
        env = {k: os.environ[k] for k in KEPT_VARIABLES if k in os.environ}
        env.update(
            SLACK_BOT_TOKEN=s.bot_token,
            SLACK_SIGNING_SECRET=s.signing_secret,
            SLACK_API_URL=self.slack.api_url,
            GITHUB_TOKEN=s.github_token,
            GITHUB_API_URL=self.github.url,
            LINEAR_API_KEY=s.linear_key,
            LINEAR_API_URL=self.linear.url,
            OP_SERVICE_ACCOUNT_TOKEN=self.op.token,
            OP_CLI_PATH=self.op.op_path,
            AWS_ENDPOINT_URL_AMPLIFY=self.amplify.url,
            AWS_ACCESS_KEY_ID="AKIAREHEARSAL0000000",
            AWS_SECRET_ACCESS_KEY=s.credential_secret,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            DATABASE_URL=f"sqlite:///{self.workdir / 'creators-onboard.sqlite'}",
            CREATORS_ONBOARD_CONFIG=str(config_path),
            HOST="127.0.0.1",
            PORT="0",
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
        )
        for p in PARTITIONS:
            env[f"BFF_TOKEN_{p.upper()}"] = s.bff_tokens[p]
        return env
