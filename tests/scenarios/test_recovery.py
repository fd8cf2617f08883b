"""Recovery: Retry repeats the check that failed and what follows it; only a failed run
(or an explicit Redeploy) dispatches `amm.yml` again; every command a halt's fix names is
typed here exactly as written and does what it says."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from bot.blocks.ids import DEPLOY, REDEPLOY, RETRY
from bot.integrations.amplify import AmplifyChecker
from bot.sandbox.fakes.amplify import APP_ID, app_response, branch_response
from tests.scenario import DEVOPS, World, eventually
from tests.scenarios.test_rollout import deploy, to_gate, wait_partition
from tests.scenarios.test_rollout_more import amplify_stub, devops_thread, with_dev_amplify

COMMAND = re.compile(r"`(/creators-onboard [^`]+)`")
FOUR = {
    "AMAZON_CREATORS_CREDENTIAL_ID": "amzn1.application-oa2-client.0123abcd",
    "AMAZON_CREATORS_CREDENTIAL_SECRET": "a-secret-value",
    "AMAZON_CREATORS_CREDENTIAL_VERSION": "3.1",
    "AMAZON_ASSOCIATE_TAG": "arda-20",
}


def dispatched(world: World) -> list[str]:
    return [d["inputs"]["partition"] for d in world.github.dispatches]


async def halt_card(world: World, partition: str) -> str:
    """The newest halt card's text (blocks included), once it is posted."""

    def newest() -> Any:
        cards = [m for m in devops_thread(world) if f"Rollout halted at {partition}" in m.text]
        return cards[-1] if cards else None

    card = await eventually(newest, what=f"the {partition} halt card")
    return json.dumps(card.blocks, ensure_ascii=False)


async def halt(world: World, failed: str, partition: str = "dev") -> str:
    """Reach the gate, deploy `partition` and wait for it to halt at the `failed` check;
    the halt card's text."""
    await to_gate(world)
    await deploy(world, partition)
    state = await world.wait(lambda s: s.status == "halted", f"the {failed} halt", timeout=40)
    assert state.partition(partition).failed_check == failed
    return await halt_card(world, partition)


def fix_commands(card: str) -> list[str]:
    """The commands the card's *Fix:* line names, as a person would type them."""
    fix = card.split("*Fix:*", 1)[1].split("\\n", 1)[0]
    return COMMAND.findall(fix)


async def type_command(world: World, command: str) -> dict[str, Any]:
    answer = await world.command(command.removeprefix("/creators-onboard "), DEVOPS)
    assert "On it" in answer["text"], answer
    return answer


async def smoke_imports(world: World, partition: str) -> int:
    """Import requests with the token (one per smoke test run)."""
    return len(
        [
            r
            for r in world.bff.requests_for(partition)
            if r.url and "amazon.com/dp/" in r.url and r.auth == "ok"
        ]
    )


async def test_a_smoke_failure_after_a_green_run_then_retry_smokes_again_without_a_dispatch(
    world: World,
) -> None:
    world.bff.set_behaviour("dev", "error:AMAZON_RATE_LIMITED")
    async with world.bot():
        card = await halt(world, "smoke")
        assert "Smoke-test dev again" in card and "Redeploy dev" in card
        # The fix names the command that repeats the smoke test (not `smoke dev`, which
        # only reports).
        assert fix_commands(card) == ["/creators-onboard retry"]
        before = await smoke_imports(world, "dev")

        world.bff.set_behaviour("dev", "ok")
        await type_command(world, "/creators-onboard retry")
        await wait_partition(world, "dev", "green")
        assert await smoke_imports(world, "dev") > before  # the smoke test ran again
        assert dispatched(world) == ["dev"]  # no second dispatch
        green = (await world.state()).partition("dev")
        # No `amplify` section here: the check is listed as not made, not as passed.
        assert [(c.name, c.skipped) for c in green.checks] == [
            ("amm.yml", False),
            ("Amplify", True),
            ("smoke test", False),
        ]
        await eventually(
            lambda: (
                (world.find_button(DEVOPS, DEPLOY) or ({}, {}))[1].get("text", {}).get("text")
                == "Deploy stage"
            ),
            what="the stage gate: the rollout continues",
        )
        assert world.find_button(DEVOPS, RETRY) is None
        world.github.assert_no_violations()
        world.slack.assert_no_violations()


@pytest.mark.usefixtures("aws_credentials")
async def test_an_amplify_failure_then_retry_checks_amplify_again_without_a_dispatch(
    world: World,
) -> None:
    stubber = with_amplify_missing_the_tag_once(world)
    async with world.bot() as running:
        running.deps.amplify = AmplifyChecker(client_factory=lambda region: stubber.client)
        card = await halt(world, "amplify")
        assert "Check Amplify again" in card
        # The variables' fix redeploys (a new run writes them); Retry checks them again.
        assert fix_commands(card) == ["/creators-onboard retry redeploy"]

        await world.click(DEVOPS, RETRY)
        await wait_partition(world, "dev", "green")
        stubber.assert_no_pending_responses()  # Amplify was read a second time
        assert dispatched(world) == ["dev"]
        green = (await world.state()).partition("dev")
        assert [c.name for c in green.checks] == ["amm.yml", "Amplify", "smoke test"]


@pytest.mark.usefixtures("aws_credentials")
async def test_an_amplify_failure_then_retry_redeploy_dispatches_once_and_checks_again(
    world: World,
) -> None:
    stubber = with_amplify_missing_the_tag_once(world)
    async with world.bot() as running:
        running.deps.amplify = AmplifyChecker(client_factory=lambda region: stubber.client)
        (command,) = fix_commands(await halt(world, "amplify"))
        await type_command(world, command)
        await wait_partition(world, "dev", "green")
        assert dispatched(world) == ["dev", "dev"]  # exactly one new run
        stubber.assert_no_pending_responses()


