"""The verification card: table, problems, re-run button or clean-up reminder, limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.blocks.ids import RERUN_VERIFY, StepButton, decode_value
from bot.blocks.verification import verification_blocks, verification_text
from bot.integrations.vaults import VaultProblem, VerificationReport
from bot.integrations.vaults.models import EXPECTED_FIELDS, FieldCheck, ItemCheck, VaultRef
from bot.integrations.vaults.verify import build_report

VAULTS = ["Arda-DevOAM", "Arda-StageOAM", "Arda-DemoOAM", "Arda-ProdOAM"]
SYSTEMS = "Arda-SystemsOAM"
TITLE = "Amazon Creators API"


def item(vault: str, **overrides: dict[str, Any]) -> ItemCheck:
    fields = {}
    for label, kind in EXPECTED_FIELDS.items():
        values = {"credentialId": "amzn1.x", "version": "3.1", "associateTag": "arda-20"}
        data: dict[str, Any] = {
            "label": label,
            "expected_type": kind,
            "present": True,
            "type": kind,
            "non_empty": True,
            "value": values.get(label),
        }
        data.update(overrides.get(label, {}))
        fields[label] = FieldCheck(**data)
    return ItemCheck(vault=vault, item_id="id-" + vault, title=TITLE, fields=fields)


def scope(*names: str) -> list[VaultRef]:
    return [VaultRef(id="id-" + n, name=n) for n in names]


def report_for(reads: list[ItemCheck | VaultProblem], visible: list[str]) -> VerificationReport:
    return build_report(VAULTS, reads, scope(*visible), systems_vault=SYSTEMS, item_title=TITLE)


def dicts(blocks: list[Any]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_green_card_reminds_to_delete_the_note() -> None:
    report = report_for([item(v) for v in VAULTS], [*VAULTS, SYSTEMS])
    assert report.ok
    blocks = dicts(verification_blocks(report, rollout_id="r-1"))
    assert blocks[0]["type"] == "header" and "verified" in blocks[0]["text"]["text"]
    table = section_texts(blocks)[0]
    for vault in [*VAULTS, SYSTEMS]:
        assert f"✅ *{vault}*" in table
    assert "❌" not in table
    assert "version ✅ `3.1`" in table and "associateTag ✅ `arda-20`" in table
    assert "temporary local note" in " ".join(section_texts(blocks))
    assert buttons(blocks) == []
    assert verification_text(report).startswith("Vault verification passed")


def test_failing_card_has_problems_and_one_primary_rerun_button() -> None:
    missing = VaultProblem(
        code="item_missing",
        where="Arda-StageOAM",
        symptom="There is no item titled 'Amazon Creators API' in Arda-StageOAM.",
        cause="Not created yet.",
        fix="In 1Password, open vault Arda-StageOAM and create the item.",
    )
    empty = {"associateTag": {"non_empty": False, "value": ""}}
    report = report_for(
        [item("Arda-DevOAM"), missing, item("Arda-DemoOAM"), item("Arda-ProdOAM", **empty)],
        [*VAULTS, SYSTEMS],
    )
    assert not report.ok
    blocks = dicts(verification_blocks(report, rollout_id="r-1"))
    assert "2 problems" in blocks[0]["text"]["text"]
    table = section_texts(blocks)[0]
    assert "❌ *Arda-StageOAM* — not read: There is no item" in table
    assert "✅ *Arda-DevOAM*" in table
    assert "❌ *Arda-ProdOAM*" in table and "associateTag ❌" in table
    cards = section_texts(blocks)[1:]
    assert any(
        "Arda-StageOAM" in c and "*Why:*" in c and "*Fix:* In 1Password, open vault" in c
        for c in cards
    )
    (button,) = buttons(blocks)
    assert button["action_id"] == RERUN_VERIFY == "co:rerun_verify"
    assert decode_value(button["value"]) == StepButton("r-1", "verify", "rerun_verify")
    assert button["style"] == "primary"
    assert "temporary local note" not in json.dumps(blocks)


def test_systems_vault_row() -> None:
    report = report_for([item(v) for v in VAULTS], VAULTS)
    blocks = dicts(verification_blocks(report, rollout_id="r"))
    assert f"❌ *{SYSTEMS}* — not visible" in section_texts(blocks)[0]
    (button,) = buttons(blocks)
    assert decode_value(button["value"]) == StepButton("r", "verify", "rerun_verify")


def test_mismatch_row_is_marked() -> None:
    odd = item("Arda-DemoOAM", version={"value": "3.0"})
    report = report_for(
        [item("Arda-DevOAM"), item("Arda-StageOAM"), odd, item("Arda-ProdOAM")],
        [*VAULTS, SYSTEMS],
    )
    table = section_texts(dicts(verification_blocks(report, rollout_id="r")))[0]
    assert "❌ *Arda-DemoOAM*" in table and "differs from the other vaults" in table
    assert "version ❌ `3.0`" in table and "version ✅ `3.1`" in table


def test_limits_with_very_many_problems() -> None:
    many = [
        VaultProblem(
            code="op_failed",
            where=f"V{i}",
            symptom=f"problem {i} " + "<&>" * 400,
            cause="c" * 2000,
            fix="f" * 2000,
        )
        for i in range(120)
    ]
    report = VerificationReport(
        ok=False,
        item_title=TITLE,
        rows=[],
        problems=many,
        systems_vault=SYSTEMS,
        systems_vault_visible=True,
        checked_at=datetime(2026, 11, 22, 10, tzinfo=UTC),
    )
    blocks = dicts(verification_blocks(report, rollout_id="r"))
    assert len(blocks) <= 50
    for text in section_texts(blocks):
        assert len(text) <= 3000
    assert "more:" in section_texts(blocks)[-1]
    assert len(buttons(blocks)) == 1
    # mrkdwn control characters are escaped.
    assert "<&>" not in json.dumps(blocks)
    assert "&lt;&amp;&gt;" in json.dumps(blocks)
