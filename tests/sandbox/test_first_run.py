"""Acceptance: on a checkout, `./scripts/run` with no environment serves the sandbox, and a
headless Chromium opening it sees the accountOwner's first step and can press it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

from tests.sandbox.browser import REPO, browser, need_chromium

URL_LINE = re.compile(rb"Rehearsal sandbox: (http://127\.0\.0\.1:\d+)")


async def test_scripts_run_without_a_token_serves_the_sandbox(tmp_path: Path) -> None:
    need_chromium()
    # Nothing but what a shell has: no Slack token, no endpoints. PORT=0: a free port.
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env["PORT"] = "0"
    errors = tmp_path / "stderr"
    with errors.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            str(REPO / "scripts" / "run"),
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
        )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 300)
        found = URL_LINE.search(line)
        assert found, (line, errors.read_text())
        told = errors.read_text()
        assert "SLACK_BOT_TOKEN is not set" in told
        assert "To serve Slack instead" in told
        async with browser(found[1].decode() + "/", "first-run", tmp_path / "chromium") as b:
            await b.see("accountOwner", "Check that Arda can get Creators API access")
            await b.press("accountOwner", "co:eligible")
            await b.see("accountOwner", "Sign in to Amazon Associates")
            await b.shot("first-step-pressed")
            assert b.off_loopback() == []
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 60)
    assert proc.returncode == 0
    # The sandbox removed its work directory and left no database behind in the checkout.
    assert not (tmp_path / "creators-onboard.sqlite").exists()
