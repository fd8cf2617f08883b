"""The official specs the stand-ins validate what the bot sends against, vendored here as
package data (the sandbox checks the bot's calls against them, as the tests do).

Each file is a verbatim copy (MIT licensed; its licence sits beside it as `*.LICENSE`).
`SOURCES.json` names the repository, path, commit and SHA-256 of every file;
`tests/test_specs.py` checks the copies still match those hashes.
"""

from __future__ import annotations

from pathlib import Path

SPECS_DIR = Path(__file__).resolve().parent


def spec(name: str) -> Path:
    """The vendored spec file (or folder) `name`; fails loudly when it is missing."""
    path = SPECS_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"{name} is not among the vendored specs in {SPECS_DIR}")
    return path
