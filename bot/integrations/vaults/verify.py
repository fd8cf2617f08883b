"""Phase 6's judgement, pure (no I/O): op's item JSON → `ItemCheck`; items → report.

The credentialSecret is read only to take an HMAC-SHA256 of it, keyed with a random key
made for this process and written nowhere: two vaults' secrets can be compared here, and
nowhere else, without keeping either.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.integrations.vaults import texts
from bot.integrations.vaults.models import (
    EXPECTED_FIELDS,
    GLOBAL_CODES,
    SECRET_FIELD,
    SHOWN_FIELDS,
    FieldCheck,
    FieldStatus,
    ItemCheck,
    VaultProblem,
    VaultRef,
    VaultRow,
    VerificationReport,
)

_HMAC_KEY = secrets.token_bytes(32)


def _digest(value: str) -> bytes:
    return hmac.new(_HMAC_KEY, value.encode("utf-8"), hashlib.sha256).digest()


# --------------------------------------------------------------------------- parsing


def parse_item(raw: bytes, vault: str) -> ItemCheck | None:
    """Parse `op item get --format json`. Never raises (an exception could carry values)."""
    try:
        return _parse_item_unsafe(raw, vault)
    except Exception:  # noqa: BLE001 - any surprise is "bad output", without its details
        return None


def _parse_item_unsafe(raw: bytes, vault: str) -> ItemCheck | None:
    data = json.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("fields", []), list):
        return None
    by_label: dict[str, dict[str, Any]] = {}
    for field in data.get("fields") or []:
        if isinstance(field, dict):
            label = field.get("label")
            if isinstance(label, str) and label in EXPECTED_FIELDS and label not in by_label:
                by_label[label] = field
    checks: dict[str, FieldCheck] = {}
    digest: bytes | None = None
    for label, expected in EXPECTED_FIELDS.items():
        field = by_label.get(label)
        if field is None:
            checks[label] = FieldCheck(label=label, expected_type=expected, present=False)
            continue
        value = field.get("value")
        text = value if isinstance(value, str) else ""
        is_secret = label == SECRET_FIELD
        if is_secret and text:
            digest = _digest(text)
        checks[label] = FieldCheck(
            label=label,
            expected_type=expected,
            present=True,
            type=str(field.get("type") or "") or None,
            non_empty=bool(text.strip()),
            padded=bool(text.strip()) and text != text.strip(),
            value=None if is_secret else text,
        )
        del value, text
    item = ItemCheck(
        vault=vault,  # as asked for (op may answer with the vault's canonical name)
        item_id=str(data.get("id") or ""),
        title=str(data.get("title") or ""),
        fields=checks,
    )
    item._secret_digest = digest
    return item


def parse_vault_list(raw: bytes) -> list[VaultRef] | None:
    """Parse `op vault list --format json` (None when it is not a list)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, list):
        return None
    return [
        VaultRef(id=str(entry.get("id", "")), name=str(entry.get("name", "")))
        for entry in data
        if isinstance(entry, dict)
    ]


# --------------------------------------------------------------------------- checks


def field_problems(item: ItemCheck, vault: str) -> list[VaultProblem]:
    """What is wrong with the item's fields on their own."""
    problems: list[VaultProblem] = []
    for check in item.fields.values():
        concealed = check.expected_type == "CONCEALED"
        at = {"where": vault, "field": check.label, "item_title": item.title}
        if not check.present:
            kind = "password (concealed)" if concealed else "text"
            problems.append(texts.problem("field_missing", kind=kind, **at))
            continue
        if not check.type_ok:
            wrong: texts.TextName = "field_not_concealed" if concealed else "field_not_text"
            problems.append(texts.problem(wrong, found=check.type or "typeless", **at))
        if not check.non_empty:
            problems.append(texts.problem("field_empty", **at))
        elif check.padded:
            problems.append(texts.problem("field_whitespace", **at))
    return problems


def _odd_ones_out(groups: list[list[str]]) -> tuple[list[str], list[str]] | None:
    """Given vaults grouped by value, return (majority, odd vaults), or None on a tie."""
    groups = sorted(groups, key=len, reverse=True)
    if len(groups) > 1 and len(groups[0]) == len(groups[1]):
        return None
    majority = groups[0]
    odd = [v for g in groups[1:] for v in g]
    return majority, odd


