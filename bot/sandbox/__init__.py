"""The rehearsal sandbox: the real bot against local stand-ins, shown as Slack in a browser.

`creators-onboard sandbox` starts the stand-ins (Slack Web API, GitHub Actions, Linear,
the fake `op`, Amplify, the four BFFs) on loopback, runs `creators-onboard serve` as a
child process pointed at them, and serves a page on which both people click through the
rollout while the supervisor plays Slack: it signs every command, button press and modal
submission and posts it to the bot's `/slack/events`.
"""

from __future__ import annotations

import sys
from pathlib import Path


def use_repository_fakes() -> None:
    """Make `tests.fakes` importable from an editable install run outside the checkout.

    Phase A only: the stand-ins still live in tests/fakes/ (the installed package holds
    `bot` and `handlers`, not `tests`). They move into bot/sandbox/ in phase B, and this
    goes with them.
    """
    root = Path(__file__).resolve().parents[2]
    if (root / "tests" / "fakes").is_dir() and str(root) not in sys.path:
        sys.path.insert(0, str(root))
