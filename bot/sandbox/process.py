"""The rehearsed bot as a child process: `creators-onboard serve` (as `python -m bot
serve`), started, stopped, killed with SIGKILL and started again on the same database.
On Linux it ends (SIGTERM) when the process that started it ends, however that ends."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import IO

from bot.logging import get_logger

log = get_logger(__name__)

START_TIMEOUT_SECONDS = 60.0

# The child's first statement on Linux: ask the kernel to send it SIGTERM when the process
# that started it goes (PR_SET_PDEATHSIG, kept across exec), then become the program its
# arguments name after the parent's pid (the bot). Without
# it a rehearsal killed with SIGKILL (or by an IDE's stop button) left its bot running,
# polling stand-ins that had gone with the rehearsal, until someone found it.
DIE_WITH_PARENT = """
import ctypes, os, signal, sys
parent = int(sys.argv[1])
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
if os.getppid() != parent:  # it went before the request was made
    sys.exit(0)
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


def with_parent(*args: str) -> list[str]:
    """The command line that runs `python *args`: on Linux, so that it ends with the
    process that started it; elsewhere (no such request) as is."""
    if sys.platform.startswith("linux"):
        return [sys.executable, "-c", DIE_WITH_PARENT, str(os.getpid()), *args]
    return [sys.executable, *args]


class BotProcessError(RuntimeError):
    """The bot did not come up; the message holds the end of its log."""


class BotProcess:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / "bot.log"
        self.url: str | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc is not None else None

    async def start(self) -> str:
        """Start the bot and wait until it listens; returns its base URL."""
        if self.running and self.url:
            return self.url
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._log = self.log_path.open("ab")
        self._proc = await asyncio.create_subprocess_exec(
            *with_parent("-m", "bot", "serve"),
            cwd=self.workdir,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            port = self._listening_port(offset)
            if port is not None:
                self.url = f"http://127.0.0.1:{port}"
                log.info("sandbox_bot_started", pid=self._proc.pid, url=self.url)
                return self.url
            if self._proc.returncode is not None or time.monotonic() > deadline:
                await self.stop()
                raise BotProcessError(f"the bot did not start; its log ends:\n{self.tail()}")
            await asyncio.sleep(0.1)

    def _listening_port(self, offset: int) -> int | None:
        with self.log_path.open("rb") as fh:
            fh.seek(offset)
            for line in fh.read().decode("utf-8", "replace").splitlines():
                if '"listening"' in line:
                    return int(json.loads(line)["port"])
        return None

    def tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    async def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown, no draining."""
        await self._end(signal.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM, as a deployment would, and wait for the bot to finish."""
        await self._end(signal.SIGTERM)

    async def _end(self, sig: signal.Signals) -> None:
        proc, self._proc, self.url = self._proc, None, None
        if proc is not None and proc.returncode is None:
            proc.send_signal(sig)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()
            log.info("sandbox_bot_stopped", pid=proc.pid, signal=sig.name)
        if self._log is not None:
            self._log.close()
            self._log = None
