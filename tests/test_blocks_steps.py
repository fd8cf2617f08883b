"""Block Kit builders: every step, card and progress message renders inside Slack's limits."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.blocks.common import split_text
from bot.blocks.ids import (
    PING_DEVOPS,
    RUNBOOK_ACTION_PATTERN,
    STUCK,
    PartitionButton,
    StepButton,
    decode_value,
    partition_value,
    runbook_action_id,
    step_value,
)
from bot.blocks.steps import (
    done_step_blocks,
    progress_blocks,
    render_text,
    step_blocks,
    stuck_blocks,
    to_dicts,
)
from bot.runbook import load_runbook
from bot.runbook.model import Action, Persona, Runbook, Step, TroubleRow

ROLLOUT = "rollout-2026-05-07-3f9c2a7e-1b4d-4c55-9a0e-0d9f1b2c3d4e"
CONTEXT = {
    "owner": "<@U0OWNER1>",
    "devops": "<@U0DEVOPS1>",
    "item_title": "Amazon Creators API",
    "vaults": "• Arda-DevOAM\n• Arda-StageOAM\n• Arda-DemoOAM\n• Arda-ProdOAM",
    "systems_vault": "Arda-SystemsOAM",
    "issue": "PDEV-446",
    "partitions": "dev → stage → demo → prod",
    "rotation_reason": "routine hygiene: the credential is old",
    "pr_gate": "",
}
PLACEHOLDER_LEFT = re.compile(r"\{[a-z_]+\}")

RUNBOOK = load_runbook()
STEP_IDS = [s.id for s in RUNBOOK.steps]


def check_message(blocks: list[Block]) -> list[dict[str, Any]]:
    """Assert Slack's limits on one message; return its JSON-ready dicts."""
    assert 0 < len(blocks) <= 50
    for block in blocks:
        block.validate_json()
    dicts = to_dicts(blocks)
    json.dumps(dicts)  # serialisable
    primaries = 0
    action_ids: list[str] = []
    for block in dicts:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
            assert block["text"]["type"] == "plain_text"
        elif block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        elif block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
            for element in block["elements"]:
                assert len(element["text"]) <= 3000
        elif block["type"] == "actions":
            assert 1 <= len(block["elements"]) <= 25
            for button in block["elements"]:
                assert button["type"] == "button"
                assert len(button["text"]["text"]) <= 75
                assert len(button["action_id"]) <= 255
                assert len(button["value"]) <= 2000
                action_ids.append(button["action_id"])
                if button.get("style") == "primary":
                    primaries += 1
    assert primaries <= 1, "a message carries at most one primary button"
    assert len(action_ids) == len(set(action_ids)), "action ids repeat in one message"
    text = json.dumps(dicts, ensure_ascii=False)
    assert not PLACEHOLDER_LEFT.search(text), PLACEHOLDER_LEFT.search(text)
    return dicts


def _buttons(dicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in dicts if b["type"] == "actions" for e in b["elements"]]


def _all_text(dicts: list[dict[str, Any]]) -> str:
    return json.dumps(dicts, ensure_ascii=False)


# --- ids ----------------------------------------------------------------------------


def test_action_ids() -> None:
    assert runbook_action_id("eligible") == "co:eligible"
    assert RUNBOOK_ACTION_PATTERN.match(runbook_action_id("have_all_four"))
    assert not RUNBOOK_ACTION_PATTERN.match(STUCK)
    assert not RUNBOOK_ACTION_PATTERN.match(PING_DEVOPS)
    assert not RUNBOOK_ACTION_PATTERN.match("co:")
    for step in RUNBOOK.steps:
        for action in step.actions:
            assert RUNBOOK_ACTION_PATTERN.fullmatch(runbook_action_id(action.id))


def test_value_round_trip() -> None:
    value = step_value(ROLLOUT, "handover_send", "sent")
    assert value == json.dumps(
        {"rollout": ROLLOUT, "step": "handover_send", "action": "sent"}, separators=(",", ":")
    )
    ref = decode_value(value)
    assert ref == StepButton(rollout_id=ROLLOUT, step_id="handover_send", action="sent")
    with pytest.raises(AttributeError):
        ref.rollout_id = "other"  # type: ignore[misc]
    deploy = decode_value(partition_value(ROLLOUT, "stage", "deploy"))
    assert deploy == PartitionButton(rollout_id=ROLLOUT, partition="stage", action="deploy")


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "nope",
        "[]",
        '{"rollout":"x","step":"y"}',
        '{"rollout":"x","step":"y","action":1}',
        '{"rollout":"","step":"y","action":"z"}',
        '{"rollout":"x","step":"y","action":"z","extra":1}',
        '{"rollout":"x","step":"y","partition":"z"}',
        '{"rollout":"x","step":"' + "y" * 65 + '","action":"z"}',
        '{"r":"x","s":"y","a":"z"}',
        "null",
    ],
)
def test_decode_rejects_garbage(garbage: str) -> None:
    with pytest.raises(ValueError):
        decode_value(garbage)


def test_encode_refuses_oversized_value() -> None:
    with pytest.raises(ValueError, match="2000"):
        step_value("r" * 2000, "s", "a")


