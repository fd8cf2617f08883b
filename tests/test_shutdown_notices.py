"""While the process stops, work the workflows still had in flight is left for the
restart: no ERROR with a traceback for it, no further tries of Slack or the database.
Pure unit tests of the rules (the end to end run: tests/scenarios/test_exactly_once.py)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import structlog

from bot.integrations.slack import SlackCallError
from bot.logging import get_logger
from bot.store import outlast
from bot.workflows import runtime
from bot.workflows.steps.slack import MUST_ARRIVE, briefly

log = get_logger("tests.shutdown")


@pytest.fixture
def fresh_runtime() -> Iterator[None]:
    held, stopping = runtime._deps, runtime._stopping
    runtime.install(SimpleNamespace())  # type: ignore[arg-type]
    yield
    runtime._deps, runtime._stopping = held, stopping


def report(exc: Exception) -> list[dict[str, object]]:
    with structlog.testing.capture_logs() as logs:
        try:
            raise exc
        except RuntimeError:
            runtime.notification_failed(log)
    return logs


def test_a_failed_notice_is_an_error_with_its_traceback(fresh_runtime: None) -> None:
    [entry] = report(RuntimeError("Slack took too long"))
    assert (entry["event"], entry["log_level"], entry.get("exc_info")) == (
        "notification_failed",
        "error",
        True,
    )


def test_while_stopping_it_is_left_for_the_restart_quietly(fresh_runtime: None) -> None:
    runtime.stop()
    [entry] = report(RuntimeError("cannot schedule new futures after shutdown"))
    assert (entry["event"], entry["log_level"]) == ("notification_left_for_restart", "info")
    assert "exc_info" not in entry


def test_a_new_start_clears_the_stop(fresh_runtime: None) -> None:
    runtime.stop()
    runtime.install(SimpleNamespace())  # type: ignore[arg-type]
    assert not runtime.stopping()


@pytest.mark.parametrize("options", [MUST_ARRIVE, briefly(3)])
def test_slack_is_not_tried_again_once_stopping(fresh_runtime: None, options: dict) -> None:
    outage = SlackCallError("chat.postMessage", "http_503", retryable=True, status=503)
    refusal = SlackCallError("chat.postMessage", "channel_not_found")
    worth = options["should_retry"]
    assert worth(outage) and not worth(refusal)
    runtime.stop()
    assert not worth(outage)


async def test_a_database_write_is_not_waited_for_once_stopping(fresh_runtime: None) -> None:
    tries = 0

    async def refused() -> None:
        nonlocal tries
        tries += 1
        raise ConnectionRefusedError("connection refused")

    runtime.stop()
    with pytest.raises(ConnectionRefusedError):
        await outlast(refused, "audit", give_up=runtime.stopping)
    assert tries == 1