async def test_a_failed_run_then_retry_dispatches_one_new_run(world: World) -> None:
    world.github.set_conclusion(
        inputs={"partition": "dev"}, conclusion="failure", fail_step="Check for drift"
    )
    async with world.bot():
        card = await halt(world, "run")
        assert "Deploy dev again" in card and REDEPLOY not in card  # Retry is the new run
        assert "step *Check for drift*" in card
        assert fix_commands(card) == ["/creators-onboard retry"]
        world.github.set_conclusion(inputs={"partition": "dev"}, conclusion="success")
        await type_command(world, "/creators-onboard retry")
        await wait_partition(world, "dev", "green")
        assert dispatched(world) == ["dev", "dev"]
        first, second = world.github.dispatches
        assert first["run_id"] != second["run_id"]


async def test_a_run_that_could_not_be_followed_is_followed_again_not_dispatched(
    world: World,
) -> None:
    # A run queued longer than the bot waits for it.
    github = world.config()["github"]
    world.config_overrides["github"] = {**github, "run_timeout_minutes": 0.01}
    world.github.script_run({"partition": "dev"}, ["queued"] * 1000)
    async with world.bot():
        card = await halt(world, "follow")
        assert "Follow the run again" in card and "Redeploy dev" in card
        assert fix_commands(card) == ["/creators-onboard retry"]
        assert "resumes following it (no second dispatch)" in card

        (run,) = world.github.runs.values()
        run.states, run.polls = ["in_progress", "completed:success"], 0
        await type_command(world, "/creators-onboard retry")
        await wait_partition(world, "dev", "green")
        assert dispatched(world) == ["dev"]


async def test_a_redeploy_press_after_a_smoke_failure_dispatches_a_new_run(world: World) -> None:
    world.bff.set_behaviour("dev", "error:AMAZON_UPSTREAM_UNAVAILABLE")
    async with world.bot():
        await halt(world, "smoke")
        world.bff.set_behaviour("dev", "ok")
        message, button = await world.wait_button(DEVOPS, REDEPLOY)
        assert button["text"]["text"] == "Redeploy dev"
        status, _ = await world.press(DEVOPS, button, message)
        assert status == 200
        await wait_partition(world, "dev", "green")
        assert dispatched(world) == ["dev", "dev"]
        # The used halt card lost both buttons.
        assert world.find_button(DEVOPS, REDEPLOY) is None
        assert world.find_button(DEVOPS, RETRY) is None


@pytest.mark.parametrize("case", ["denied", "not_appeared", "not_appeared, bot clock ahead"])
async def test_a_failed_dispatch_then_retry_starts_or_adopts_exactly_one_run(
    world: World, case: str
) -> None:
    if case.endswith("bot clock ahead"):
        # The late run is dated before the press: its date cannot say it is the one.
        world.github.clock_offset = -30.0
    if case == "denied":
        world.github.deny_write = True
    else:
        # GitHub accepts the dispatch (204) but the run shows up only after the bot gave up
        # looking: Retry must adopt it, not dispatch a second one.
        world.github.mode = "204"
        world.github.appear_after_lists = 1000
    async with world.bot():
        card = await halt(world, "dispatch")
        assert "Retry the dispatch" in card
        assert fix_commands(card) == ["/creators-onboard retry"]
        world.github.deny_write = False
        world.github.appear_after_lists = 0
        for run in world.github.runs.values():
            run.hidden_lists = 0
        await type_command(world, "/creators-onboard retry")
        await wait_partition(world, "dev", "green")
        # denied: the first run is the retry's; not appeared: the late run was adopted.
        assert len(world.github.dispatches) == 1 and len(world.github.runs) == 1


async def test_a_retried_dispatch_with_the_bot_clock_ahead_adopts_its_own_run_only(
    world_db: World,
) -> None:
    """GitHub's clock 30 s behind the bot's. dev's dispatch is refused, then its retry is
    answered 502 though GitHub started the run: that run, dated before the press, is the
    one followed, with no second dispatch; a dev run that was there 20 s before the press
    is not taken for it."""
    world = world_db
    world.github.clock_offset = -30.0
    there = world.github.add_run(
        inputs={"partition": "dev"},
        created_at=world.github.now() - timedelta(seconds=20),
        states=["completed:success"],
    )
    world.github.deny_write = True
    async with world.bot():
        await halt(world, "dispatch")
        world.github.deny_write = False
        world.github.fail_next("/dispatches$", status=502, after=True)
        await type_command(world, "/creators-onboard retry")
        state = await wait_partition(world, "dev", "green")
        (started,) = world.github.dispatches
        assert state.partition("dev").run_id == started["run_id"] != there.id  # type: ignore[attr-defined]
        assert len(world.github.requests_to("/dispatches$", "POST")) == 2  # refused, then 502
        world.github.assert_no_violations()


def with_amplify_missing_the_tag_once(world: World) -> Any:
    """dev has an Amplify app whose first check finds AMAZON_ASSOCIATE_TAG missing and
    whose second finds all four (a stubbed botocore client: moto has no Amplify)."""
    with_dev_amplify(world)
    missing_tag = {k: v for k, v in FOUR.items() if k != "AMAZON_ASSOCIATE_TAG"}
    _, stubber = amplify_stub(missing_tag, {})
    stubber.add_response("get_app", app_response(FOUR), {"appId": APP_ID})
    stubber.add_response("get_branch", branch_response({}), {"appId": APP_ID, "branchName": "main"})
    return stubber
