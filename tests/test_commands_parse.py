"""`/creators-onboard <text>` parsed once per text: a request reads its text twice before
its ack, and people repeat the same few commands."""

from __future__ import annotations

import dataclasses

import pytest

from bot.commands import KEPT_MAX, parse


def test_the_same_short_text_is_parsed_once() -> None:
    first = parse("deploy dev")
    assert parse("  deploy dev ") is first  # the same text once stripped
    assert (first.name, first.args) == ("deploy", ("dev",))


def test_what_is_kept_cannot_be_changed_by_whoever_holds_it() -> None:
    parsed = parse("start <@U0OWNER1> <@U0DEVOPS1>")
    assert parsed.mentions == ("U0OWNER1", "U0DEVOPS1") and isinstance(parsed.args, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.name = "abort"  # type: ignore[misc]


def test_a_long_text_is_parsed_every_time_and_not_kept() -> None:
    reason = "abort " + "the smoke test failed twice " * 20
    assert len(reason) > KEPT_MAX
    once, again = parse(reason), parse(reason)
    assert once == again and once is not again
    assert once.name == "abort" and once.rest.startswith("the smoke test")
