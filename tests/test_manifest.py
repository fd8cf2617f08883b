"""manifest.yml is a valid Slack app manifest and declares exactly what the bot handles."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from bot.integrations.slack import BOT_SCOPES
from bot.sandbox.specs import spec
from tests.manifest import (
    REPO_ROOT,
    declared_bot_events,
    declared_bot_scopes,
    declared_commands,
    load_manifest,
)

SCHEMA_DIR = spec("slack-manifest-schema")
# manifest.schema.json dispatches on _metadata.major_version to these two files,
# which it references by their published URLs (they carry no $id of their own).
_PUBLISHED = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"
SUBSCHEMAS = ("manifest.schema.1.0.0.json", "manifest.schema.2.0.0.json")

SUBCOMMANDS = (
    "help",
    "start [@owner] [@devops]",
    "status",
    "verify",
    "deploy <partition>",
    "smoke <partition>",
    "retry [redeploy]",
    "abort <reason>",
    "audit [rollout]",
    "rotate",
)


def _load_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    if not SCHEMA_DIR.is_dir():
        pytest.fail(f"manifest schema not found at {SCHEMA_DIR}")
    root = _load_json("manifest.schema.json")
    refs = set(re.findall(r'"\$ref":\s*"(https?://[^"#]+)', json.dumps(root)))
    assert refs == {_PUBLISHED + name for name in SUBSCHEMAS}, refs
    registry: Registry[Any] = Registry().with_resources(
        [
            (
                _PUBLISHED + name,
                Resource.from_contents(_load_json(name), default_specification=DRAFT7),
            )
            for name in SUBSCHEMAS
        ]
    )
    Draft7Validator.check_schema(root)
    # No `retrieve`: an unresolvable $ref fails instead of reaching the network.
    return Draft7Validator(root, registry=registry)


def _errors(validator: Draft7Validator, manifest: dict[str, Any]) -> list[str]:
    found = []
    for err in validator.iter_errors(manifest):
        found.append(f"{err.json_path}: {err.message}")
        found.extend(f"  {sub.json_path}: {sub.message}" for sub in err.context or [])
    return found


def test_manifest_validates_against_the_slack_schema(validator: Draft7Validator) -> None:
    assert _errors(validator, load_manifest()) == []


def test_schema_refs_really_resolve(validator: Draft7Validator) -> None:
    # Slack's own example passes; a broken manifest fails deep inside the v1 schema,
    # which proves the cross-file $refs are followed rather than skipped.
    assert _errors(validator, _load_json("v1_manifest.valid.json")) == []
    broken = load_manifest()
    broken["features"]["slash_commands"][0]["command"] = "creators-onboard"  # no leading /
    broken["settings"]["interactivity"].pop("is_enabled")
    problems = "\n".join(_errors(validator, broken))
    assert "does not match '^\\\\/'" in problems
    assert "'is_enabled' is a required property" in problems


def test_declares_exactly_the_command_and_events_the_bot_handles() -> None:
    manifest = load_manifest()
    assert manifest["_metadata"]["major_version"] == 1
    assert declared_commands(manifest) == ["/creators-onboard"]
    # message.channels / message.groups: the leak guard reads the channels the bot is in.
    assert sorted(declared_bot_events(manifest)) == [
        "app_home_opened",
        "message.channels",
        "message.groups",
        "message.im",
    ]
    assert manifest["settings"]["event_subscriptions"].get("user_events", []) == []


def test_slash_command() -> None:
    (command,) = load_manifest()["features"]["slash_commands"]
    # Slack: with escaping on, a person picked after @ arrives as <@U…|name>; with it off
    # the text carries only what was typed (@alice). `start @owner @devops` needs the IDs.
    assert command["should_escape"] is True
    assert command["url"] == "https://YOUR-HOST/slack/events"
    hint = command["usage_hint"]
    for sub in SUBCOMMANDS:
        assert sub in hint, sub


def test_everything_arrives_at_one_endpoint_in_http_mode() -> None:
    settings = load_manifest()["settings"]
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": "https://YOUR-HOST/slack/events",
    }
    assert settings["event_subscriptions"]["request_url"] == "https://YOUR-HOST/slack/events"
    assert settings["socket_mode_enabled"] is False


def test_app_home_and_bot_user() -> None:
    features = load_manifest()["features"]
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["app_home"]["messages_tab_enabled"] is True
    assert features["app_home"].get("messages_tab_read_only_enabled") is not True
    assert features["bot_user"]["display_name"]
    assert load_manifest()["display_information"]["name"] == "Creators Onboard"


def test_least_privilege_scopes() -> None:
    scopes = declared_bot_scopes()
    assert sorted(scopes) == [
        "channels:history",
        "channels:read",
        "chat:write",
        "commands",
        "groups:history",
        "groups:read",
        "im:history",
        "im:write",
        "users:read",
    ]
    assert "user" not in load_manifest()["oauth_config"]["scopes"]
    # Each scope is justified by a comment in the file.
    text = (REPO_ROOT / "manifest.yml").read_text(encoding="utf-8")
    lines = text.splitlines()
    for scope in scopes:
        index = next(i for i, line in enumerate(lines) if line.strip() == f"- {scope}")
        assert lines[index - 1].strip().startswith("#"), f"{scope} has no justification"


def test_check_asks_the_token_for_the_scopes_the_manifest_declares() -> None:
    """`creators-onboard check` holds the token's scopes to BOT_SCOPES: the same list."""
    assert sorted(BOT_SCOPES) == sorted(declared_bot_scopes())


def test_manifest_path_is_the_repository_root() -> None:
    assert Path(REPO_ROOT / "manifest.yml").is_file()
