"""Phases 7–9, the rest of the contract: Amplify, App Home, smoke on demand, abort,
refusals, the prod halt card and the one rollout-log comment on PDEV-446."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from bot.blocks.deploy import OWNER_COMPLETE_TEXT
from bot.blocks.ids import ABORT, DEPLOY, RETRY
from bot.integrations.amplify import AmplifyChecker
from bot.integrations.linear import comment_id_for
from bot.runbook import load_runbook
from bot.sandbox.fakes.amplify import APP_ID, app_response, branch_response
from tests.scenario import DEVOPS, ENG, OWNER, PLANTED_SECRET, World, eventually
from tests.scenarios.test_handover import start
from tests.scenarios.test_rollout import deploy, to_gate, wait_partition

AMPLIFY_SECRET = "AMPLIFY-planted-secret-value-4b3c2a1d"
RUNBOOK = load_runbook()


# --------------------------------------------------------------------------- helpers


def devops_thread(world: World) -> list[Any]:
    """Replies in devOps's rollout thread (the DM parent excluded)."""
    dm = world.dm(DEVOPS)
    parent = next(m for m in world.slack.messages(dm) if not m.thread_ts)
    return world.slack.thread(dm, parent.ts)


def responses(world: World, user: str = DEVOPS) -> list[str]:
    return [str(r.get("text") or "") for r in world.slack.responses(f"cmd-{user}")]


async def refused(world: World, answer: dict[str, Any], needle: str) -> str:
    """The refusal naming `needle`: in the command's ack or later by its response_url."""
    if needle in answer.get("text", ""):
        return str(answer["text"])
    found: list[str] = await eventually(
        lambda: [t for t in responses(world) if needle in t], what=f"a refusal with {needle!r}"
    )
    return found[-1]


def eng_thread(world: World, status_ts: str) -> str:
    return "\n".join(m.text or "" for m in world.slack.thread(ENG, status_ts))


# --------------------------------------------------------------------- 1. Amplify


def amplify_stub(app_vars: dict[str, str], branch_vars: dict[str, str]) -> tuple[Any, Stubber]:
    client = boto3.client(
        "amplify",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-real-key",
    )
    stubber = Stubber(client)
    stubber.add_response("get_app", app_response(app_vars), {"appId": APP_ID})
    stubber.add_response(
        "get_branch", branch_response(branch_vars), {"appId": APP_ID, "branchName": "main"}
    )
    stubber.activate()
    return client, stubber


def with_dev_amplify(world: World) -> None:
    partitions = world.config()["partitions"]
    partitions[0]["amplify"] = {"app_id": APP_ID, "branch": "main"}
    world.config_overrides["partitions"] = partitions


