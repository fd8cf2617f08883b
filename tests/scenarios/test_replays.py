"""Slack's retries and replayed requests are handled once; over-long ids never cost the
answer or the audit row (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from bot.sandbox.fakes.signing import (
    block_action_body,
    event_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from bot.store import Store
from tests.scenario import DEVOPS, OWNER, SIGNING_SECRET, STRANGER, World, eventually
from tests.test_foundation_http import _dm_event


async def send(world: World, body: str, headers: dict[str, str]) -> tuple[int, str]:
    assert world.http is not None
    async with world.http.post(
        f"{world.base_url}/slack/events", data=body.encode(), headers=headers
    ) as resp:
        return resp.status, await resp.text()


async def test_a_retried_dm_event_is_answered_once(world_db: World) -> None:
    world = world_db
    channel = world.dm(OWNER)
    body = event_body(_dm_event(OWNER, channel, "1700000000.000700"))
    async with world.bot():
        status, _ = await send(world, body, signed_headers(body, SIGNING_SECRET))
        assert status == 200
        await eventually(lambda: world.slack.thread(channel, "1700000000.000700"), what="reply")
        for retry in (1, 2):
            # Slack retries with the same event_id, signed anew, and says which retry it is.
            headers = {**signed_headers(body, SIGNING_SECRET), "X-Slack-Retry-Num": str(retry)}
            status, _ = await send(world, body, headers)
            assert status == 200
        # Another event is still answered: the retries had their chance to be answered.
        await world.event(_dm_event(OWNER, channel, "1700000000.000800"))
        await eventually(lambda: world.slack.thread(channel, "1700000000.000800"), what="reply 2")
        assert len(world.slack.thread(channel, "1700000000.000700")) == 1


async def test_a_replayed_start_after_an_abort_starts_nothing(world_db: World) -> None:
    world = world_db
    async with world.bot():
        body = slash_command_body("start", DEVOPS, response_url=world.slack.response_url("s"))
        headers = signed_headers(body, SIGNING_SECRET)
        status, text = await send(world, body, headers)
        assert status == 200 and "rollout-1 started" in text
        await world.wait_step("prereq")
        await world.command("abort testing replays", DEVOPS)
        await world.wait(lambda s: s.status == "aborted", "the abort")
        # The very same signed request, inside Slack's 5-minute window.
        status, text = await send(world, body, headers)
        assert status == 200
        assert "already handled" in json.loads(text)["text"]
        await asyncio.sleep(0.5)
        assert await world.state("rollout-2") is None
        # A new start (a new trigger) still works.
        answer = await world.command("start", DEVOPS)
        assert "rollout-2 started" in answer["text"]


async def test_a_replayed_command_is_delivered_once_and_its_author_told(world_db: World) -> None:
    """A command's once-key is claimed after its ack: the replay is answered as the read
    model stands, then nothing of it runs and its author hears that it was a repeat."""
    world = world_db
    async with world.bot() as running:
        await world.command("start", DEVOPS)
        await world.wait_step("prereq")
        url = world.slack.response_url("abort")
        body = slash_command_body("abort replayed in a test", DEVOPS, response_url=url)
        headers = signed_headers(body, SIGNING_SECRET)
        status, text = await send(world, body, headers)
        assert status == 200 and not json.loads(text)["text"].startswith(":no_entry:")
        await world.wait(lambda s: s.status == "aborted", "the abort")
        status, _ = await send(world, body, headers)  # the same signed request, replayed
        assert status == 200

        def told() -> bool:
            return any(
                "already handled" in r.get("text", "") for r in world.slack.responses("abort")
            )

        await eventually(told, what="the repeat's author told")
        await asyncio.sleep(0.3)
        rows = [r for r in await running.deps.store.entries() if r.action == "abort"]
        assert [r.outcome for r in rows] == ["done"], rows


async def test_a_replayed_refusal_is_audited_once(world_db: World) -> None:
    world = world_db
    async with world.bot() as running:
        url = world.slack.response_url("stranger")
        body = slash_command_body("abort not mine to abort", STRANGER, response_url=url)
        headers = signed_headers(body, SIGNING_SECRET)
        for _ in range(3):
            status, text = await send(world, body, headers)
            assert status == 200 and json.loads(text)["text"].startswith(":no_entry:")

        def told() -> bool:
            said = [r.get("text", "") for r in world.slack.responses("stranger")]
            return sum("already handled" in t for t in said) == 2

        await eventually(told, what="both repeats' author told")

        async def audited() -> list[tuple[str, str]]:
            rows = [r for r in await running.deps.store.entries() if r.actor == STRANGER]
            return [(r.action, r.outcome) for r in rows]

        # The first delivery's audit row may land after the repeats are answered (each
        # waits on the claim the first one took, not on its work): wait for it, then a
        # moment more for a second row that must not come.
        await eventually(audited, what="the refusal audited")
        await asyncio.sleep(0.3)
        assert await audited() == [("abort", "refused")]


async def test_a_replayed_press_is_applied_once(world_db: World) -> None:
    world = world_db
    async with world.bot():
        await world.command("start", DEVOPS)
        message, button = await world.wait_button(OWNER, "co:eligible")
        body = world.press_body(OWNER, button, message)
        for _ in range(3):
            status, _ = await send(world, body, signed_headers(body, SIGNING_SECRET))
            assert status == 200
        state = await world.wait_step("register_sign_in")
        await asyncio.sleep(0.3)
        assert [t.action for t in (await world.state()).history] == ["eligible"]
        assert state.step == "register_sign_in"


async def test_over_long_ids_are_refused_or_audited_never_500(world_db: World) -> None:
    world = world_db
    longest = "U" + "X" * 31  # Slack ids are short; 32 characters is the most we take
    async with world.bot() as running:
        await world.command("start", DEVOPS)
        message, _ = await world.wait_button(OWNER, "co:eligible")
        # A tampered button from an id of the longest shape we take: refused and audited.
        tampered = json.dumps({"rollout": "rollout-1", "step": "s" * 64, "action": "a" * 64})
        status, _ = await world.post(
            block_action_body(
                longest,
                "co:" + "z" * 200,
                tampered,
                channel_id=message.channel,
                message_ts=message.ts,
                response_url=world.slack.response_url("long"),
            )
        )
        assert status == 200
        answer = await world.command("abort " + "y" * 3000, user=longest)
        assert answer["text"].startswith(":no_entry:")
        await eventually(lambda: world.slack.responses("long"), what="the refusal")

        async def audited() -> bool:
            rows = await running.deps.store.entries()
            return len([r for r in rows if r.actor == longest and r.outcome == "refused"]) == 2

        await eventually(audited, what="two refusals audited")
        # Ids no Slack request carries: refused at the door, never a 500.
        for user in ("U" + "X" * 40, "u-lower", "U0<!channel>"):
            status, _ = await world.post(slash_command_body("abort now", user))
            assert status == 400, user
        bad_rollout = json.dumps({"rollout": "rollout-1" + "9" * 50, "step": "p", "action": "x"})
        status, _ = await world.post(
            block_action_body(
                STRANGER,
                "co:eligible",
                bad_rollout,
                channel_id=message.channel,
                message_ts=message.ts,
                response_url=world.slack.response_url("b"),
            )
        )
        assert status == 200
        await eventually(lambda: world.slack.responses("b"), what="the old-button answer")
        assert (await world.state()).step == "prereq"


@pytest.mark.postgres
async def test_claims_are_shared_by_replicas(fresh_pg: Callable[[], str]) -> None:
    url = fresh_pg()
    first, second = Store(url), Store(url)
    try:
        await first.migrate()
        await second.migrate()
        assert await first.claim("trigger:T1") is True
        assert await second.claim("trigger:T1") is False
    finally:
        first.dispose()
        second.dispose()


async def test_a_button_no_listener_knows_is_answered_and_audited_never_a_404(
    world: World,
) -> None:
    """A button from another version of the bot (an action id this one does not have), or
    a made-up one: Bolt alone would answer 404, which Slack shows as a bare warning icon.
    Acked, the presser told in words, audited; the rollout untouched. (The buttons other
    listeners take, Reply and the watches', still reach them: their own tests press them.)"""
    async with world.bot() as running:
        await world.command("start", DEVOPS)
        message, _ = await world.wait_button(OWNER, "co:eligible")
        valid_shape = json.dumps({"rollout": "rollout-1", "step": "prereq", "action": "gone"})
        for n, (action_id, value) in enumerate(
            [("co_sign_off", valid_shape), ("co_gone", "not json"), ("x" * 255, "")]
        ):
            button = {"action_id": action_id, "value": value}
            status, _ = await world.press(OWNER, button, message, response_id=f"stale-{n}")
            assert status == 200, action_id
        said = await eventually(
            lambda: (
                [r for n in range(3) for r in world.slack.responses(f"stale-{n}")]
                if all(world.slack.responses(f"stale-{n}") for n in range(3))
                else None
            ),
            what="each presser told",
        )
        texts = [r["text"] for r in said]
        assert "don't know that button" in texts[0], texts
        assert all("older version of the bot" in t for t in texts[1:]), texts
        assert all(r["response_type"] == "ephemeral" for r in said)

        async def audited() -> list[str]:
            rows = await running.deps.store.entries()
            found = [r.action for r in rows if r.actor == OWNER and r.outcome == "refused"]
            return found if len(found) == 3 else []

        assert sorted(await eventually(audited, what="three refusals audited")) == sorted(
            ["co_sign_off", "co_gone", "x" * 64]
        )
        state = await world.state()
        assert state.step == "prereq" and state.history == []


async def test_a_form_no_listener_knows_is_replaced_with_why_and_audited(world: World) -> None:
    """A modal from another version of the bot, sent: Bolt alone would answer 404, which
    Slack shows in the form as "We had some trouble connecting". The form is replaced
    with why nothing was done, and the Send audited. The Reply form still reaches its own
    listener (tests/scenarios/test_relay.py sends it)."""
    old_form = {
        "id": "V0OLDFORM",
        "hash": "1700000000.abcdef",
        "type": "modal",
        "callback_id": "co_sign_off_modal",
        "private_metadata": "rollout-1",
        "blocks": [],
    }
    async with world.bot() as running:
        status, text = await world.post(
            view_submission_body(OWNER, old_form, {"note": {"text": "done"}})
        )
        assert status == 200, text
        answer = json.loads(text)
        assert answer["response_action"] == "update"
        view = answer["view"]
        assert view["type"] == "modal" and "submit" not in view
        assert "another version of the bot" in json.dumps(view["blocks"])

        async def audited() -> list[str]:
            rows = await running.deps.store.entries()
            return [r.action for r in rows if r.actor == OWNER and r.outcome == "refused"]

        assert await eventually(audited, what="the Send audited") == ["form:co_sign_off_modal"]
