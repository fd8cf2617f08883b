"""Logging: one redacting pipeline for structlog and stdlib loggers; JSON when not a TTY."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from bot import logging as bot_logging
from bot.logging import REDACTED, Hush, configure_logging, get_logger, scrub_mapping
from bot.settings import load_settings
from tests.scenario import BOT_TOKEN, GITHUB_TOKEN, LINEAR_KEY, SIGNING_SECRET

OP_TOKEN = "ops_LOGGING-service-account-token-0123456789"
# A credentialSecret has no recognisable shape: only the configured value catches it.
CREDENTIAL_SECRET = "Zq8+vT3/kLp0Wm9xNc2Rb7Yh=="
SECRETS = [BOT_TOKEN, SIGNING_SECRET, GITHUB_TOKEN, LINEAR_KEY, OP_TOKEN, CREDENTIAL_SECRET]


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    names = {"dbos", "slack_bolt", "slack_sdk", "aiohttp", *bot_logging.BODY_LOGGERS}
    libs = {
        name: (
            list(logging.getLogger(name).handlers),
            logging.getLogger(name).propagate,
            logging.getLogger(name).level,
        )
        for name in names
    }
    config = structlog.get_config()
    known = list(bot_logging.REDACTOR._secrets)
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        for name, (lib_handlers, propagate, lib_level) in libs.items():
            lib = logging.getLogger(name)
            lib.handlers[:] = lib_handlers
            lib.propagate = propagate
            lib.setLevel(lib_level)
        structlog.configure(**config)
        bot_logging.REDACTOR._secrets[:] = known


def configured(fmt: str = "json", secrets: list[str] | None = None) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(
        level="DEBUG", fmt=fmt, secrets=SECRETS if secrets is None else secrets, stream=stream
    )
    return stream


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"secret leaked: {secret[:6]}…\n{text}"


def test_configured_secrets_are_redacted_everywhere() -> None:
    stream = configured()
    log = get_logger("tests.logging")
    log.info(f"connecting with {BOT_TOKEN}", detail=f"secret={SIGNING_SECRET}")
    log.info("nested", data={"list": [OP_TOKEN, {"deep": CREDENTIAL_SECRET}]})
    log.warning("positional %s", "ignored", note=("tuple", GITHUB_TOKEN))
    out = stream.getvalue()
    assert_clean(out)
    assert out.count(REDACTED) >= 5
    records = json_lines(stream)
    assert records[0]["event"] == f"connecting with {REDACTED}"


def test_token_shapes_are_redacted_without_being_configured() -> None:
    stream = configured(secrets=[])
    log = get_logger("tests.logging")
    shapes = [
        "xoxb-9999-8888-unconfiguredbottoken",
        "xapp-1-A0FAKE-123456-abcdef",
        "xoxp-1234-5678-usertoken",
        "ghp_" + "a" * 36,
        "github_pat_" + "B" * 30,
        "lin_api_" + "c" * 20,
        "ops_" + "d" * 30,
    ]
    for shape in shapes:
        log.info("seen", text=f"the value is {shape} ok")
    out = stream.getvalue()
    for shape in shapes:
        assert shape not in out
    assert "the value is [redacted] ok" in out


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "token",
        "api_key",
        "apiKey",
        "authorization",
        "Authorization",
        "signing_secret",
        "credentialSecret",
        "cookie",
        "x_slack_signature",
    ],
)
def test_secret_shaped_keys_are_blanked(key: str) -> None:
    stream = configured(secrets=[])
    get_logger("tests.logging").info("request", **{key: "hunter2-plain-value"})
    get_logger("tests.logging").info("headers", headers={key: "hunter2-plain-value"})
    out = stream.getvalue()
    assert "hunter2" not in out
    records = json_lines(stream)
    assert records[0][key] == REDACTED
    assert records[1]["headers"] == {key: REDACTED}


def test_non_secret_keys_and_empty_values_are_kept() -> None:
    stream = configured(secrets=[])
    get_logger("tests.logging").info("ok", partition="dev", token=None, vault="Arda-DevOAM")
    record = json_lines(stream)[0]
    assert record["partition"] == "dev"
    assert record["token"] is None
    assert record["vault"] == "Arda-DevOAM"


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_exception_messages_and_tracebacks_are_scrubbed(fmt: str) -> None:
    stream = configured(fmt=fmt)
    log = get_logger("tests.logging")
    try:
        raise RuntimeError(f"op failed with token {OP_TOKEN} and secret {CREDENTIAL_SECRET}")
    except RuntimeError as exc:
        log.exception("boom")
        log.error("as a field", error=exc)
    out = stream.getvalue()
    assert "RuntimeError" in out and "Traceback" in out
    assert_clean(out)


def test_stdlib_records_from_libraries_are_redacted() -> None:
    stream = configured()
    bolt = logging.getLogger("slack_bolt.AsyncApp")
    bolt.warning("Failed to run a listener function (token: %s)", BOT_TOKEN)
    logging.getLogger("slack_sdk.web.async_base_client").info(
        "Sending a request - headers: %s", {"Authorization": f"Bearer {BOT_TOKEN}"}
    )
    logging.getLogger("dbos").info("step failed: %s", CREDENTIAL_SECRET)
    try:
        raise ValueError(f"signature mismatch for {SIGNING_SECRET}")
    except ValueError:
        bolt.exception("verification failed")
    out = stream.getvalue()
    assert_clean(out)
    records = json_lines(stream)
    assert [r["logger"] for r in records] == [
        "slack_bolt.AsyncApp",
        "slack_sdk.web.async_base_client",
        "dbos",
        "slack_bolt.AsyncApp",
    ]
    assert records[0]["level"] == "warning"
    assert "ValueError" in str(records[3]["exception"])


def test_json_when_not_a_tty_console_when_a_tty() -> None:
    stream = io.StringIO()
    configure_logging(fmt="", stream=stream)
    get_logger("tests.logging").info("hello", n=1)
    logging.getLogger("aiohttp.access").warning("from stdlib")
    records = json_lines(stream)
    assert records[0]["event"] == "hello" and records[0]["n"] == 1
    assert records[0]["level"] == "info" and "timestamp" in records[0]
    assert records[1]["event"] == "from stdlib"

    tty = TTY()
    configure_logging(fmt="", stream=tty)
    get_logger("tests.logging").info("hello", n=1)
    line = tty.getvalue().strip()
    assert "hello" in line
    with pytest.raises(ValueError):
        json.loads(line)

    # LOG_FORMAT=json wins over a terminal.
    forced = TTY()
    configure_logging(fmt="json", stream=forced)
    get_logger("tests.logging").info("forced")
    assert json.loads(forced.getvalue())["event"] == "forced"


def test_level_filters() -> None:
    stream = io.StringIO()
    configure_logging(level="WARNING", fmt="json", stream=stream)
    get_logger("tests.logging").info("quiet")
    get_logger("tests.logging").warning("loud")
    assert [r["event"] for r in json_lines(stream)] == ["loud"]


def test_request_context_is_bound_and_cleared() -> None:
    stream = configured()
    bot_logging.bind_request(request_id="r-1", listener="command:help")
    get_logger("tests.logging").info("inside")
    bot_logging.clear_request()
    get_logger("tests.logging").info("outside")
    inside, outside = json_lines(stream)
    assert inside["request_id"] == "r-1" and inside["listener"] == "command:help"
    assert "request_id" not in outside


def test_scrub_mapping_for_display() -> None:
    configured()
    shown = scrub_mapping({"token": BOT_TOKEN, "url": f"https://x/?k={LINEAR_KEY}", "n": 3})
    assert shown == {"token": REDACTED, "url": f"https://x/?k={REDACTED}", "n": 3}


def test_settings_repr_holds_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_APP_TOKEN": "xapp-1-A0FAKE-0123456789abcdef",
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "LINEAR_API_KEY": LINEAR_KEY,
            "OP_SERVICE_ACCOUNT_TOKEN": OP_TOKEN,
        }
    )
    secrets = settings.secret_values()
    assert len(secrets) == 6
    for text in (repr(settings.env), str(settings.env), repr(settings), repr(settings.config)):
        for secret in secrets:
            assert secret not in text

    # And a settings object logged by accident is still clean.
    stream = configured(secrets=[])
    get_logger("tests.logging").info("settings", env=settings.env, dump=settings.env.model_dump())
    out = stream.getvalue()
    for secret in secrets:
        assert secret not in out


@pytest.mark.parametrize("secret", ['pa"ss-word-123456', "pässwört-secret-123"])
def test_tracebacks_are_scrubbed_whatever_the_secret_contains(secret: str) -> None:
    stream = configured(secrets=[secret])
    try:
        raise ValueError(f"rejected {secret}")
    except ValueError:
        get_logger("tests.logging").exception("boom")
    record = json_lines(stream)[0]
    assert secret not in str(record["exception"])


def test_hush_lets_one_warning_through_a_minute_and_counts_the_rest() -> None:
    now = [1000.0]
    hush = Hush(every=60.0, clock=lambda: now[0])
    assert hush.due("slack_request_stale") == 0
    assert hush.due("slack_request_stale") is None
    assert hush.due("slack_signature_mismatch") == 0  # each event on its own
    now[0] += 59.0
    assert hush.due("slack_request_stale") is None
    now[0] += 1.5
    assert hush.due("slack_request_stale") == 2  # held back since the last one
    assert hush.due("slack_request_stale") is None


async def test_debug_never_prints_amplify_s_values_nor_the_proxy_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """LOG_LEVEL=DEBUG: botocore would print GetApp's answer (the Creators API secret in
    it) and slack_sdk the proxy URL it read (its password in it). Neither secret is one the
    redactor knows; the bot's own debug lines still come through."""
    import boto3
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.integrations.amplify import AmplifyChecker
    from bot.sandbox.fakes.amplify import FakeAmplify

    planted = "planted-creators-secret-5e4d3c2b1a"
    proxy_password = "planted-proxy-password-77"
    monkeypatch.setenv("HTTPS_PROXY", f"http://svc-bot:{proxy_password}@127.0.0.1:9")
    stream = configured()
    root = logging.getLogger()
    assert root.level == logging.DEBUG
    async with FakeAmplify() as fake:
        variables = {
            "AMAZON_CREATORS_CREDENTIAL_ID": "amzn1.cred.id",
            "AMAZON_CREATORS_CREDENTIAL_SECRET": planted,
            "AMAZON_CREATORS_CREDENTIAL_VERSION": "3.1",
            "AMAZON_ASSOCIATE_TAG": "arda-20",
        }
        fake.add_app("d1abc", "bff-dev", "us-east-1", variables, "main")

        def client(region: str) -> object:
            return boto3.client(
                "amplify",
                region_name=region,
                endpoint_url=fake.url,
                aws_access_key_id="AKIDEXAMPLE",
                aws_secret_access_key="not-a-real-key",
            )

        report = await AmplifyChecker(client).check(
            "d1abc", "main", "us-east-1", partition_name="dev"
        )
        AsyncWebClient(token="xoxb-not-a-token")  # reads the proxy from the environment
    assert report.ok
    bot_logging.get_logger("tests").debug("own_debug_line", detail="kept")
    text = stream.getvalue()
    assert "own_debug_line" in text
    assert planted not in text
    assert proxy_password not in text