@pytest.mark.usefixtures("aws_credentials")
@pytest.mark.parametrize("case", ["all_four", "tag_missing"])
async def test_amplify_check_in_the_rollout(
    world: World, case: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with_dev_amplify(world)
    # The app holds three; the branch overlays the secret (and, in case A, the tag).
    app_vars = {
        "AMAZON_CREATORS_CREDENTIAL_ID": "amzn1.application-oa2-client.0123abcd",
        "AMAZON_CREATORS_CREDENTIAL_SECRET": "stale-app-level-value",
        "AMAZON_CREATORS_CREDENTIAL_VERSION": "3.1",
        "OTHER_SETTING": "x",
    }
    branch_vars = {"AMAZON_CREATORS_CREDENTIAL_SECRET": AMPLIFY_SECRET}
    if case == "all_four":
        branch_vars["AMAZON_ASSOCIATE_TAG"] = "arda-20"
    regions: list[str] = []
    client, stubber = amplify_stub(app_vars, branch_vars)

    def factory(region: str) -> Any:
        regions.append(region)
        return client

    async with world.bot() as running:
        running.deps.amplify = AmplifyChecker(client_factory=factory)
        await to_gate(world)
        await deploy(world, "dev")
        if case == "all_four":
            state = await wait_partition(world, "dev", "green")
            text = world.texts(world.dm(DEVOPS))
            assert "Amplify" in text and "the four AMAZON_* variables are set" in text
            await world.wait_button(DEVOPS, DEPLOY)  # the stage gate opened
        else:
            state = await world.wait(lambda s: s.status == "halted", "the Amplify halt")
            dev = state.partition("dev")
            assert dev.status == "red" and dev.failed_check == "amplify"
            await world.wait_text(world.dm(DEVOPS), "Rollout halted at dev")
            halt = next(m for m in devops_thread(world) if "Rollout halted at dev" in m.text)
            card = json.dumps(halt.blocks, ensure_ascii=False)
            assert "AMAZON_ASSOCIATE_TAG" in card
            assert "AMAZON_CREATORS_CREDENTIAL_ID" not in card.split("Rollback procedure")[0]
            await eventually(
                lambda: [c for c in world.linear.comments_on("PDEV-446") if "HALTED" in c.body],
                what="the HALTED comment",
            )
        stubber.assert_no_pending_responses()  # get_app and get_branch were both read
        assert regions == ["us-east-1"]
        assert [d["inputs"]["partition"] for d in world.github.dispatches] == ["dev"]

    logs = caplog.text + "\n".join(capsys.readouterr())
    assert "amplify_checked" in logs  # the capture did see the Amplify check's log line
    everything = "\n".join(
        [
            json.dumps([c.args for c in world.slack.calls()], ensure_ascii=False),
            json.dumps([[r.document, r.variables] for r in world.linear.requests]),
            json.dumps([r.body for r in world.github.requests], default=str),
            logs,
        ]
    )
    assert AMPLIFY_SECRET not in everything
    assert "stale-app-level-value" not in everything
    assert PLANTED_SECRET not in everything
    database = Path(world.database_url.removeprefix("sqlite:///")).read_bytes()
    assert AMPLIFY_SECRET.encode() not in database


# --------------------------------------------------------------------- 2. App Home


def home_text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def pending(view: dict[str, Any]) -> str:
    found = [
        b["text"]["text"]
        for b in view["blocks"]
        if b["type"] == "section" and b["text"]["text"].startswith("*Your pending actions*")
    ]
    assert len(found) == 1, view["blocks"]
    return str(found[0])


async def test_app_home_shows_the_board_and_the_viewers_own_pending_actions(world: World) -> None:
    async with world.bot():
        await start(world)
        await world.wait_step("prereq")
        prereq = RUNBOOK.step("prereq").title
        for user in (OWNER, DEVOPS):
            before = len(world.slack.home_views(user))
            status, _ = await world.event(
                {
                    "type": "app_home_opened",
                    "user": user,
                    "channel": world.dm(user),
                    "tab": "home",
                    "event_ts": f"{datetime.now(UTC).timestamp():.6f}",
                }
            )
            assert status == 200
            await eventually(
                lambda u=user, n=before: len(world.slack.home_views(u)) > n,  # type: ignore[misc]
                what=f"views.publish for {user}",
            )
        owner_view = world.slack.home_view(OWNER)
        devops_view = world.slack.home_view(DEVOPS)
        assert owner_view is not None and devops_view is not None
        assert prereq in pending(owner_view)
        assert "Nothing is waiting on you" in pending(devops_view)
        assert "rollout-1" in home_text(devops_view) and "Partitions" in home_text(devops_view)
        # The owner's Home speaks plainly: no ids, no partitions.
        assert "rollout-1" not in home_text(owner_view)
        assert "Partitions" not in home_text(owner_view)
        for view in (owner_view, devops_view):
            assert len(view["blocks"]) <= 100

        # Each change republishes both people's Home tabs.
        counts = {u: len(world.slack.home_views(u)) for u in (OWNER, DEVOPS)}
        await world.click(OWNER, "co:eligible")
        await world.wait_step("register_sign_in")
        for user in (OWNER, DEVOPS):
            await eventually(
                lambda u=user: len(world.slack.home_views(u)) > counts[u],  # type: ignore[misc]
                what=f"a republished Home for {user}",
            )
        sign_in = RUNBOOK.step("register_sign_in").title
        await eventually(
            lambda: sign_in in pending(world.slack.home_view(OWNER) or {"blocks": []}),
            what="the owner's Home naming the new step",
        )
        assert "Nothing is waiting on you" in pending(world.slack.home_view(DEVOPS) or {})
        for user in (OWNER, DEVOPS):
            for view in world.slack.home_views(user):
                assert len(view["blocks"]) <= 100
        world.slack.assert_no_violations()


# --------------------------------------------------------------- 3. smoke on demand


async def test_smoke_on_demand_after_dev_is_green_and_refused_before_a_deploy(
    world: World,
) -> None:
    async with world.bot():
        await to_gate(world)
        await deploy(world, "dev")
        await wait_partition(world, "dev", "green")
        bff_before = len(world.bff.requests_for("dev"))
        replies_before = len(devops_thread(world))

        answer = await world.command("smoke dev", DEVOPS)
        assert "On it" in answer["text"], answer
        report = await eventually(
            lambda: [m for m in devops_thread(world) if m.text == "Smoke test of dev: green"],
            what="the on-demand smoke report in devOps's thread",
        )
        fresh = world.bff.requests_for("dev")[bff_before:]
        assert any("B08N5WRWNW" in (r.url or "") for r in fresh), fresh
        assert len(devops_thread(world)) > replies_before
        assert "*Smoke test of dev* — green" in json.dumps(report[0].blocks, ensure_ascii=False)

        # Never deployed in this rollout: refused with the reason, nothing called.
        stage_before = len(world.bff.requests_for("stage"))
        answer = await world.command("smoke stage", DEVOPS)
        why = await refused(world, answer, "has not been deployed")
        assert "stage" in why
        assert len(world.bff.requests_for("stage")) == stage_before
        state = await world.state()
        assert state.partition("stage").status == "pending"
        assert [d["inputs"]["partition"] for d in world.github.dispatches] == ["dev"]


# -------------------------------------------------------------------------- 4. abort


async def _halt_at_dev(world: World) -> None:
    world.github.set_conclusion(inputs={"partition": "dev"}, conclusion="failure")
    await to_gate(world)
    await deploy(world, "dev")
    await world.wait(lambda s: s.status == "halted", "the dev halt")


async def _assert_aborted(world: World, reason: str) -> None:
    state = await world.wait(lambda s: s.status == "aborted", "the abort")
    assert reason in (state.abort_reason or "")
    for channel in (world.dm(OWNER), world.dm(DEVOPS), ENG):
        await eventually(
            lambda c=channel: reason in world.texts(c),  # type: ignore[misc]
            what=f"the abort reason in {channel}",
        )
    comments = await eventually(
        lambda: [c for c in world.linear.comments_on("PDEV-446") if "aborted" in c.body],
        what="the abort comment on PDEV-446",
    )
    assert reason in comments[0].body
    assert [d["inputs"]["partition"] for d in world.github.dispatches] == ["dev"]
    # A new rollout can start now.
    answer = await world.command("start", DEVOPS)
    assert "rollout-2 started" in answer["text"], answer
    await world.wait_step("prereq", rollout_id="rollout-2")


async def test_abort_command_while_halted_then_a_new_rollout(world_db: World) -> None:
    world = world_db
    async with world.bot():
        await _halt_at_dev(world)
        reason = "the owner is changing the Associates account"
        answer = await world.command(f"abort {reason}", DEVOPS)
        assert "On it" in answer["text"], answer
        await _assert_aborted(world, reason)


async def test_abort_button_on_the_halt_card(world: World) -> None:
    async with world.bot():
        await _halt_at_dev(world)
        message, button = await world.wait_button(DEVOPS, ABORT)
        assert button["text"]["text"] == "Abort rollout" and button.get("style") == "danger"
        status, _ = await world.press(DEVOPS, button, message)
        assert status == 200
        await _assert_aborted(world, "Abort pressed on the dev halt card")


# ------------------------------------------------------------------------ 5. refusals


async def test_refusals_name_the_reason_and_change_nothing(world: World) -> None:
    world.github.script_run(
        {"partition": "dev"}, ["queued"] + ["in_progress"] * 200 + ["completed:success"]
    )
    async with world.bot():
        await to_gate(world)
        gate_message, gate_button = await world.wait_button(DEVOPS, DEPLOY)
        await deploy(world, "dev")
        await wait_partition(world, "dev", "running")
        before = await world.state()
        await eventually(lambda: world.github.runs, what="the dev run")

        # While dev runs: another partition, and dev again (a second press), are refused.
        answer = await world.command("deploy stage", DEVOPS)
        why = await refused(world, answer, "dev is deploying")
        assert "wait for it to finish" in why
        status, _ = await world.press(DEVOPS, gate_button, gate_message, response_id="again")
        assert status == 200
        again = await eventually(lambda: world.slack.responses("again"), what="press refusal")
        assert "dev is deploying" in again[0]["text"]
        now = await world.state()
        assert now.partition("dev").status == "running" and now.history == before.history
        assert now.partition("stage").status == "pending"
        assert len(world.github.dispatches) == 1

        # Let the run conclude.
        (run,) = world.github.runs.values()
        run.states = ["completed:success"]
        await wait_partition(world, "dev", "green")
        green = await world.state()

        answer = await world.command("retry", DEVOPS)
        await refused(world, answer, "Nothing is halted")
        answer = await world.command("deploy prod", DEVOPS)
        why = await refused(world, answer, "Out of order")
        assert "dev → stage → demo → prod" in why and "*stage*" in why
        answer = await world.command("deploy dev", DEVOPS)
        await refused(world, answer, "dev is already green")

        after = await world.state()
        assert after.history == green.history
        assert [p.status for p in after.partitions] == ["green", "pending", "pending", "pending"]
        assert [d["inputs"]["partition"] for d in world.github.dispatches] == ["dev"]


# ------------------------------------ 6 + 7. prod halt card, rollout log, completion


async def test_prod_halt_card_then_retry_completes_with_one_rollout_log(world: World) -> None:
    # The prod drift check aborts the run (the seeds' learnings).
    world.github.set_conclusion(
        inputs={"partition": "prod"}, conclusion="failure", fail_step="Check for drift"
    )
    async with world.bot():
        await to_gate(world)
        for partition in ("dev", "stage", "demo", "prod"):
            await deploy(world, partition)
            if partition != "prod":
                await wait_partition(world, partition, "green")
        state = await world.wait(lambda s: s.status == "halted", "the prod halt")
        assert state.partition("prod").failed_check == "run"

        # 6. The halt card: us-east-2 and the rollback procedure for prod.
        await world.wait_text(world.dm(DEVOPS), "Rollout halted at prod")
        halt = next(m for m in devops_thread(world) if "Rollout halted at prod" in m.text)
        card = json.dumps(halt.blocks, ensure_ascii=False)
        assert "Rollback procedure for prod" in card
        assert "us-east-2" in card and "Alpha001" in card
        assert "Deploy prod again" in card and "Abort rollout" in card
        assert "no later partitions" in card
        # The failing job and step, with the job's log.
        assert "*Failed at:* job *deploy*, step *Check for drift*" in card
        run_id = state.partition("prod").run_id
        assert f"/actions/runs/{run_id}/job/" in card and "|its log>" in card
        assert "at Check for drift" in (state.halt_reason or "")
        halted_comments = await eventually(
            lambda: [c for c in world.linear.comments_on("PDEV-446") if "HALTED at prod" in c.body],
            what="the HALTED comment",
        )
        assert "Symptom:" in halted_comments[0].body and "Fix:" in halted_comments[0].body
        assert state.status_ts
        assert "Rollout halted at *prod*" in eng_thread(world, state.status_ts)
        # devOps opens the bot's Home tab: it is drawn then, from the current state.
        home = {"type": "app_home_opened", "user": DEVOPS, "channel": "D0DEVOPS1", "tab": "home"}
        assert (await world.event(home))[0] == 200
        await eventually(
            lambda: (
                "Decide on the halt" in home_text(world.slack.home_view(DEVOPS) or {"blocks": []})
            ),
            what="devOps's Home asking for a decision",
        )

        # Retry prod after the cause is fixed: completion.
        world.github.set_conclusion(inputs={"partition": "prod"}, conclusion="success")
        await world.click(DEVOPS, RETRY)
        state = await world.wait(lambda s: s.status == "complete", "completion", timeout=40)
        assert [d["inputs"]["partition"] for d in world.github.dispatches] == [
            "dev",
            "stage",
            "demo",
            "prod",
            "prod",
        ]
        await eventually(
            lambda: OWNER_COMPLETE_TEXT in world.texts(world.dm(OWNER)), what="the owner told"
        )

        # 7. One rollout-log comment: created once, then kept current with commentUpdate.
        log_id = comment_id_for("rollout-1", "rollout-log")
        stamps = [p.finished_at for p in state.partitions]
        assert all(stamps)

        def final_log() -> bool:
            log = world.linear.comments.get(log_id)
            return log is not None and all(f"green at {s}" in log.body for s in stamps)

        await eventually(final_log, what="the rollout log with four timestamps")
        creates = [
            r
            for r in world.linear.requests
            if r.operation_name == "CommentCreate" and r.variables["input"]["id"] == log_id
        ]
        assert len(creates) == 1
        first = world.linear.requests.index(creates[0])
        updates_after = [
            r
            for r in world.linear.requests[first + 1 :]
            if r.operation_name == "CommentUpdate" and r.variables["id"] == log_id
        ]
        # dev green created it; stage, demo green, the prod halt and prod green updated it.
        assert len(updates_after) == 4
        log_comments = [c for c in world.linear.comments_on("PDEV-446") if "deploy log" in c.body]
        assert len(log_comments) == 1
        body = log_comments[0].body
        for p in state.partitions:
            assert f"- {p.name}: green at {p.finished_at}" in body
