"""Phases 7–9 Block Kit: deploy gate, halt card, green, completion, smoke, status, App Home.

Every message must render inside Slack's limits (≤50 blocks in a message, ≤100 in a Home
view, ≤3,000 characters of section text, ≤150 in a header, ≤75 on a button) and carry at
most one primary button.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.blocks.deploy import (
    COMPLETE_TEXT,
    complete_blocks,
    deploy_gate_blocks,
    halt_card_blocks,
    partition_green_blocks,
)
from bot.blocks.home import home_blocks, pending_for
from bot.blocks.ids import ABORT, DEPLOY, RETRY, PartitionButton, decode_value
from bot.blocks.smoke import smoke_report_blocks
from bot.blocks.status import status_board_blocks, status_summary
from bot.blocks.steps import to_dicts
from bot.integrations.bff import SmokeCheck, SmokeReport
from bot.rollout.state import PartitionState, RolloutState
from bot.runbook import load_runbook
from bot.runbook.problem import Problem
from bot.runbook.rollback import RollbackContext, rollback_steps
from bot.settings import FileConfig

RUNBOOK = load_runbook()
ORDER = ["dev", "stage", "demo", "prod"]
OWNER, DEVOPS = "U0OWNER1", "U0DEVOPS1"
LONG = "x" * 5000
CONFIG = FileConfig.model_validate({"slack": {"account_owners": [OWNER], "devops": [DEVOPS]}})


def _texts(node: Any) -> list[tuple[str, str]]:
    """(block type, text) for every section/header text in a message's dicts."""
    out: list[tuple[str, str]] = []
    for block in node:
        if block["type"] in ("section", "header") and "text" in block:
            out.append((block["type"], block["text"]["text"]))
        for field in block.get("fields", []) or []:
            out.append(("field", field["text"]))
    return out


def check(blocks: list[Block], *, max_blocks: int = 50) -> list[dict[str, Any]]:
    """Assert Slack's limits for one message (or view); return the JSON-ready dicts."""
    assert 0 < len(blocks) <= max_blocks, len(blocks)
    for block in blocks:
        block.validate_json()  # slack_sdk's own limits (button text, ids, element counts)
    dicts = to_dicts(blocks)
    json.dumps(dicts)
    for kind, text in _texts(dicts):
        assert text, kind
        limit = 150 if kind == "header" else 3000
        assert len(text) <= limit, (kind, len(text))
    primaries = [
        e
        for b in dicts
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("style") == "primary"
    ]
    assert len(primaries) <= 1, primaries
    for b in dicts:
        for e in b.get("elements", []) if b["type"] == "actions" else []:
            assert len(e["text"]["text"]) <= 75
            decode_value(e["value"])
    return dicts


def buttons(dicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in dicts if b["type"] == "actions" for e in b["elements"]]


def ctx(
    partition: str, region: str = "us-east-1", later: list[str] | None = None
) -> RollbackContext:
    return RollbackContext(
        partition=partition,
        region=region,
        vault=f"Arda-{partition.title()}OAM",
        repository="Arda-cards/infrastructure",
        workflow="amm.yml",
        ref="main",
        run_url="https://github.com/Arda-cards/infrastructure/actions/runs/7000001",
        later=later if later is not None else ORDER[ORDER.index(partition) + 1 :],
    )


def state(**kwargs: Any) -> RolloutState:
    s = RolloutState(
        rollout_id="rollout-1",
        owner=OWNER,
        devops=DEVOPS,
        started_by=DEVOPS,
        started_at="2025-01-01T00:00:00+00:00",
        step="deploy_gate",
        verification_ok=True,
        partitions=[PartitionState(name=p) for p in ORDER],
    )
    for key, value in kwargs.items():
        setattr(s, key, value)
    return s


# ------------------------------------------------------------------------ deploy gate


