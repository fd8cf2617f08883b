"""Handlers as units: parse a Slack payload → submit a request → ack/render, against a fake
service. What the service decides is tested in test_service.py."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from bot.blocks.ids import (
    ABORT,
    CHECKIN_NO_SALES,
    DEPLOY,
    PING_DEVOPS,
    REDEPLOY,
    RERUN_VERIFY,
    RETRY,
    START_ROTATION,
    STUCK,
    checkin_value,
    partition_value,
    rotation_value,
    runbook_action_id,
    step_value,
)
from bot.config import FileConfig
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
from bot.rollout.port import Answer, Found, StartRequest
from bot.sandbox.fakes.signing import block_action_payload
from bot.watches.model import WatchStatus
from handlers.actions import handle_press
from handlers.commands import StatusBoards, answer, lookup, status
from handlers.watches import answer_checkin, start_rotation
from tests.test_rollout_machine import state_at

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

    async def judge_start(self, start: StartRequest) -> Answer | None:
        return None

    async def start(self, start: StartRequest) -> Answer:
        self.started.append(dataclasses.asdict(start))
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
        (REDEPLOY, partition_value("rollout-1", "stage", "redeploy"), RetryRequest),
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
    if isinstance(request, RetryRequest):
        assert request.redeploy == (action_id == REDEPLOY)


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
        ("retry", RetryRequest, {"redeploy": False}),
        ("retry redeploy", RetryRequest, {"redeploy": True}),
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


@pytest.mark.parametrize(
    ("text", "needle"),
    [("deploy", "Which partition"), ("abort", "Say why"), ("retry now", "retry redeploy")],
)
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
        {"user": DEVOPS, "owner": OWNER, "devops": DEVOPS, "kind": "onboarding", "reason": ""}
    ]


@pytest.mark.parametrize(
    "text",
    [
        # should_escape on: Slack sends a picked person as <@U…|name> (or <@U…>).
        f"start <@{OWNER}|alice> <@{DEVOPS}|bob>",
        f"start <@{OWNER}> <@{DEVOPS}>",
    ],
)
async def test_start_takes_escaped_mentions_in_either_form(text: str) -> None:
    service = FakeService()
    answered = await answer(service, CONFIG, command(text))  # type: ignore[arg-type]
    assert answered["text"] == "started"
    assert service.started[0]["owner"] == OWNER and service.started[0]["devops"] == DEVOPS


class Directory:
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.asked: list[str] = []

    async def resolve(self, name: str) -> str | None:
        self.asked.append(name)
        return self.names.get(name.lstrip("@"))


async def test_typed_names_are_looked_up_after_the_ack() -> None:
    service = FakeService()
    text = f"start @alice <@{DEVOPS}|bob>"
    acked = await answer(service, CONFIG, command(text))  # type: ignore[arg-type]
    assert acked["text"] == "Looking up `@alice`…" and service.started == []
    directory = Directory({"alice": OWNER})
    reply = await lookup(service, directory, command(text))  # type: ignore[arg-type]
    assert reply == "started" and directory.asked == ["@alice"]
    assert service.started[0]["owner"] == OWNER and service.started[0]["devops"] == DEVOPS
    # A command that needed no lookup is not answered twice.
    assert await lookup(service, directory, command("status")) is None  # type: ignore[arg-type]


async def test_an_unresolvable_name_gets_a_clear_answer_and_starts_nothing() -> None:
    service = FakeService()
    reply = await lookup(service, Directory({}), command("start @nobody.here @alice"))  # type: ignore[arg-type]
    assert reply is not None and reply.startswith(":no_entry:")
    assert "`@nobody.here`, `@alice` are" in reply
    assert "member ID" in reply and "slack.account_owners" in reply
    assert service.started == []


async def test_rotate_passes_its_reason() -> None:
    service = FakeService()
    await answer(service, CONFIG, command("rotate the secret was pasted in #general"))  # type: ignore[arg-type]
    assert service.started[0]["kind"] == "rotation"
    assert service.started[0]["reason"] == "the secret was pasted in #general"


class FakeWatches:
    def __init__(self) -> None:
        self.ran: list[tuple[str, str, str]] = []
        self.answers: list[dict[str, str]] = []
        self.accept = True

    async def board(self) -> list[WatchStatus]:
        return [
            WatchStatus(name="probe", enabled=True, schedule="0 14 * * *", next_run="soon"),
            WatchStatus(name="eligibility", enabled=False, schedule="0 16 1 * *", next_run=None),
        ]

    async def run_now(self, name: str, *, user: str, key: str) -> Answer:
        self.ran.append((name, user, key))
        return Answer(True, f"running {name}")

    async def answer_checkin(
        self, *, user: str, checkin: str, answer: str, channel: str, ts: str
    ) -> Answer:
        self.answers.append(
            {"user": user, "checkin": checkin, "answer": answer, "channel": channel, "ts": ts}
        )
        return Answer(self.accept, "noted" if self.accept else "already answered")

    async def guard(self, message: Any) -> bool:
        return False


async def test_watch_runs_the_named_watch_now_keyed_by_the_trigger() -> None:
    watches = FakeWatches()
    answered = await answer(FakeService(), CONFIG, command("watch probe"), watches)  # type: ignore[arg-type]
    assert answered["text"] == "running probe"
    assert watches.ran == [("probe", DEVOPS, "123.456.abc")]
    usage = await answer(FakeService(), CONFIG, command("watch"), watches)  # type: ignore[arg-type]
    assert "service_account" in usage["text"] and len(watches.ran) == 1


async def test_status_shows_each_watch_with_its_next_run() -> None:
    answered = await answer(FakeService(), CONFIG, command("status"), FakeWatches())  # type: ignore[arg-type]
    shown = str(answered["blocks"])
    assert "Creators API probe" in shown and "next soon" in shown
    assert "switched off" in shown  # the eligibility watch, enabled: false


async def test_checkin_buttons_hand_the_answer_to_the_watches() -> None:
    watches = FakeWatches()
    body = block_action_payload(
        OWNER,
        CHECKIN_NO_SALES,
        checkin_value("sched-x-2026", "no_sales"),
        channel_id="D0OWN",
        message_ts="1700.1",
    )
    responses = Responses()
    await answer_checkin(watches, FakeService(), body, responses)  # type: ignore[arg-type]
    assert watches.answers == [
        {
            "user": OWNER,
            "checkin": "sched-x-2026",
            "answer": "no_sales",
            "channel": "D0OWN",
            "ts": "1700.1",
        }
    ]
    assert responses.texts == []  # accepted: the thread reply is the answer
    watches.accept = False
    await answer_checkin(watches, FakeService(), body, responses)  # type: ignore[arg-type]
    assert responses.texts == [":no_entry: already answered"]


async def test_start_rotation_button_starts_a_rotation_with_its_reason() -> None:
    service = FakeService()
    body = block_action_payload(DEVOPS, START_ROTATION, rotation_value("leak"))
    await start_rotation(service, body, Responses())  # type: ignore[arg-type]
    assert service.started[0]["kind"] == "rotation"
    assert "posted in Slack" in service.started[0]["reason"]
    tampered = block_action_payload(DEVOPS, START_ROTATION, '{"start":"rotation","reason":"x"}')
    responses = Responses()
    await start_rotation(service, tampered, responses)  # type: ignore[arg-type]
    assert len(service.started) == 1 and "older version" in responses.texts[0]


async def test_status_without_a_rollout_says_how_to_start() -> None:
    answered = await answer(FakeService(), CONFIG, command("status"))  # type: ignore[arg-type]
    assert "No rollout yet" in answered["text"]


async def test_a_press_without_response_url_is_answered_by_dm() -> None:
    """App Home buttons come without a response_url: the refusal goes to the person's DM."""
    body = block_action_payload(OWNER, "co_deploy", "not json")
    sent: list[tuple[str, str]] = []

    async def dm(user: str, text: str) -> None:
        sent.append((user, text))

    async def no_respond(**kwargs: Any) -> None:
        raise AssertionError("respond needs a response_url")

    await handle_press(FakeService(), body, no_respond, dm)  # type: ignore[arg-type]
    assert sent and sent[0][0] == OWNER and "older version" in sent[0][1]


