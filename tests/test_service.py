"""The service: requests judged against the active rollout's *current* state.

Real rules and a real audit table (SQLite file); the rollouts live in a dict instead of
DBOS. A refusal sends nothing, changes nothing and writes exactly one audit row.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import FileConfig
from bot.rollout.events import (
    AbortRequest,
    DeployRequest,
    HelpRequest,
    Request,
    SmokeRequest,
    StepAction,
    VerifyRequest,
)
from bot.rollout.port import Found, StartRequest
from bot.rollout.state import PartitionState, RolloutState
from bot.store import Store
from bot.workflows.service import RolloutService

OWNER, DEVOPS = "U0OWNER1", "U0DEVOPS1"
AT = "2026-01-01T00:00:00+00:00"
CONFIG = FileConfig.model_validate({"slack": {"account_owners": [OWNER], "devops": [DEVOPS]}})


class MemoryRollouts:
    def __init__(self, *states: RolloutState) -> None:
        self.states = {s.rollout_id: s for s in states}
        self.sent: list[tuple[str, Request, str]] = []
        # Rollouts another workflow version started: rollout id -> that version.
        self.stranded_by: dict[str, str] = {}
        # Stranded rollouts handed over to be ended here, with the abort that ends them.
        self.abandoned: list[tuple[str, AbortRequest]] = []

    async def newest(self, *, active: bool) -> Found | None:
        ids = [i for i, s in self.states.items() if not (active and s.finished)]
        if not ids:
            return None
        return Found(ids[-1], self.states[ids[-1]], stranded_by=self.stranded(ids[-1]))

    async def count(self) -> int:
        return len(self.states)

    async def send(self, rollout_id: str, request: Request, key: str) -> None:
        self.sent.append((rollout_id, request, key))

    async def create(self, rollout_id: str, state: RolloutState) -> None:
        self.states[rollout_id] = state

    def stranded(self, rollout_id: str) -> str | None:
        return self.stranded_by.get(rollout_id)

    async def abandon(self, found: Found, request: AbortRequest) -> None:
        self.abandoned.append((found.rollout_id, request))


def rollout(step: str, rollout_id: str = "rollout-2", **kwargs: object) -> RolloutState:
    state = RolloutState(
        rollout_id=rollout_id,
        owner=OWNER,
        devops=DEVOPS,
        started_by=DEVOPS,
        started_at=AT,
        step=step,
        partitions=[PartitionState(name=p) for p in ("dev", "stage", "demo", "prod")],
    )
    for key, value in kwargs.items():
        setattr(state, key, value)
    return state


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    s = Store(f"sqlite:///{tmp_path / 'audit.sqlite'}")
    await s.migrate()
    return s


def service_for(store: Store, *states: RolloutState) -> tuple[RolloutService, MemoryRollouts]:
    rollouts = MemoryRollouts(*states)
    return RolloutService(CONFIG, store, rollouts), rollouts


TAMPERED: list[tuple[str, Request, str | None, str]] = [
    # (what, request, the rollout the button names, what the refusal says)
    (
        "another rollout",
        StepAction(user=OWNER, at=AT, step="register_app", action="done"),
        "rollout-1",
        "no longer active",
    ),
    (
        "another step",
        StepAction(user=OWNER, at=AT, step="register_tag", action="have_all_four"),
        "rollout-2",
        "not for the current step",
    ),
    (
        "a partition not configured",
        DeployRequest(user=DEVOPS, at=AT, partition="qa"),
        "rollout-2",
        "Which partition",
    ),
    (
        "a verification button from the owner",
        VerifyRequest(user=OWNER, at=AT),
        "rollout-2",
        "Only devOps",
    ),
    (
        "help on a step of no rollout step",
        HelpRequest(user=OWNER, at=AT, step="populate", kind="stuck"),
        "rollout-2",
        "not for this rollout's steps",
    ),
    (
        "the owner's step pressed by devOps",
        StepAction(user=DEVOPS, at=AT, step="register_app", action="done"),
        "rollout-2",
        "Only accountOwner",
    ),
    (
        "a smoke test of a partition never deployed",
        SmokeRequest(user=DEVOPS, at=AT, partition="dev"),
        "rollout-2",
        "Deploys open only after",
    ),
]


@pytest.mark.parametrize(("what", "request_", "button_rollout", "needle"), TAMPERED)
async def test_tampered_and_stale_requests_are_refused_from_the_current_state(
    store: Store, what: str, request_: Request, button_rollout: str | None, needle: str
) -> None:
    old = rollout("prereq", "rollout-1", status="aborted")
    at_gate = isinstance(request_, DeployRequest)
    current = rollout("deploy_gate", verification_ok=True) if at_gate else rollout("register_app")
    service, rollouts = service_for(store, old, current)
    before = current.model_dump()
    answer = await service.submit(request_, rollout_id=button_rollout, key="k1")
    assert not answer.accepted and needle in answer.text, what
    assert rollouts.sent == []
    assert current.model_dump() == before
    entries = await store.entries()
    assert len(entries) == 1 and entries[0].outcome == "refused"
    assert entries[0].actor == request_.user and entries[0].detail == answer.text


async def test_an_accepted_request_is_sent_once_with_its_key(store: Store) -> None:
    service, rollouts = service_for(store, rollout("register_app"))
    press = StepAction(user=OWNER, at=AT, step="register_app", action="done")
    answer = await service.submit(press, rollout_id="rollout-2", key="U0OWNER1:1.2:co:done")
    assert answer.accepted and answer.rollout_id == "rollout-2"
    assert rollouts.sent == [("rollout-2", press, "U0OWNER1:1.2:co:done")]
    assert await store.entries() == []


async def test_a_stranded_rollout_takes_only_an_abort_and_that_ends_it_here(
    store: Store,
) -> None:
    service, rollouts = service_for(store, rollout("register_app"))
    rollouts.stranded_by["rollout-2"] = "1"
    press = StepAction(user=OWNER, at=AT, step="register_app", action="done")
    answer = await service.submit(press, rollout_id="rollout-2", key="k1")
    assert not answer.accepted and "workflow version 1" in answer.text
    stranger = await service.submit(
        AbortRequest(user="U0STRANGER", at=AT, reason="x"), rollout_id=None, key="k2"
    )
    assert "slack.devops" in stranger.text  # who may, before what it is
    refused = await service.judge_start(StartRequest(user=DEVOPS))
    assert refused is not None and "I did not start a rollout: rollout-2" in refused.text
    token = "ghp_" + "A1b2" * 9  # pasted into the reason by mistake: kept nowhere
    abort = await service.submit(
        AbortRequest(user=DEVOPS, at=AT, reason=f"wrong image {token}"), rollout_id=None, key="k3"
    )
    assert abort.accepted and "Ending rollout-2 here" in abort.text
    assert rollouts.sent == []  # nothing was sent to a workflow nothing here runs
    [(rollout_id, handed)] = rollouts.abandoned  # ended here, the abort's reason scrubbed
    assert rollout_id == "rollout-2" and handed.user == DEVOPS
    assert "wrong image" in handed.reason and token not in handed.model_dump_json()
    assert token not in str(await store.entries())
    # The audit row of the abort is the workflow's that takes it, as for any abort.
    assert [e for e in await store.entries() if e.outcome == "done"] == []


async def test_no_rollout_a_stranger_hears_about_the_role_first(store: Store) -> None:
    service, _ = service_for(store)
    stranger = await service.submit(
        DeployRequest(user="U0STRANGER", at=AT, partition="dev"), rollout_id=None, key="k"
    )
    assert "slack.devops" in stranger.text
    devops = await service.submit(
        DeployRequest(user=DEVOPS, at=AT, partition="dev"), rollout_id=None, key="k"
    )
    assert "No rollout is active" in devops.text
    assert len(await store.entries()) == 2


async def test_start_checks_people_and_never_starts_a_second_rollout(store: Store) -> None:
    service, rollouts = service_for(store)
    refused = await service.start(StartRequest(user=OWNER))
    assert not refused.accepted and "slack.devops" in refused.text
    not_owner = await service.start(StartRequest(user=DEVOPS, owner=DEVOPS))
    assert not not_owner.accepted and "not listed as an account owner" in not_owner.text
    started = await service.start(
        StartRequest(user=DEVOPS, kind="rotation", reason="the secret leaked")
    )
    assert started.accepted and started.rollout_id == "rollout-1"
    assert rollouts.states["rollout-1"].kind == "rotation"
    # A rotation starts with its own explanation, told why.
    assert rollouts.states["rollout-1"].step == "rotation_intro"
    assert rollouts.states["rollout-1"].reason == "the secret leaked"
    again = await service.start(StartRequest(user=DEVOPS))
    assert not again.accepted and "already under way (rollout-1)" in again.text
