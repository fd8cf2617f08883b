"""Where the official specs are: `../shared/specs` beside the checkout (as CI lays it out).

`SPECS_DIR` overrides; `/work/shared/specs` is the development machines' location.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
_CANDIDATES = (REPO_ROOT.parent / "shared" / "specs", Path("/work/shared/specs"))


def specs_dir() -> Path:
    override = os.environ.get("SPECS_DIR")
    if override:
        return Path(override)
    for candidate in _CANDIDATES:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"the shared specs are in none of {[str(c) for c in _CANDIDATES]}; set SPECS_DIR"
    )


def spec(name: str) -> Path:
    return specs_dir() / name
