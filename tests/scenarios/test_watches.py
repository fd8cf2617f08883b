"""The watches, run by hand (`/creators-onboard watch <name>`) against the fakes: what they
tell whom, once per change, and what `status` shows. The schedules themselves (two
processes, one PostgreSQL database, a restart between ticks) are in test_schedules.py."""

from __future__ import annotations

from typing import Any

from bot.blocks.ids import CHECKIN_NO_SALES, CHECKIN_NORMAL, START_ROTATION
from tests.scenario import DEVOPS, ENG, OWNER, VAULTS, World, eventually
from tests.scenarios.test_handover import OWNER_PATH
from tests.scenarios.test_rollout import deploy, to_gate, wait_partition

THROTTLED = "Creators API probe: dev is throttled (quota)"
UNAVAILABLE = "Creators API probe: Amazon is not answering for demo"


def count(world: World, channel: str, needle: str) -> int:
    """How many messages in the channel say `needle` (text or blocks)."""
    return sum(
        1
        for m in world.slack.messages(channel)
        if needle in (m.text or "") or needle in str(m.blocks or "")
    )


async def run(world: World, name: str) -> None:
    answer = await world.command(f"watch {name}", DEVOPS)
    assert "now" in answer["text"], answer


async def runs_done(world: World, name: str, n: int) -> None:
    """Wait until the watch has finished `n` runs (its result shows on the board)."""
    from bot.watches.model import result_names
    from bot.workflows.steps.watch import newest_outcomes

    await eventually(
        lambda: _at_least(newest_outcomes(result_names(name), limit=50), n),  # type: ignore[arg-type]
        what=f"{n} runs of the {name} watch",
    )


async def _at_least(pending: Any, n: int) -> bool:
    return len(await pending) >= n


async def _contains(pending: Any, needle: str) -> bool:
    return needle in await pending


async def test_probe_alerts_once_with_the_diagnosis_and_announces_recovery_once(
    world: World,
) -> None:
    world.bff.set_behaviour("dev", "error:AMAZON_RATE_LIMITED")
    world.bff.set_behaviour("demo", "error:AMAZON_UPSTREAM_UNAVAILABLE")
    async with world.bot():
        await run(world, "probe")
        await runs_done(world, "probe", 1)
        devops, owner = world.dm(DEVOPS), world.dm(OWNER)
        # Throttling is devOps' (quota); Amazon not answering may be lost eligibility, so the
        # accountOwner hears it too. Each alert carries its diagnosis card.
        text = await world.wait_text(devops, THROTTLED)
        for fact in ("*Symptom:*", "AMAZON_RATE_LIMITED", "8,640 calls a day", "tell engineering"):
            assert fact in text, fact
        owner_text = await world.wait_text(owner, UNAVAILABLE)
        assert "Link Type Performance" in owner_text and "API Rates page" in owner_text
        assert THROTTLED not in owner_text
        await world.wait_text(ENG, UNAVAILABLE)
        # One import per probed partition, through the 1-per-second queue.
        assert all(len(world.bff.requests_for(p)) == 1 for p in ("dev", "stage", "demo", "prod"))

        await run(world, "probe")  # still throttled: nothing new to say
        await runs_done(world, "probe", 2)
        world.bff.set_behaviour("dev", "ok")
        world.bff.set_behaviour("demo", "ok")
        # Two runs asked for at once queue up (one at a time per watch): the second sees the
        # first's result, so the recovery is said once.
        await run(world, "probe")
        await run(world, "probe")
        await world.wait_text(devops, "*dev* imports again")
        await world.wait_text(owner, "*demo* imports again")
        await runs_done(world, "probe", 4)
        assert count(world, devops, THROTTLED) == 1 and count(world, devops, UNAVAILABLE) == 1
        assert count(world, owner, UNAVAILABLE) == 1 and count(world, owner, THROTTLED) == 0
        assert count(world, devops, "*dev* imports again") == 1
        assert count(world, owner, "*demo* imports again") == 1
        assert count(world, ENG, THROTTLED) == 1

        status = await world.command("status", DEVOPS)
        board = str(status["blocks"])
        assert "Creators API probe" in board and "dev ok · stage ok · demo ok · prod ok" in board
        assert "switched off" in board  # the test's YAML turns the schedules off
    world.slack.assert_no_violations()