def test_the_status_board_is_rendered_again_only_when_what_it_shows_changed() -> None:
    boards = StatusBoards()
    probe = WatchStatus(name="probe", enabled=True, schedule="0 14 * * *", next_run="2026-12-02")
    watches = [probe]
    prereq, gate = state_at("prereq"), state_at("deploy_gate", verification_ok=True)
    first = boards.answer(Found("rollout-1", prereq, 3), watches)
    assert _json(first) == _json(status(Found("rollout-1", prereq, 3), watches))
    # The same published state and an equal board: the same answer, not rendered again.
    assert boards.answer(Found("rollout-1", prereq, 3), list(watches)) is first
    # A newer version, another rollout, a changed board: each rendered afresh.
    moved = boards.answer(Found("rollout-1", gate, 4), watches)
    assert _json(moved) == _json(status(Found("rollout-1", gate, 4), watches))
    assert _json(moved) != _json(first)
    other = boards.answer(Found("rollout-2", gate, 4), watches)
    assert _json(other) == _json(status(Found("rollout-2", gate, 4), watches))
    later = [watches[0].model_copy(update={"next_run": "2026-12-03"})]
    assert "2026-12-03" in _json(boards.answer(Found("rollout-2", gate, 4), later))
    # An equal version held as another object (a read made while the copy is not trusted)
    # is rendered from what it holds, never from the object seen before.
    copy = gate.model_copy(deep=True, update={"step": "verify"})
    assert _json(boards.answer(Found("rollout-2", copy, 4), later)) == _json(
        status(Found("rollout-2", copy, 4), later)
    )
    assert _json(boards.answer(None, [])) == _json(status(None, []))


def _json(payload: dict[str, Any]) -> str:
    """A command's answer as Slack receives it (blocks as objects or dicts alike)."""
    return json.dumps(payload, default=lambda block: block.to_dict(), sort_keys=True)
