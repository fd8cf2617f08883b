"""Phases 7–9 Block Kit: deploy gate, halt card, green, completion, smoke, status, App Home.

Every message must render inside Slack's limits (≤50 blocks in a message, ≤100 in a Home
view, ≤3,000 characters of section text, ≤150 in a header, ≤75 on a button) and carry at
most one primary button.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.blocks.common import duration, slack_date
from bot.blocks.deploy import (
    COMPLETE_TEXT,
    complete_blocks,
    deploy_gate_blocks,
    halt_card_blocks,
    partition_green_blocks,
    run_message,
)
from bot.blocks.home import home_blocks, pending_for
from bot.blocks.ids import ABORT, DEPLOY, REDEPLOY, RETRY, PartitionButton, decode_value
from bot.blocks.smoke import smoke_report_blocks
from bot.blocks.status import status_board_blocks, status_summary
from bot.blocks.steps import to_dicts
from bot.config import FileConfig
from bot.integrations.bff import SmokeCheck, SmokeReport
from bot.rollout.state import PartitionState, RolloutState, RunProgress, Transition
from bot.runbook import load_runbook
from bot.runbook.problem import Problem
from bot.runbook.rollback import RollbackContext, rollback_steps

RUNBOOK = load_runbook()
ORDER = ["dev", "stage", "demo", "prod"]
OWNER, DEVOPS = "U0OWNER1", "U0DEVOPS1"
LONG = "x" * 5000
T0 = "2025-01-01T00:00:00+00:00"
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
            failed_at="job *deploy*, step *Check for drift*",
            log_url="https://github.com/Arda-cards/infrastructure/actions/runs/7/job/71",
        )
    )
    text = json.dumps(dicts, ensure_ascii=False)
    assert "Rollout halted at prod" in text
    assert "Rollback procedure for prod" in text
    assert "us-east-2" in text and "Alpha001" in text
    assert "no later partitions" in text
    assert "*Failed at:* job *deploy*, step *Check for drift*" in text
    assert "<https://github.com/Arda-cards/infrastructure/actions/runs/7/job/71|its log>" in text
    by_id = {b["action_id"]: b for b in buttons(dicts)}
    # A failed run: Retry is the new run, so there is no separate Redeploy.
    assert set(by_id) == {RETRY, ABORT}
    assert by_id[RETRY]["style"] == "primary" and by_id[ABORT]["style"] == "danger"
    assert by_id[RETRY]["text"]["text"] == "Deploy prod again"
    assert "/creators-onboard abort <reason>" in text


def dev_halt(failed: str, rollback: list[str]) -> list[Block]:
    """The halt card of dev after `failed`, with `rollback` as its procedure."""
    return halt_card_blocks(
        "rollout-1",
        "dev",
        check="x",
        symptom="s",
        cause="c",
        fix="f",
        rollback=rollback,
        untouched=["stage"],
        failed_check=failed,
    )


@pytest.mark.parametrize(
    ("failed", "label", "redeploy", "words"),
    [
        ("dispatch", "Retry the dispatch", False, "adopting the run the failed attempt"),
        ("run", "Deploy dev again", False, "dispatches a new `amm.yml` run"),
        ("follow", "Follow the run again", True, "same `amm.yml` run to its end (no new run)"),
        ("amplify", "Check Amplify again", True, "Amplify variables of dev again (no new run)"),
        ("smoke", "Smoke-test dev again", True, "smoke test of dev again (no new run)"),
    ],
)
def test_the_halt_card_says_what_retry_repeats_and_offers_redeploy_where_retry_does_not(
    failed: str, label: str, redeploy: bool, words: str
) -> None:
    dicts = check(dev_halt(failed, ["r"]))
    text = json.dumps(dicts, ensure_ascii=False)
    by_id = {b["action_id"]: b for b in buttons(dicts)}
    assert by_id[RETRY]["text"]["text"] == label and by_id[RETRY]["style"] == "primary"
    assert decode_value(by_id[RETRY]["value"]) == PartitionButton("rollout-1", "dev", "retry")
    assert words in text and "`/creators-onboard retry`" in text
    assert (REDEPLOY in by_id) == redeploy
    assert ("/creators-onboard retry redeploy" in text) == redeploy
    if redeploy:
        assert by_id[REDEPLOY]["text"]["text"] == "Redeploy dev"
        assert "style" not in by_id[REDEPLOY]
        ref = decode_value(by_id[REDEPLOY]["value"])
        assert ref == PartitionButton("rollout-1", "dev", "redeploy")


def test_rollback_differs_for_prod_only() -> None:
    dev = rollback_steps(ctx("dev"))
    prod = rollback_steps(ctx("prod", "us-east-2"))
    assert len(prod) == len(dev) + 1
    assert not any("us-east-2" in line for line in dev)
    for steps in (dev, prod):
        joined = "\n".join(steps)
        assert "Retry button" in joined and "Abort rollout" in joined
        assert "/creators-onboard verify" in joined and "retry redeploy" in joined
    assert "stage, demo, prod" in dev[0]


@pytest.mark.parametrize("failed", ["dispatch", "run", "follow", "amplify", "smoke"])
def test_rollback_reads_a_failed_run_only_when_the_run_failed(failed: str) -> None:
    log = "https://github.com/Arda-cards/infrastructure/actions/runs/7000001/job/70000011"
    steps = rollback_steps(
        replace(ctx("dev"), failed_check=failed, failed_at="job deploy, step Deploy", log_url=log)
    )
    joined = "\n".join(steps)
    assert ("failed at job deploy, step Deploy" in joined) == (failed == "run")
    assert (f"<{log}|its log>" in joined) == (failed == "run")
    assert "which job failed" not in joined
    if failed in ("amplify", "smoke"):
        assert "run succeeded" in joined
    assert ("AMAZON_ASSOCIATE_TAG" in joined) == (failed == "amplify")


def test_rolling_back_a_credential_restores_the_vault_before_re_running() -> None:
    """amm.sh reads 1Password when it runs: re-running an old run deploys today's values."""
    joined = "\n".join(rollback_steps(ctx("stage")))
    assert "vault's *current* values" in joined
    assert "`Arda-StageOAM`" in joined and "*View Item History*" in joined
    restore = joined.index("restore the previous values")
    assert restore < joined.index("re-run that last successful `amm.yml` run")


