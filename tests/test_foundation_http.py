"""The foundation, as Slack and an operator see it: real HTTP into the real app.

Signed slash commands and events, signature and replay checks, Slack's handshakes,
health, readiness (against a database that goes away), Prometheus metrics, refusals
with an audit row, and direct messages. DB-touching tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.commands import COMMAND, SUBCOMMANDS
from bot.listen import CannotListen
from bot.sandbox.fakes.signing import (
    BOT_ID,
    BOT_USER_ID,
    FORM_CONTENT_TYPE,
    app_rate_limited_body,
    slash_command_body,
    ssl_check_body,
    url_verification_body,
)
from bot.server import running_bot
from bot.settings import load_settings
from tests.conftest import PG_ADMIN_URL
from tests.scenario import DEVOPS, OWNER, STRANGER, World, eventually


def blocks_text(answer: dict[str, Any]) -> str:
    return json.dumps(answer.get("blocks", []), ensure_ascii=False)


def assert_help(answer: dict[str, Any]) -> None:
    assert answer["response_type"] == "ephemeral"
    shown = answer["text"] + blocks_text(answer)
    for sub in SUBCOMMANDS:
        assert f"{COMMAND} {sub.usage}" in answer["text"], sub.name
        assert f"{COMMAND} {sub.usage}" in shown


async def get(world: World, path: str) -> tuple[int, str, str]:
    assert world.http is not None
    async with world.http.get(f"{world.base_url}{path}") as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


# ------------------------------------------------------------------------ the command


async def test_help_lists_every_subcommand(world: World) -> None:
    async with world.bot():
        assert_help(await world.command("help"))
        assert_help(await world.command(""))
        assert_help(await world.command("   ", user=STRANGER))


async def test_unknown_subcommand_gets_help_and_a_suggestion(world: World) -> None:
    async with world.bot():
        answer = await world.command("stat")
        typo = await world.command("verfy")
        nonsense = await world.command("xyzzy")
    assert_help(answer)
    assert "I don't know `stat`" in blocks_text(answer)
    assert "Did you mean" in blocks_text(answer)
    assert_help(typo)
    assert f"Did you mean `{COMMAND} verify`" in blocks_text(typo)
    assert_help(nonsense)
    assert "Did you mean" not in blocks_text(nonsense)


async def test_stat_suggests_status(world: World) -> None:
    async with world.bot():
        answer = await world.command("stat")
    assert f"Did you mean `{COMMAND} status`" in blocks_text(answer)


# --------------------------------------------------------------- request verification


async def test_unsigned_request_is_rejected(world: World) -> None:
    assert world.http is not None
    body = slash_command_body("help", DEVOPS)
    async with world.bot():
        async with world.http.post(
            f"{world.base_url}/slack/events",
            data=body.encode(),
            headers={"Content-Type": FORM_CONTENT_TYPE},
        ) as resp:
            assert resp.status == 401
            assert "start [@owner]" not in await resp.text()


async def test_wrong_signature_is_rejected(world: World) -> None:
    async with world.bot():
        status, payload = await world.post(
            slash_command_body("help", DEVOPS), secret="not-the-signing-secret-000000"
        )
    assert status == 401
    assert "start [@owner]" not in payload


async def test_tampered_body_is_rejected(world: World) -> None:
    assert world.http is not None
    from bot.sandbox.fakes.signing import signed_headers

    body = slash_command_body("help", DEVOPS)
    headers = signed_headers(body, "test-signing-secret-0123456789abcdef")
    async with world.bot():
        async with world.http.post(
            f"{world.base_url}/slack/events",
            data=body.replace("help", "start").encode(),
            headers=headers,
        ) as resp:
            assert resp.status == 401


async def test_old_timestamp_is_rejected_even_when_correctly_signed(
    world: World, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused, as Slack's docs require; and since it carries our signature, the warning
    says what it means when every request comes so (this host's clock is off) and how to
    fix it. An old request with a wrong signature is only refused."""
    caplog.set_level(logging.INFO)
    old = int(time.time()) - 6 * 60
    async with world.bot():
        status, payload = await world.post(slash_command_body("help", DEVOPS), timestamp=old)
        forged, _ = await world.post(
            slash_command_body("help", DEVOPS), timestamp=old - 3600, secret="wrong-secret"
        )
        # A fresh timestamp with the same body is fine: only the age was wrong.
        fresh_status, _ = await world.post(slash_command_body("help", DEVOPS))
    assert status == 401
    assert "start [@owner]" not in payload
    assert forged == 401
    assert fresh_status == 200
    logs = caplog.text + "\n".join(capsys.readouterr())
    [stale] = [line for line in logs.splitlines() if "slack_request_stale" in line]
    assert "seconds_old" in stale and ("360" in stale or "361" in stale), stale
    assert "this host's clock is off" in stale and "timedatectl set-ntp true" in stale
    assert "creators-onboard check" in stale
    assert "the signature does not match" in logs  # the forged one: refused, no clock talk


