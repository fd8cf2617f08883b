"""What the vault verification reads and reports. Plain JSON, no secret material.

`ItemCheck` is one vault's item minus the secret: the credentialSecret is kept only as a
keyed digest in a private attribute that neither `model_dump()` nor `repr()` shows.
`VerificationReport` is phase 6's verdict, safe to store durably and to show in Slack: it
holds no secret and not even a digest. Everything wrong is a `VaultProblem`: a `Problem`
(symptom → cause → fix, `where` = the vault) with a machine-readable `code`.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from bot.runbook.problem import Problem

FieldType = Literal["STRING", "CONCEALED"]

# The four fields of the "Amazon Creators API" item (runbook phase 5), matched by label.
SECRET_FIELD = "credentialSecret"  # noqa: S105 - a field label, not a secret
EXPECTED_FIELDS: dict[str, FieldType] = {
    "credentialId": "STRING",
    SECRET_FIELD: "CONCEALED",
    "version": "STRING",
    "associateTag": "STRING",
}
# Non-secret values short enough to show in Slack and compare in messages. credentialId
# is not secret either, but it is long and nobody needs to read it in a chat.
SHOWN_FIELDS = frozenset({"version", "associateTag"})

ProblemCode = Literal[
    "op_missing",
    "op_unstartable",
    "op_timeout",
    "token_missing",
    "auth_failed",
    "rate_limited",
    "vault_not_visible",
    "item_missing",
    "duplicate_items",
    "field_missing",
    "field_empty",
    "field_wrong_type",
    "field_whitespace",
    "value_mismatch",
    "secret_mismatch",
    "op_failed",
    "bad_output",
]
# Failures that are about the account or the machine, not one vault: reported once.
GLOBAL_CODES: frozenset[str] = frozenset(
    {"op_missing", "op_unstartable", "op_timeout", "token_missing", "auth_failed", "rate_limited"}
)
# Failures that may pass on their own: trying again later may succeed.
RETRYABLE_CODES: frozenset[str] = frozenset(
    {"op_timeout", "rate_limited", "op_failed", "op_unstartable"}
)


class VaultProblem(Problem):
    """One thing wrong with the vaults, written for the person who has to fix it.

    `where` is the vault (None: about the account or the machine, not one vault); `field`
    the item's field when it is about one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: ProblemCode
    field: str | None = None

    @property
    def vault(self) -> str | None:
        return self.where

    def at(self, vault: str | None) -> VaultProblem:
        """The same problem, about `vault` (None: about no vault in particular)."""
        return self.model_copy(update={"where": vault})

    @model_validator(mode="before")
    @classmethod
    def _recorded_with_vault(cls, data: Any) -> Any:
        """Read a problem recorded by an earlier version (`vault` instead of `where`), so a
        rollout that spans a redeploy still loads its verification report."""
        if isinstance(data, dict) and "vault" in data and "where" not in data:
            data = dict(data)
            data["where"] = data.pop("vault")
        return data


class VaultRef(BaseModel):
    """A vault as `op vault list` names it."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str


class _Field(BaseModel):
    """One of the four expected fields: its label, the type it should have, the type found."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    expected_type: FieldType
    present: bool
    type: str | None = None


class FieldCheck(_Field):
    """What one expected field of the item looks like. `value` only for non-secret fields."""

    non_empty: bool = False
    # Leading or trailing whitespace (a copy-paste slip): it would break the credential.
    padded: bool = False
    value: str | None = None  # never set for credentialSecret

    @property
    def type_ok(self) -> bool:
        return self.type == self.expected_type

    @property
    def ok(self) -> bool:
        return self.present and self.non_empty and self.type_ok and not self.padded


class ItemCheck(BaseModel):
    """The item as read from one vault, minus the secret.

    The credentialSecret is kept only as a keyed digest in a private attribute: it is not
    a field, so `model_dump()`, `repr()` and JSON never show it. Compare with
    `same_secret_as()`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    vault: str
    item_id: str
    title: str
    fields: dict[str, FieldCheck]

    _secret_digest: bytes | None = PrivateAttr(default=None)

    def same_secret_as(self, other: ItemCheck) -> bool | None:
        """True/False when both items carry a secret, None when either lacks one."""
        if self._secret_digest is None or other._secret_digest is None:
            return None
        return hmac.compare_digest(self._secret_digest, other._secret_digest)


class FieldStatus(_Field):
    """A field as the report shows it: `shown` is the value, only for version and
    associateTag."""

    non_empty: bool
    ok: bool
    shown: str | None = None

    @classmethod
    def of(cls, check: FieldCheck) -> FieldStatus:
        return cls(
            **check.model_dump(include={"label", "expected_type", "present", "type", "non_empty"}),
            ok=check.ok,
            shown=check.value if check.label in SHOWN_FIELDS else None,
        )


class VaultRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    vault: str
    ok: bool
    read: bool  # the item was read (False: op failed for this vault)
    fields: list[FieldStatus] = Field(default_factory=list)
    problems: list[VaultProblem] = Field(default_factory=list)


class VerificationReport(BaseModel):
    """Phase 6's verdict. JSON-serialisable; holds no secret material, not even a digest:
    the keyed hash of the secret the four vaults agree on is a private attribute
    (`secret_fingerprint`) that neither `model_dump()` nor `repr()` shows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    item_title: str
    rows: list[VaultRow]
    problems: list[VaultProblem]
    systems_vault: str
    systems_vault_visible: bool
    checked_at: datetime

    _secret_fingerprint: str | None = PrivateAttr(default=None)

    @property
    def secret_fingerprint(self) -> str | None:
        """The keyed hash (hex) of the one secret every vault holds, when all agree."""
        return self._secret_fingerprint