# --- render_text -------------------------------------------------------------------


def test_render_text() -> None:
    assert render_text("Hi {owner}, see {{literal}}", CONTEXT) == "Hi <@U0OWNER1>, see {literal}"
    with pytest.raises(ValueError, match=r"\{manager\}"):
        render_text("Ask {manager}", CONTEXT)
    with pytest.raises(ValueError, match="cannot render"):
        render_text("lonely { brace", CONTEXT)
    with pytest.raises(ValueError):
        render_text("{owner.upper}", CONTEXT)


# --- every step ------------------------------------------------------------------------


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_step_renders_within_limits(step_id: str) -> None:
    step = RUNBOOK.step(step_id)
    dicts = check_message(step_blocks(step, ROLLOUT, CONTEXT, number=3, total=9))
    assert dicts[0]["type"] == "header"
    assert dicts[0]["text"]["text"] == render_text(step.title, CONTEXT)
    assert dicts[1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "Step 3 of 9"}]}
    buttons = _buttons(dicts)
    expected = [runbook_action_id(a.id) for a in step.actions]
    if step.persona != "bot":
        expected.append(STUCK)
    assert [b["action_id"] for b in buttons] == expected
    for button, action in zip(buttons, step.actions, strict=False):
        assert decode_value(button["value"]) == StepButton(ROLLOUT, step.id, action.id)
        assert button["text"]["text"] == action.label
        assert (button.get("style") == "primary") == action.primary
    if step.persona != "bot":
        stuck = buttons[-1]
        assert "style" not in stuck
        assert decode_value(stuck["value"]) == StepButton(ROLLOUT, step.id, "stuck")
    # the body is all there
    body = "\n\n".join(b["text"]["text"] for b in dicts if b["type"] == "section")
    assert body.replace("\n", "") == render_text(step.body, CONTEXT).strip().replace("\n", "")


def test_bot_step_has_no_stuck_button() -> None:
    dicts = check_message(step_blocks(RUNBOOK.step("verify"), ROLLOUT, CONTEXT))
    ids = [b["action_id"] for b in _buttons(dicts)]
    assert ids == ["co:rerun_verify"]
    assert not any(b["type"] == "context" for b in dicts)  # no "Step n of m" without number


def test_deploy_gate_has_only_the_stuck_button() -> None:
    dicts = check_message(step_blocks(RUNBOOK.step("deploy_gate"), ROLLOUT, CONTEXT))
    assert [b["action_id"] for b in _buttons(dicts)] == [STUCK]
    assert "dev → stage → demo → prod" in _all_text(dicts)


def test_context_is_filled_in() -> None:
    populate = _all_text(to_dicts(step_blocks(RUNBOOK.step("populate"), ROLLOUT, CONTEXT)))
    assert "Arda-ProdOAM" in populate and "*Amazon Creators API*" in populate
    send = _all_text(to_dicts(step_blocks(RUNBOOK.step("handover_send"), ROLLOUT, CONTEXT)))
    assert "<@U0DEVOPS1>" in send


def test_missing_context_is_a_clear_error() -> None:
    partial = {k: v for k, v in CONTEXT.items() if k != "vaults"}
    with pytest.raises(ValueError, match=r"\{vaults\}"):
        step_blocks(RUNBOOK.step("populate"), ROLLOUT, partial)


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_done_step_renders(step_id: str) -> None:
    step = RUNBOOK.step(step_id)
    label = step.actions[0].label if step.actions else "Done"
    dicts = check_message(
        done_step_blocks(step, CONTEXT, actor="U0OWNER1", action_label=label, when="7 May, 10:42")
    )
    assert _buttons(dicts) == []
    last = dicts[-1]
    assert last["type"] == "context"
    assert last["elements"][0]["text"] == f"✅ {label} — <@U0OWNER1>, 7 May, 10:42"


def test_done_step_escapes_and_keeps_mentions() -> None:
    step = RUNBOOK.step("receive")
    dicts = done_step_blocks(step, CONTEXT, actor="<@U0DEVOPS1>", action_label="A<b>", when="now")
    assert to_dicts(dicts)[-1]["elements"][0]["text"] == "✅ A&lt;b&gt; — <@U0DEVOPS1>, now"


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_stuck_card_renders(step_id: str) -> None:
    step = RUNBOOK.step(step_id)
    dicts = check_message(stuck_blocks(step, ROLLOUT, CONTEXT))
    text = _all_text(dicts)
    for row in step.troubleshooting:
        assert json.dumps(render_text(row.symptom, CONTEXT), ensure_ascii=False)[1:-1] in text
        assert json.dumps(render_text(row.fix, CONTEXT), ensure_ascii=False)[1:-1] in text
    rows = [b for b in dicts if b["type"] == "section" and "*You see:*" in b["text"]["text"]]
    assert len(rows) == len(step.troubleshooting)
    buttons = _buttons(dicts)
    if step.persona == "accountOwner":
        assert [b["action_id"] for b in buttons] == [PING_DEVOPS]
        assert buttons[0]["text"]["text"] == "Ping devOps in this thread"
        assert "style" not in buttons[0]
        assert decode_value(buttons[0]["value"]) == StepButton(ROLLOUT, step.id, "ping_devops")
    else:
        assert buttons == []


