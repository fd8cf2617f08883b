"""Phases 1–6 driven as the two people would: signed button presses into the real app."""

from __future__ import annotations

import json

from bot.blocks.ids import PING_DEVOPS, STUCK
from bot.blocks.status import status_summary, summary_for
from bot.runbook import load_runbook
from bot.sandbox.fakes.linear import validation_errors
from tests.scenario import DEVOPS, ENG, OWNER, PLANTED_SECRET, STRANGER, VAULTS, World, eventually

OWNER_PATH = [
    ("prereq", "co:eligible"),
    ("register_sign_in", "co:done"),
    ("register_app", "co:done"),
    ("register_credential", "co:done"),
    ("register_tag", "co:have_all_four"),
    ("handover_choose", "co:choose_send"),
    ("handover_send", "co:sent"),
]


async def drive_owner(world: World) -> None:
    for step, action in OWNER_PATH:
        await world.wait_step(step)
        await world.click(OWNER, action)
    await world.wait_step("receive")


async def drive_devops_to_gate(world: World) -> None:
    await world.wait_step("receive")
    await world.click(DEVOPS, "co:received")
    await world.wait_step("populate")
    await world.click(DEVOPS, "co:vaults_populated")
    await world.wait_step("deploy_gate")


async def start(world: World) -> None:
    answer = await world.command("start", DEVOPS)
    assert "rollout-1 started" in answer["text"], answer


async def test_phases_one_to_six_end_at_the_deploy_gate(world_db: World) -> None:
    world = world_db
    async with world.bot():
        await start(world)
        await drive_owner(world)
        await drive_devops_to_gate(world)
        state = await world.state()
        assert state.verification_ok is True
        assert state.handover_channel == "1Password share link"

        owner_dm, devops_dm = world.dm(OWNER), world.dm(DEVOPS)
        # One parent per persona, every step a reply in its thread.
        owner_msgs = world.slack.messages(owner_dm)
        parents = [m for m in owner_msgs if not m.thread_ts]
        assert len(parents) == 1
        assert all(m.thread_ts == parents[0].ts for m in owner_msgs if m is not parents[0])
        # Edited in place as progress changes (once things are quiet: a burst is one edit).
        now = summary_for("accountOwner", await world.state(), load_runbook())
        await eventually(
            lambda: world.slack.messages(owner_dm)[0].text == now,
            what="the owner's progress message showing where the rollout stands",
        )
        assert world.slack.messages(owner_dm)[0].edits >= 1
        devops_parents = [m for m in world.slack.messages(devops_dm) if not m.thread_ts]
        assert len(devops_parents) == 1

        owner_text = world.texts(owner_dm)
        for fact in (
            "Arda Cards",
            "Credential ID",
            "Credential Secret",
            "Version",
            "Associates Tag",
            "7 days",
            "only once",
            "emails them a code",
        ):
            assert fact in owner_text, fact
        assert "one-time password" not in owner_text
        # Task 5.3: the options in order of preference — share link, phone, Slack DM.
        (choose,) = [
            m for m in world.slack.messages(owner_dm) if "Choose how to send" in (m.text or "")
        ]
        first = choose.versions[0]["blocks"]  # as posted, before the press removed its buttons
        labels = [e["text"]["text"] for b in first if b["type"] == "actions" for e in b["elements"]]
        assert labels[:3] == [
            "A) 1Password share link (recommended)",
            "B) Phone or in person",
            "C) Slack direct message",
        ]
        devops_text = world.texts(devops_dm)
        for fact in (
            *VAULTS.values(),
            "Amazon Creators API",
            "credentialSecret",
            "associateTag",
            "3.1",
        ):
            assert fact in devops_text, fact
        assert "1Password share link" in devops_text  # told by which channel the values come
        assert "temporary" in devops_text  # reminder to delete the local note

        # The engineering channel has one status message, edited, with thread replies.
        eng_top = [m for m in world.slack.messages(ENG) if not m.thread_ts]
        assert len(eng_top) == 1
        board = status_summary(await world.state(), load_runbook())
        await eventually(lambda: world.slack.messages(ENG)[0].text == board, what="board edited")

        # Two Linear comments on PDEV-446, valid against Linear's schema: the credentials
        # are on their way, then (runbook order) the vaults are green and the
        # infrastructure PR may merge — said in the channel too.
        comments = await eventually(
            lambda: (lambda c: c if len(c) >= 2 else None)(world.linear.comments_on("PDEV-446")),
            what="two Linear comments",
        )
        assert len(comments) == 2
        assert "1Password share link" in comments[0].body
        assert "Vaults verified green" in comments[1].body
        assert "infrastructure PR may now merge" in comments[1].body
        assert "infrastructure PR may merge now" in world.texts(ENG)
        # The owner's own copies are not needed any more: they are told to delete them.
        cleanup = await world.wait_text(world.dm(OWNER), "your own copies aren't needed")
        assert "*Amazon Creators API Handover* note" in cleanup and "Trash" in cleanup
        for request in world.linear.requests:
            assert validation_errors(request.document) == []

        # op read each of the four vaults with --vault, once per verification.
        reads = world.op.item_reads()
        for vault in VAULTS.values():
            assert any("--vault" in c["argv"] and vault in c["argv"] for c in reads), vault

        # Transitions are audited with who and when.
        entries = await world.running.deps.store.entries("rollout-1")  # type: ignore[union-attr]
        actors = {e.actor for e in entries}
        assert {OWNER, DEVOPS} <= actors
        world.slack.assert_no_violations()

        # Nothing secret left the process.
        everything = json.dumps([c.args for c in world.slack.calls()]) + json.dumps(
            [r.variables for r in world.linear.requests]
        )
        assert PLANTED_SECRET not in everything


