"""Ack latency over HTTP: every slash command and button press, as Slack sends them.

    .venv/bin/python benchmarks/bench_ack.py [--requests 300] [--rounds 3]
        [--in-flight 1 50 200] [--only NAME ...]

(`--only press help` measures just the requests whose name contains one of the words:
to look at one path, or to profile the bot's process under one load.)

The bot runs as `creators-onboard serve` does, in a process of its own (DBOS on a SQLite
file, the read model, the real aiohttp server, logging at INFO), pointed at the sandbox's
stand-ins (`bot.sandbox.standins`), which run in this process as Slack, GitHub and Linear
run in theirs: what the bot does after an ack (claims, audit rows, answers to
response_url) costs it what it costs it in production, and the stand-ins' own work
(checking every call against Slack's spec) is not counted as the bot's. The baseline is a
bare Bolt app tuned with process_before_response=True whose listeners only ack, served
over HTTP by aiohttp in a process of its own. A third process sends the signed requests,
each with a trigger_id of its own and a fresh signature, with 1, 50 and 200 in flight,
and times each one from send to answer; the two apps are measured in alternating order,
`--rounds` times, and the samples pooled. Printed: p50 and p99 per app and their ratio,
how many acks took over 3 s (Slack's limit), ours and the bare app's, and the CPU each app's
process spent per request (from /proc, Linux only; "-" elsewhere): counted from the first request until the
process is idle again, so our after-ack work is in it, less what the process spends idle
over that time. Each load starts once the process it measured last is idle again, so
neither app's leftover work lands in the other's samples. With a request always waiting
(they are sent back to back) a process is busy all the time, and its ack latency follows
the CPU a request costs it in all: the CPU ratio says how much of a latency ratio that is.
Last, for ours, how long each request took from its send to its answer at response_url
(p50 and p99: the work after the ack waits while requests arrive, `bot.afterack.AcksFirst`,
so this is what that order costs the person). Ratios, not verdicts: nothing is asserted.

Commands are sent by someone who may not do them (so each is refused and audited, and
none changes the rollout), except `help` and `status`; presses likewise, by a stranger.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import multiprocessing as mp
import os
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
from bot.sandbox.process import BotProcess
from bot.sandbox.scene import DEVOPS, OWNER, Secrets
from bot.sandbox.standins import StandIns

LEVELS = (1, 50, 200)
ROLLOUT = "rollout-1"
STRANGER = "U0BENCHSTRANGER"  # in no list of the bot's YAML
# Every request Slack sends has a trigger_id of its own: the loader puts a fresh one in
# place of this before it signs (a repeated trigger_id is a replay, handled once).
TRIGGER = "bench.trigger.placeholder"

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
    ("watch probe", STRANGER),
    ("audit", STRANGER),
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


# ------------------------------------------------------------------ the bare app


def bare_app(api_url: str, token: str, secret: str) -> AsyncApp:
    app = AsyncApp(
        client=make_web_client(token, api_url),
        signing_secret=secret,
        process_before_response=True,
    )

    @app.command("/creators-onboard")
    async def command(ack: AsyncAck) -> None:
        await ack()

    @app.action(re.compile(".*"))
    async def press(ack: AsyncAck) -> None:
        await ack()

    return app


async def _serve_bare(conn: Any, api_url: str, token: str, secret: str) -> None:
    app = bare_app(api_url, token, secret)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    conn.send(f"http://127.0.0.1:{port}/slack/events")
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop
    await runner.cleanup()


def bare_process(conn: Any, api_url: str, token: str, secret: str) -> None:
    logging.disable(logging.WARNING)
    asyncio.run(_serve_bare(conn, api_url, token, secret))


# ------------------------------------------------------------------ the load process


async def _load(
    url: str, body: str, secret: str, in_flight: int, n: int
) -> tuple[list[float], dict[str, float]]:
    """Each request's time from send to ack, and when (time.monotonic, one clock for every
    process on Linux) each trigger_id was sent."""
    samples: list[float] = []
    stamps: dict[str, float] = {}
    sent = itertools.count()
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        left = n

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                trigger = f"{os.getpid()}.{next(sent)}.{time.time_ns()}"
                fresh = body.replace(TRIGGER, trigger)
                headers = signed_headers(fresh, secret)
                stamps[trigger] = time.monotonic()
                started = time.perf_counter()
                async with session.post(url, data=fresh.encode(), headers=headers) as resp:
                    await resp.read()
                    assert resp.status == 200, resp.status
                samples.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(in_flight)))
    return samples, stamps


def load_process(conn: Any) -> None:
    while (job := conn.recv()) is not None:
        conn.send(asyncio.run(_load(*job)))


# ------------------------------------------------------------------------- main


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user and system) `pid` has used so far; None where /proc is not there."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# A process is idle again when, over a 0.1 s window, it uses no more CPU than this over its
# idle rate (/proc counts in clock ticks, 10 ms on Linux).
TICK = 0.011


async def idle_rate(pid: int | None, seconds: float = 2.0) -> float:
    """CPU seconds per second `pid` spends with nothing sent to it (its timers, DBOS's
    pollers)."""
    before = cpu_seconds(pid)
    await asyncio.sleep(seconds)
    after = cpu_seconds(pid)
    return 0.0 if before is None or after is None else (after - before) / seconds


async def settled(pid: int | None, rate: float, within: float = 10.0) -> None:
    """Back once `pid` is idle again (its work after the last ack done), or after `within`
    seconds."""
    deadline = time.monotonic() + within
    last = cpu_seconds(pid)
    while last is not None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = cpu_seconds(pid)
        if now is None or now - last <= rate * 0.1 + TICK:
            return
        last = now


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cpu_columns(bare: float | None, ours: float | None, n_bare: int, n_ours: int) -> str:
    """CPU ms per request, bare and ours, and their ratio ("-" without /proc, or when the
    bare app's load was too short to register one clock tick)."""
    if bare is None or ours is None or not bare:
        return f"{'-':>12} {'-':>6} {'-':>5}"
    per_bare, per_ours = bare / n_bare * 1e3, ours / n_ours * 1e3
    return f"{per_bare:12.2f} {per_ours:6.2f} {per_ours / per_bare:5.2f}"


def _answer_columns(delays: list[float]) -> str:
    """How long after it was sent a request's answer reached response_url, p50 and p99 in
    ms ("-" for a request answered in its ack alone: every command here, refused or not;
    a press is answered after its ack)."""
    if not delays:
        return f"{'-':>10} {'-':>7}"
    return f"{statistics.median(delays) * 1e3:10.1f} {pct(delays, 0.99) * 1e3:7.1f}"


async def _started(standins: StandIns, ours: str, secret: str) -> None:
    """devOps starts the rollout, as the rehearsal does; back once the owner has the
    first step's buttons in their DM."""
    body = slash_command_body("start", DEVOPS, response_url=standins.slack.response_url("s"))
    async with (
        aiohttp.ClientSession() as http,
        http.post(ours, data=body.encode(), headers=signed_headers(body, secret)) as resp,
    ):
        answer = await resp.json()
    assert "started" in answer["text"], answer
    wanted = runbook_action_id("eligible")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        dm = standins.slack.messages(standins.slack.dm_channel(OWNER))
        if any(wanted in json.dumps(m.blocks or []) for m in dm):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the owner's first step never arrived")


async def main(
    requests: int, rounds: int, levels: tuple[int, ...], only: tuple[str, ...] = ()
) -> None:
    configure_logging(level="ERROR")
    logging.disable(logging.WARNING)
    spawn = mp.get_context("spawn")
    parent, child = spawn.Pipe()
    loader = spawn.Process(target=load_process, args=(child,), daemon=True)
    loader.start()
    loop = asyncio.get_running_loop()
    secrets = Secrets()
    secret = secrets.signing_secret

    async def load(url: str, body: str, in_flight: int, n: int) -> list[float]:
        parent.send((url, body, secret, in_flight, n))
        samples, stamps = await loop.run_in_executor(None, parent.recv)
        sent.update(stamps)
        return list(samples)

    # When each request was sent, and when its answer reached response_url (ours only: the
    # bare app answers nothing after its ack), by trigger_id.
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}

    def on_answer(method: str, result: dict[str, Any]) -> None:
        rid = str(result.get("id", ""))
        if method == "response_url" and rid.startswith("bench-"):
            answered.setdefault(rid.removeprefix("bench-"), time.monotonic())

    with tempfile.TemporaryDirectory() as tmp:
        standins = await StandIns(Path(tmp), secrets).start()
        bot = BotProcess(standins.bot_env(), Path(tmp))
        bare_conn, bare_child = spawn.Pipe()
        bare_proc = spawn.Process(
            target=bare_process,
            args=(bare_child, standins.slack.api_url, secrets.bot_token, secret),
            daemon=True,
        )
        bare_proc.start()
        try:
            ours = f"{await bot.start()}/slack/events"
            bare = await loop.run_in_executor(None, bare_conn.recv)
            await _started(standins, ours, secret)
            # Each request answers to a response_url of its own (its trigger_id in it).
            response_url = standins.slack.response_url(f"bench-{TRIGGER}")
            standins.slack.subscribe(on_answer)
            kinds = [
                (
                    f"/creators-onboard {text}",
                    slash_command_body(text, user, response_url=response_url, trigger_id=TRIGGER),
                )
                for text, user in COMMANDS
            ] + [
                (
                    f"press {action_id}",
                    block_action_body(
                        STRANGER,
                        action_id,
                        value,
                        channel_id=standins.slack.dm_channel(OWNER),
                        message_ts="1.000100",
                        response_url=response_url,
                        trigger_id=TRIGGER,
                    ),
                )
                for action_id, value in PRESSES
            ]
            kinds = [
                (name, body) for name, body in kinds if not only or any(o in name for o in only)
            ]
            for _, body in kinds:  # warm up both apps and every path
                await load(bare, body, 4, 20)
                await load(ours, body, 4, 20)
            pids = {"bare": bare_proc.pid, "ours": bot.pid}
            idle = {which: await idle_rate(pid) for which, pid in pids.items()}
            print(
                f"{'request':38} {'in flight':>9} {'bare p50':>9} {'bare p99':>9} "
                f"{'ours p50':>9} {'ours p99':>9} {'p50 ×':>6} {'p99 ×':>6} {'>3s':>4} "
                f"{'bare':>4} {'cpu/req bare':>12} {'ours':>6} {'×':>5} "
                f"{'answer p50':>10} {'p99':>7}",
                flush=True,
            )
            for in_flight in levels:
                n = max(requests, in_flight * 4)
                for name, body in kinds:
                    got: dict[str, list[float]] = {"bare": [], "ours": []}
                    delays: list[float] = []
                    used: dict[str, float | None] = {"bare": 0.0, "ours": 0.0}
                    for r in range(rounds):
                        order = [("bare", bare), ("ours", ours)]
                        for which, url in order if r % 2 == 0 else order[::-1]:
                            pid = pids[which]
                            began, before = time.monotonic(), cpu_seconds(pid)
                            sent.clear()
                            answered.clear()
                            got[which] += await load(url, body, in_flight, n)
                            await settled(pid, idle[which])
                            if which == "ours":
                                delays += [answered[t] - sent[t] for t in sent if t in answered]
                            after, spent = cpu_seconds(pid), used[which]
                            if before is None or after is None or spent is None:
                                used[which] = None
                            else:
                                idled = idle[which] * (time.monotonic() - began)
                                used[which] = spent + max(0.0, after - before - idled)
                    b, o = got["bare"], got["ours"]
                    slow = sum(1 for s in o if s > 3.0)
                    bare_slow = sum(1 for s in b if s > 3.0)
                    print(
                        f"{name[:38]:38} {in_flight:9} {statistics.median(b) * 1e3:9.2f} "
                        f"{pct(b, 0.99) * 1e3:9.2f} {statistics.median(o) * 1e3:9.2f} "
                        f"{pct(o, 0.99) * 1e3:9.2f} {statistics.median(o) / statistics.median(b):6.2f} "
                        f"{pct(o, 0.99) / pct(b, 0.99):6.2f} {slow:4} {bare_slow:4} "
                        f"{_cpu_columns(used['bare'], used['ours'], len(b), len(o))} "
                        f"{_answer_columns(delays)}",
                        flush=True,
                    )
        finally:
            bare_conn.send(None)
            bare_proc.join(timeout=10)
            await bot.stop()
            await standins.close()
    parent.send(None)
    loader.join(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300, help="per request, app and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-flight", type=int, nargs="+", default=list(LEVELS))
    parser.add_argument(
        "--only", nargs="+", default=[], help="just the requests whose name contains one of these"
    )
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds, tuple(args.in_flight), tuple(args.only)))
