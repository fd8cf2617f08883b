"""The human bridge: what the owner types in their DM thread reaches devOps' thread (and
back), as text: a mass mention, a user ping or a disguised link typed by one person pings
or links nobody when the bot shows it to the other."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from bot.blocks.ids import REPLY, REPLY_BLOCK, REPLY_INPUT, REPLY_MODAL
from bot.sandbox.fakes.signing import view_submission_body
from tests.scenario import DEVOPS, OWNER, STRANGER, World, eventually
from tests.scenarios.test_handover import start

QUESTION = (
    "what is an associates tag? <!channel> <@U0DEVOPS1> see <https://evil.example/x|our docs>"
)


def parent(world: World, user: str) -> Any:
    return next(m for m in world.slack.messages(world.dm(user)) if not m.thread_ts)


def thread(world: World, user: str) -> list[Any]:
    return world.slack.thread(world.dm(user), parent(world, user).ts)


async def say(world: World, user: str, text: str, *, in_thread: bool = True) -> None:
    """A person types `text` in their DM with the bot, as Slack sends it (message.im)."""
    ts = f"{time.time():.6f}"
    event = {
        "type": "message",
        "channel": world.dm(user),
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "client_msg_id": str(uuid.uuid4()),
    }
    if in_thread:
        event["thread_ts"] = parent(world, user).ts
    status, _ = await world.event(event)
    assert status == 200


async def relayed(world: World, to: str, needle: str) -> Any:
    return await eventually(
        lambda: next((m for m in thread(world, to) if needle in (m.text or "")), None),
        what=f"{needle!r} in {to}'s thread",
    )


def visible(message: Any) -> str:
    return (message.text or "") + json.dumps(message.blocks or [], ensure_ascii=False)


async def test_the_owner_asks_devops_replies_and_both_see_text_not_pings(world: World) -> None:
    async with world.bot():
        await start(world)
        await world.wait_step("prereq")
        await say(world, OWNER, QUESTION)

        asked = await relayed(world, DEVOPS, f"<@{OWNER}> asks")
        shown = visible(asked)
        assert "what is an associates tag?" in shown
        # Shown as typed, pinging and linking nobody.
        for live in ("<!channel>", "<@U0DEVOPS1>", "<https://evil.example"):
            assert live not in shown, live
        assert "&lt;!channel&gt;" in shown and "&lt;@U0DEVOPS1&gt;" in shown
        assert "https[:]//evil.example" in shown
        (reply,) = world.buttons(asked)
        assert reply["action_id"] == REPLY and reply["text"]["text"] == "Reply"
        await relayed(world, OWNER, f"Passed on to <@{DEVOPS}>")
        assert "I follow the buttons" not in world.texts(world.dm(OWNER))

        # devOps presses Reply: a modal; its answer comes back into the owner's thread.
        status, _ = await world.press(DEVOPS, reply, asked)
        assert status == 200
        (modal,) = await eventually(world.slack.opened_views, what="the Reply modal")
        assert modal["callback_id"] == REPLY_MODAL and modal["private_metadata"] == "rollout-1"
        answer = "The tracking id Amazon gives you, like arda-20. <!here> ping?"
        body = view_submission_body(DEVOPS, modal, {REPLY_BLOCK: {REPLY_INPUT: answer}})
        status, text = await world.post(body)
        assert status == 200 and text in ("", "{}"), text  # the modal closes
        answered = await relayed(world, OWNER, f"<@{DEVOPS}> answers")
        assert "The tracking id Amazon gives you" in visible(answered)
        assert "<!here>" not in visible(answered) and "&lt;!here&gt;" in visible(answered)
        assert [b["action_id"] for b in world.buttons(answered)] == [REPLY]

        # The other way round: devOps types in their own thread.
        await say(world, DEVOPS, "I have set up the vaults, no rush.")
        await relayed(world, OWNER, "I have set up the vaults, no rush.")

        # The audit trail says who passed what to whom, never the words.
        rows = await eventually(
            lambda: _relays(world), what="the relay rows in the audit trail", timeout=10
        )
        assert {r.actor for r in rows} == {OWNER, DEVOPS}
        assert all("associates" not in r.detail for r in rows)
        world.slack.assert_no_violations()


async def _relays(world: World) -> list[Any]:
    assert world.running is not None
    rows = await world.running.deps.store.entries("rollout-1")
    found = [r for r in rows if r.action == "relay"]
    return found if len(found) >= 3 else []


async def test_a_stranger_and_an_empty_reply_are_not_passed_on(world: World) -> None:
    async with world.bot():
        await start(world)
        await world.wait_step("prereq")
        await say(world, STRANGER, "hello bot", in_thread=False)
        await eventually(
            lambda: "I follow the buttons" in world.texts(world.dm(STRANGER)),
            what="the usual answer to someone not on the rollout",
        )
        await say(world, OWNER, "a question for devOps")
        asked = await relayed(world, DEVOPS, f"<@{OWNER}> asks")
        await world.press(DEVOPS, world.buttons(asked)[0], asked)
        (modal,) = await eventually(world.slack.opened_views, what="the Reply modal")
        body = view_submission_body(DEVOPS, modal, {REPLY_BLOCK: {REPLY_INPUT: "   "}})
        status, text = await world.post(body)
        assert status == 200
        assert json.loads(text)["response_action"] == "errors"
        assert "nothing to pass on" in json.loads(text)["errors"][REPLY_BLOCK]
        # The stranger presses the Reply button: refused, no modal.
        status, _ = await world.press(STRANGER, world.buttons(asked)[0], asked, response_id="s")
        assert status == 200
        refusal = await eventually(lambda: world.slack.responses("s"), what="the refusal")
        assert "not yours to answer" in refusal[0]["text"]
        assert len(world.slack.opened_views()) == 1
