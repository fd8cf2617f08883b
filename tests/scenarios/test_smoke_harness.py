from __future__ import annotations

from tests.scenario import DEVOPS, World


async def test_help_through_signed_request(world: World) -> None:
    async with world.bot():
        answer = await world.command("help", DEVOPS)
    assert "start [@owner] [@devops]" in answer["text"]
