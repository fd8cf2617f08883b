"""The watches' results held in memory for the ack path (bot/watches/board.py), as a unit:
the loader stands in for DBOS's workflow list (tests/scenarios/test_watches.py reads the
board through `status` against the real one)."""

from __future__ import annotations

import asyncio

from bot.watches.board import WatchBoard
from bot.watches.model import Outcome


def _outcome(at: str, summary: str) -> Outcome:
    return Outcome(watch="probe", at=at, ok=True, summary=summary)


class _Loader:
    def __init__(self, found: dict[str, Outcome]) -> None:
        self.found = found
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> dict[str, Outcome]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        return dict(self.found)


async def test_the_first_read_loads_later_reads_answer_from_memory() -> None:
    load = _Loader({"probe": _outcome("2026-12-01T10:00:00+00:00", "all ok")})
    board = WatchBoard(ttl=60)
    assert (await board.lasts(load))["probe"].summary == "all ok"
    for _ in range(5):
        await board.lasts(load)
    assert load.calls == 1


async def test_a_stale_copy_answers_at_once_and_reloads_in_the_background() -> None:
    load = _Loader({"probe": _outcome("2026-12-01T10:00:00+00:00", "old")})
    board = WatchBoard(ttl=0)
    await board.lasts(load)
    load.found = {"probe": _outcome("2026-12-01T11:00:00+00:00", "from another replica")}
    load.gate = asyncio.Event()  # the reload takes its time
    assert (await board.lasts(load))["probe"].summary == "old"  # not waited for
    load.gate.set()
    for _ in range(100):
        await asyncio.sleep(0.01)
        if load.calls == 2 and (await board.lasts(load))["probe"].summary != "old":
            break
    assert (await board.lasts(load))["probe"].summary == "from another replica"


async def test_a_result_put_in_is_shown_at_once_and_never_replaced_by_an_older_one() -> None:
    load = _Loader({"probe": _outcome("2026-12-01T10:00:00+00:00", "before the run")})
    board = WatchBoard(ttl=0)
    await board.lasts(load)
    board.put(_outcome("2026-12-01T12:00:00+00:00", "this process's run"))
    assert (await board.lasts(load))["probe"].summary == "this process's run"
    await asyncio.sleep(0.05)  # the reload (older data) lands meanwhile
    assert (await board.lasts(load))["probe"].summary == "this process's run"
