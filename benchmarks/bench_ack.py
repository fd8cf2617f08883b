"""Ack latency over HTTP: every slash command and button press, as Slack sends them.

    .venv/bin/python benchmarks/bench_ack.py [--requests 300] [--rounds 3]

The bot runs in this process exactly as `serve` runs it (DBOS on a SQLite file, the read
model, the real aiohttp server) against the local fakes, with a rollout under way. The
baseline is a bare Bolt app tuned with process_before_response=True whose listeners only
ack, served over HTTP the same way on the same loop. A separate process sends the signed
requests (a fresh signature each) with 1, 50 and 200 in flight and times each one from
send to answer; the two apps are measured in alternating order, `--rounds` times, and the
samples pooled. Printed: p50 and p99 per app and their ratio, and how many acks took over
3 s (Slack's limit), ours and the bare app's. Ratios, not verdicts: nothing is asserted.

Commands are sent by someone who may not do them (so each is refused and audited, and
none changes the rollout), except `help` and `status`; presses likewise, by a stranger.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.blocks.ids import (
    ABORT,
    DEPLOY,
    PING_DEVOPS,
    RERUN_VERIFY,
    RETRY,
    STUCK,
    partition_value,
    runbook_action_id,
    step_value,
)
from bot.integrations.slack import make_web_client
from bot.logging import configure_logging
from bot.sandbox.fakes.signing import block_action_body, signed_headers, slash_command_body
from tests.scenario import BOT_TOKEN, DEVOPS, OWNER, SIGNING_SECRET, STRANGER, World

LEVELS = (1, 50, 200)
ROLLOUT = "rollout-1"

COMMANDS = [
    ("help", DEVOPS),
    ("status", DEVOPS),
    ("start", STRANGER),
    ("verify", OWNER),
    ("deploy dev", OWNER),
    ("smoke dev", OWNER),
    ("retry", OWNER),
    ("abort the benchmark", OWNER),
    ("rotate", STRANGER),
]
PRESSES = [
    (runbook_action_id("eligible"), step_value(ROLLOUT, "prereq", "eligible")),
    (STUCK, step_value(ROLLOUT, "prereq", "stuck")),
    (PING_DEVOPS, step_value(ROLLOUT, "prereq", "ping_devops")),
    (RERUN_VERIFY, step_value(ROLLOUT, "verify", "rerun_verify")),
    (DEPLOY, partition_value(ROLLOUT, "dev", "deploy")),
    (RETRY, partition_value(ROLLOUT, "dev", "retry")),
    (ABORT, partition_value(ROLLOUT, "dev", "abort")),
]


def bare_app(api_url: str) -> AsyncApp:
    app = AsyncApp(
        client=make_web_client(BOT_TOKEN, api_url),
        signing_secret=SIGNING_SECRET,
        process_before_response=True,
    )

    @app.command("/creators-onboard")
    async def command(ack: AsyncAck) -> None:
        await ack()

    @app.action(re.compile(".*"))
    async def press(ack: AsyncAck) -> None:
        await ack()

    return app


async def serve_bare(app: AsyncApp) -> tuple[web.AppRunner, str]:
    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/slack/events"


# ------------------------------------------------------------------ the load process


async def _load(url: str, body: str, in_flight: int, n: int) -> list[float]:
    samples: list[float] = []
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        left = n

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                headers = signed_headers(body, SIGNING_SECRET)
                started = time.perf_counter()
                async with session.post(url, data=body.encode(), headers=headers) as resp:
                    await resp.read()
                    assert resp.status == 200, resp.status
                samples.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(in_flight)))
    return samples


def load_process(conn: Any) -> None:
    while (job := conn.recv()) is not None:
        conn.send(asyncio.run(_load(*job)))


# ------------------------------------------------------------------------- main


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(requests: int, rounds: int, levels: tuple[int, ...]) -> None:
    configure_logging(level="ERROR")
    logging.disable(logging.WARNING)
    parent, child = mp.Pipe()
    loader = mp.get_context("spawn").Process(target=load_process, args=(child,), daemon=True)
    loader.start()
    loop = asyncio.get_running_loop()

    async def load(url: str, body: str, in_flight: int, n: int) -> list[float]:
        parent.send((url, body, in_flight, n))
        result: list[float] = await loop.run_in_executor(None, parent.recv)
        return result

    with tempfile.TemporaryDirectory() as tmp:
        async with World(Path(tmp)) as world, world.bot():
            answer = await world.command("start", DEVOPS)
            assert "started" in answer["text"], answer
            await world.wait_step("prereq")
            ours = f"{world.base_url}/slack/events"
            runner, bare = await serve_bare(bare_app(world.slack.api_url))
            response_url = world.slack.response_url("bench")
            kinds = [
                (
                    f"/creators-onboard {text}",
                    slash_command_body(text, user, response_url=response_url),
                )
                for text, user in COMMANDS
            ] + [
                (
                    f"press {action_id}",
                    block_action_body(
                        STRANGER,
                        action_id,
                        value,
                        channel_id=world.dm(OWNER),
                        message_ts="1.000100",
                        response_url=response_url,
                    ),
                )
                for action_id, value in PRESSES
            ]
            for _, body in kinds:  # warm up both apps and every path
                await load(bare, body, 4, 20)
                await load(ours, body, 4, 20)
            print(
                f"{'request':38} {'in flight':>9} {'bare p50':>9} {'bare p99':>9} "
                f"{'ours p50':>9} {'ours p99':>9} {'p50 ×':>6} {'p99 ×':>6} {'>3s':>4} {'bare':>4}",
                flush=True,
            )
            for in_flight in levels:
                n = max(requests, in_flight * 4)
                for name, body in kinds:
                    got: dict[str, list[float]] = {"bare": [], "ours": []}
                    for r in range(rounds):
                        order = [("bare", bare), ("ours", ours)]
                        for which, url in order if r % 2 == 0 else order[::-1]:
                            got[which] += await load(url, body, in_flight, n)
                    b, o = got["bare"], got["ours"]
                    slow = sum(1 for s in o if s > 3.0)
                    bare_slow = sum(1 for s in b if s > 3.0)
                    print(
                        f"{name[:38]:38} {in_flight:9} {statistics.median(b) * 1e3:9.2f} "
                        f"{pct(b, 0.99) * 1e3:9.2f} {statistics.median(o) * 1e3:9.2f} "
                        f"{pct(o, 0.99) * 1e3:9.2f} {statistics.median(o) / statistics.median(b):6.2f} "
                        f"{pct(o, 0.99) / pct(b, 0.99):6.2f} {slow:4} {bare_slow:4}",
                        flush=True,
                    )
            await runner.cleanup()
    parent.send(None)
    loader.join(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300, help="per request, app and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-flight", type=int, nargs="+", default=list(LEVELS))
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds, tuple(args.in_flight)))