def mismatch_problems(items: list[ItemCheck]) -> list[VaultProblem]:
    """Fields whose value is not the same in every vault that has one."""
    problems: list[VaultProblem] = []
    for label in EXPECTED_FIELDS:
        secret = label == SECRET_FIELD
        groups: dict[Any, list[str]] = {}
        shown: dict[str, str] = {}
        for item in items:
            check = item.fields[label]
            if not check.present or not check.non_empty:
                continue
            if secret:
                key: Any = item._secret_digest
            else:
                key = check.value
                if label in SHOWN_FIELDS and check.value is not None:
                    shown[item.vault] = check.value
            if key is None:
                continue
            groups.setdefault(key, []).append(item.vault)
        if len(groups) < 2:
            continue
        split = _odd_ones_out(list(groups.values()))
        if split is None:
            sets = "; ".join(", ".join(g) for g in groups.values())
            name: texts.TextName = "secrets_split" if secret else "values_split"
            problems.append(texts.problem(name, field=label, groups=sets))
            continue
        majority, odd = split
        agreed = ", ".join(majority)
        for vault in odd:
            at = {"where": vault, "field": label, "majority": agreed}
            if secret:
                problems.append(texts.problem("secret_differs", **at))
            elif label in SHOWN_FIELDS and vault in shown and majority[0] in shown:
                seen = {"value": shown[vault], "majority_value": shown[majority[0]]}
                problems.append(texts.problem("value_differs_shown", **at, **seen))
            else:
                problems.append(texts.problem("value_differs", **at))
    return problems


def build_report(
    vaults: Sequence[str],
    reads: Sequence[ItemCheck | VaultProblem],
    scope: Sequence[VaultRef] | VaultProblem,
    *,
    systems_vault: str,
    item_title: str,
) -> VerificationReport:
    """Combine one read per vault and the vault list into the report."""
    per_vault: dict[str, list[VaultProblem]] = {v: [] for v in vaults}
    loose: list[VaultProblem] = []
    items: list[ItemCheck] = []

    for vault, read in zip(vaults, reads, strict=True):
        if isinstance(read, VaultProblem):
            per_vault[vault].append(read.at(vault))
        else:
            items.append(read)
            per_vault[vault].extend(field_problems(read, vault))

    for problem in mismatch_problems(items):
        if problem.vault in per_vault:
            per_vault[problem.vault].append(problem)
        else:
            loose.append(problem)

    if isinstance(scope, VaultProblem):
        systems_visible = False
        loose.append(scope)
    else:
        names = {v.name for v in scope} | {v.id for v in scope}
        systems_visible = systems_vault in names
        for vault in vaults:
            already = any(p.code == "vault_not_visible" for p in per_vault[vault])
            if vault not in names and not already:
                per_vault[vault].append(texts.problem("vault_not_visible", where=vault))
        if not systems_visible:
            loose.append(texts.problem("systems_vault_not_visible", where=systems_vault))

    # The flat list: per-vault problems in vault order, then the rest; failures about
    # the account or the machine (same cause everywhere) are told once, without a vault.
    flat: list[VaultProblem] = []
    seen_global: set[str] = set()
    for problem in [p for v in vaults for p in per_vault[v]] + loose:
        if problem.code in GLOBAL_CODES:
            if problem.code in seen_global:
                continue
            seen_global.add(problem.code)
            problem = problem.at(None)
        if problem not in flat:
            flat.append(problem)

    rows = [
        VaultRow(
            vault=vault,
            ok=not per_vault[vault],
            read=isinstance(read, ItemCheck),
            fields=(
                [FieldStatus.of(read.fields[label]) for label in EXPECTED_FIELDS]
                if isinstance(read, ItemCheck)
                else []
            ),
            problems=per_vault[vault],
        )
        for vault, read in zip(vaults, reads, strict=True)
    ]
    return VerificationReport(
        ok=not flat,
        item_title=item_title,
        rows=rows,
        problems=flat,
        systems_vault=systems_vault,
        systems_vault_visible=systems_visible,
        checked_at=datetime.now(UTC),
    )
