"""The seam between the handlers and ongoing operations: run a watch now, answer a
check-in, read the watch board, and let the leak guard judge a message. Everything here is
a database round trip or two (DBOS), so the handlers can await it."""

from __future__ import annotations

import time

from dbos import DBOS

from bot.commands import COMMAND
from bot.config import FileConfig
from bot.integrations.vaults import verify
from bot.logging import get_logger
from bot.rollout.port import Answer
from bot.rollout.roles import require, watch_refusal
from bot.store import Store
from bot.watches import leak
from bot.watches.board import WatchBoard
from bot.watches.model import TITLES, WATCHES, WatchStatus, parse_watch, workflow_name
from bot.watches.port import Message
from bot.workflows.ongoing import (
    answer_id,
    newest_fingerprint,
    start_answer,
    start_leak_warning,
)
from bot.workflows.steps.watch import board
from bot.workflows.watches import start_now

log = get_logger(__name__)

# How long a replica trusts the fingerprint it read (a new verification is seen after this).
FINGERPRINT_TTL_SECONDS = 10.0


class WatchService:
    def __init__(self, config: FileConfig, store: Store, held: WatchBoard | None = None) -> None:
        self.config = config
        self.store = store
        self.held = held if held is not None else WatchBoard()
        self._fingerprint: tuple[float, str | None] | None = None

    # -------------------------------------------------------------------- board

    async def board(self) -> list[WatchStatus]:
        return await board(self.config, self.held)

    # ---------------------------------------------------------------- run now

    async def run_now(self, name: str, *, user: str, key: str) -> Answer:
        watch = parse_watch(name)
        if watch is None:
            names = ", ".join(f"`{w}`" for w in WATCHES)
            return Answer(False, f"Which watch? `{COMMAND} watch <name>` with one of: {names}.")
        denied = watch_refusal(self.config, user, TITLES[watch])
        if denied:
            await self.store.record(actor=user, action=f"watch:{watch}", outcome="refused")
            return Answer(False, denied)
        workflow_id = await start_now(watch, user, key)
        await self.store.record(
            actor=user, action=f"watch:{watch}", outcome="done", detail=workflow_id
        )
        return Answer(
            True,
            f"Running the *{TITLES[watch]}* watch now. It reports where it always does (DMs, "
            f"the engineering channel); `{COMMAND} status` shows its result once it is done.",
        )

    # ---------------------------------------------------------------- check-in

    async def answer_checkin(
        self, *, user: str, checkin: str, answer: str, channel: str, ts: str
    ) -> Answer:
        denied = require(self.config, user, "accountOwner", what="answer the sales check-in")
        if denied:
            await self.store.record(actor=user, action="checkin_answer", outcome="refused")
            return Answer(False, denied)
        asked = await DBOS.get_workflow_status_async(checkin)
        if (
            asked is None
            or asked.name != workflow_name("eligibility")
            or answer
            not in (
                "normal",
                "no_sales",
            )
        ):
            return Answer(False, "That check-in is not one I sent, so the answer was not taken.")
        if await DBOS.get_workflow_status_async(answer_id(checkin)) is not None:
            return Answer(False, "This check-in was already answered. Thank you!")
        await start_answer(
            checkin, user, "normal" if answer == "normal" else "no_sales", channel, ts
        )
        return Answer(True, "Thanks, noted.")

    # -------------------------------------------------------------- leak guard

    async def _armed(self) -> str | None:
        cached = self._fingerprint
        if cached is not None and time.monotonic() - cached[0] < FINGERPRINT_TTL_SECONDS:
            return cached[1]
        found = await newest_fingerprint(verify.key_id())
        self._fingerprint = (time.monotonic(), found)
        return found

    async def guard(self, message: Message) -> bool:
        if not message.text:
            return False
        verdict = leak.judge(message.text, await self._armed(), verify.fingerprint)
        if verdict is None:
            return False
        where = (
            "in their DM with me" if message.channel_type == "im" else f"in <#{message.channel}>"
        )
        log.warning(
            "credential_pasted",
            channel=message.channel,
            ts=message.ts,
            user=message.user,
            verdict=verdict,
        )
        await start_leak_warning(
            message.channel, message.ts, message.thread_ts, message.user, verdict, where
        )
        return True
