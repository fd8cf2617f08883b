"""The fake Slack Web API and the signing helpers behave like Slack."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.sandbox.fakes.signing import (
    block_action_body,
    event_body,
    sign,
    signed_headers,
    slash_command_body,
    ssl_check_body,
    url_verification_body,
)
from bot.sandbox.fakes.slack import FakeSlack, load_method_specs

TOKEN = "xoxb-test-123"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Step 1*"}}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(token=TOKEN) as server:
        yield server


def client_for(fake: FakeSlack, token: str = TOKEN) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.api_url)


def test_spec_marks_what_the_bot_must_send() -> None:
    specs = load_method_specs()
    assert load_method_specs() is specs  # parsed once, cached
    assert specs["chat.postMessage"].required == {"token", "channel"}
    assert specs["chat.update"].required == {"token", "channel", "ts"}
    assert specs["chat.postEphemeral"].required == {"token", "channel", "user"}
    assert specs["views.publish"].required == {"token", "user_id", "view"}
    assert specs["chat.getPermalink"].required == {"token", "channel", "message_ts"}
    assert specs["auth.test"].required == {"token"}
    # The spec marks neither `users`, nor even the token, for conversations.open,
    # and not `user` for users.info: the fake checks those as Slack does.
    assert specs["conversations.open"].required == frozenset()
    assert specs["users.info"].required == {"token"}


async def test_api_url_is_loopback_ephemeral(fake: FakeSlack) -> None:
    assert fake.api_url.startswith("http://127.0.0.1:")
    assert fake.api_url.endswith("/api/")
    assert not fake.api_url.startswith("http://127.0.0.1:3000/")


async def test_auth_test(fake: FakeSlack) -> None:
    resp = await client_for(fake).auth_test()
    assert resp["ok"] is True
    for key in ("url", "team", "user", "team_id", "user_id", "bot_id"):
        assert resp[key]
    assert fake.calls("auth.test")[0].token == TOKEN


async def test_post_update_and_thread_reply(fake: FakeSlack) -> None:
    client = client_for(fake)
    opened = await client.conversations_open(users="U0OWNER1")
    dm = opened["channel"]["id"]
    assert dm.startswith("D")
    again = await client.conversations_open(users="U0OWNER1")
    assert again["channel"]["id"] == dm
    other = await client.conversations_open(users="U0DEVOPS1")
    assert other["channel"]["id"] != dm

    parent = await client.chat_postMessage(channel=dm, text="Onboarding", blocks=BLOCKS)
    assert parent["channel"] == dm
    ts = parent["ts"]
    assert parent["message"]["blocks"] == BLOCKS

    updated = await client.chat_update(channel=dm, ts=ts, text="Onboarding: step 2")
    assert updated["ts"] == ts
    reply = await client.chat_postMessage(channel=dm, text="Step 2", thread_ts=ts)
    assert reply["message"]["thread_ts"] == ts
    assert float(reply["ts"]) > float(ts)

    current = fake.message(dm, ts)
    assert current is not None
    assert current.text == "Onboarding: step 2"
    assert current.blocks == BLOCKS  # kept: the update did not send blocks
    assert current.edits == 1
    assert [m.text for m in fake.thread(dm, ts)] == ["Step 2"]
    assert [m.ts for m in fake.messages(dm)] == [ts, reply["ts"]]

    call = fake.calls("chat.postMessage")[0]
    assert call.args["blocks"] == BLOCKS
    assert call.token == TOKEN
    assert "token" not in call.args

    permalink = await client.chat_getPermalink(channel=dm, message_ts=reply["ts"])
    assert f"thread_ts={ts}" in permalink["permalink"]

    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=dm, ts="1.000000", text="nope")
    assert err.value.response["error"] == "message_not_found"

    await client.chat_delete(channel=dm, ts=reply["ts"])
    assert fake.thread(dm, ts) == []
    fake.assert_no_violations()


async def test_posting_to_a_user_id_lands_in_the_dm(fake: FakeSlack) -> None:
    client = client_for(fake)
    resp = await client.chat_postMessage(channel="U0OWNER1", text="hello")
    assert resp["channel"] == fake.dm_channel("U0OWNER1")


async def test_ephemeral_home_and_users(fake: FakeSlack) -> None:
    client = client_for(fake)
    eph = await client.chat_postEphemeral(channel="C0ENG123", user="U0DEVOPS1", text="only you")
    assert eph["message_ts"]
    assert [e.text for e in fake.ephemerals(user="U0DEVOPS1")] == ["only you"]

    view = {"type": "home", "blocks": BLOCKS}
    first = await client.views_publish(user_id="U0OWNER1", view=view)
    second = await client.views_publish(user_id="U0OWNER1", view=view, hash=first["view"]["hash"])
    assert second["view"]["id"] == first["view"]["id"]
    with pytest.raises(SlackApiError) as err:
        await client.views_publish(user_id="U0OWNER1", view=view, hash=first["view"]["hash"])
    assert err.value.response["error"] == "hash_conflict"
    home = fake.home_view("U0OWNER1")
    assert home is not None and home["blocks"] == BLOCKS

    fake.add_user("U0OWNER1", real_name="Ada Owner")
    info = await client.users_info(user="U0OWNER1")
    assert info["user"]["real_name"] == "Ada Owner"
    fake.assert_no_violations()


async def test_form_encoded_calls_decode_json_arguments(fake: FakeSlack) -> None:
    client = client_for(fake)
    await client.api_call(
        "chat.postMessage",
        data={"channel": "C0ENG123", "text": "t", "blocks": json.dumps(BLOCKS)},
    )
    assert fake.calls("chat.postMessage")[0].args["blocks"] == BLOCKS
    assert fake.messages("C0ENG123")[0].blocks == BLOCKS


async def test_invalid_and_missing_token(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        await client_for(fake, token="xoxb-someone-else").chat_postMessage(
            channel="C0ENG123", text="hi"
        )
    assert err.value.response["error"] == "invalid_auth"
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.api_url + "auth.test") as resp:
            body = await resp.json()
    assert body == {"ok": False, "error": "not_authed"}
    assert fake.messages() == []


async def test_missing_required_argument_is_a_violation(fake: FakeSlack) -> None:
    client = client_for(fake)
    with pytest.raises(SlackApiError) as err:
        await client.api_call("chat.update", json={"channel": "C0ENG123", "text": "x"})
    assert err.value.response["error"] == "invalid_arguments"
    assert [str(v) for v in fake.violations] == ["chat.update: missing required argument 'ts'"]
    with pytest.raises(AssertionError, match="missing required argument 'ts'"):
        fake.assert_no_violations()


async def test_unknown_method_is_a_violation(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        await client_for(fake).api_call("chat.postMessages", json={"channel": "C1", "text": "x"})
    assert err.value.response["error"] == "unknown_method"
    assert fake.violations[0].method == "chat.postMessages"


async def test_slack_requirements_the_spec_omits(fake: FakeSlack) -> None:
    client = client_for(fake)
    with pytest.raises(SlackApiError) as err, pytest.warns(UserWarning, match="text"):
        await client.chat_postMessage(channel="C0ENG123")
    assert err.value.response["error"] == "no_text"
    with pytest.raises(SlackApiError) as err:
        await client.api_call("conversations.open", params={})
    assert err.value.response["error"] == "users_list_not_supplied"
    with pytest.raises(SlackApiError):
        await client.api_call("users.info", http_verb="GET", params={})
    problems = [str(v) for v in fake.violations]
    assert len(problems) == 3
    assert all("required by Slack" in p for p in problems)


async def test_rate_limit_is_retried_after_retry_after(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=1)
    client = client_for(fake)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    started = time.monotonic()
    resp = await client.chat_postMessage(channel="C0ENG123", text="after the limit")
    assert resp["ok"] is True
    assert time.monotonic() - started >= 1.0  # it honoured Retry-After
    assert len(fake.calls("chat.postMessage")) == 2
    assert len(fake.messages("C0ENG123")) == 1


async def test_rate_limit_without_retry_handler(fake: FakeSlack) -> None:
    fake.fail_next("auth.test", retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await client_for(fake).auth_test()
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] in ("7", ["7"])
    assert err.value.response["error"] == "ratelimited"


async def test_fail_next_with_ok_false(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", error="channel_not_found", status=200, times=2)
    client = client_for(fake)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel="C0ENG123", text="x")
        assert err.value.response["error"] == "channel_not_found"
    assert (await client.chat_postMessage(channel="C0ENG123", text="x"))["ok"] is True


async def test_response_url_posts_are_recorded(fake: FakeSlack) -> None:
    url = fake.response_url("cmd-1")
    webhook = AsyncWebhookClient(url)
    resp = await webhook.send(text="Working on it", response_type="ephemeral")
    assert resp.status_code == 200
    assert fake.responses("cmd-1") == [{"text": "Working on it", "response_type": "ephemeral"}]
    assert fake.responses("other") == []


def test_sign_matches_slack_sdk_verifier() -> None:
    verifier = SignatureVerifier(SECRET)
    body = slash_command_body("start <@U0OWNER1> <@U0DEVOPS1>", "U0DEVOPS1")
    headers = sign(body, SECRET)
    assert headers["X-Slack-Signature"].startswith("v0=")
    assert verifier.is_valid_request(body, headers)
    assert verifier.is_valid_request(body.encode(), sign(body.encode(), SECRET))
    assert not verifier.is_valid_request(body + "x", headers)
    assert not verifier.is_valid_request(body, sign(body, "another-secret"))
    stale = sign(body, SECRET, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)
    # The documented example from Slack's "Verifying requests" guide.
    assert (
        SignatureVerifier(SECRET).generate_signature(timestamp="1531420618", body=body)
        == sign(body, SECRET, timestamp=1531420618)["X-Slack-Signature"]
    )


def test_body_builders_match_slack_wire_format() -> None:
    form = urllib.parse.parse_qs(
        slash_command_body("deploy dev", "U0DEVOPS1", response_url="http://x/r")
    )
    assert form["command"] == ["/creators-onboard"]
    assert form["text"] == ["deploy dev"]
    assert form["response_url"] == ["http://x/r"]

    action = urllib.parse.parse_qs(
        block_action_body("U0OWNER1", "confirm", "yes", channel_id="D1", message_ts="1.000100")
    )
    payload = json.loads(action["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["actions"][0]["action_id"] == "confirm"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1.000100",
        "channel_id": "D1",
        "is_ephemeral": False,
    }
    home = json.loads(urllib.parse.parse_qs(block_action_body("U1", "a", "v"))["payload"][0])
    assert home["container"]["type"] == "view"

    event = json.loads(event_body({"type": "app_home_opened", "user": "U1"}, event_id="Ev1"))
    assert event["type"] == "event_callback" and event["event_id"] == "Ev1"
    assert json.loads(url_verification_body("abc"))["challenge"] == "abc"
    assert urllib.parse.parse_qs(ssl_check_body())["ssl_check"] == ["1"]
    assert signed_headers(url_verification_body("c"), SECRET)["Content-Type"] == (
        "application/json"
    )


MODAL = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Abort"},
    "submit": {"type": "plain_text", "text": "Abort"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Why?"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        }
    ],
}


async def test_modals_open_push_update_and_close_per_user(fake: FakeSlack) -> None:
    client = client_for(fake)
    seen: list[tuple[str, dict[str, object]]] = []
    stop = fake.subscribe(lambda method, result: seen.append((method, result)))
    trigger = fake.issue_trigger("U0OWNER1")
    opened = await client.views_open(trigger_id=trigger, view=MODAL)
    root = opened["view"]["id"]
    assert [v["id"] for v in fake.modals("U0OWNER1")] == [root]
    pushed = await client.views_push(
        trigger_id=fake.issue_trigger("U0OWNER1"), view={**MODAL, "callback_id": "second"}
    )
    assert pushed["view"]["root_view_id"] == root
    assert pushed["view"]["previous_view_id"] == root
    await client.views_update(
        view_id=root, view={**MODAL, "title": {"type": "plain_text", "text": "Sure?"}}
    )
    assert fake.modals("U0OWNER1")[0]["title"]["text"] == "Sure?"
    assert fake.modals("U0DEVOPS1") == []
    fake.close_modal("U0OWNER1", pushed["view"]["id"])
    assert [v["id"] for v in fake.modals("U0OWNER1")] == [root]
    stop()
    fake.close_modal("U0OWNER1")
    assert fake.modals("U0OWNER1") == []
    methods = [m for m, _ in seen]
    assert methods.count("modals") == 4  # open, push, update, close; none after stop()
    assert "views.open" in methods
    last = seen[-1][1]
    assert last["user"] == "U0OWNER1"
    assert [v["id"] for v in last["modals"]] == [root]  # type: ignore[attr-defined]
    fake.assert_no_violations()


async def test_a_modal_needs_type_modal_and_a_title(fake: FakeSlack) -> None:
    client = client_for(fake)
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=fake.issue_trigger("U1"), view={"type": "home"})
    assert err.value.response["error"] == "invalid_arguments"
    assert [v.problem for v in fake.violations] == ["view.type must be 'modal'"]


async def test_subscribers_see_posts_edits_and_response_url_posts(fake: FakeSlack) -> None:
    seen: list[tuple[str, dict[str, object]]] = []
    fake.subscribe(lambda method, result: seen.append((method, result)))
    client = client_for(fake)
    posted = await client.chat_postMessage(channel="C0ENG123", text="one")
    await client.chat_update(channel="C0ENG123", ts=posted["ts"], text="two")
    async with aiohttp.ClientSession() as http:
        await http.post(fake.response_url("r1"), json={"text": "only you"})
    assert [m for m, _ in seen] == ["chat.postMessage", "chat.update", "response_url"]
    assert seen[1][1]["message"]["text"] == "two"  # type: ignore[index]
    assert seen[2][1] == {"id": "r1", "body": {"text": "only you"}}


async def test_message_metadata_is_kept_and_shown_only_when_asked(fake: FakeSlack) -> None:
    client = client_for(fake)
    meta = {"event_type": "creators_onboard_post", "event_payload": {"key": "wf#3"}}
    parent = await client.chat_postMessage(channel="C0ENG123", text="parent", metadata=meta)
    for n in range(5):
        await client.chat_postMessage(
            channel="C0ENG123",
            text=f"reply {n}",
            thread_ts=parent["ts"],
            metadata={"event_type": "creators_onboard_post", "event_payload": {"key": f"r{n}"}},
        )
    plain = await client.conversations_history(channel="C0ENG123")
    assert "metadata" not in plain["messages"][0]
    full = await client.conversations_history(channel="C0ENG123", include_all_metadata=True)
    assert full["messages"][0]["metadata"] == meta
    # Replies page by page, oldest first, the parent first.
    keys, cursor = [], None
    while True:
        page = await client.conversations_replies(
            channel="C0ENG123", ts=parent["ts"], include_all_metadata=True, limit=2, cursor=cursor
        )
        keys += [m["metadata"]["event_payload"]["key"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not page["has_more"]:
            break
    assert keys == ["wf#3", "r0", "r1", "r2", "r3", "r4"]
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0ENG123", text="x", metadata={"event_type": "x"})
    assert err.value.response["error"] == "invalid_metadata_format"
    assert any("metadata" in v.problem for v in fake.violations)
