"""`FakeOp`: build the fake `op`'s world from a test and read back how it was called.

    fake = FakeOp(tmp_path)
    fake.populate_all(["Arda-DevOAM", "Arda-StageOAM", ...], secret="s3cret")
    fake.remove_item("Arda-StageOAM")
    reader = fake.reader()                   # a VaultReader wired to the fake
    report = await reader.verify(vaults, "Arda-SystemsOAM")
    fake.calls()                             # one dict per invocation

For tests that go through settings or a subprocess instead of building a reader:
`fake.op_path` is a per-test executable with the state and log paths baked in (use it
as OP_CLI_PATH, with OP_SERVICE_ACCOUNT_TOKEN=fake.token), or put `FakeOp.BIN_DIR` on
PATH and pass `fake.env()` in the environment. Every mutator saves the state at once,
so a running bot sees changes made between two verifications.

As a pytest fixture: `pytest_plugins = ["tests.op_fixture"]` (the fixture lives
there, so this module needs no pytest: the sandbox runs it without the dev extra).
"""

from __future__ import annotations

import json
import shlex
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.integrations.vaults import VaultReader

DEFAULT_VAULTS = ("Arda-DevOAM", "Arda-StageOAM", "Arda-DemoOAM", "Arda-ProdOAM")
SYSTEMS_VAULT = "Arda-SystemsOAM"
ITEM_TITLE = "Amazon Creators API"


def _id(seed: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, seed).hex[:26]


class FakeOp:
    BIN_DIR = Path(__file__).resolve().parent / "bin"
    SCRIPT = Path(__file__).resolve().parent / "op_cli.py"

    def __init__(
        self,
        directory: Path,
        *,
        token: str = "ops_FAKE-service-account-token-0123456789",  # noqa: S107
        item_title: str = ITEM_TITLE,
    ) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.dir / "fake-op-state.json"
        self.log_path = self.dir / "fake-op-log.jsonl"
        self.token = token
        self.item_title = item_title
        self.state: dict[str, Any] = {
            "account": {
                "url": "https://arda.1password.com",
                "user_uuid": "FAKESERVICEACCOUNT00000000",
                "account_uuid": "FAKEACCOUNT000000000000000",
            },
            "token": token,
            "version": "2.31.1",
            "delay": 0.0,
            "hang_seconds": 30.0,
            "error": None,
            "vaults": {},
        }
        self.save()

    # -- plumbing

    def save(self) -> FakeOp:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2), encoding="utf-8")
        tmp.replace(self.state_path)
        return self

    def env(self) -> dict[str, str]:
        """Variables the fake needs in its environment (with BIN_DIR on PATH)."""
        return {"FAKE_OP_STATE": str(self.state_path), "FAKE_OP_LOG": str(self.log_path)}

    @property
    def op_path(self) -> str:
        """An executable that runs the fake with this test's state, whatever the env."""
        path = self.dir / "bin" / "op"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in self.env().items())
            path.write_text(
                f"#!/bin/sh\n{exports}\n"
                f'exec {shlex.quote(sys.executable)} {shlex.quote(str(self.SCRIPT))} "$@"\n',
                encoding="utf-8",
            )
            path.chmod(0o755)
        return str(path)

    def reader(
        self, *, timeout: float = 10.0, token: str | None = None, no_token: bool = False
    ) -> VaultReader:
        """A VaultReader that runs bot/sandbox/fakes/bin/op with this state (and fake.token)."""
        value = None if no_token else (token or self.token)
        return VaultReader(
            str(self.BIN_DIR / "op"),
            SecretStr(value) if value is not None else None,
            self.item_title,
            timeout=timeout,
            extra_env=self.env(),
        )

    def calls(self) -> list[dict[str, Any]]:
        """Every invocation so far: argv, token_set, env_keys, pid, started."""
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def item_reads(self) -> list[dict[str, Any]]:
        return [c for c in self.calls() if c["argv"][:2] == ["item", "get"]]

    # -- building the world

    def add_vault(self, name: str, *, visible: bool = True) -> FakeOp:
        self.state["vaults"].setdefault(
            name, {"id": _id(name), "visible": visible, "error": None, "items": []}
        )
        self.state["vaults"][name]["visible"] = visible
        return self.save()

    def populate_all(
        self,
        vaults: Iterable[str] = DEFAULT_VAULTS,
        *,
        credential_id: str = "amzn1.application-oa2-client.0123456789abcdef",
        secret: str = "fake-credential-secret-value",  # noqa: S107
        version: str = "3.1",
        tag: str = "arda-20",
        systems_vault: str | None = SYSTEMS_VAULT,
    ) -> FakeOp:
        """Every vault gets a correct item (and the systems vault exists, visible)."""
        for name in vaults:
            self.add_vault(name)
            self.state["vaults"][name]["items"] = [
                self._item(name, credential_id, secret, version, tag)
            ]
        if systems_vault:
            self.add_vault(systems_vault)
        return self.save()

    def _item(
        self, vault: str, credential_id: str, secret: str, version: str, tag: str
    ) -> dict[str, Any]:
        return {
            "id": _id(f"{vault}/{self.item_title}"),
            "title": self.item_title,
            "category": "API_CREDENTIAL",
            "fields": [
                {
                    "id": "credentialId",
                    "type": "STRING",
                    "label": "credentialId",
                    "value": credential_id,
                },
                {
                    "id": "credentialSecret",
                    "type": "CONCEALED",
                    "label": "credentialSecret",
                    "value": secret,
                },
                {"id": "version", "type": "STRING", "label": "version", "value": version},
                {"id": "associateTag", "type": "STRING", "label": "associateTag", "value": tag},
            ],
        }

    def item(self, vault: str, index: int = 0) -> dict[str, Any]:
        item: dict[str, Any] = self.state["vaults"][vault]["items"][index]
        return item

    def remove_item(self, vault: str) -> FakeOp:
        self.state["vaults"][vault]["items"] = []
        return self.save()

    def duplicate_item(self, vault: str) -> FakeOp:
        copy = json.loads(json.dumps(self.item(vault)))
        copy["id"] = _id(f"{vault}/{self.item_title}/copy")
        self.state["vaults"][vault]["items"].append(copy)
        return self.save()

    def set_field(
        self,
        vault: str,
        label: str,
        value: str | None = None,
        *,
        type: str | None = None,
    ) -> FakeOp:
        """Change a field's value and/or type (adds the field when missing)."""
        fields = self.item(vault)["fields"]
        field = next((f for f in fields if f["label"] == label), None)
        if field is None:
            field = {"id": label, "type": type or "STRING", "label": label, "value": ""}
            fields.append(field)
        if value is not None:
            field["value"] = value
        if type is not None:
            field["type"] = type
        return self.save()

    def remove_field(self, vault: str, label: str) -> FakeOp:
        item = self.item(vault)
        item["fields"] = [f for f in item["fields"] if f["label"] != label]
        return self.save()

    def hide_vault(self, vault: str) -> FakeOp:
        """The service account can't see this vault (item get and vault list agree)."""
        self.add_vault(vault)
        self.state["vaults"][vault]["visible"] = False
        return self.save()

    def fail(self, kind: str | None, vault: str | None = None) -> FakeOp:
        """Force an error (rate_limited, auth, malformed_token, not_signed_in, timeout,
        crash, bad_json, forbidden) for one vault's item reads, or for every command."""
        if vault is None:
            self.state["error"] = kind
        else:
            self.state["vaults"][vault]["error"] = kind
        return self.save()

    def set_delay(self, seconds: float) -> FakeOp:
        self.state["delay"] = seconds
        return self.save()
