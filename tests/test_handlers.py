"""Handlers as units: parse a Slack payload → submit a request → ack/render, against a fake
service. What the service decides is tested in test_service.py."""

from __future__ import annotations

from typing import Any

import pytest

from bot.blocks.ids import (
    ABORT,
    DEPLOY,
    PING_DEVOPS,
    RERUN_VERIFY,
    RETRY,
    STUCK,
    partition_value,
    runbook_action_id,
    step_value,
)
from bot.rollout.events import (
    AbortRequest,
    DeployRequest,
    HelpRequest,
    Request,
    RetryRequest,
    SmokeRequest,
    StepAction,
    VerifyRequest,
)
from bot.rollout.port import Answer, Found
from bot.rollout.state import RolloutKind
from bot.settings import FileConfig
from handlers.actions import handle_press
from handlers.commands import answer
from tests.fakes.signing import block_action_payload

OWNER, DEVOPS = "U0OWNER1", "U0DEVOPS1"
CONFIG = FileConfig.model_validate({"slack": {"account_owners": [OWNER], "devops": [DEVOPS]}})


class FakeService:
    def __init__(self, *, accept: bool = True) -> None:
        self.accept = accept
        self.submitted: list[tuple[Request, str | None, str]] = []
        self.rejected: list[tuple[str, str, str, str | None]] = []
        self.started: list[dict[str, Any]] = []

    async def judge(self, request: Request, *, rollout_id: str | None) -> Answer:
        return Answer(self.accept, "accepted" if self.accept else "refused because")

    async def deliver(self, answer: Answer, request: Request, *, key: str) -> None:
        self.submitted.append((request, None, key))

    async def submit(self, request: Request, *, rollout_id: str | None, key: str) -> Answer:
        self.submitted.append((request, rollout_id, key))
        return await self.judge(request, rollout_id=rollout_id)

    async def judge_start(
        self, *, user: str, owner: str | None, devops: str | None, kind: RolloutKind
    ) -> Answer | None:
        return None

    async def start(
        self, *, user: str, owner: str | None, devops: str | None, kind: RolloutKind
    ) -> Answer:
        self.started.append({"user": user, "owner": owner, "devops": devops, "kind": kind})
        return Answer(True, "started")

    async def reject(
        self, user: str, action: str, why: str, *, rollout_id: str | None = None
    ) -> Answer:
        self.rejected.append((user, action, why, rollout_id))
        return Answer(False, why)

    async def latest(self) -> Found | None:
        return None


class Responses:
    def __init__(self) -> None:
        self.texts: list[str] = []

    async def __call__(self, **kwargs: Any) -> None:
        assert kwargs["response_type"] == "ephemeral"
        assert kwargs["replace_original"] is False
        self.texts.append(kwargs["text"])


async def press(service: FakeService, user: str, action_id: str, value: str) -> Responses:
    body = block_action_payload(
        user, action_id, value, channel_id="D0DM", message_ts="1.1", response_url="https://r"
    )
    responses = Responses()
    await handle_press(service, body, responses)  # type: ignore[arg-type]
    return responses


@pytest.mark.parametrize(
    ("action_id", "value", "expected"),
    [
        (runbook_action_id("sent"), step_value("rollout-1", "handover_send", "sent"), StepAction),
        (STUCK, step_value("rollout-1", "populate", "stuck"), HelpRequest),
        (PING_DEVOPS, step_value("rollout-1", "prereq", "ping_devops"), HelpRequest),
        (RERUN_VERIFY, step_value("rollout-1", "prereq", "rerun_verify"), VerifyRequest),
        (DEPLOY, partition_value("rollout-1", "dev", "deploy"), DeployRequest),
        (RETRY, partition_value("rollout-1", "stage", "retry"), RetryRequest),
        (ABORT, partition_value("rollout-1", "stage", "abort"), AbortRequest),
    ],
)
async def test_a_press_becomes_one_request_for_the_buttons_rollout(
    action_id: str, value: str, expected: type
) -> None:
    service = FakeService()
    responses = await press(service, DEVOPS, action_id, value)
    assert responses.texts == []  # accepted: the rollout answers in its threads
    [(request, rollout_id, key)] = service.submitted
    assert isinstance(request, expected)
    assert rollout_id == "rollout-1"
    assert request.user == DEVOPS and request.channel == "D0DM"
    assert request.response_url == "https://r"
    assert key.startswith(f"{DEVOPS}:")


