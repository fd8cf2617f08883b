"""Time to healthy of a second `./scripts/run`, against starting the bot directly.

    .venv/bin/python benchmarks/bench_start.py [--runs 5]

Each run starts a process against a local FakeSlack in a scratch directory and waits until
/healthz and /readyz answer 200, then stops it with SIGTERM. The variants alternate:

- `direct`: `.venv/bin/creators-onboard serve` (the baseline: the bot's own start-up)
- `script`: `./scripts/run` with the venv already current (what a second start costs)

It prints the median seconds of each and the ratio script/direct: the script's own cost
(one hash of the lock, no pip) should leave it near 1. The scratch database is made by a
first, uncounted start, so every counted start is a restart. Nothing is asserted; the
absolute figure is the machine's, the ratio is the script's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bot.sandbox.fakes.slack import FakeSlack
from tests.processes import spawn, wait_answering, wait_listening

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "xoxb-1-bench-token"
SECRET = "bench-signing-secret-0123456789"
VARIANTS = {
    "direct": [str(ROOT / ".venv" / "bin" / "creators-onboard"), "serve"],
    "script": [str(ROOT / "scripts" / "run")],
}


async def healthy_after(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds from spawning `command` until /healthz and /readyz both answer 200."""
    started = time.monotonic()
    proc = await spawn(command, env, cwd)
    try:
        port = await wait_listening(proc, [], within=120)
        await wait_answering(port, within=120)
        return time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout=20)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def main(runs: int) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DATABASE_URL", "LOG_", "PORT", "HOST"))
    }
    async with FakeSlack(token=TOKEN) as slack:
        env.update(
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.api_url,
            HOST="127.0.0.1",
            PORT="0",
            LOG_FORMAT="json",
        )
        with tempfile.TemporaryDirectory() as scratch:
            cwd = Path(scratch)
            first = await healthy_after(VARIANTS["script"], env, cwd)
            print(f"first start (installs if the lock changed, new database): {first:.2f}s")
            samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
            for _ in range(runs):
                for name, command in VARIANTS.items():
                    samples[name].append(await healthy_after(command, env, cwd))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, values in samples.items():
        print(
            f"{name:>7}: median {medians[name]:.2f}s  "
            f"(min {min(values):.2f}s, max {max(values):.2f}s, {len(values)} runs)"
        )
    print(f"  ratio script/direct: {medians['script'] / medians['direct']:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
