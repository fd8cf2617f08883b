"""The writes every request makes after its ack (a claim, an audit row) are committed
together when they come in a burst, each still answered for itself: a repeat is False, a
bad row fails alone, a database that is away fails every caller (who may wait it out).
On a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.store import Store, connection_lost


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store(database_url)
    await store.migrate()
    try:
        yield store
    finally:
        store.dispose()


def commits(store: Store) -> list[int]:
    count: list[int] = []
    sa.event.listen(store.engine, "commit", lambda *_: count.append(1))
    return count


def refusal(n: int, **extra: Any) -> dict[str, Any]:
    return {"actor": f"U{n}", "action": "verify", "outcome": "refused", "detail": "no", **extra}


async def test_a_burst_is_a_few_commits_and_each_claim_is_answered_for_itself(
    store: Store,
) -> None:
    count = commits(store)
    keys = [f"trigger-{n % 150}" for n in range(200)]  # 50 of them sent twice
    claimed, _ = await asyncio.gather(
        asyncio.gather(*(store.claim(key) for key in keys)),
        asyncio.gather(*(store.record(**refusal(n)) for n in range(200))),
    )
    assert claimed[:150] == [True] * 150  # the first of each
    assert claimed[150:] == [False] * 50  # and every repeat, in the same commit or not
    assert len(await store.entries()) == 200
    assert len(count) <= 20, f"{len(count)} commits for 400 writes"
    # One at a time, each write is its own commit, at once.
    assert await store.claim("alone") and not await store.claim("alone")


async def test_a_commit_sends_each_table_its_rows_in_one_statement(store: Store) -> None:
    """One INSERT per row cost six times the CPU per row of a burst's writes."""
    count = commits(store)
    inserts: list[str] = []

    def executed(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", executed)
    claimed, _ = await asyncio.gather(
        asyncio.gather(*(store.claim(f"burst-{n % 90}") for n in range(100))),
        asyncio.gather(*(store.record(**refusal(n, dedupe_key=f"d-{n % 95}")) for n in range(100))),
    )
    assert claimed == [True] * 90 + [False] * 10
    assert len(await store.entries()) == 95
    assert len(inserts) <= 2 * len(count), f"{len(inserts)} INSERTs in {len(count)} commits"


async def test_an_audit_row_with_a_dedupe_key_is_recorded_once(store: Store) -> None:
    await asyncio.gather(*(store.record(**refusal(1, dedupe_key="step-7")) for _ in range(5)))
    await store.record(**refusal(1, dedupe_key="step-7"))
    assert len(await store.entries()) == 1


async def test_a_bad_row_fails_alone_the_others_are_written(store: Store) -> None:
    results = await asyncio.gather(
        *(store.claim(f"good-{n}") for n in range(5)),
        store.record(**refusal(1, actor=None)),  # NOT NULL: no repeat, a bad row
        *(store.record(**refusal(n)) for n in range(5)),
        return_exceptions=True,
    )
    assert results[:5] == [True] * 5
    assert isinstance(results[5], sa.exc.IntegrityError)
    assert results[6:] == [None] * 5
    assert len(await store.entries()) == 5
    assert not await store.claim("good-3")


async def test_a_database_away_fails_every_writer_and_the_next_burst_writes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "away.sqlite"
    store = Store(f"sqlite:///{path}")
    try:
        await store.migrate()
        path.unlink()
        path.mkdir()  # the file gone, something SQLite cannot open in its place
        results = await asyncio.gather(
            *(store.claim(f"k{n}") for n in range(10)),
            store.record(**refusal(1)),
            return_exceptions=True,
        )
        assert all(isinstance(r, sa.exc.OperationalError) for r in results), results
        assert all(connection_lost(r) for r in results if isinstance(r, BaseException))
        # Each writer raised its own exception (one object raised in eleven tasks would
        # carry all their frames), each saying the same.
        assert len({id(r) for r in results}) == len(results)
        assert len({str(r) for r in results}) == 1
        assert all(r.__traceback__ is not None for r in results if isinstance(r, BaseException))
        path.rmdir()
        await store.migrate()
        assert await asyncio.gather(*(store.claim(f"k{n}") for n in range(10))) == [True] * 10
    finally:
        store.dispose()


async def test_two_replicas_committing_the_same_keys_each_claim_each_key_once(
    database_url: str,
) -> None:
    # Slack retried requests to the other replica: both commit the same keys at once,
    # in the opposite order. Each key is claimed once, and neither commit fails (taken
    # in their order, PostgreSQL aborted one as a deadlock).
    one, other = Store(database_url), Store(database_url)
    await one.migrate()
    try:
        for round_ in range(5):
            keys = [f"retried-{round_}-{n:03}" for n in range(150)]
            mine, theirs = await asyncio.gather(
                asyncio.gather(*(one.claim(key) for key in keys)),
                asyncio.gather(*(other.claim(key) for key in reversed(keys))),
            )
            theirs.reverse()
            assert [a + b for a, b in zip(mine, theirs, strict=True)] == [1] * len(keys)
    finally:
        one.dispose()
        other.dispose()


async def test_the_writers_of_a_burst_resume_one_per_turn_of_the_loop(store: Store) -> None:
    """Handed their results all at once, a batch's writers would all run on in one turn of
    the event loop, and a request arriving then would wait behind them for its ack."""
    turn = 0
    ticking = True

    async def ticker() -> None:
        nonlocal turn
        while ticking:
            turn += 1
            await asyncio.sleep(0)

    resumed: list[int] = []

    async def claimer(key: str) -> None:
        await store.claim(key)
        resumed.append(turn)

    count = commits(store)
    ticks = asyncio.ensure_future(ticker())
    await asyncio.gather(*(claimer(f"turns-{n}") for n in range(60)))
    ticking = False
    await ticks
    assert len(count) < 60  # committed in batches …
    assert len(resumed) == 60 and len(set(resumed)) == 60, resumed  # … resumed one by one


async def test_writers_are_not_left_waiting_when_the_hand_out_is_cancelled() -> None:
    from bot.store import _hand_out

    loop = asyncio.get_running_loop()
    batch = [((sa.table("t"), {}), loop.create_future()) for _ in range(5)]
    handing = asyncio.ensure_future(_hand_out(batch, [True] * 5))  # type: ignore[arg-type]
    await asyncio.sleep(0)  # the first is handed its result, the rest wait their turn
    handing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handing
    futures = [done for _, done in batch]
    assert futures[0].result() is True
    assert all(f.cancelled() for f in futures[1:])
