"""Takeover bookkeeping on a real database: who is dead, who takes over, exactly once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.store import Store
from bot.tables import seen
from bot.takeover import SEEN_KEEP_SECONDS, Takeover


async def test_a_silent_executor_is_taken_over_once_and_reclaims_itself(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.sqlite'}")
    await store.migrate()
    recovered: list[tuple[str, str]] = []

    def replica(name: str) -> Takeover:
        async def recover(dead: str) -> int:
            recovered.append((name, dead))
            return 1

        return Takeover(store, name, after=60, recover=recover)

    try:
        dead, a, b = replica("dead"), replica("a"), replica("b")
        await asyncio.to_thread(dead._beat, 1_000.0)  # long ago
        taken = await asyncio.gather(a.tick(), b.tick(), a.tick(), b.tick())
        assert [x for found in taken for x in found] == ["dead"]
        assert len(recovered) == 1 and recovered[0][1] == "dead"
        # Live ones are never taken: both just beat.
        assert await a.tick() == [] and await b.tick() == []
        # The dead executor comes back under its own id: its claim is cleared, and it is
        # only taken over again once it falls silent again.
        await dead.tick()
        assert await a.tick() == []
        await asyncio.to_thread(dead._beat, 2_000.0)
        assert await b.tick() == ["dead"]
        assert len(recovered) == 2
    finally:
        store.dispose()


async def test_a_failed_recovery_gives_the_claim_back(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.sqlite'}")
    await store.migrate()

    async def broken(dead: str) -> int:
        raise OSError("database went away")

    async def works(dead: str) -> int:
        return 2

    try:
        await asyncio.to_thread(Takeover(store, "dead", 60, works)._beat, 1_000.0)
        try:
            await Takeover(store, "a", 60, broken).tick()
        except OSError:
            pass
        else:
            raise AssertionError("the recovery error was swallowed")
        assert await Takeover(store, "b", 60, works).tick() == ["dead"]
    finally:
        store.dispose()


async def test_handled_keys_are_forgotten_after_a_week(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.sqlite'}")
    await store.migrate()

    async def never(dead: str) -> int:
        raise AssertionError("nobody is dead")

    try:
        assert await store.claim("event:old")
        with store.engine.begin() as conn:
            conn.execute(seen.update().values(at=time.time() - SEEN_KEEP_SECONDS - 60))
        assert await store.claim("event:new")
        await Takeover(store, "a", 60, never).tick()
        assert await store.claim("event:old") is True  # forgotten: claimable again
        assert await store.claim("event:new") is False  # kept
    finally:
        store.dispose()
