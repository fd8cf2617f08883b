"""Ack latency of our app against a bare Bolt app, measured in one process.

    .venv/bin/python benchmarks/bench_ack.py [--requests 2000]

Prints p50/p95 per variant and the ratio to the baseline (a bare AsyncApp with a no-op
command and process_before_response=True). Ratios, not absolute times: these machines are
shared and noisy. Nothing here is asserted; run it before and after a change and compare.
Requests are signed and dispatched into each app exactly as the HTTP adapter does.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.app import create_app
from bot.blocks.ids import STUCK
from bot.deps import build_deps
from bot.integrations.slack import make_web_client
from bot.settings import load_settings
from tests.fakes.signing import block_action_body, signed_headers, slash_command_body
from tests.fakes.slack import FakeSlack

SECRET = "bench-signing-secret-0123456789"
TOKEN = "xoxb-1-bench-token"

Dispatch = Callable[[AsyncBoltRequest], Awaitable[object]]


def bare_app(api_url: str, process_before_response: bool) -> AsyncApp:
    app = AsyncApp(
        client=make_web_client(TOKEN, api_url),
        signing_secret=SECRET,
        process_before_response=process_before_response,
    )

    @app.command("/creators-onboard")
    async def noop(ack: AsyncAck) -> None:
        await ack()

    return app


async def measure(app: AsyncApp, body: str, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        request = AsyncBoltRequest(body=body, headers=signed_headers(body, SECRET))
        started = time.perf_counter()
        response = await app.async_dispatch(request)
        samples.append(time.perf_counter() - started)
        assert response.status == 200, (response.status, response.body)
    return samples


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95)]


async def main(n: int) -> None:
    logging.disable(logging.WARNING)
    async with FakeSlack(token=TOKEN) as fake:
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.api_url,
                "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite",
                "CREATORS_ONBOARD_CONFIG": str(Path(tmp) / "none.yml"),
            }
            Path(env["CREATORS_ONBOARD_CONFIG"]).write_text("slack: {devops: [U0BENCH]}\n")
            settings = load_settings(env)
            async with aiohttp.ClientSession() as session:
                deps = build_deps(settings, session)
                ours = create_app(settings, deps)
                help_body = slash_command_body("help", "U0BENCH")
                # A press whose value does not decode: acked at once, refused in the lazy
                # listener — measures the ack path of every button without DBOS.
                press_body = block_action_body(
                    "U0BENCH",
                    STUCK,
                    "not-json",
                    channel_id="D1",
                    message_ts="1.000100",
                    response_url=fake.response_url("bench"),
                )
                variants: list[tuple[str, AsyncApp, str]] = [
                    (
                        "bare no-op, process_before_response=True (baseline)",
                        bare_app(fake.api_url, True),
                        help_body,
                    ),
                    (
                        "bare no-op, process_before_response=False",
                        bare_app(fake.api_url, False),
                        help_body,
                    ),
                    ("ours: /creators-onboard help", ours, help_body),
                    ("ours: button press (ack, lazy work)", ours, press_body),
                ]
                for _, app, body in variants:  # warm up (auth.test, imports, caches)
                    await measure(app, body, 20)
                results = []
                for name, app, body in variants:
                    results.append((name, summary(await measure(app, body, n))))
                base = results[0][1][0]
                print(f"{'variant':58} {'p50 ms':>8} {'p95 ms':>8} {'p50 ratio':>10}")
                for name, (p50, p95) in results:
                    print(f"{name:58} {p50 * 1e3:8.3f} {p95 * 1e3:8.3f} {p50 / base:10.2f}")
                deps.store.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    asyncio.run(main(parser.parse_args().requests))
