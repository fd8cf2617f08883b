"""A real browser on the sandbox: Debian's Chromium driven by Playwright (never Playwright's
own browser download), and the clicks a person makes in the page.

Screenshots go to `test-output/sandbox/` (or $TEST_OUTPUT_DIR/sandbox/)."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.async_api import Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("TEST_OUTPUT_DIR", REPO / "test-output")) / "sandbox"
STEP_TIMEOUT_MS = 90_000


def need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing in CI (.ci/run installs Debian's chromium)")
    pytest.skip(f"no {CHROMIUM}: apt-get install -y chromium")


class Browser:
    """One page on the sandbox, with every URL the page asked for."""

    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.name = name
        self.requested: list[str] = []
        self.pressed: set[tuple[str, str, str]] = set()
        self.shots = 0
        page.on("request", lambda request: self.requested.append(request.url))

    async def shot(self, label: str) -> Path:
        self.shots += 1
        OUTPUT.mkdir(parents=True, exist_ok=True)
        path = OUTPUT / f"{self.name}-{self.shots:02d}-{label}.png"
        await self.page.screenshot(path=str(path))
        return path

    async def play(self, who: str) -> None:
        """Choose who you are playing in the rehearsal strip ("both" or a user id)."""
        await self.page.select_option("#playing", who)

    async def control(self, label: str) -> None:
        await self.page.locator("#strip button", has_text=label).click()

    async def press(self, pane: str, action_id: str, *, label: str | None = None) -> None:
        """Press the newest `action_id` button in `pane` on a message not pressed before
        (used cards lose their buttons, but a slow edit must not be pressed twice)."""
        pressed = [list(p[1:]) for p in self.pressed if p[0] == pane]
        handle = await self.page.wait_for_function(
            """([pane, action, label, pressed]) => {
                const buttons = [...document.querySelectorAll(
                    `[data-pane="${pane}"] .message button[data-action-id="${action}"]`)];
                const fresh = buttons.filter((b) => {
                    const ts = b.closest(".message").dataset.ts;
                    const text = b.textContent.trim();
                    return (label === null || text === label) &&
                        !pressed.some(([t, a]) => t === ts && a === action);
                });
                const b = fresh[fresh.length - 1];
                return b ? b.closest(".message").dataset.ts : null;
            }""",
            arg=[pane, action_id, label, pressed],
            timeout=STEP_TIMEOUT_MS,
        )
        ts = await handle.json_value()
        self.pressed.add((pane, ts, action_id))
        button = self.page.locator(
            f'[data-pane="{pane}"] .message[data-ts="{ts}"] button[data-action-id="{action_id}"]'
        )
        await button.first.click()

    async def see(self, pane: str, text: str, timeout: int = STEP_TIMEOUT_MS) -> None:
        await self.page.locator(f'[data-pane="{pane}"] .pane-body', has_text=text).wait_for(
            timeout=timeout
        )

    def off_loopback(self) -> list[str]:
        """Every URL the page asked for that is not on this machine."""
        return [
            url
            for url in self.requested
            if not url.startswith(("data:", "about:"))
            and urlparse(url).hostname not in ("127.0.0.1", "localhost")
        ]


@asynccontextmanager
async def browser(url: str, name: str, user_data: Path) -> AsyncIterator[Browser]:
    need_chromium()
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(user_data),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1600, "height": 1000},
        )
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            b = Browser(page, re.sub(r"\W+", "-", name))
            await page.goto(url)
            await page.wait_for_selector("body[data-ready='1']")
            yield b
        finally:
            await context.close()
