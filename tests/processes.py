"""The bot as a separate process: read its JSON log, wait until it listens and answers.

Used by the CLI tests and by benchmarks/bench_start.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp


async def spawn(command: list[str], env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    """Start `command` with nothing on stdin and both outputs piped."""
    return await asyncio.create_subprocess_exec(
        *command,
        cwd=str(cwd),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def log_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log records in `text` (other lines are skipped)."""
    found = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            found.append(record)
    return found


async def wait_listening(
    proc: asyncio.subprocess.Process, seen: list[str], within: float = 30
) -> int:
    """Read stderr (kept in `seen`) until the JSON "listening" line; return its port."""
    assert proc.stderr is not None
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            raw = await asyncio.wait_for(proc.stderr.readline(), deadline - time.monotonic())
        except TimeoutError:
            break
        if not raw:
            break
        line = raw.decode("utf-8", "replace")
        seen.append(line)
        for record in log_lines(line):
            if record.get("event") == "listening":
                return int(record["port"])
    raise AssertionError("no 'listening' log line; stderr was:\n" + "".join(seen))


async def wait_answering(
    port: int, paths: tuple[str, ...] = ("/healthz", "/readyz"), within: float = 30
) -> None:
    """Ask each path on 127.0.0.1:`port` until it answers 200; fail after `within` seconds."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        for path in paths:
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{port}{path}") as resp:
                        if resp.status == 200:
                            break
                        status = f"HTTP {resp.status}"
                except aiohttp.ClientConnectionError as exc:
                    status = str(exc)
                if time.monotonic() > deadline:
                    raise AssertionError(f"{path} did not answer 200 within {within}s: {status}")
                await asyncio.sleep(0.01)