def test_stuck_card_with_many_rows_stays_under_50_blocks() -> None:
    rows = [TroubleRow(symptom=f"symptom {i}", cause="cause", fix="fix") for i in range(60)]
    step = Step(
        id="big",
        phase=2,
        persona="accountOwner",
        title="Big",
        body="Body",
        troubleshooting=rows,
    )
    dicts = check_message(stuck_blocks(step, ROLLOUT, CONTEXT))
    assert "symptom 59" in _all_text(dicts)


def test_long_body_is_split_into_sections() -> None:
    paragraph = "A sentence that goes on for a while. " * 20
    step = Step(
        id="long",
        phase=4,
        persona="devOps",
        title="T" * 150,
        body="\n\n".join([paragraph] * 12),
        actions=[Action(id="ok", label="OK", primary=True)],
        troubleshooting=[TroubleRow(symptom="s", cause="c", fix="f")],
    )
    dicts = check_message(step_blocks(step, ROLLOUT, CONTEXT))
    assert sum(1 for b in dicts if b["type"] == "section") >= 3


def test_split_text_keeps_code_blocks_balanced() -> None:
    text = "intro\n```\n" + "\n".join(f"line {i} " + "x" * 60 for i in range(120)) + "\n```\nend"
    chunks = split_text(text, 3000)
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk) <= 3000
        assert chunk.count("```") % 2 == 0
    assert split_text("") == []
    assert split_text("x" * 7000, 3000)[0] == "x" * (3000 - 8)


# --- progress ------------------------------------------------------------------------


def _phase_lines(dicts: list[dict[str, Any]]) -> list[str]:
    section = next(b for b in dicts if b["type"] == "section")
    return section["text"]["text"].split("\n")


@pytest.mark.parametrize("persona", ["accountOwner", "devOps", "bot"])
@pytest.mark.parametrize("current", [None, *STEP_IDS])
def test_progress_renders(persona: Persona, current: str | None) -> None:
    check_message(progress_blocks(RUNBOOK, persona, current, ROLLOUT, status_line="Waiting."))


def test_progress_for_owner() -> None:
    dicts = check_message(progress_blocks(RUNBOOK, "accountOwner", "register_app", ROLLOUT))
    lines = _phase_lines(dicts)
    assert len(lines) == 3
    assert lines[0].startswith("✅ *Prerequisites*")
    assert lines[1].startswith("▶️ *Registration*")
    assert lines[2].startswith("◻️ *Handover*")
    # The owner is not shown the rollout's id; devOps is.
    assert ROLLOUT not in _all_text(dicts)
    assert ROLLOUT in _all_text(
        check_message(progress_blocks(RUNBOOK, "devOps", "verify", ROLLOUT))
    )


def test_progress_for_owner_after_handover_is_all_done() -> None:
    dicts = progress_blocks(
        RUNBOOK, "accountOwner", "populate", ROLLOUT, status_line="devOps is filling the vaults."
    )
    lines = _phase_lines(to_dicts(dicts))
    assert all(line.startswith("✅") for line in lines)
    assert "devOps is filling the vaults." in _all_text(to_dicts(dicts))


def test_progress_for_devops() -> None:
    dicts = check_message(progress_blocks(RUNBOOK, "devOps", "verify", ROLLOUT))
    lines = _phase_lines(dicts)
    names = [line.split("*")[1] for line in lines]
    assert names == ["Receive", "Populate vaults", "Verify", "Deploy", "Smoke test", "Complete"]
    assert [line.split(" ")[0] for line in lines][:3] == ["✅", "✅", "▶️"]
    assert lines[3].startswith("◻️")


def test_progress_before_start_and_finished() -> None:
    before = _phase_lines(to_dicts(progress_blocks(RUNBOOK, "devOps", None, ROLLOUT)))
    assert all(line.startswith("◻️") for line in before)
    done = to_dicts(progress_blocks(RUNBOOK, "devOps", None, ROLLOUT, finished=True))
    assert all(line.startswith("✅") for line in _phase_lines(done))
    assert "All done" in _all_text(done)


def test_progress_unknown_step() -> None:
    with pytest.raises(ValueError, match="nowhere"):
        progress_blocks(RUNBOOK, "devOps", "nowhere", ROLLOUT)


def test_builders_return_block_objects() -> None:
    step = RUNBOOK.step("prereq")
    blocks = step_blocks(step, ROLLOUT, CONTEXT, number=1)
    assert isinstance(blocks[0], HeaderBlock)
    assert isinstance(blocks[1], ContextBlock)
    assert isinstance(blocks[2], SectionBlock)
    assert isinstance(blocks[-1], ActionsBlock)
    assert all(isinstance(e, ButtonElement) for e in blocks[-1].elements)
    assert to_dicts(blocks)[1]["elements"][0]["text"] == "Step 1"


def test_runbook_type() -> None:
    assert isinstance(RUNBOOK, Runbook)
