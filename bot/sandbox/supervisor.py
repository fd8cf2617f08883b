"""The sandbox's supervisor: stand-ins up, the bot as a child process, Slack's side of the
conversation, the rehearsal's controls, and a feed of everything Slack would show."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bot.logging import get_logger
from bot.rollout.events import Quiet
from bot.sandbox.failures import CATALOGUE, failure
from bot.sandbox.platform import Ephemeral, Platform
from bot.sandbox.process import BotProcess
from bot.sandbox.scene import DEVOPS, ENGINEERING, PARTITIONS, PEOPLE, Secrets
from bot.sandbox.standins import RUN_POLLS, StandIns
from bot.workflows import ROLLOUT_WORKFLOW
from bot.workflows.steps import EVENT_TOPIC

log = get_logger(__name__)

FEED_BACKLOG = 1000


class Sandbox:
    """One rehearsal. `start()` brings everything up and has devOps start the rollout;
    `reset()` throws it all away and starts afresh."""

    def __init__(self) -> None:
        self.feeds: set[asyncio.Queue[dict[str, Any]]] = set()
        self.injected: list[str] = []
        self.pace = "real"
        self.generation = 0
        self._workdir: Path | None = None
        self._http: aiohttp.ClientSession | None = None
        self.standins: StandIns | None = None
        self.bot: BotProcess | None = None
        self.platform: Platform | None = None
        self._lock = asyncio.Lock()
        # When each message was first seen: the page shows that as its time (the fake
        # Slack's ts values count up from a fixed day, as tests need).
        self._seen: dict[tuple[str, str], float] = {}

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix="creators-onboard-sandbox-"))
        self._http = aiohttp.ClientSession()
        secrets = Secrets()
        self.standins = await StandIns(self._workdir, secrets).start()
        self.standins.slack.subscribe(self._on_slack)
        self.bot = BotProcess(self.standins.bot_env(), self._workdir)
        self.platform = Platform(
            self.standins.slack,
            secrets.signing_secret,
            self._http,
            lambda: self.bot.url if self.bot is not None else None,
            on_ephemeral=self._on_ephemeral,
        )
        self.injected = []
        self.pace = "real"
        self._seen = {}
        await self.bot.start()
        self.generation += 1
        self.publish({"type": "reset", "generation": self.generation})
        # The rehearsal opens where the real day does: devOps has started the rollout.
        await self.platform.command(DEVOPS, self.standins.slack.dm_channel(DEVOPS), "start")
        for person in PEOPLE:
            await self.platform.open_home(person.user_id)

    async def close(self) -> None:
        if self.bot is not None:
            await self.bot.stop()
        if self.standins is not None:
            await self.standins.close()
        if self._http is not None:
            await self._http.close()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self.bot = self.standins = self.platform = None
        self._http = self._workdir = None

    async def reset(self) -> None:
        async with self._lock:
            await self.close()
            await self.start()

    # -------------------------------------------------------------------- feed

    def publish(self, event: dict[str, Any]) -> None:
        for queue in list(self.feeds):
            if queue.qsize() < FEED_BACKLOG:
                queue.put_nowait(event)

    def _on_slack(self, method: str, result: dict[str, Any]) -> None:
        slack = self.world.slack
        if method in ("chat.postMessage", "chat.update", "message.user", "chat.delete"):
            channel, ts = str(result["channel"]), str(result["ts"])
            found = slack.message(channel, ts)
            if found is None:
                self.publish({"type": "delete", "channel": channel, "ts": ts})
            else:
                self.publish({"type": "message", "message": self._json(found.to_api(), channel)})
        elif method == "views.publish":
            for person in PEOPLE:
                view = slack.home_view(person.user_id)
                if view is not None and view["id"] == result["view"]["id"]:
                    self.publish({"type": "home", "user": person.user_id, "view": view})
        elif method == "modals":
            self.publish({"type": "modals", "user": result["user"], "modals": result["modals"]})
        elif method == "response_url":
            self.platform_or_fail.responded(str(result["id"]), dict(result["body"]))
        elif method == "chat.postEphemeral":
            eph = slack.ephemerals()[-1]
            self.platform_or_fail.tell(eph.user, eph.channel, eph.text, eph.blocks)

    def _on_ephemeral(self, eph: Ephemeral) -> None:
        self.publish({"type": "ephemeral", "ephemeral": eph.to_json()})

    @property
    def world(self) -> StandIns:
        if self.standins is None:
            raise RuntimeError("the sandbox is not started")
        return self.standins

    @property
    def platform_or_fail(self) -> Platform:
        if self.platform is None:
            raise RuntimeError("the sandbox is not started")
        return self.platform

    def snapshot(self) -> dict[str, Any]:
        """Everything the page shows, at once (the feed brings changes after it)."""
        slack = self.world.slack
        messages = [self._json(m.to_api(), m.channel) for m in slack.messages()]
        return {
            "generation": self.generation,
            "people": [
                {
                    "user": p.user_id,
                    "name": p.name,
                    "role": p.role,
                    "dm": slack.dm_channel(p.user_id),
                }
                for p in PEOPLE
            ],
            "engineering": ENGINEERING,
            "bot_name": slack.bot_name,
            "messages": messages,
            "ephemerals": [e.to_json() for e in self.platform_or_fail.ephemerals],
            "homes": {p.user_id: slack.home_view(p.user_id) for p in PEOPLE},
            "modals": {p.user_id: slack.modals(p.user_id) for p in PEOPLE},
            "controls": self.controls(),
        }

    def controls(self) -> dict[str, Any]:
        return {
            "partitions": list(PARTITIONS),
            "failures": [f.to_json() for f in CATALOGUE],
            "injected": list(self.injected),
            "pace": self.pace,
            "paces": list(RUN_POLLS),
            "bot": "running" if self.bot is not None and self.bot.running else "down",
            "stand_ins": self.world.addresses(),
        }

    def _controls_changed(self) -> None:
        self.publish({"type": "controls", "controls": self.controls()})

    # ----------------------------------------------------------------- controls

    async def control(self, action: str, args: dict[str, Any]) -> str:
        """Carry out one rehearsal control; returns what it did, in words."""
        if action == "reset":
            await self.reset()
            return "Everything is back to the start: devOps has just started the rollout."
        bot = self.bot
        assert bot is not None
        done: str
        if action == "inject":
            known = failure(str(args.get("failure", "")))
            partition = str(args.get("partition") or PARTITIONS[0])
            if partition not in PARTITIONS:
                raise ValueError(f"unknown partition {partition!r}")
            known.apply(self.world, partition)
            done = f"Injected: {known.describe(partition)}."
            self.injected.append(known.describe(partition))
        elif action == "heal":
            self.world.heal()
            self.injected.clear()
            done = "Every injected failure is cleared: the stand-ins behave again."
        elif action == "pace":
            pace = str(args.get("pace", ""))
            if pace not in RUN_POLLS:
                raise ValueError(f"unknown pace {pace!r}")
            self.pace = pace
            self.world.set_pace(pace)
            done = f"Runs now take about {RUN_POLLS[pace]} seconds."
        elif action == "nudge":
            done = await self.nudge()
        elif action == "kill":
            await bot.kill()
            done = "The bot process was killed (SIGKILL)."
        elif action == "restart":
            await bot.start()
            done = "The bot process is running again; it carries on where it stood."
        else:
            raise ValueError(f"unknown control {action!r}")
        log.info("sandbox_control", action=action, done=done)
        self._controls_changed()
        return done

    async def nudge(self) -> str:
        """What the bot does after a quiet day, now: the Quiet event its inbox would
        produce on its own timeout, sent to the running rollout through DBOS."""
        from dbos import DBOSClient

        url = self.world.bot_env()["DATABASE_URL"]
        client = DBOSClient(system_database_url=url)
        try:
            found = await client.list_workflows_async(
                name=ROLLOUT_WORKFLOW, status=["PENDING"], load_input=False, load_output=False
            )
            if not found:
                return "No rollout is waiting on anyone: nothing to nudge."
            quiet = Quiet(at=datetime.now(UTC).isoformat()).model_dump(mode="json")
            for wf in found:
                await client.send_async(str(wf.workflow_id), quiet, EVENT_TOPIC)
        finally:
            await asyncio.to_thread(client.destroy)
        return "A quiet day has passed: the bot nudges whoever it is waiting for."

    def _json(self, api: dict[str, Any], channel: str) -> dict[str, Any]:
        """A message as the page draws it."""
        seen = self._seen.setdefault((channel, str(api["ts"])), time.time())
        return message_json(api, channel, seen)


def message_json(api: dict[str, Any], channel: str, seen: float) -> dict[str, Any]:
    return {
        "channel": channel,
        "at": seen,
        "ts": api["ts"],
        "thread_ts": api.get("thread_ts"),
        "user": api.get("user"),
        "bot": "bot_id" in api,
        "text": api.get("text", ""),
        "blocks": api.get("blocks"),
        "edited": "edited" in api,
    }
