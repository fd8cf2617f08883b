"""The rehearsal, clicked through in Debian's Chromium as the two people would."""

from __future__ import annotations

from pathlib import Path

from bot.blocks.deploy import COMPLETE_TEXT, OWNER_COMPLETE_TEXT
from bot.blocks.ids import DEPLOY, RETRY
from bot.sandbox.scene import DEVOPS, OWNER, PARTITIONS
from tests.sandbox.browser import Browser, browser
from tests.sandbox.conftest import Running

OWNER_PATH = (
    "co:eligible",
    "co:done",
    "co:done",
    "co:done",
    "co:have_all_four",
    "co:choose_send",
    "co:sent",
)
DEVOPS_PATH = ("co:received", "co:vaults_populated")


async def to_gate(b: Browser) -> None:
    """Both people through phases 1–6: the owner's steps, then devOps' two."""
    await b.control("Speed up runs")
    await b.play(OWNER)
    for action in OWNER_PATH:
        await b.press("accountOwner", action)
    await b.shot("handover-done")
    await b.play(DEVOPS)
    for action in DEVOPS_PATH:
        await b.press("devOps", action)


async def deploy(b: Browser, partition: str) -> None:
    await b.press("devOps", DEPLOY, label=f"Deploy {partition}")
    await b.see("devOps", f"{partition} is green")


async def test_happy_path_clicked_as_both_people(running: Running, tmp_path: Path) -> None:
    async with browser(running.url, "happy-path", tmp_path / "chromium") as b:
        await b.see("accountOwner", "Check that Arda can get Creators API access")
        await b.shot("first-step")
        # The App Home tab, and a command typed in the devOps DM (answered only to them).
        await b.page.locator('[data-pane="accountOwner"] .tab[data-tab="home"]').click()
        await b.see("accountOwner", "Your pending actions")
        await b.page.locator('[data-pane="accountOwner"] .tab[data-tab="messages"]').click()
        compose = b.page.locator('[data-pane="devOps"] .compose')
        await compose.fill("/creators-onboard status")
        await compose.press("Enter")
        await b.page.locator(
            '[data-pane="devOps"] .ephemeral', has_text="waiting on @Alex Rivera"
        ).wait_for()
        await to_gate(b)
        for partition in PARTITIONS:
            await deploy(b, partition)
        await b.see("engineering", COMPLETE_TEXT)
        await b.see("accountOwner", OWNER_COMPLETE_TEXT)  # the same news, in plain words
        await b.shot("rollout-complete")
        assert b.off_loopback() == []
    world = running.sandbox.world
    assert [d["inputs"]["partition"] for d in world.github.dispatches] == list(PARTITIONS)
    world.slack.assert_no_violations()
    world.github.assert_no_violations()
    assert {r.region for r in world.amplify.requests} == {"us-east-1", "us-east-2"}


async def test_stage_failure_halts_then_retry_completes(running: Running, tmp_path: Path) -> None:
    async with browser(running.url, "stage-failure", tmp_path / "chromium") as b:
        await b.page.select_option("#failure", "run_failed")
        await b.page.select_option("#partition", "stage")
        await b.control("Inject")
        await b.page.locator("#injected", has_text="Next amm.yml run fails (stage)").wait_for()
        await to_gate(b)
        await deploy(b, "dev")
        await b.press("devOps", DEPLOY, label="Deploy stage")
        await b.see("devOps", "Rollout halted at stage")
        await b.see("engineering", "Rollout halted at")
        await b.shot("halt-card")
        await b.press("devOps", RETRY)
        await b.see("devOps", "stage is green")
        for partition in ("demo", "prod"):
            await deploy(b, partition)
        await b.see("engineering", COMPLETE_TEXT)
        await b.shot("complete-after-retry")
        assert b.off_loopback() == []
    dispatched = [d["inputs"]["partition"] for d in running.sandbox.world.github.dispatches]
    assert dispatched == ["dev", "stage", "stage", "demo", "prod"]
