"""The vendored specs are the files SOURCES.json says they are, each with its licence."""

from __future__ import annotations

import hashlib
import json

from bot.sandbox.specs import SPECS_DIR, spec


def test_every_vendored_spec_matches_its_source_entry() -> None:
    sources = json.loads((SPECS_DIR / "SOURCES.json").read_text(encoding="utf-8"))
    listed = {entry["file"] for entry in sources}
    for entry in sources:
        data = spec(entry["file"]).read_bytes()
        assert len(data) == entry["bytes"], entry["file"]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
        assert entry["repo"] and entry["path"] and entry["commit"], entry["file"]
        assert entry["license"] == "MIT"
        assert spec(entry["license_file"]).read_text(encoding="utf-8").startswith("MIT License")
    on_disk = {
        str(p.relative_to(SPECS_DIR))
        for p in SPECS_DIR.rglob("*")
        if p.is_file() and p.suffix not in (".LICENSE", ".py", ".pyc") and p.name != "SOURCES.json"
    }
    assert on_disk == listed, "every vendored file is listed in SOURCES.json, and only those"