@pytest.mark.parametrize("partition", ORDER)
def test_deploy_gate_has_one_primary_deploy_button(partition: str) -> None:
    done = ORDER[: ORDER.index(partition)]
    dicts = check(deploy_gate_blocks("rollout-1", partition, order=ORDER, done=done))
    (button,) = buttons(dicts)
    assert button["action_id"] == DEPLOY and button["style"] == "primary"
    assert button["text"]["text"] == f"Deploy {partition}"
    ref = decode_value(button["value"])
    assert ref == PartitionButton("rollout-1", partition, "deploy")
    text = json.dumps(dicts)
    assert f"/creators-onboard deploy {partition}" in text
    assert f"{ORDER.index(partition) + 1} of 4" in text


# --------------------------------------------------------------------------- halt card


def test_halt_card_for_prod_names_us_east_2_and_the_rollback_procedure() -> None:
    rollback = rollback_steps(ctx("prod", "us-east-2"))
    dicts = check(
        halt_card_blocks(
            "rollout-1",
            "prod",
            check="amm.yml run failure",
            symptom="The run failed.",
            cause="A job failed.",
            fix="Read the log.",
            rollback=rollback,
            untouched=[],
        )
    )
    text = json.dumps(dicts, ensure_ascii=False)
    assert "Rollout halted at prod" in text
    assert "Rollback procedure for prod" in text
    assert "us-east-2" in text and "Alpha001" in text
    assert "no later partitions" in text
    by_id = {b["action_id"]: b for b in buttons(dicts)}
    assert set(by_id) == {RETRY, ABORT}
    assert by_id[RETRY]["style"] == "primary" and by_id[ABORT]["style"] == "danger"
    assert by_id[RETRY]["text"]["text"] == "Retry prod"
    assert "/creators-onboard abort <reason>" in text


def test_rollback_differs_for_prod_only() -> None:
    dev = rollback_steps(ctx("dev"))
    prod = rollback_steps(ctx("prod", "us-east-2"))
    assert len(prod) == len(dev) + 1
    assert not any("us-east-2" in line for line in dev)
    for steps, name in ((dev, "dev"), (prod, "prod")):
        joined = "\n".join(steps)
        assert f"Retry {name}" in joined and "Abort rollout" in joined
        assert "AMAZON_ASSOCIATE_TAG" in joined and "/creators-onboard verify" in joined
    assert "stage, demo, prod" in dev[0]


def test_halt_card_survives_enormous_diagnoses() -> None:
    dicts = check(
        halt_card_blocks(
            "rollout-1",
            "stage",
            check=LONG,
            symptom=LONG,
            cause=LONG,
            fix=LONG,
            rollback=[LONG] * 5,
            untouched=["demo", "prod"],
        )
    )
    assert dicts[0]["type"] == "header"


# ------------------------------------------------------------------ green and complete


def test_partition_green_lists_the_checks() -> None:
    checks = [("amm.yml", True, "run succeeded"), ("smoke test", True, "import ok")]
    dicts = check(
        partition_green_blocks(
            "dev", finished_at="2025-01-01T01:00:00+00:00", run_url="https://x/1", checks=checks
        )
    )
    text = json.dumps(dicts, ensure_ascii=False)
    assert "2025-01-01T01:00:00+00:00" in text and "amm.yml" in text and "smoke test" in text
    assert not buttons(dicts)


def test_complete_names_every_partition_with_its_timestamp() -> None:
    stamps = [(p, f"2025-01-0{i + 1}T00:00:00+00:00") for i, p in enumerate(ORDER)]
    dicts = check(complete_blocks(stamps))
    text = json.dumps(dicts, ensure_ascii=False)
    assert COMPLETE_TEXT in text
    for name, when in stamps:
        assert name in text and when in text
    assert not buttons(dicts)


# ---------------------------------------------------------------------------- smoke


def smoke(ok: bool, n_failed: int = 1, long: bool = False) -> SmokeReport:
    text = LONG if long else "short"
    checks = [SmokeCheck(name="success path", status=200, seen="200 with a v1 DTO")]
    checks += [
        SmokeCheck(
            name=f"check {i}",
            status=503,
            code="AMAZON_UPSTREAM_UNAVAILABLE",
            problem=Problem(symptom=text, cause=text, fix=text),
        )
        for i in range(0 if ok else n_failed)
    ]
    return SmokeReport(ok=ok, bff_url="https://bff.dev.example", asin="B08N5WRWNW", checks=checks)