# -------------------------------------------------------------------- Slack handshakes


async def test_ssl_check_answers_200_and_does_nothing(world_db: World) -> None:
    world = world_db
    async with world.bot() as running:
        world.slack.clear_calls()  # the bot's start asked auth.test (who it is)
        status, payload = await world.post(ssl_check_body())
        entries = await running.deps.store.entries()
        _, _, metrics = await get(world, "/metrics")
    assert status == 200
    assert payload == ""
    assert world.slack.calls() == []
    assert entries == []
    assert "command:" not in metrics


async def test_slack_s_unsigned_ssl_check_answers_200(world_db: World) -> None:
    """Slack sends the certificate probe without X-Slack-Signature (Bolt answers it before
    checking any); a command without a signature is still refused."""
    world = world_db
    async with world.bot() as running:
        assert world.http is not None
        url = f"{world.base_url}/slack/events"
        form = {"Content-Type": FORM_CONTENT_TYPE}
        async with world.http.post(url, data=ssl_check_body(), headers=form) as resp:
            probe = resp.status, await resp.text()
        smuggled = ssl_check_body() + "&" + slash_command_body("abort now", DEVOPS)
        async with world.http.post(url, data=smuggled, headers=form) as resp:
            command = resp.status
        entries = await running.deps.store.entries()
    assert probe == (200, "")
    assert command == 401
    assert entries == []


