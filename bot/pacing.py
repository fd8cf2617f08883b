"""Keep calls to one destination at least `min_interval` seconds apart (in this process)."""

from __future__ import annotations

import asyncio
import time


class Pacer:
    def __init__(self, min_interval: float) -> None:
        self.min_interval = min_interval
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    async def wait(self, key: str = "") -> None:
        """Return when a call to `key` may go; the call should follow at once."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            delay = self._last.get(key, float("-inf")) + self.min_interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._last[key] = time.monotonic()
