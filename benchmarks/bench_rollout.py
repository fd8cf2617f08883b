"""A whole rollout against the fakes, with amm.yml runs that take real time.

    .venv/bin/python benchmarks/bench_rollout.py [--seconds 5 15 60] [--modes polling webhook]

For each run length and each mode (polling alone with the shipped defaults, or GitHub's
webhook as well), one rollout is driven as the people would (presses as soon as the
buttons show) against the fake Slack, GitHub (runs that complete N seconds after
dispatch), Linear, BFF and `op`. It prints:

* the bot's overhead per partition: from the moment a run concluded to the next thing the
  bot did about it (a Slack call or the smoke test's first request), p50/p95/max;
* the rollout's wall time (first deploy press to completion) over its physical limit, the
  sum of the run lengths and of the smoke tests' durations, measured in the same run;
* the API calls of the whole rollout by method: Slack, GitHub (304s apart), Linear, `op`.

Ratios and counts, not verdicts: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.logging import configure_logging
from tests.scenario import PARTITIONS, World
from tests.scenarios.test_rollout import deploy, to_gate

SECRET = "bench-webhook-secret-0123456789"


def shipped_defaults(world: World) -> None:
    """The test world's fast settings off: the defaults a real installation runs with."""
    cfg = world.config()
    slack = {k: v for k, v in cfg["slack"].items() if k != "min_post_interval_seconds"}
    github = {
        k: v
        for k, v in cfg["github"].items()
        if k not in ("poll_interval_seconds", "run_timeout_minutes", "run_appear_timeout_seconds")
    }
    world.config_overrides.update(slack=slack, github=github)


def calls_by_method(world: World) -> dict[str, Counter[str]]:
    github: Counter[str] = Counter()
    for r in world.github.requests:
        path = re.sub(r"/\d+", "/{id}", r.path.split("/actions/", 1)[-1])
        github[f"{r.method} {path}" + (" (304)" if r.status == 304 else "")] += 1
    return {
        "Slack": Counter(c.method for c in world.slack.calls()),
        "GitHub": github,
        "Linear": Counter(str(op) for op in world.linear.operations()),
        "op": Counter(" ".join(c["argv"][:2]) for c in world.op.calls()),
    }


async def one_rollout(tmp: Path, seconds: float, webhook: bool) -> dict[str, object]:
    async with World(tmp) as world:
        shipped_defaults(world)
        if webhook:
            world.webhook_secret = SECRET
        world.github.run_seconds = seconds
        async with world.bot():
            await to_gate(world)
            started = time.monotonic()
            for partition in PARTITIONS:
                await deploy(world, partition)
                await world.wait(
                    lambda s, p=partition: s.partition(p).status == "green",
                    f"{partition} green",
                    timeout=seconds + 120,
                )
            await world.wait(lambda s: s.status == "complete", "completion", timeout=60)
            wall = time.monotonic() - started
            await finished()
            overheads, smoke_time = [], 0.0
            for run in world.github.runs.values():
                # A clocked run's last state (its conclusion) begins once the others ran.
                concluded = run.started + sum(run.durations or [])
                partition = run.inputs["partition"]
                # The smoke test follows its run: the BFF calls before it (the checks made
                # when the run was dispatched) are not part of it.
                smoke = [r.at for r in world.bff.requests_for(partition) if r.at >= concluded]
                smoke_time += max(smoke) - min(smoke) if smoke else 0.0
                after = [c.at for c in world.slack.calls() if c.at >= concluded] + smoke
                overheads.append(min(after) - concluded)
            physical = seconds * len(world.github.runs) + smoke_time
            return {
                "overheads": overheads,
                "wall": wall,
                "physical": physical,
                "calls": calls_by_method(world),
            }


async def finished() -> None:
    """Let every workflow (the rollout's last messages, Linear comments) end before the
    bot stops."""
    from dbos import DBOS

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not await DBOS.list_workflows_async(status=["PENDING", "ENQUEUED"]):
            return
        await asyncio.sleep(0.2)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(lengths: list[float], modes: list[str]) -> None:
    configure_logging(level="ERROR")
    logging.disable(logging.WARNING)
    results = []
    for seconds in lengths:
        for mode in modes:
            # A loop per rollout: DBOS takes over a loop's default executor and stops it.
            with tempfile.TemporaryDirectory() as tmp:
                rollout = one_rollout(Path(tmp), seconds, webhook=mode == "webhook")
                outcome = asyncio.run(rollout)
            results.append((seconds, mode, outcome))
            over = outcome["overheads"]
            assert isinstance(over, list)
            print(
                f"runs of {seconds:>4.0f} s, {mode:8}: overhead per partition "
                f"p50 {statistics.median(over):5.2f} s  p95 {pct(over, 0.95):5.2f} s  "
                f"max {max(over):5.2f} s;  wall {outcome['wall']:7.1f} s / physical "
                f"{outcome['physical']:7.1f} s = {outcome['wall'] / outcome['physical']:.3f}",  # type: ignore[operator]
                flush=True,
            )
    seconds, mode, last = results[-1]
    print(f"\nAPI calls per rollout (runs of {seconds:.0f} s, {mode}):")
    calls = last["calls"]
    assert isinstance(calls, dict)
    for system, counted in calls.items():
        listed = ", ".join(f"{k} {v}" for k, v in sorted(counted.items()))
        print(f"  {system:6} {sum(counted.values()):4}  ({listed})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, nargs="+", default=[5.0, 15.0, 60.0])
    parser.add_argument("--modes", nargs="+", default=["polling", "webhook"])
    args = parser.parse_args()
    main(args.seconds, args.modes)