async def test_only_devops_runs_a_watch_and_names_are_checked(world: World) -> None:
    async with world.bot():
        refused = await world.command("watch probe", OWNER)
        assert refused["text"].startswith(":no_entry:") and "slack.devops" in refused["text"]
        unknown = await world.command("watch everything", DEVOPS)
        assert "service_account" in unknown["text"]
    assert world.bff.requests == []


async def test_eligibility_check_in_and_what_no_sales_triggers(world: World) -> None:
    async with world.bot():
        await run(world, "eligibility")
        message, button = await world.wait_button(OWNER, CHECKIN_NO_SALES)
        assert "Link Type Performance" in str(message.blocks)
        # Only the accountOwner answers.
        status, _ = await world.press(DEVOPS, button, message, response_id="devops-answer")
        assert status == 200
        await eventually(
            lambda: any(
                "accountOwner" in (r.get("text") or "")
                for r in world.slack.responses("devops-answer")
            ),
            what="the refusal",
        )
        await world.press(OWNER, button, message)
        notice = await world.wait_text(world.dm(DEVOPS), "no qualifying Amazon sales lately")
        for fact in (
            "API Rates page",
            "within 2 days",
            "AMAZON_UPSTREAM_UNAVAILABLE",
            "watch probe",
        ):
            assert fact in notice, fact
        await world.wait_text(ENG, "no qualifying Amazon sales lately")
        await world.wait_text(world.dm(OWNER), "I've let devOps and engineering know")
        # The question loses its buttons; a second press is told it was answered.
        await eventually(lambda: world.find_button(OWNER, CHECKIN_NO_SALES) is None, what="closed")
        await world.press(OWNER, button, message, response_id="again")
        await eventually(
            lambda: any(
                "already answered" in (r.get("text") or "") for r in world.slack.responses("again")
            ),
            what="already answered",
        )

        await run(world, "eligibility")
        await world.click(OWNER, CHECKIN_NORMAL)
        await world.wait_text(world.dm(OWNER), "Nothing else to do")
        assert count(world, world.dm(DEVOPS), "no qualifying Amazon sales lately") == 1

        async def board() -> str:
            return str((await world.command("status", DEVOPS))["blocks"])

        await eventually(
            lambda: _contains(board(), "answered “Sales look normal”"), what="the answer shown"
        )


async def test_service_account_watch_gives_the_token_steps_once_and_the_recovery_once(
    world: World,
) -> None:
    async with world.bot():
        await run(world, "service_account")
        await runs_done(world, "service_account", 1)
        assert count(world, world.dm(DEVOPS), "needs replacing") == 0
        world.op.hide_vault(VAULTS["prod"])
        await run(world, "service_account")
        text = await world.wait_text(world.dm(DEVOPS), "can no longer see: Arda-ProdOAM")
        for fact in ("GitHub organisation secret", "Arda-SystemsOAM", "Revoke the old"):
            assert fact in text, fact
        await world.wait_text(ENG, "can no longer see: Arda-ProdOAM")
        # The token revoked (1Password refuses it): a new alert, for a new reason.
        world.op.state["token"] = "ops_SOMEONE-ELSES-token-000000000000"
        world.op.save()
        await run(world, "service_account")
        await world.wait_text(world.dm(DEVOPS), "no longer accepts OP_SERVICE_ACCOUNT_TOKEN")
        world.op.state["token"] = world.op.token
        world.op.add_vault(VAULTS["prod"])
        await run(world, "service_account")
        await world.wait_text(world.dm(DEVOPS), "sees every vault again")
        await run(world, "service_account")
        await runs_done(world, "service_account", 5)
        assert count(world, world.dm(DEVOPS), "can no longer see") == 1
        assert count(world, world.dm(DEVOPS), "sees every vault again") == 1
    assert world.op.token not in str([c.args for c in world.slack.calls()])


