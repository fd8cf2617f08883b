"""A small fake of the 1Password CLI (`op`), for tests. Standard library only.

Run through the executable `bot/sandbox/fakes/bin/op`. Its world is the JSON file named by
FAKE_OP_STATE; every invocation is appended as one JSON line to FAKE_OP_LOG (argv,
whether OP_SERVICE_ACCOUNT_TOKEN was set — never its value — the names of the
environment variables it got, its pid and start time).

State:
    {
      "account": {"url": ..., "user_uuid": ..., "account_uuid": ...},
      "token": "ops_…" | null,       # when set, the child's token must equal it
      "version": "2.31.1",
      "delay": 0.0,                  # seconds every command sleeps before answering
      "hang_seconds": 30.0,          # how long a "timeout" error sleeps
      "error": null | KIND,          # forced error for every command
      "vaults": {
        "Arda-DevOAM": {"id": ..., "visible": true, "error": null | KIND,
                        "items": [{"id", "title", "category", "fields": [...]}]}
      }
    }
KIND is one of: rate_limited, auth, malformed_token, not_signed_in, timeout, crash,
bad_json, forbidden.

Supported: `--version`, `whoami --format json`, `vault list --format json`,
`item get <title|id> [--vault V] --format json` (`--flag=value` works too). Output is
shaped like the real CLI's; errors go to stderr as `[ERROR] YYYY/MM/DD HH:MM:SS …` with
exit code 1, using the real CLI's wording.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

VALUE_FLAGS = {"--vault", "--format", "--account", "--fields", "--cache", "--config"}


def _now() -> str:
    return time.strftime("%Y/%m/%d %H:%M:%S")


def fail(message: str, code: int = 1) -> int:
    sys.stderr.write(f"[ERROR] {_now()} {message}\n")
    return code


ERRORS = {
    "rate_limited": (
        "(429) Too Many Requests: You've reached the maximum number of this type of "
        "requests this service account is allowed to make. Please retry in 59 minutes "
        "or try other requests."
    ),
    "auth": (
        "(401) Unauthorized: You aren't authorized to perform this action. "
        "The Service Account used in this integration has been deleted."
    ),
    "malformed_token": (
        "failed to session.DecodeSACredentials: failed to DecodeSACCredentials: "
        "failed to parseToken, format is invalid"
    ),
    "not_signed_in": (
        "You are not currently signed in. Please run `op signin --help` for instructions"
    ),
    "crash": "unexpected end of JSON input while decoding the vault keyset",
    "forbidden": "(403) Forbidden: You don't have the permission to perform this action.",
}


def parse(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    positional: list[str] = []
    flags: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--"):
            if "=" in arg:
                name, value = arg.split("=", 1)
                flags[name] = value
            elif arg in VALUE_FLAGS and i + 1 < len(argv):
                flags[arg] = argv[i + 1]
                i += 1
            else:
                flags[arg] = ""
        else:
            positional.append(arg)
        i += 1
    return positional, flags


def load_state() -> dict[str, Any]:
    path = os.environ.get("FAKE_OP_STATE")
    if not path:
        return {"vaults": {}}
    with open(path, encoding="utf-8") as fh:
        state: dict[str, Any] = json.load(fh)
    return state


def record(argv: list[str]) -> None:
    path = os.environ.get("FAKE_OP_LOG")
    if not path:
        return
    line = json.dumps(
        {
            "argv": argv,
            "token_set": bool(os.environ.get("OP_SERVICE_ACCOUNT_TOKEN")),
            "env_keys": sorted(os.environ),
            "pid": os.getpid(),
            "started": time.time(),
        }
    )
    # One write on an O_APPEND descriptor: concurrent fakes don't interleave lines.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def forced(kind: str | None, state: dict[str, Any]) -> int | None:
    """Act out a forced error; None when there is none (or it only garbles output)."""
    if not kind or kind == "bad_json":
        return None
    if kind == "timeout":
        time.sleep(float(state.get("hang_seconds", 30.0)))
        return fail("timed out waiting for the 1Password server")
    return fail(ERRORS.get(kind, f"forced error {kind}"))


def check_auth(state: dict[str, Any]) -> int | None:
    token = os.environ.get("OP_SERVICE_ACCOUNT_TOKEN", "")
    if not token:
        return fail(ERRORS["not_signed_in"])
    expected = state.get("token")
    if expected and token != expected:
        if not token.startswith("ops_"):
            return fail(ERRORS["malformed_token"])
        return fail(ERRORS["auth"])
    return None


def visible(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: v for n, v in state.get("vaults", {}).items() if v.get("visible", True)}


def find_vault(state: dict[str, Any], ref: str) -> tuple[str, dict[str, Any]] | None:
    for name, vault in visible(state).items():
        if ref in (name, vault.get("id")) or ref.lower() == name.lower():
            return name, vault
    return None


def item_json(vault_name: str, vault: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    fields = []
    for field in item.get("fields", []):
        out = {
            "id": field.get("id") or field["label"],
            "type": field.get("type", "STRING"),
            "label": field["label"],
        }
        if field.get("section"):
            out["section"] = field["section"]
        if field.get("value"):  # op leaves "value" out when a field is empty
            out["value"] = field["value"]
        out["reference"] = f"op://{vault_name}/{item['title']}/{field['label']}"
        fields.append(out)
    return {
        "id": item["id"],
        "title": item["title"],
        "version": item.get("version", 1),
        "vault": {"id": vault.get("id", ""), "name": vault_name},
        "category": item.get("category", "API_CREDENTIAL"),
        "last_edited_by": "FAKEUSER0000000000000000000",
        "created_at": "2026-11-20T10:00:00Z",
        "updated_at": "2026-11-21T10:00:00Z",
        "fields": fields,
    }


def item_get(state: dict[str, Any], ref: str, flags: dict[str, str]) -> int:
    vault_ref = flags.get("--vault")
    if vault_ref is not None:
        found = find_vault(state, vault_ref)
        if found is None:
            return fail(
                f'"{vault_ref}" isn\'t a vault in this account. '
                "Specify the vault with its ID or name."
            )
        pools = [found]
    else:
        pools = list(visible(state).items())
    for _, vault in pools:
        code = forced(vault.get("error"), state)
        if code is not None:
            return code
    matches = [
        (name, vault, item)
        for name, vault in pools
        for item in vault.get("items", [])
        if ref in (item["title"], item["id"])
    ]
    if not matches:
        if vault_ref is not None:
            return fail(
                f'"{ref}" isn\'t an item in the "{pools[0][0]}" vault. '
                "Specify the item with its UUID, name, or domain."
            )
        return fail(f'"{ref}" isn\'t an item. Specify the item with its UUID, name, or domain.')
    if len(matches) > 1:
        lines = [f'More than one item matches "{ref}". Try again and specify the item by its ID:']
        lines += [f'\t* for the item "{i["title"]}" in vault {n}: {i["id"]}' for n, _, i in matches]
        return fail("\n".join(lines))
    name, vault, item = matches[0]
    if vault.get("error") == "bad_json":
        print("this is not json {")
        return 0
    print(json.dumps(item_json(name, vault, item), indent=2))
    return 0


def main(argv: list[str]) -> int:
    record(argv)
    state = load_state()
    positional, flags = parse(argv)
    if "--version" in flags and not positional:
        print(state.get("version", "2.31.1"))
        return 0
    time.sleep(float(state.get("delay", 0.0)))
    code = check_auth(state)
    if code is not None:
        return code
    if state.get("error") != "bad_json":
        code = forced(state.get("error"), state)
        if code is not None:
            return code
    if flags.get("--format", "json") != "json":
        return fail("the fake op only speaks --format json")
    command = positional[:2]
    if command[:1] == ["whoami"]:
        account = state.get("account", {})
        print(
            json.dumps(
                {
                    "url": account.get("url", "https://arda.1password.com"),
                    "user_uuid": account.get("user_uuid", "FAKESERVICEACCOUNT00000000"),
                    "account_uuid": account.get("account_uuid", "FAKEACCOUNT000000000000000"),
                    "user_type": "SERVICE_ACCOUNT",
                }
            )
        )
        return 0
    if command == ["vault", "list"]:
        if state.get("error") == "bad_json":
            print("not json")
            return 0
        vaults = [
            {
                "id": v.get("id", ""),
                "name": name,
                "content_version": 3,
                "created_at": "2026-11-01T10:00:00Z",
                "updated_at": "2026-11-21T10:00:00Z",
                "items": len(v.get("items", [])),
            }
            for name, v in visible(state).items()
        ]
        print(json.dumps(vaults, indent=2))
        return 0
    if command == ["item", "get"] and len(positional) == 3:
        return item_get(state, positional[2], flags)
    return fail(f'unknown command "{" ".join(positional)}" for "op"')


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
