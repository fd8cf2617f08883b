"""Read the Slack app manifest (manifest.yml) once, for tests that check it."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
MANIFEST_PATH = REPO_ROOT / "manifest.yml"


@cache
def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the manifest must be a mapping")
    return data


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, Any]:
    """The parsed manifest (a fresh copy each call, so callers may mutate it)."""
    return copy.deepcopy(_load(path))


def declared_commands(manifest: dict[str, Any] | None = None) -> list[str]:
    """Slash commands the manifest declares, e.g. ["/creators-onboard"]."""
    manifest = manifest if manifest is not None else load_manifest()
    return [c["command"] for c in manifest.get("features", {}).get("slash_commands", [])]


def declared_bot_events(manifest: dict[str, Any] | None = None) -> list[str]:
    """Bot events the manifest subscribes to, e.g. ["app_home_opened", "message.im"]."""
    manifest = manifest if manifest is not None else load_manifest()
    events = manifest.get("settings", {}).get("event_subscriptions", {})
    return list(events.get("bot_events", []))


def declared_bot_scopes(manifest: dict[str, Any] | None = None) -> list[str]:
    manifest = manifest if manifest is not None else load_manifest()
    return list(manifest.get("oauth_config", {}).get("scopes", {}).get("bot", []))