async def test_the_verify_button_never_carries_a_step_or_role() -> None:
    """Whatever step a re-run button's value names, it asks for a verification; who may
    do that is judged from the rollout's state, not the button."""
    service = FakeService()
    await press(service, OWNER, RERUN_VERIFY, step_value("rollout-1", "prereq", "rerun_verify"))
    [(request, _, _)] = service.submitted
    assert request == VerifyRequest(
        user=OWNER, at=request.at, channel="D0DM", response_url="https://r"
    )


async def test_a_refused_press_is_answered_only_to_the_presser() -> None:
    service = FakeService(accept=False)
    responses = await press(service, OWNER, DEPLOY, partition_value("rollout-1", "dev", "deploy"))
    assert responses.texts == [":no_entry: refused because"]


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        # A value from an older version of the bot, and plain garbage.
        (runbook_action_id("sent"), '{"r":"rollout-1","s":"handover_send","a":"sent"}'),
        (DEPLOY, "not json"),
        (DEPLOY, '{"rollout":"rollout-1","partition":"' + "x" * 500 + '","action":"deploy"}'),
    ],
)
async def test_an_unreadable_value_is_rejected_and_audited(action_id: str, value: str) -> None:
    service = FakeService()
    responses = await press(service, DEVOPS, action_id, value)
    assert service.submitted == []
    assert len(service.rejected) == 1
    assert "older version" in responses.texts[0]


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        # The action id and the value disagree: a tampered or mixed-up button.
        (runbook_action_id("sent"), step_value("rollout-1", "handover_send", "received")),
        (DEPLOY, step_value("rollout-1", "deploy_gate", "deploy")),
        (RETRY, partition_value("rollout-1", "dev", "deploy")),
        (STUCK, partition_value("rollout-1", "dev", "stuck")),
    ],
)
async def test_an_unknown_button_is_rejected_and_audited(action_id: str, value: str) -> None:
    service = FakeService()
    responses = await press(service, DEVOPS, action_id, value)
    assert service.submitted == []
    [(user, _, why, rollout_id)] = service.rejected
    assert user == DEVOPS and rollout_id == "rollout-1"
    assert "don't know that button" in why and responses.texts == [f"{why}"]


def command(text: str, user: str = DEVOPS) -> dict[str, Any]:
    return {
        "text": text,
        "user_id": user,
        "channel_id": "C0ENG",
        "response_url": "https://r",
        "trigger_id": "123.456.abc",
    }


@pytest.mark.parametrize(
    ("text", "expected", "fields"),
    [
        ("verify", VerifyRequest, {}),
        ("deploy stage", DeployRequest, {"partition": "stage"}),
        ("smoke prod", SmokeRequest, {"partition": "prod"}),
        ("retry", RetryRequest, {}),
        ("abort the owner left", AbortRequest, {"reason": "the owner left"}),
    ],
)
async def test_commands_become_requests_keyed_by_trigger_id(
    text: str, expected: type, fields: dict[str, str]
) -> None:
    service = FakeService()
    answered = await answer(service, CONFIG, command(text))  # type: ignore[arg-type]
    assert answered == {"text": "accepted", "response_type": "ephemeral"}
    [(request, rollout_id, key)] = service.submitted
    assert isinstance(request, expected) and rollout_id is None and key == "123.456.abc"
    for name, value in fields.items():
        assert getattr(request, name) == value


@pytest.mark.parametrize(("text", "needle"), [("deploy", "Which partition"), ("abort", "Say why")])
async def test_a_command_missing_its_argument_says_what_is_missing(text: str, needle: str) -> None:
    service = FakeService()
    answered = await answer(service, CONFIG, command(text))  # type: ignore[arg-type]
    assert needle in answered["text"] and service.submitted == []


async def test_refused_commands_are_marked_and_start_passes_the_mentions() -> None:
    service = FakeService(accept=False)
    answered = await answer(service, CONFIG, command("retry"))  # type: ignore[arg-type]
    assert answered["text"] == ":no_entry: refused because"
    await answer(service, CONFIG, command(f"start <@{OWNER}> <@{DEVOPS}>"))  # type: ignore[arg-type]
    assert service.started == [
        {"user": DEVOPS, "owner": OWNER, "devops": DEVOPS, "kind": "onboarding"}
    ]


async def test_status_without_a_rollout_says_how_to_start() -> None:
    answered = await answer(FakeService(), CONFIG, command("status"))  # type: ignore[arg-type]
    assert "No rollout yet" in answered["text"]