@pytest.mark.parametrize("failed", ["dispatch", "run", "follow", "amplify", "smoke"])
def test_rollback_names_only_buttons_the_halt_card_shows(failed: str) -> None:
    """The procedure's "new run" is the card's own button: *Redeploy* exists only where
    Retry would not dispatch; after a failed run the card's Retry is the new run; after a
    failed dispatch only the command is sure to start a new one."""
    steps = rollback_steps(replace(ctx("dev"), failed_check=failed))
    joined = "\n".join(steps)
    labels = {b["text"]["text"] for b in buttons(check(dev_halt(failed, steps)))}
    named = set(re.findall(r"press \*([^*]+)\*", joined))
    assert named, joined
    assert named <= labels, (named, labels)
    assert "/creators-onboard retry redeploy" in joined
    # GitHub offers Re-run for 30 days: past that, the procedure's other way.
    assert "30 days" in joined


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
    assert "<!date^1735693200^" in text and "amm.yml" in text and "smoke test" in text
    assert "2025-01-01T01:00:00+00:00" not in text  # each reader sees their own time
    assert not buttons(dicts)


def test_complete_names_every_partition_with_its_timestamp() -> None:
    stamps = [(p, f"2025-01-0{i + 1}T00:00:00+00:00") for i, p in enumerate(ORDER)]
    dicts = check(complete_blocks(stamps))
    text = json.dumps(dicts, ensure_ascii=False)
    assert COMPLETE_TEXT in text
    for name, when in stamps:
        assert name in text and slack_date(when) in text and when not in text
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
    assert "runs/2|run>" in text and slack_date("2025-01-01T01:00:00+00:00") in text


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


# ------------------------------------------------------------ progress, who acts now


RUN_URL = "https://github.com/Arda-cards/infrastructure/actions/runs/7"