async def test_missing_stage_item_blocks_the_gate_until_a_green_rerun(world: World) -> None:
    world.op.remove_item(VAULTS["stage"])
    async with world.bot():
        await start(world)
        await drive_owner(world)
        await world.click(DEVOPS, "co:received")
        await world.wait_step("populate")
        await world.click(DEVOPS, "co:vaults_populated")
        state = await world.wait(lambda s: s.verification is not None, "a verification")
        assert state.step == "verify" and not state.verification_ok
        text = await world.wait_text(world.dm(DEVOPS), "Vault verification found problems")
        assert "Arda-StageOAM" in text and "Amazon Creators API" in text
        # A deploy is refused while verification is red.
        answer = await world.command("deploy dev", DEVOPS)
        assert "verify green" in answer["text"]  # refused at once, in the ack
        assert world.github.dispatches == []

        world.op.populate_all(
            [VAULTS["stage"]],
            credential_id="amzn1.application-oa2-client.0123abcd",
            secret=PLANTED_SECRET,
            version="3.1",
            tag="arda-20",
        )
        await world.click(DEVOPS, "co:rerun_verify")
        state = await world.wait_step("deploy_gate")
        assert state.verification_ok


async def test_retried_press_advances_once_and_strangers_change_nothing(world: World) -> None:
    async with world.bot():
        await start(world)
        await world.wait_step("prereq")
        message, button = await world.wait_button(OWNER, "co:eligible")
        for _ in range(2):  # Slack delivering the same payload twice
            status, _ = await world.press(OWNER, button, message, response_id="dup")
            assert status == 200
        await world.wait_step("register_sign_in")
        message, button = await world.wait_button(OWNER, "co:done")
        # The devOps person pressing the owner's button: refused, state unchanged.
        status, _ = await world.press(STRANGER, button, message, response_id="stranger")
        assert status == 200
        refusal = await eventually(lambda: world.slack.responses("stranger"), what="a refusal")
        assert "Only accountOwner" in refusal[0]["text"]
        state = await world.state()
        assert state.step == "register_sign_in"
        transitions = [t for t in state.history if t.action == "eligible"]
        assert len(transitions) == 1
        # Exactly one register_sign_in step posted (not two).
        posts = [
            m
            for m in world.slack.messages(world.dm(OWNER))
            if m.thread_ts and m.ts != m.thread_ts and "Sign in" in (m.text or "")
        ]
        assert len(posts) == 1
        entries = await world.running.deps.store.entries()  # type: ignore[union-attr]
        assert any(e.actor == STRANGER and e.outcome == "refused" for e in entries)


async def test_start_twice_and_by_a_non_devops(world: World) -> None:
    async with world.bot():
        answer = await world.command("start", OWNER)
        assert "Only devOps" in answer["text"] and "slack.devops" in answer["text"]
        await start(world)
        again = await world.command("start", DEVOPS)
        assert "already under way" in again["text"] and "rollout-1" in again["text"]
        status = await world.command("status", OWNER)
        assert "rollout-1" in json.dumps(status)


