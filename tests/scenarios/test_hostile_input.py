"""What a person types is shown as text everywhere the bot writes it."""

from __future__ import annotations

import json

from bot.commands import as_text, parse
from tests.scenario import DEVOPS, ENG, OWNER, World, eventually
from tests.scenarios.test_handover import start

HOSTILE = "<!channel> <https://evil.example|click here> <!here> <@U0OWNER1> <!subteam^S0X> & more"
RAW = (
    "<!channel>",
    "<!here>",
    "<https://evil.example",
    "https://evil",
    "<!subteam",
    "|click here>",
)


def assert_inert(where: str, text: str) -> None:
    for needle in RAW:
        assert needle not in text, (where, needle, text[:3000])


def test_as_text_escapes_control_sequences_and_defangs_links() -> None:
    shown = as_text(HOSTILE)
    assert_inert("as_text", shown)
    assert "&lt;!channel&gt;" in shown
    assert "https[:]//evil.example" in shown
    assert as_text("x" * 2000).endswith("…") and len(as_text("x" * 2000)) == 500
    # Mentions of the people taking part are still read from the raw text.
    assert parse("start <@U0OWNER1> <@U0DEVOPS1>").mentions == ("U0OWNER1", "U0DEVOPS1")
    assert parse("<!channel>").name == "&lt;!channel&gt;"


async def test_an_abort_reason_pings_and_links_nobody(world: World) -> None:
    async with world.bot():
        await start(world)
        await world.wait_step("prereq")
        answer = await world.command(f"abort {HOSTILE}", DEVOPS)
        assert_inert("ack", json.dumps(answer))
        state = await world.wait(lambda s: s.status == "aborted", "the abort")
        assert_inert("state", state.abort_reason or "")
        await world.wait_text(ENG, "aborted")
        status = await world.command("status", DEVOPS)
        assert "aborted" in status["text"].lower()
        assert_inert("status", json.dumps(status))
        await eventually(
            lambda: any("abort" in c.body.lower() for c in world.linear.comments_on()),
            what="the abort comment on Linear",
        )
        for channel in (ENG, world.dm(OWNER), world.dm(DEVOPS)):
            assert_inert(channel, world.texts(channel))
        for comment in world.linear.comments_on():
            assert_inert("linear", comment.body)
        for call in world.slack.calls("views.publish"):
            assert_inert("home", json.dumps(call.args))
        for call in world.slack.calls():
            assert_inert(call.method, json.dumps(call.args))
        # Reading the text back shows exactly what was typed.
        assert "&lt;!channel&gt; &lt;https[:]//evil.example|click here&gt;" in world.texts(ENG)