@pytest.mark.parametrize(
    ("progress", "expected"),
    [
        (None, "🔄 `amm.yml` for *dev*: <" + RUN_URL + "|run 7>. I'm following it."),
        (
            RunProgress(status="queued", run_started=T0, at="2025-01-01T00:00:40+00:00"),
            "🕒 `amm.yml` for *dev*: <" + RUN_URL + "|run 7> is queued, waiting for a runner "
            "(40 s so far).",
        ),
        (
            RunProgress(
                status="in_progress",
                job="deploy",
                step="Check for drift",
                run_started=T0,
                at="2025-01-01T00:02:05+00:00",
            ),
            "🔄 `amm.yml` for *dev*: <" + RUN_URL + "|run 7> is running job *deploy*, step "
            "*Check for drift* (2 min 05 s so far).",
        ),
        (
            RunProgress(
                status="completed",
                conclusion="success",
                run_started=T0,
                at="2025-01-01T01:02:00+00:00",
            ),
            "✅ `amm.yml` for *dev*: <" + RUN_URL + "|run 7> succeeded after 1 h 02 min.",
        ),
        (
            RunProgress(
                status="completed",
                conclusion="failure",
                job="deploy",
                step="Check for drift",
                run_started=T0,
                at="2025-01-01T00:03:00+00:00",
            ),
            "❌ `amm.yml` for *dev*: <" + RUN_URL + "|run 7> ended with 'failure' at job "
            "*deploy*, step *Check for drift* after 3 min 00 s.",
        ),
    ],
)
def test_the_run_message_says_where_the_run_stands_and_for_how_long(
    progress: RunProgress | None, expected: str
) -> None:
    assert run_message("dev", 7, RUN_URL, progress) == expected


def test_slack_dates_show_each_reader_their_own_time() -> None:
    assert slack_date(T0) == "<!date^1735689600^{date_short_pretty} at {time}|2025-01-01 00:00 UTC>"
    assert slack_date("2025-01-01T02:00:00+02:00").startswith("<!date^1735689600^")
    assert slack_date("not a time") == "not a time"
    assert duration(T0, "2025-01-01T00:00:09+00:00") == "9 s"
    assert duration(None, T0) is None


def test_status_says_who_acts_now_and_since_when() -> None:
    waiting = state(history=[Transition(at=T0, actor=DEVOPS, action="x", from_step="verify")])
    assert f"Waiting on <@{DEVOPS}> (devOps) since <!date^1735689600^" in status_summary(
        waiting, RUNBOOK
    )
    busy = state()
    dev = busy.partition("dev")
    assert dev is not None
    dev.status, dev.stage, dev.started_at = "running", "run", "2025-01-01T00:10:00+00:00"
    dev.progress = RunProgress(status="in_progress", job="deploy", step="Deploy", at=T0)
    summary = status_summary(busy, RUNBOOK)
    assert "The bot is following the `amm.yml` run of *dev* (job *deploy*, step *Deploy*)" in (
        summary
    )
    assert "since <!date^1735690200^" in summary and "Waiting" not in summary
    # Nobody has anything to press while the bot works.
    assert pending_for(busy, RUNBOOK, DEVOPS) == []
    dev.stage = "smoke"
    assert "The bot is smoke-testing *dev*" in status_summary(busy, RUNBOOK)


@pytest.mark.parametrize("gate", [None, 438])
def test_the_deploy_gate_mentions_the_pull_request_only_when_one_gates_it(
    gate: int | None,
) -> None:
    from bot.blocks.steps import step_blocks
    from bot.workflows.threads import render_context

    github = {"pull_request": gate} if gate else {}
    config = FileConfig.model_validate({**CONFIG.model_dump(), "github": github})
    blocks = step_blocks(RUNBOOK.step("deploy_gate"), "rollout-1", render_context(state(), config))
    text = json.dumps(check(blocks), ensure_ascii=False)
    assert ("pull request #438 in Arda-cards/infrastructure is merged" in text) == bool(gate)
    assert "PR is merged" not in text and "{pr_gate}" not in text


def test_the_owners_home_is_in_plain_words_and_lists_past_rollouts() -> None:
    current = state(step="deploy_gate", rollout_id="rollout-2")
    dev = current.partition("dev")
    assert dev is not None
    dev.status, dev.stage, dev.started_at = "running", "smoke", T0
    aborted = state(rollout_id="rollout-1", status="aborted", abort_reason="wrong account")
    done = state(rollout_id="rollout-0", status="complete", kind="rotation")
    past = [aborted, done]
    owner = json.dumps(
        check(
            home_blocks(current, RUNBOOK, viewer=OWNER, config=CONFIG, past=past), max_blocks=100
        ),
        ensure_ascii=False,
    )
    assert "The bot is setting things up. Nothing for you to do right now" in owner
    for jargon in ("rollout-", "Partitions", "smoke", "dev"):
        assert jargon not in owner, jargon
    assert "Onboarding: stopped" in owner and "wrong account" in owner
    assert "Credential rotation: complete" in owner
    devops = json.dumps(
        to_dicts(home_blocks(current, RUNBOOK, viewer=DEVOPS, config=CONFIG, past=past)),
        ensure_ascii=False,
    )
    assert "Partitions" in devops and "`rollout-1` Onboarding: stopped" in devops
    assert "The bot is smoke-testing *dev*" in devops
