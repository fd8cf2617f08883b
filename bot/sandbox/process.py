"""The rehearsed bot as a child process: `creators-onboard serve` (as `python -m bot
serve`), started, stopped, killed with SIGKILL and started again on the same database.
It ends (SIGTERM) when the process that started it ends, however that ends (`Tether`)."""

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

# Elsewhere (macOS has no such request) the child is handed the read end of a pipe whose
# only write end the starting process holds. It forks a watchdog, then becomes the program.
# The watchdog reads the pipe: the end of it (the starting process gone, however it went,
# and its write end closed by the kernel) sends the program SIGTERM; the program ending
# first (its watchdog then has another parent) lets the watchdog go.
WATCH_PARENT = """
import os, select, signal, sys
fd, program = int(sys.argv[1]), os.getpid()
if os.fork() == 0:
    while os.getppid() == program:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready and not os.read(fd, 1):
            os.kill(program, signal.SIGTERM)
            break
    os._exit(0)
os.close(fd)
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


# Tie children with the pipe and watchdog: where the kernel cannot (tests set it on Linux).
WATCHDOG = not sys.platform.startswith("linux")


class Tether:
    """What ends a child with the process that starts it: the kernel's PR_SET_PDEATHSIG
    on Linux, a pipe and a watchdog elsewhere (`WATCHDOG`; `pipe` chooses, for tests).

    `argv(*args)` is the command line that runs `python *args`; start it with `pass_fds`
    and call `started()` once it is; `release()` when it has ended."""

    def __init__(self, *, pipe: bool | None = None) -> None:
        self.pipe = WATCHDOG if pipe is None else pipe
        self._read: int | None = None
        self._write: int | None = None
        if self.pipe:
            self._read, self._write = os.pipe()  # neither inherited unless passed

    def argv(self, *args: str) -> list[str]:
        if self._read is not None:
            return [sys.executable, "-c", WATCH_PARENT, str(self._read), *args]
        return [sys.executable, "-c", DIE_WITH_PARENT, str(os.getpid()), *args]

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return (self._read,) if self._read is not None else ()

    def started(self) -> None:
        """The child holds its copy of the read end: this process's goes."""
        if self._read is not None:
            os.close(self._read)
            self._read = None

    def release(self) -> None:
        """Close the write end (a watchdog still watching then stops its program)."""
        self.started()
        if self._write is not None:
            os.close(self._write)
            self._write = None


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
        self._tether: Tether | None = None

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
        self._tether = tether = Tether()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *tether.argv("-m", "bot", "serve"),
                cwd=self.workdir,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=self._log,
                stderr=asyncio.subprocess.STDOUT,
                pass_fds=tether.pass_fds,
            )
        except BaseException:
            tether.release()
            self._tether = None
            raise
        tether.started()
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
        if self._tether is not None:
            self._tether.release()
            self._tether = None
        if self._log is not None:
            self._log.close()
            self._log = None
