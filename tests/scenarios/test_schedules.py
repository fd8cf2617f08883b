"""The watches on their DBOS schedules, shortened to seconds in the test's YAML: two bot
processes share one PostgreSQL database, both are stopped and started again between two
ticks, and each watch still runs once per tick — its alerts told once, its recovery once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import _fresh_pg_database
from tests.scenario import DEVOPS, OWNER, World, eventually
from tests.scenarios.test_durability import bot_process
from tests.scenarios.test_watches import THROTTLED, UNAVAILABLE, count

TICK = "*/4 * * * * *"  # every 4 seconds (six fields: seconds first)
WATCHES = ("eligibility", "probe", "rotation", "service_account")
PREFIX = "sched-creators-onboard-watch-"


@pytest.fixture
def pg_url(pg_problem: str | None, pg_databases: None) -> Iterator[str]:
    yield from _fresh_pg_database(pg_problem)


def ticks(url: str, watch: str, status: str = "SUCCESS") -> list[str]:
    """The scheduled times of the watch's runs in the shared database (by status)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT workflow_uuid FROM dbos.workflow_status WHERE name = %s AND status = %s "
            "AND workflow_uuid LIKE %s",
            (f"watch_{watch}", status, f"{PREFIX}{watch}-%"),
        ).fetchall()
    return sorted(str(r[0]).removeprefix(f"{PREFIX}{watch}-") for r in rows)


def all_ticks(url: str, watch: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT workflow_uuid FROM dbos.workflow_status WHERE workflow_uuid LIKE %s",
            (f"{PREFIX}{watch}-%",),
        ).fetchall()
    return [str(r[0]) for r in rows]


async def ticked(url: str, watch: str, n: int, *, after: str = "") -> list[str]:
    found: list[str] = await eventually(
        lambda: (lambda t: t if len(t) >= n else None)([t for t in ticks(url, watch) if t > after]),
        timeout=90,
        what=f"{n} ticks of the {watch} watch after {after or 'the start'}",
    )
    return found


def checkin_labels(world: World) -> list[str]:
    """The tick each check-in message in the owner's DM was sent for."""
    labels = []
    for message in world.slack.messages(world.dm(OWNER)):
        found = re.search(r"Check-in of (\S+)\.", str(message.blocks or ""))
        if found:
            labels.append(found.group(1))
    return labels


async def test_each_watch_runs_once_per_tick_across_two_processes_and_a_restart(
    tmp_path: Path, pg_url: str
) -> None:
    async with World(tmp_path, database_url=pg_url) as world:
        world.config_overrides["watch"] = {name: {"schedule": TICK} for name in WATCHES}
        world.config_overrides["watch"]["probe"]["partitions"] = ["dev", "demo"]
        world.bff.set_behaviour("dev", "error:AMAZON_RATE_LIMITED")
        world.bff.set_behaviour("demo", "error:AMAZON_UPSTREAM_UNAVAILABLE")
        logs = [tmp_path / "a.log", tmp_path / "b.log"]

        async with (
            bot_process(world, logs[0], executor="a"),
            bot_process(world, logs[1], executor="b"),
        ):
            for watch in WATCHES:
                await ticked(pg_url, watch, 2)
            await world.wait_text(world.dm(DEVOPS), THROTTLED, timeout=30)
            await world.wait_text(world.dm(OWNER), UNAVAILABLE, timeout=30)
        # Both processes are down: a restart between two ticks.
        stopped = max(t for w in WATCHES for t in ticks(pg_url, w))

        async with (
            bot_process(world, logs[0], executor="a"),
            bot_process(world, logs[1], executor="b"),
        ):
            for watch in WATCHES:
                await ticked(pg_url, watch, 2, after=stopped)
            # The probe still remembers what it told before the restart …
            assert count(world, world.dm(DEVOPS), THROTTLED) == 1
            world.bff.set_behaviour("dev", "ok")
            world.bff.set_behaviour("demo", "ok")
            # … and tells the recovery once, however many ticks follow.
            await world.wait_text(world.dm(DEVOPS), "*dev* imports again", timeout=30)
            await world.wait_text(world.dm(OWNER), "*demo* imports again", timeout=30)
            recovered = max(ticks(pg_url, "probe"))
            await ticked(pg_url, "probe", 2, after=recovered)

    devops, owner = world.dm(DEVOPS), world.dm(OWNER)
    assert count(world, devops, THROTTLED) == 1
    assert count(world, devops, UNAVAILABLE) == 1 and count(world, owner, UNAVAILABLE) == 1
    assert count(world, devops, "*dev* imports again") == 1
    assert count(world, owner, "*demo* imports again") == 1
    # Every tick of the check-in was asked exactly once, whichever process took it.
    labels = checkin_labels(world)
    assert len(labels) == len(set(labels)), labels
    done = ticks(pg_url, "eligibility")
    assert set(done) <= set(labels)
    # One import per probed partition per tick: never two processes on one tick (a run
    # stopped mid-way by a shutdown may repeat its unfinished import once when recovered).
    runs = len(all_ticks(pg_url, "probe"))
    for partition in ("dev", "demo"):
        imports = len(world.bff.requests_for(partition))
        assert len(ticks(pg_url, "probe")) <= imports <= runs + 2, (partition, imports, runs)
    assert world.bff.requests_for("stage") == []  # not among watch.probe.partitions
    # Both processes scheduled every watch, at both starts: the ticks above had two
    # schedulers racing for each of them.
    for log in logs:
        assert log.read_text().count('"watch_schedules_applied"') == 2, log