async def test_slack_s_rate_limit_notice_answers_200_and_says_what_is_lost(
    world: World, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """`app_rate_limited` comes signed, with no inner event: without an answer of its
    own, Bolt's 404 counts as a failed delivery, and enough of those get an app's event
    subscriptions disabled. Answered 200 (unsigned: 401), and a warning says what is lost
    and what to do."""
    caplog.set_level(logging.WARNING)
    async with world.bot():
        unsigned, _ = await world.post(app_rate_limited_body(1518467820), secret="wrong-secret")
        status, payload = await world.post(app_rate_limited_body(1518467820))
    assert (unsigned, status, payload) == (401, 200, "")
    logs = caplog.text + "\n".join(capsys.readouterr())
    assert "slack_events_rate_limited" in logs and "2018-02-12 20:37 UTC" in logs
    assert "more than 30,000 in an hour" in logs and "Remove the bot from busy channels" in logs
    # Nothing said to anyone (Bolt's own authorization asks auth.test once, as for any).
    assert {c.method for c in world.slack.calls()} <= {"auth.test"}


async def test_url_verification_echoes_the_challenge(world: World) -> None:
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    async with world.bot():
        world.slack.clear_calls()  # the bot's start asked auth.test (who it is)
        status, payload = await world.post(url_verification_body(challenge))
    assert status == 200
    # Slack accepts the challenge as plain text, form or JSON {"challenge": …}: Bolt sends JSON.
    assert json.loads(payload) == {"challenge": challenge}
    assert world.slack.calls() == []


async def test_url_verification_must_be_signed(world: World) -> None:
    async with world.bot():
        status, payload = await world.post(url_verification_body("abc"), secret="wrong-secret-1")
    assert status == 401
    assert "abc" not in payload


# --------------------------------------------------------------- health and readiness


async def test_healthz(world: World) -> None:
    async with world.bot():
        status, content_type, payload = await get(world, "/healthz")
    assert status == 200
    assert "json" in content_type
    assert json.loads(payload) == {"status": "ok"}


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


async def test_readyz_follows_the_database(world_db: World) -> None:
    world = world_db
    async with world.bot():
        status, _, payload = await get(world, "/readyz")
        assert status == 200, payload
        assert json.loads(payload)["status"] == "ready"

        if world.database_url.startswith("sqlite"):
            # The file is replaced by something SQLite can't open.
            path = _sqlite_path(world.database_url)
            path.unlink()
            path.mkdir()
        else:
            name = world.database_url.rsplit("/", 1)[1]
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')

        status, _, payload = await get(world, "/readyz")
        assert status == 503, payload
        body = json.loads(payload)
        assert body["status"] == "not ready"
        assert "DATABASE_URL" in body["reason"]
        # Liveness is not readiness: the process itself is fine.
        assert (await get(world, "/healthz"))[0] == 200
        # Give the database back before the bot stops, so none of DBOS's worker threads is
        # left retrying a database that is gone (that would keep the process alive).
        if world.database_url.startswith("sqlite"):
            path = _sqlite_path(world.database_url)
            shutil.rmtree(path)
        else:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')


# ----------------------------------------------------------------------------- metrics


async def test_metrics_count_requests_and_ack_latency_per_listener(world_db: World) -> None:
    world = world_db
    async with world.bot():
        for _ in range(3):
            await world.command("help")
        await world.command("stat")
        await world.command("start", user=STRANGER)
        status, content_type, payload = await get(world, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(payload)}

    requests = families["creators_onboard_slack_requests"]
    assert requests.type == "counter"
    counts = {
        (s.labels["listener"], s.labels["outcome"]): s.value
        for s in requests.samples
        if s.name.endswith("_total")
    }
    assert counts[("command:help", "ok")] == 3
    assert counts[("command:unknown", "ok")] == 1  # bounded: not one label per typo
    assert counts[("command:start", "ok")] == 1

    ack = families["creators_onboard_slack_ack_seconds"]
    assert ack.type == "histogram"
    by_listener: dict[str, dict[str, float]] = {}
    for sample in ack.samples:
        listener = sample.labels["listener"]
        if sample.name.endswith("_count"):
            by_listener.setdefault(listener, {})["count"] = sample.value
        if sample.name.endswith("_bucket") and sample.labels["le"] == "+Inf":
            by_listener.setdefault(listener, {})["inf"] = sample.value
        if sample.name.endswith("_sum"):
            by_listener.setdefault(listener, {})["sum"] = sample.value
    assert by_listener["command:help"]["count"] == 3
    assert by_listener["command:help"]["inf"] == 3
    assert 0 < by_listener["command:help"]["sum"] < 3 * 3.0  # every ack within Slack's 3 s
    assert by_listener["command:start"]["count"] == 1


# --------------------------------------------------------------------------- refusals


async def test_refusal_is_ephemeral_names_the_yaml_key_and_is_audited(world_db: World) -> None:
    world = world_db
    async with world.bot() as running:
        answer = await world.command("start", user=STRANGER)
        # Audited right after the ack (a lazy listener).
        entries = await eventually(running.deps.store.entries, what="the refusal audited")
        active = await running.deps.index.newest(active=True)
    assert answer["response_type"] == "ephemeral"
    assert "`slack.devops`" in answer["text"]
    assert f"<@{DEVOPS}>" in answer["text"]  # who to ask instead
    assert active is None  # a refusal changes no state
    refused = [e for e in entries if e.outcome == "refused"]
    assert len(refused) == 1
    assert refused[0].actor == STRANGER
    assert refused[0].action == "start"
    assert "slack.devops" in refused[0].detail
    # No DM, no status message: nothing was started.
    assert not world.slack.calls("chat.postMessage")


async def test_owner_is_refused_devops_commands_too(world_db: World) -> None:
    world = world_db
    async with world.bot() as running:
        for sub in ("verify", "deploy dev", "retry", "abort no reason", "rotate", "smoke dev"):
            answer = await world.command(sub, user=OWNER)
            assert answer["response_type"] == "ephemeral"
            assert "`slack.devops`" in answer["text"], sub

        async def audited() -> list[Any]:
            found = await running.deps.store.entries()
            return found if len([e for e in found if e.outcome == "refused"]) >= 6 else []

        # A refusal is audited right after its ack (a lazy listener).
        entries = await eventually(audited, what="six refusals in the audit trail")
    assert sorted(e.action for e in entries if e.outcome == "refused") == sorted(
        ["verify", "deploy", "retry", "abort", "rotate", "smoke"]
    )


# ------------------------------------------------------------------------------ DMs


def _dm_event(user: str, channel: str, ts: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channel_type": "im",
        "channel": channel,
        "user": user,
        "text": "hello, what now?",
        "ts": ts,
        "event_ts": ts,
        **extra,
    }


async def test_bot_messages_in_the_dm_are_ignored(world: World) -> None:
    channel = world.dm(OWNER)
    async with world.bot():
        status, _ = await world.event(
            _dm_event(BOT_USER_ID, channel, "1700000000.000100", bot_id=BOT_ID)
        )
        assert status == 200
        edited, _ = await world.event(
            _dm_event(OWNER, channel, "1700000000.000200", subtype="message_changed")
        )
        assert edited == 200
        # A person's message afterwards is answered: the lazy listeners had their chance.
        await world.event(_dm_event(OWNER, channel, "1700000000.000300"))
        await eventually(lambda: world.slack.calls("chat.postMessage"), what="the hint")
    posts = world.slack.calls("chat.postMessage")
    assert len(posts) == 1
    assert posts[0].args["thread_ts"] == "1700000000.000300"


async def test_a_person_gets_a_hint_in_thread(world: World) -> None:
    channel = world.dm(OWNER)
    async with world.bot():
        status, payload = await world.event(_dm_event(OWNER, channel, "1700000000.000500"))
        assert status == 200
        replies = await eventually(
            lambda: world.slack.thread(channel, "1700000000.000500"), what="a reply in thread"
        )
    assert len(replies) == 1
    assert "/creators-onboard help" in replies[0].text
    assert payload == ""
    world.slack.assert_no_violations()


async def _bot_posts_in_dm(world: World, user: str, text: str) -> str:
    """A message the bot itself posted in the user's DM (a step's parent), via the fake."""
    from slack_sdk.web.async_client import AsyncWebClient

    from tests.scenario import BOT_TOKEN

    client = AsyncWebClient(token=BOT_TOKEN, base_url=world.slack.api_url)
    resp = await client.chat_postMessage(channel=world.dm(user), text=text)
    return str(resp["ts"])


async def test_reply_inside_a_thread_stays_in_that_thread(world: World) -> None:
    channel = world.dm(DEVOPS)
    parent = await _bot_posts_in_dm(world, DEVOPS, "Step 1: open the Send link")
    async with world.bot():
        await world.event(_dm_event(DEVOPS, channel, "1700000000.000900", thread_ts=parent))
        replies = await eventually(
            lambda: [m for m in world.slack.thread(channel, parent) if m.user == BOT_USER_ID],
            what="a reply in the step's thread",
        )
    assert len(replies) == 1
    assert "/creators-onboard help" in replies[0].text


async def test_reply_in_a_thread_whose_parent_is_gone_still_gets_a_hint(world: World) -> None:
    channel = world.dm(DEVOPS)
    async with world.bot():
        await world.event(
            _dm_event(DEVOPS, channel, "1700000000.000900", thread_ts="1700000000.000700")
        )
        await eventually(lambda: world.slack.calls("chat.postMessage"), timeout=5, what="a hint")


async def test_a_port_taken_after_serve_s_first_check_is_said_the_same_way(world: World) -> None:
    """The CLI checks HOST:PORT first; another program can still take it before the bind.
    The bind's failure is the same one line, and what had started is shut down."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = load_settings({**world.env(), "HOST": "127.0.0.1", "PORT": str(port)})
        with pytest.raises(CannotListen, match="another program is listening on that port"):
            async with running_bot(settings):
                pytest.fail("the bot must not run without its port")
    # Shut down cleanly: the next start in this process works.
    async with world.bot():
        status, _ = await world.post(slash_command_body("help", DEVOPS))
    assert status == 200


async def test_requests_signed_with_another_secret_point_at_the_signing_secret(
    world: World, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first thing to go wrong when the app is set up: SLACK_SIGNING_SECRET holds the
    Client Secret or the Verification Token. Every request is refused (as it must be) and
    the log says where the right value is — once a minute, not once per request; an
    unsigned request or an old one says nothing of the kind."""
    caplog.set_level(logging.INFO)
    async with world.bot():
        for _ in range(3):
            status, _ = await world.post(slash_command_body("help", DEVOPS), secret="client-secret")
            assert status == 401
        assert world.http is not None
        async with world.http.post(
            f"{world.base_url}/slack/events", data=slash_command_body("help", DEVOPS).encode()
        ) as unsigned:
            assert unsigned.status == 401
    logs = caplog.text + "\n".join(capsys.readouterr())
    [warning] = [line for line in logs.splitlines() if "slack_signature_mismatch" in line]
    assert "not with SLACK_SIGNING_SECRET" in warning
    assert "Basic Information → App Credentials → Signing Secret" in warning
    assert "not the Client Secret or the Verification Token" in warning
    # The other two within the minute: refused and logged, but not warned about again.
    assert logs.count("the signature does not match") >= 2


async def test_secrets_from_files_ending_in_a_newline_still_work(world: World) -> None:
    """The bot token and signing secret as a Kubernetes secret made from files carries
    them: each with a trailing newline. Slack's calls and signed requests work as usual
    (a newline in a header raised in aiohttp; in the signing secret, every signature failed)."""
    env = {
        **world.env(),
        "SLACK_BOT_TOKEN": world.env()["SLACK_BOT_TOKEN"] + "\n",
        "SLACK_SIGNING_SECRET": world.env()["SLACK_SIGNING_SECRET"] + "\r\n",
    }
    async with running_bot(load_settings(env)) as running:
        world.base_url = running.base_url
        status, payload = await world.post(slash_command_body("status", DEVOPS))
    assert status == 200, payload
    assert world.slack.calls("auth.test"), "Bolt asked Slack who it is, with the token"


async def test_the_bot_asks_slack_who_it_is_before_the_first_request(world: World) -> None:
    """Bolt asks `auth.test` on the first request it authorizes, inside that request's ack
    (3 seconds): the first press after every restart waited on a round trip to Slack.
    Asked as the bot starts, and never again."""
    async with world.bot():
        assert len(world.slack.calls("auth.test")) == 1  # before anything was sent
        for text in ("status", "help", "verify"):
            assert (await world.command(text))["response_type"] == "ephemeral"
    assert len(world.slack.calls("auth.test")) == 1


async def test_slack_not_answering_as_the_bot_starts_is_asked_at_the_first_request(
    world: World, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Slack refusing or not answering `auth.test` at start does not stop the bot: it says
    so, and Bolt asks again on the first request, as it did before."""
    caplog.set_level(logging.INFO)
    world.slack.fail_next("auth.test", error="fatal_error", status=200)
    async with world.bot():
        assert len(world.slack.calls("auth.test")) == 1
        answer = await world.command("status")
        assert answer["response_type"] == "ephemeral" and "rollout" in answer["text"].lower()
        assert len(world.slack.calls("auth.test")) == 2  # Bolt's own, on that request
        await world.command("help")
        assert len(world.slack.calls("auth.test")) == 2
    logs = caplog.text + "\n".join(capsys.readouterr())
    [line] = [line for line in logs.splitlines() if "slack_auth_deferred" in line]
    assert "fatal_error" in line and "first request" in line
    assert "creators-onboard check" in line
    assert world.env()["SLACK_BOT_TOKEN"] not in logs


async def test_a_proxy_answering_for_slack_as_the_bot_starts_does_not_stop_it(
    world: World, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """A proxy in front of Slack answering `auth.test` at start with a text/plain 503
    (Envoy's "upstream connect error"): the bot starts all the same and says what Slack
    answered (slack_sdk keeps such a body as a str, and reading its code used to raise
    AttributeError out of `serve`)."""
    caplog.set_level(logging.INFO)
    world.slack.fail_next(
        "auth.test",
        error="upstream connect error or disconnect/reset before headers. reset reason: "
        "connection termination",
        status=503,
        plain=True,
    )
    async with world.bot():
        answer = await world.command("status")
        assert answer["response_type"] == "ephemeral"
    logs = caplog.text + "\n".join(capsys.readouterr())
    [line] = [line for line in logs.splitlines() if "slack_auth_deferred" in line]
    assert "http_503" in line and "first request" in line
