"""The audit trail, readable: `/creators-onboard audit` shows the last transitions and
refusals, App Home lists past rollouts with their outcome, and `creators-onboard audit`
exports the trail as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json

from bot.audit import export
from tests.scenario import DEVOPS, OWNER, STRANGER, World, eventually
from tests.scenarios.test_handover import start
from tests.scenarios.test_preflight_truth import run_cli

REASON = "the owner is changing the Associates account"


async def abort_after_a_refusal(world: World) -> None:
    await start(world)
    await world.wait_step("prereq")
    answer = await world.command("verify", STRANGER)  # refused: not devOps
    assert ":no_entry:" in answer["text"]
    answer = await world.command(f"abort {REASON}", DEVOPS)
    assert "On it" in answer["text"]
    await world.wait(lambda s: s.status == "aborted", "the abort")


async def test_audit_command_shows_transitions_and_refusals_to_devops_only(world: World) -> None:
    async with world.bot():
        await abort_after_a_refusal(world)
        answer = await eventually(
            lambda: _audit(world, "audit 1"), what="the abort in the audit trail"
        )
        text = json.dumps(answer["blocks"], ensure_ascii=False)
        assert "Audit trail of rollout-1" in text
        assert f"<@{DEVOPS}> · *start* (done)" in text
        assert f"<@{STRANGER}> · *verify* (refused)" in text
        assert "*abort* (done)" in text and REASON in text
        assert "<!date^" in text  # each reader's own time
        assert "creators-onboard audit --rollout rollout-1 --format csv" in text
        # Without a rollout: the latest one. The owner may not read it.
        latest = await world.command("audit", DEVOPS)
        assert "Audit trail of rollout-1" in json.dumps(latest.get("blocks", []))
        refused = await world.command("audit", OWNER)
        assert refused["text"].startswith(":no_entry:") and "devOps" in refused["text"]
        missing = await world.command("audit 9", DEVOPS)
        assert "no audit trail of rollout-9" in missing["text"]


async def _audit(world: World, text: str) -> dict[str, object] | None:
    answer = await world.command(text, DEVOPS)
    return answer if "*abort* (done)" in json.dumps(answer.get("blocks", [])) else None


async def test_app_home_lists_past_rollouts_with_their_outcome(world: World) -> None:
    async with world.bot():
        await abort_after_a_refusal(world)
        answer = await world.command("start", DEVOPS)
        assert "rollout-2 started" in answer["text"]
        await world.wait_step("prereq", rollout_id="rollout-2")

        def past(user: str) -> str | None:
            view = world.slack.home_view(user)
            text = json.dumps(view["blocks"], ensure_ascii=False) if view else ""
            return text if "Past rollouts" in text else None

        for user in (DEVOPS, OWNER):
            await world.open_home(user)
        devops = await eventually(lambda: past(DEVOPS), what="devOps' Home with past rollouts")
        assert "`rollout-1` Onboarding: stopped" in devops and REASON in devops
        owner = await eventually(lambda: past(OWNER), what="the owner's Home")
        assert "Onboarding: stopped" in owner and "rollout-1" not in owner.split("Past")[1]


async def test_the_trail_exports_as_csv_and_json(world: World) -> None:
    async with world.bot():
        await abort_after_a_refusal(world)
    out = io.StringIO()
    assert await export(world.settings(), rollout="1", fmt="csv", out=out) == 0
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == ["at", "rollout_id", "actor", "action", "outcome", "detail"]
    assert {r["rollout_id"] for r in rows} == {"rollout-1"}
    actions = [(r["actor"], r["action"], r["outcome"]) for r in rows]
    assert (STRANGER, "verify", "refused") in actions and (DEVOPS, "abort", "done") in actions
    out = io.StringIO()
    await export(world.settings(), rollout="rollout-1", fmt="json", out=out)
    assert json.loads(out.getvalue()) == rows

    # The command line, as an operator runs it.
    code, stdout, stderr = await run_cli(
        "audit", "--rollout", "1", "--format", "json", env=world.env(), cwd=world.tmp
    )
    assert code == 0, stderr
    assert json.loads(stdout) == rows


async def test_export_from_a_database_the_bot_never_used_says_so(world: World) -> None:
    world.database_url = f"sqlite:///{world.tmp / 'empty.sqlite'}"
    try:
        await export(world.settings(), rollout=None, fmt="csv", out=io.StringIO())
    except SystemExit as exc:
        assert "the bot has not run on this database yet" in str(exc.code)
    else:
        raise AssertionError("expected the export to stop")