async def test_a_full_rollout_hands_off_then_reminds_to_rotate(world: World) -> None:
    world.config_overrides["watch"] = {
        **{name: {"enabled": False} for name in ("eligibility", "probe", "service_account")},
        "rotation": {"enabled": False, "max_age_days": 0},
    }
    async with world.bot():
        await run(world, "rotation")
        await runs_done(world, "rotation", 1)  # nothing completed yet: nothing to rotate
        await to_gate(world)
        for partition in ("dev", "stage", "demo", "prod"):
            await deploy(world, partition)
            await wait_partition(world, partition, "green")
        await world.wait(lambda s: s.status == "complete", "completion")

        # The hand-off: to both people, each item naming its owner …
        owner_mark = f"owner: <@{OWNER}> (accountOwner)"
        devops_mark = f"owner: <@{DEVOPS}> (devOps)"
        # The owner reads their own items in full, and devOps' part in plain words, naming
        # devOps as its owner; devOps reads every item.
        owners_part = f"<@{DEVOPS}> (devOps) looks after the rest"
        text = await world.wait_text(world.dm(OWNER), "What's yours to keep")
        assert owner_mark in text and owners_part in text
        for fact in ("Link Type Performance", "API Rates page"):
            assert fact in text, fact
        text = await world.wait_text(world.dm(DEVOPS), "What's yours to keep")
        assert owner_mark in text and devops_mark in text
        for fact in ("Link Type Performance", "8,640 calls a day", "API Rates page"):
            assert fact in text, fact
        # … on PDEV-446 …
        comment = await eventually(
            lambda: [
                c for c in world.linear.comments_on("PDEV-446") if "each of you keeps" in c.body
            ],
            what="the hand-off comment",
        )
        body = comment[0].body
        assert "(owner: accountOwner)" in body and "(owner: devOps)" in body
        # … and on App Home (published when each of them opens it).
        for user in (OWNER, DEVOPS):
            await world.open_home(user)
            home = await eventually(
                lambda u=user: (lambda v: v if v and "What's yours to keep" in str(v) else None)(  # type: ignore[misc]
                    world.slack.home_view(u)
                ),
                what=f"{user}'s App Home hand-off",
            )
            assert owner_mark in str(home)
            assert (devops_mark if user == DEVOPS else owners_part) in str(home)

        # The credential is "old" (max_age_days 0): devOps is reminded, with Start rotation.
        await run(world, "rotation")
        reminder = await world.wait_text(world.dm(DEVOPS), "Replacing it now is routine hygiene")
        assert "in place for *0 days*" in reminder
        message, button = await world.wait_button(DEVOPS, START_ROTATION)
        await world.press(DEVOPS, button, message)
        await world.wait_text(world.dm(OWNER), "Why Arda's credential is being replaced")
        await world.wait_text(world.dm(OWNER), "routine hygiene: the credential is old")
        # While the rotation runs, no more reminders.
        await run(world, "rotation")
        await runs_done(world, "rotation", 3)
        assert count(world, world.dm(DEVOPS), "Replacing it now is routine hygiene") == 1
        # The onboarding said nothing of an old credential; the rotation, once complete,
        # tells the owner to delete the one it replaced.
        old_credential = "the credential this rotation replaced still works"
        assert count(world, world.dm(OWNER), old_credential) == 0
        rotation = "rollout-2"
        path = [("rotation_intro", OWNER, "co:ready")]
        path += [(step, OWNER, action) for step, action in OWNER_PATH[3:]]
        path += [("receive", DEVOPS, "co:received"), ("populate", DEVOPS, "co:vaults_populated")]
        for step, user, action in path:
            await world.wait_step(step, rotation)
            await world.click(user, action)
        await world.wait_step("deploy_gate", rotation)
        for partition in ("dev", "stage", "demo", "prod"):
            await deploy(world, partition)

            async def green(name: str = partition) -> bool:
                state = await world.state(rotation)
                return state is not None and state.partition(name).status == "green"

            await eventually(green, timeout=40, what=f"{partition} green")
        text = await world.wait_text(world.dm(OWNER), old_credential)
        assert "*Tools* → *Creators API* → *Arda Cards*" in text and "*Ping devOps*" in text
        assert count(world, world.dm(OWNER), old_credential) == 1
