"""`bot.inbound.form_fields` reads a form body as `dict(parse_qsl(text,
keep_blank_values=True))` does (how Bolt reads one, and how the bot did before it decoded
with yarl): the same fields for Slack's real bodies, for broken escapes and for random
text built from the characters that matter to the decoding."""

from __future__ import annotations

import random
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.inbound import form_fields, parse
from bot.sandbox.fakes.signing import block_action_body, slash_command_body


def reference(text: str) -> dict[str, str]:
    return dict(parse_qsl(text, keep_blank_values=True))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a=%zz&b=%FF%FE&c&d=&e=1+2%2B3&&f==x&=g",  # broken escapes, blanks, no value
        "payload=%7B%22a%22%3A1%7D;x=1",  # ';' is not a separator
        "a=%E2%82%AC%ED%A0%80%E2%82",  # a surrogate and a cut sequence: replaced
        "text=deploy+dev&text=abort",  # a repeated name: the last wins
        "a=1#fragment?query&b=%23%3F",  # what a URL would treat apart
        "t=%00%0A%0D\x00\n é€😀",  # control characters, raw non-ASCII
    ],
)
def test_broken_and_odd_bodies_read_as_parse_qsl_reads_them(text: str) -> None:
    assert form_fields(text) == reference(text)


def test_slack_s_own_bodies_read_the_same() -> None:
    bodies = [
        slash_command_body("abort <!channel> 100% sure & done = yes + more", "U0DEVOPS1"),
        block_action_body(
            "U0OWNER1",
            "co:eligible",
            '{"rollout":"rollout-1","step":"prereq","action":"eligible"}',
            channel_id="D0OWNER1",
            message_ts="1700000000.000100",
            response_url="https://hooks.slack.com/actions/T0/1/abc%2Fdef",
        ),
        urlencode({"payload": '{"text":"a+b %20 & =", "emoji":"😀"}'}),
    ]
    for body in bodies:
        assert form_fields(body) == reference(body), body


def test_random_bodies_read_the_same() -> None:
    pieces = [*"ab=&+%;#?/ \t\n\x00é€😀", "%2", "%zz", "%41", "%FF", "%E2%82", "%25", "%2B"]
    pieces += ["%26", "%3D", "%00", "%ED%A0%80", "payload=", "%7B%22"]
    rng = random.Random(446)  # noqa: S311 - a fixed corpus, not a secret
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        assert form_fields(text) == reference(text), repr(text)


def test_a_press_parses_to_its_payload() -> None:
    body = block_action_body(
        "U0OWNER1", "co:eligible", "v", channel_id="D0OWNER1", message_ts="1700000000.000100"
    )
    parsed = parse(body.encode(), "application/x-www-form-urlencoded")
    assert isinstance(parsed, dict) and parsed["actions"][0]["action_id"] == "co:eligible"