def test_smoke_report_green_and_red() -> None:
    green = json.dumps(check(smoke_report_blocks("dev", smoke(True))))
    assert "green" in green and "success path" in green
    red = json.dumps(check(smoke_report_blocks("demo", smoke(False))))
    assert "RED" in red and "AMAZON_UPSTREAM_UNAVAILABLE" in red and "HTTP 503" in red


def test_smoke_report_stays_inside_limits_with_many_long_failures() -> None:
    check(smoke_report_blocks("demo", smoke(False, n_failed=80, long=True)))


# ----------------------------------------------------------------------- status board


def board_states() -> list[RolloutState]:
    running = state()
    running.partitions[0].status = "green"
    running.partitions[0].finished_at = "2025-01-01T01:00:00+00:00"
    running.partitions[1].status = "running"
    running.partitions[1].run_url = "https://github.com/x/actions/runs/2"
    halted = state(status="halted", halt_reason="stage: amm.yml run failure")
    halted.partitions[1].status = "red"
    halted.partitions[1].failed_check = "run"
    done = state(status="complete")
    for p in done.partitions:
        p.status, p.finished_at = "green", "2025-01-02T00:00:00+00:00"
    aborted = state(status="aborted", abort_reason="wrong account (by <@U0DEVOPS1>)")
    early = state(step="prereq", partitions=[])
    return [running, halted, done, aborted, early]


@pytest.mark.parametrize("index", range(5))
def test_status_board_renders_every_state(index: int) -> None:
    s = board_states()[index]
    dicts = check(status_board_blocks(s, RUNBOOK))
    text = json.dumps(dicts, ensure_ascii=False)
    assert s.rollout_id in text and status_summary(s, RUNBOOK)
    for p in s.partitions:
        assert f"*{p.name}* — {p.status}" in text
    if s.status == "halted":
        assert "HALTED" in text and "stage: amm.yml run failure" in text
    assert not buttons(dicts)


def test_status_board_shows_run_links_and_green_times() -> None:
    text = json.dumps(to_dicts(status_board_blocks(board_states()[0], RUNBOOK)))
    assert "runs/2|run>" in text and "2025-01-01T01:00:00+00:00" in text


# -------------------------------------------------------------------------- App Home


def test_home_without_a_rollout_tells_who_can_start() -> None:
    devops = json.dumps(to_dicts(home_blocks(None, RUNBOOK, viewer=DEVOPS, config=CONFIG)))
    other = json.dumps(to_dicts(home_blocks(None, RUNBOOK, viewer="U0X", config=CONFIG)))
    assert "Start one with" in devops and "devOps starts one" in other


def pending_section(blocks: list[Block]) -> str:
    found = [t for _, t in _texts(to_dicts(blocks)) if t.startswith("*Your pending actions*")]
    assert len(found) == 1
    return found[0]


def test_home_shows_each_viewer_only_their_own_pending_actions() -> None:
    at_owner = state(step="register_app")
    owner_home = pending_section(home_blocks(at_owner, RUNBOOK, viewer=OWNER, config=CONFIG))
    devops_home = pending_section(home_blocks(at_owner, RUNBOOK, viewer=DEVOPS, config=CONFIG))
    assert RUNBOOK.step("register_app").title in owner_home
    assert "Nothing is waiting on you" in devops_home
    assert pending_for(state(), RUNBOOK, DEVOPS) == [
        "Deploy *dev* when ready (button in your DM thread)."
    ]
    assert pending_for(state(), RUNBOOK, OWNER) == []
    halted = board_states()[1]
    assert "retry or abort" in pending_for(halted, RUNBOOK, DEVOPS)[0]
    assert pending_for(halted, RUNBOOK, OWNER) == []
    assert pending_for(board_states()[2], RUNBOOK, DEVOPS) == []


@pytest.mark.parametrize("index", range(5))
def test_home_view_inside_limits(index: int) -> None:
    s = board_states()[index]
    for viewer in (OWNER, DEVOPS):
        check(home_blocks(s, RUNBOOK, viewer=viewer, config=CONFIG), max_blocks=100)
