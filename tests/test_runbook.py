"""The shipped runbook: it loads, its graph holds together, and the copy carries the facts."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest
import yaml

from bot.rollout.people import DM_HANDOVER
from bot.runbook import (
    PLACEHOLDERS,
    Runbook,
    RunbookError,
    load_runbook,
    parse_runbook,
    placeholders_in,
)

OWNER_STEPS = [
    "prereq",
    "prereq_wait",
    "rotation_intro",
    "register_sign_in",
    "register_app",
    "register_credential",
    "register_tag",
    "handover_choose",
    "handover_send",
    "handover_dm",
    "handover_voice",
]
DEVOPS_STEPS = ["receive", "populate", "deploy_gate"]
BOT_STEPS = ["verify"]


@pytest.fixture(scope="module")
def runbook() -> Runbook:
    return load_runbook()


def _text(runbook: Runbook, step_id: str) -> str:
    """Everything a person reads on a step: title, body, labels, troubleshooting."""
    step = runbook.step(step_id)
    parts = [step.title, step.body, step.rotation_body or "", *(a.label for a in step.actions)]
    for row in step.troubleshooting:
        parts += [row.symptom, row.cause, row.fix]
    return "\n".join(parts)


def _goto(runbook: Runbook, step_id: str, action_id: str) -> str | None:
    step = runbook.step(step_id)
    action = step.action(action_id)
    assert action is not None, f"{step_id} has no action {action_id}"
    return action.goto or step.next


def test_load_is_cached_and_valid(runbook: Runbook) -> None:
    assert load_runbook() is runbook
    assert runbook.start == "prereq"
    assert runbook.rotation_start == "rotation_intro"
    assert _goto(runbook, "rotation_intro", "ready") == "register_credential"
    assert [p.number for p in runbook.phases] == list(range(1, 10))


def test_step_ids_and_personas_are_the_contract(runbook: Runbook) -> None:
    ids = {s.id for s in runbook.steps}
    assert ids == set(OWNER_STEPS + DEVOPS_STEPS + BOT_STEPS)
    for step_id in OWNER_STEPS:
        assert runbook.step(step_id).persona == "accountOwner"
    for step_id in DEVOPS_STEPS:
        assert runbook.step(step_id).persona == "devOps"
    assert runbook.step("verify").persona == "bot"
    phases = {s.id: s.phase for s in runbook.steps}
    assert phases["prereq"] == phases["prereq_wait"] == 1
    assert {phases[i] for i in OWNER_STEPS if i.startswith("register_")} == {2}
    assert phases["rotation_intro"] == 2
    assert {phases[i] for i in OWNER_STEPS if i.startswith("handover_")} == {3}
    assert (phases["receive"], phases["populate"], phases["verify"], phases["deploy_gate"]) == (
        4,
        5,
        6,
        7,
    )


@pytest.mark.parametrize(
    ("step_id", "action_id", "target"),
    [
        ("prereq", "eligible", "register_sign_in"),
        ("prereq", "not_eligible", "prereq_wait"),
        ("prereq_wait", "eligible", "register_sign_in"),
        ("register_sign_in", "done", "register_app"),
        ("register_app", "done", "register_credential"),
        ("register_credential", "done", "register_tag"),
        ("register_tag", "have_all_four", "handover_choose"),
        ("handover_choose", "choose_send", "handover_send"),
        ("handover_choose", "choose_dm", "handover_dm"),
        ("handover_choose", "choose_voice", "handover_voice"),
        ("handover_send", "sent", "receive"),
        ("handover_send", "choose_other", "handover_choose"),
        ("handover_dm", "sent", "receive"),
        ("handover_dm", "choose_other", "handover_choose"),
        ("handover_voice", "sent", "receive"),
        ("handover_voice", "choose_other", "handover_choose"),
        ("receive", "received", "populate"),
        ("populate", "vaults_populated", "verify"),
        ("verify", "rerun_verify", "deploy_gate"),
    ],
)
def test_transitions(runbook: Runbook, step_id: str, action_id: str, target: str) -> None:
    assert _goto(runbook, step_id, action_id) == target


def test_primary_actions_and_effects(runbook: Runbook) -> None:
    expected_primary = {
        "prereq": "eligible",
        "prereq_wait": "eligible",
        "register_sign_in": "done",
        "register_app": "done",
        "register_credential": "done",
        "register_tag": "have_all_four",
        "handover_choose": "choose_send",
        "handover_send": "sent",
        "handover_dm": "sent",
        "handover_voice": "sent",
        "receive": "received",
        "populate": "vaults_populated",
        "verify": "rerun_verify",
    }
    for step in runbook.steps:
        primaries = [a.id for a in step.actions if a.primary]
        assert len(primaries) <= 1, step.id
        if step.id in expected_primary:
            assert primaries == [expected_primary[step.id]], step.id
    assert runbook.step("deploy_gate").actions == []
    assert runbook.step("deploy_gate").effect == "deploy_gate"
    for step_id in ("handover_send", "handover_dm", "handover_voice"):
        step = runbook.step(step_id)
        assert step.effect == "notify_sent"
        assert [a.id for a in step.actions if a.effect_runs] == ["sent"]
    assert runbook.step("populate").effect == "verify_vaults"
    verify = runbook.step("verify")
    assert verify.effect == "verify_vaults"
    rerun = verify.action("rerun_verify")
    assert rerun is not None and rerun.runs_effect is True and rerun.effect_runs


def test_handover_choices_record_the_channel(runbook: Runbook) -> None:
    step = runbook.step("handover_choose")
    # Task 5.3: phone or in person is preferred over a Slack DM.
    assert [(a.id, a.value) for a in step.actions] == [
        ("choose_send", "1Password share link"),
        ("choose_voice", "phone or in person"),
        ("choose_dm", DM_HANDOVER),
    ]


def test_every_step_reachable_and_every_goto_exists(runbook: Runbook) -> None:
    ids = {s.id for s in runbook.steps}
    seen: set[str] = set()
    todo = [runbook.start, runbook.rotation_start]
    while todo:
        step = runbook.step(todo.pop())
        if step.id in seen:
            continue
        seen.add(step.id)
        for target in [a.goto for a in step.actions if a.goto] + [step.next]:
            if target is not None:
                assert target in ids, f"{step.id} -> {target}"
                todo.append(target)
    assert seen == ids
    assert runbook.rotation_start in seen


def test_people_steps_have_troubleshooting(runbook: Runbook) -> None:
    for step in runbook.steps:
        if step.persona == "bot":
            continue
        assert len(step.troubleshooting) >= 3, f"{step.id}: want several symptom rows"
        for row in step.troubleshooting:
            assert row.symptom.strip() and row.cause.strip() and row.fix.strip(), step.id


def test_only_known_placeholders(runbook: Runbook) -> None:
    for step in runbook.steps:
        assert placeholders_in(_text(runbook, step.id)) <= PLACEHOLDERS, step.id


def test_phases_have_the_design_personas(runbook: Runbook) -> None:
    personas = {p.number: p.persona for p in runbook.phases}
    assert personas == {
        1: "accountOwner",
        2: "accountOwner",
        3: "accountOwner",
        4: "devOps",
        5: "devOps",
        6: "bot",
        7: "devOps",
        8: "bot",
        9: "bot",
    }
    for phase in runbook.phases:
        assert phase.name and phase.summary


# --- the facts the copy must carry -------------------------------------------------


def test_prereq_quotes_amazon_with_attribution(runbook: Runbook) -> None:
    text = _text(runbook, "prereq")
    quote = "Only the primary account owner of the Amazon Associates account can sign up"
    assert quote in text
    assert "Register for Creators API" in text  # where the quote comes from
    assert "final acceptance" in text
    # Amazon's current threshold, and where the owner sees it.
    assert "three things" in text and "at least 10 qualified sales in the last 30 days" in text
    assert "*Link Type Performance*" in text


def test_prereq_wait_explains_contact_us_and_the_wait(runbook: Runbook) -> None:
    text = _text(runbook, "prereq_wait")
    assert "Contact Us" in text
    assert "no set waiting time" in text
    assert "nothing here fails" in text


def test_registration_facts(runbook: Runbook) -> None:
    assert "primary account owner" in _text(runbook, "register_sign_in")
    app = _text(runbook, "register_app")
    for word in ("Tools", "Creators API", "Create Application", "Arda Cards"):
        assert word in app
    assert "no *Creators API* under *Tools*" in app  # the most likely failure
    cred = _text(runbook, "register_credential")
    for word in ("Add New Credential", "Credential ID", "Credential Secret", "Version"):
        assert word in cred
    assert "shown only once" in cred
    assert "3.1" in cred
    assert "Never paste" in cred
    tag = _text(runbook, "register_tag")
    assert "US Associates Tag" in tag and "public" in tag


def test_handover_facts(runbook: Runbook) -> None:
    choose = runbook.step("handover_choose").body
    assert choose.index("1Password share link") < choose.index("Phone") < choose.index("Slack")
    send = _text(runbook, "handover_send")
    for fact in (
        "Secure Note",
        "Amazon Creators API Handover",
        "7 days",
        "*1 view*",  # in the same list as 7 days in 1Password's share dialog
        "only once",
        "*Private* (or *Employee*) vault",
        "work email address",
        "emails them a code",
        "Get Link to Share",
        "expired or was already viewed",
        "link is on its way",  # the second channel that is real: the bot tells devOps
    ):
        assert fact in send, fact
    # 1Password's item sharing has no sender-side one-time password to pass on.
    assert "one-time password" not in send and "SMS" not in send
    for field in ("credentialId", "credentialSecret", "version", "associateTag"):
        assert f"{field}:" in send, field
    dm = _text(runbook, "handover_dm")
    assert "delete the message" in dm and "archived copy" in dm
    voice = _text(runbook, "handover_voice")
    assert "reads it back" in voice and "no digital trail" in voice


def test_devops_facts(runbook: Runbook) -> None:
    receive = _text(runbook, "receive")
    assert "temporary local note" in receive and "one-time password" not in receive
    # What devOps sees when they open the share link.
    assert "emails you a code" in receive and "only once" in receive
    assert runbook.step("receive").effect == "receipt_confirmed"
    populate = _text(runbook, "populate")
    assert "{vaults}" in populate and "{item_title}" in populate
    for field in ("`credentialId` — text", "`credentialSecret` — password", "`version` — text"):
        assert field in populate
    assert "`associateTag` — text" in populate
    assert "3.1" in populate and "exactly what Amazon issued" in populate
    assert "scoped by usage" in populate
    # A rotation updates the existing items instead of creating new ones.
    rotation = runbook.step("populate").text(rotation=True)
    assert "*update* it" in rotation and "Don't create a new item" in rotation
    assert "history" in rotation
    verify = _text(runbook, "verify")
    assert "delete your temporary local note" in verify
    assert "{systems_vault}" in verify
    gate = _text(runbook, "deploy_gate")
    assert "{partitions}" in gate and "/creators-onboard deploy" in gate
    for var in (
        "AMAZON_CREATORS_CREDENTIAL_ID",
        "AMAZON_CREATORS_CREDENTIAL_SECRET",
        "AMAZON_CREATORS_CREDENTIAL_VERSION",
        "AMAZON_ASSOCIATE_TAG",
    ):
        assert var in gate
    assert "us-east-2" in gate


def test_no_secret_looking_examples(runbook: Runbook) -> None:
    """The copy never shows what could pass for a real credential."""
    for step in runbook.steps:
        assert not re.search(r"[A-Za-z0-9]{24,}", _text(runbook, step.id)), step.id


# --- bad runbooks are rejected with the step named -----------------------------------


def _shipped() -> dict[str, Any]:
    text = resources.files("bot.runbook").joinpath("runbook.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def _step(data: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in data["steps"] if s["id"] == step_id)


def _reject(data: dict[str, Any]) -> str:
    with pytest.raises(RunbookError) as info:
        parse_runbook(yaml.safe_dump(data, allow_unicode=True), source="bad.yml")
    return str(info.value)


def test_two_primaries_rejected() -> None:
    data = _shipped()
    for action in _step(data, "handover_choose")["actions"]:
        action["primary"] = True
    message = _reject(data)
    assert "handover_choose" in message and "primary" in message


def test_unknown_goto_rejected() -> None:
    data = _shipped()
    _step(data, "register_tag")["actions"][0]["goto"] = "nowhere"
    message = _reject(data)
    assert "register_tag" in message and "nowhere" in message


def test_missing_troubleshooting_rejected() -> None:
    data = _shipped()
    del _step(data, "register_app")["troubleshooting"]
    message = _reject(data)
    assert "register_app" in message and "troubleshooting" in message


def test_field_error_names_the_step() -> None:
    data = _shipped()
    _step(data, "populate")["actions"][0]["label"] = "x" * 80
    message = _reject(data)
    assert "step populate" in message and "label" in message


def test_unknown_placeholder_rejected() -> None:
    data = _shipped()
    _step(data, "receive")["body"] += "\nAsk {manager}."
    message = _reject(data)
    assert "step receive" in message and "manager" in message


def test_unreachable_step_rejected() -> None:
    data = _shipped()
    extra = dict(_step(data, "prereq_wait"), id="orphan")
    data["steps"].append(extra)
    message = _reject(data)
    assert "step orphan" in message and "not reachable" in message


def test_oversized_body_rejected() -> None:
    data = _shipped()
    _step(data, "register_app")["body"] = "word " * 1000
    message = _reject(data)
    assert "step register_app" in message and "characters" in message


def test_not_yaml_rejected() -> None:
    with pytest.raises(RunbookError, match=r"bad\.yml"):
        parse_runbook("steps: [", source="bad.yml")
    with pytest.raises(RunbookError, match="mapping"):
        parse_runbook("- a\n- b\n", source="bad.yml")


def test_a_rotation_starts_with_its_own_explanation(runbook: Runbook) -> None:
    intro = _text(runbook, "rotation_intro")
    assert "{rotation_reason}" in intro
    for fact in ("a compromise", "routine hygiene", "What will happen", "Nothing changes"):
        assert fact in intro, fact
    assert "Now Amazon gives you the keys" not in intro