async def test_not_yet_accepted_waits_and_stuck_shows_the_card(world: World) -> None:
    async with world.bot():
        await start(world)
        await world.click(OWNER, "co:not_eligible")
        await world.wait_step("prereq_wait")
        assert "Contact Us" in world.texts(world.dm(OWNER))
        await world.click(OWNER, STUCK)
        await eventually(lambda: "Troubleshooting" in world.texts(world.dm(OWNER)), what="the card")
        await world.click(OWNER, PING_DEVOPS)
        await eventually(lambda: ":sos:" in world.texts(world.dm(DEVOPS)), what="devOps pinged")
        state = await world.state()
        assert state.step == "prereq_wait" and state.status == "active"


async def test_linear_outage_does_not_block_people_and_delivers_once(world: World) -> None:
    world.linear.fail_next(3, status=500)
    async with world.bot():
        await start(world)
        await drive_owner(world)
        # devOps can go on while Linear is down.
        await world.click(DEVOPS, "co:received")
        await world.wait_step("populate")
        await eventually(lambda: world.linear.comments_on("PDEV-446"), what="delivery after outage")
        assert len(world.linear.comments_on("PDEV-446")) == 1


async def test_quiet_person_is_nudged_in_their_thread(world: World) -> None:
    world.config_overrides["workflow"] = {"nudge_after_hours": 1.0 / 3600}  # one second
    async with world.bot():
        await start(world)
        await world.wait_step("prereq")
        await eventually(
            lambda: "gentle reminder" in world.texts(world.dm(OWNER)), what="a nudge", timeout=15
        )
        state = await world.state()
        assert state.step == "prereq" and state.status == "active"


async def test_rotation_explains_itself_then_runs_the_handover_and_updates_the_vaults(
    world: World,
) -> None:
    async with world.bot():
        answer = await world.command("rotate scheduled hygiene <!channel>", DEVOPS)
        assert "Credential rotation rollout-1 started" in answer["text"]
        state = await world.wait_step("rotation_intro")
        assert state.kind == "rotation"
        # The owner first reads why and what will happen, not "Now Amazon gives you…".
        intro = await world.wait_text(world.dm(OWNER), "Why Arda's credential is being replaced")
        assert "scheduled hygiene" in intro and "a compromise" in intro
        assert "Nothing changes for Arda's users until those redeploys" in intro
        assert "<!channel>" not in intro  # the typed reason is shown as text
        await world.click(OWNER, "co:ready")
        await world.wait_step("register_credential")
        for step, action in OWNER_PATH[3:]:
            await world.wait_step(step)
            await world.click(OWNER, action)
        await world.wait_step("receive")
        await world.click(DEVOPS, "co:received")
        await world.wait_step("populate")
        # devOps updates the existing items; a rotation never asks for new ones.
        populate = await world.wait_text(
            world.dm(DEVOPS), "open the existing *Amazon Creators API*"
        )
        assert "Don't create a new item" in populate
        await world.click(DEVOPS, "co:vaults_populated")
        await world.wait_step("deploy_gate")
        # The infrastructure PR merged at onboarding: a rotation does not signal it again.
        assert "may merge now" not in world.texts(ENG)


async def test_an_owner_who_cannot_be_dmed_ends_the_rollout_with_the_fix(world: World) -> None:
    world.slack.fail_next("conversations.open", error="user_not_found", status=200)
    async with world.bot():
        await start(world)
        state = await world.wait(lambda s: s.status == "aborted", "the rollout to stop")
        assert "user_not_found" in (state.abort_reason or "")
        # A refusal only a person can mend is not tried again (an outage is: below).
        opened = [c for c in world.slack.calls("conversations.open") if c.args["users"] == OWNER]
        assert len(opened) == 1
        notice = await eventually(
            lambda: "could not start" in world.texts(world.dm(DEVOPS)), what="the starter told"
        )
        assert notice
        assert "could not start" in world.texts(ENG)
        again = await world.command("start", DEVOPS)
        assert "rollout-2 started" in again["text"]


async def test_a_slack_dm_handover_reminds_both_to_delete_the_message_at_receipt(
    world: World,
) -> None:
    path = [*OWNER_PATH[:5], ("handover_choose", "co:choose_dm"), ("handover_dm", "co:sent")]
    async with world.bot():
        await start(world)
        for step, action in path:
            await world.wait_step(step)
            await world.click(OWNER, action)
        await world.wait_step("receive")
        assert "has all four values. Please delete" not in world.texts(world.dm(OWNER))
        await world.click(DEVOPS, "co:received")
        owner = await world.wait_text(world.dm(OWNER), "has all four values. Please delete")
        assert "Delete message" in owner
        devops = await world.wait_text(world.dm(DEVOPS), "is deleting their Slack message")
        assert "delete any reply of yours that repeats a value" in devops
