"""Ongoing operations as pure rules, texts and blocks: no DBOS, Slack or I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from croniter import croniter

from bot.blocks.ids import (
    CHECKIN_NO_SALES,
    CHECKIN_NORMAL,
    START_ROTATION,
    decode_checkin,
    decode_rotation,
)
from bot.blocks.steps import to_dicts
from bot.blocks.watches import (
    board_blocks,
    checkin_blocks,
    handoff_blocks,
    problem_blocks,
)
from bot.config import ConfigError, FileConfig, load_file_config
from bot.integrations.bff import diagnose
from bot.integrations.vaults.verify import fingerprint
from bot.watches import leak, rules, texts
from bot.watches.model import WATCHES, Outcome, WatchStatus, parse_watch

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SECRET = "PLANTED-credential-SECRET-9f8e7d6c"


def buttons(blocks: list[dict[str, object]]) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    for block in blocks:
        if block.get("type") == "actions":
            found += block["elements"]  # type: ignore[arg-type]
    return found


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("before", "now", "told"),
    [
        (None, {"dev": "ok"}, []),  # first run, all well: nothing to say
        (None, {"dev": "AMAZON_RATE_LIMITED"}, [("dev", None, "AMAZON_RATE_LIMITED")]),
        ({"dev": "AMAZON_RATE_LIMITED"}, {"dev": "AMAZON_RATE_LIMITED"}, []),  # told already
        (
            {"dev": "AMAZON_RATE_LIMITED"},
            {"dev": "AMAZON_UPSTREAM_UNAVAILABLE"},
            [("dev", "AMAZON_RATE_LIMITED", "AMAZON_UPSTREAM_UNAVAILABLE")],
        ),
        ({"dev": "AMAZON_RATE_LIMITED"}, {"dev": "ok"}, [("dev", "AMAZON_RATE_LIMITED", "ok")]),
        ({"dev": "ok"}, {"dev": "ok"}, []),  # a recovery is announced once
        ({"dev": "failed"}, {"stage": "ok"}, []),  # dev not looked at: nothing changes
    ],
)
def test_changes_tell_each_change_once(
    before: dict[str, str] | None, now: dict[str, str], told: list[tuple[str, str | None, str]]
) -> None:
    found = rules.changes(before, now)
    assert [(c.subject, c.before, c.after) for c in found] == told
    assert [c.recovered for c in found] == [after == "ok" for _, _, after in told]


def test_states_not_looked_at_are_carried_to_the_next_run() -> None:
    assert rules.carried({"dev": "failed", "stage": "ok"}, {"stage": "AMAZON_RATE_LIMITED"}) == {
        "dev": "failed",
        "stage": "AMAZON_RATE_LIMITED",
    }


def test_probe_states_and_who_hears_about_them() -> None:
    assert rules.probe_state(True, None) == "ok"
    assert rules.probe_state(False, "AMAZON_RATE_LIMITED") == "AMAZON_RATE_LIMITED"
    assert rules.probe_state(False, None) == "failed"
    assert rules.probe_audience("AMAZON_RATE_LIMITED") == ("devOps",)  # quota
    # Amazon refusing service may be lost eligibility: the accountOwner's concern too.
    assert rules.probe_audience("AMAZON_UPSTREAM_UNAVAILABLE") == ("devOps", "accountOwner")


def test_service_account_states() -> None:
    states = rules.scope_states(["A", "B"], {"A", "Z"})
    assert states == {"token": "ok", "A": "ok", "B": "not_visible"}
    assert rules.token_states("auth_failed") == {"token": "auth_failed"}
    # A rate limit or a timeout says nothing about the token: no verdict at all.
    assert rules.token_states("rate_limited") is None
    assert rules.token_states("op_timeout") is None
    # Nor does op failing to start for want of file handles, or mid-upgrade: not "the
    # token needs replacing".
    assert rules.token_states("op_unstartable") is None


def test_credential_age_and_rotation_due() -> None:
    assert rules.credential_age_days(None, NOW) is None
    assert rules.credential_age_days("2025-06-01T12:00:00+00:00", NOW) == 365
    assert rules.rotation_due(365, 365) and not rules.rotation_due(364, 365)
    assert not rules.rotation_due(None, 1)


def test_next_run_of_five_and_six_field_crons() -> None:
    assert rules.next_run("0 16 1 * *", NOW) == datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
    assert rules.next_run("*/5 * * * * *", NOW) == datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC)


def test_a_next_run_worked_out_before_holds_only_until_the_moment_it_names() -> None:
    """Answers are reused between the moment asked and the firing, never past it, never
    before it, and never across expressions."""
    every_10s = "*/10 * * * * *"
    times = [NOW + timedelta(seconds=s) for s in (3, 1, 9, 10, 11, 0, 25, 4)]
    for when in times:  # out of order on purpose: earlier, later, on the firing itself
        expected = croniter(every_10s, when, second_at_beginning=True).get_next(datetime)
        assert rules.next_run(every_10s, when) == expected, when
        assert rules.next_run("0 16 1 * *", when) == datetime(2026, 6, 1, 16, 0, tzinfo=UTC)


def test_watch_names_as_typed() -> None:
    assert parse_watch("service-account") == "service_account"
    assert parse_watch(" Probe ") == "probe"
    assert parse_watch("nonsense") is None


# ------------------------------------------------------------------------ settings


def test_watch_section_defaults_and_switching_off(tmp_path: object) -> None:
    cfg = FileConfig()
    assert cfg.watch.eligibility.schedule == "0 16 1 * *"  # monthly
    assert cfg.watch.probe.schedule == "0 14 * * *"  # daily
    assert cfg.watch.rotation.max_age_days == 365
    assert all(getattr(cfg.watch, name).enabled for name in WATCHES)
    off = FileConfig.model_validate({"watch": {"probe": {"enabled": False}}})
    assert not off.watch.probe.enabled and off.watch.eligibility.enabled
    only_prod = FileConfig.model_validate({"watch": {"probe": {"partitions": ["prod"]}}})
    assert [p.name for p in only_prod.probed_partitions] == ["prod"]


def test_bad_watch_settings_name_the_key(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "c.yml"
    path.write_text(
        "watch:\n  probe:\n    schedule: every day\n    partitions: [qa]\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_file_config(path)
    problems = "\n".join(caught.value.problems)
    assert "c.yml.watch.probe.schedule" in problems and "not a cron expression" in problems
    path.write_text("watch:\n  probe:\n    partitions: [qa]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_file_config(path)
    assert "watch.probe.partitions names unknown partitions: qa" in caught.value.problems[0]


# ---------------------------------------------------------------------- leak guard


def keyed(word: str) -> str:
    return fingerprint(word)


@pytest.mark.parametrize(
    "text",
    [
        SECRET,
        f"here you go: {SECRET}",
        f"credentialSecret: {SECRET}",
        f"`{SECRET}`",
        f"```credentialSecret={SECRET}```",
        f"*{SECRET}*.",
        f"&lt;{SECRET}&gt;",
    ],
)
def test_the_secret_is_found_however_it_is_pasted(text: str) -> None:
    assert leak.judge(text, fingerprint(SECRET), keyed) == "secret"


def test_other_text_is_left_alone() -> None:
    armed = fingerprint(SECRET)
    assert leak.judge("the secret is in 1Password now", armed, keyed) is None
    assert leak.judge(SECRET[:-1], armed, keyed) is None
    assert leak.judge(SECRET + "x", armed, keyed) is None
    # Not armed yet (no verification): only the pasted-together shape is recognised.
    assert leak.judge(SECRET, None, keyed) is None


def test_the_four_values_pasted_together_are_recognised_without_a_fingerprint() -> None:
    pasted = (
        "credentialId: amzn1.application-oa2-client.abc\ncredentialSecret: s3cr3t-value-123\n"
        "version: 3.1\nassociateTag: arda-20"
    )
    assert leak.judge(pasted, None, keyed) == "credentials"
    # The runbook's own template with its "(your …)" placeholders is not a leak.
    template = (
        "credentialId: (your Credential ID)\ncredentialSecret: (your Credential Secret)\n"
        "version: (your Version)\nassociateTag: (your Associates Tag)"
    )
    assert leak.judge(template, None, keyed) is None


def test_the_judgement_keeps_nothing_of_the_message() -> None:
    message = leak.words(f"a b {SECRET}")
    assert message == {SECRET}  # short words are not even hashed
    from bot.watches.port import Message

    seen = Message("U1", "C1", "channel", "1.2", None, f"x {SECRET}")
    assert SECRET not in repr(seen)


# --------------------------------------------------------------------------- texts


def test_the_thirty_day_rule_is_amazons_wording_with_attribution() -> None:
    assert texts.QUOTED_RULE.startswith(
        "Amazon's API Rates page says:\n> your account will lose access to Creators API if it "
        "has not generated qualified referring sales for a consecutive 30-day period."
    )
    # The threshold Amazon enforces now: 10 qualified sales in the trailing 30 days.
    assert "*10 qualified sales in the last 30 days*" in texts.QUOTED_RULE
    assert "AssociateNotEligible" in texts.QUOTED_RULE
    assert "within 2 days" in texts.COMEBACK


def test_handoff_names_an_owner_for_every_item() -> None:
    runs = {name: "2026-07-01" for name in WATCHES}
    items = texts.handoff_items(systems_vault="Arda-SystemsOAM", next_runs=runs)
    owners = {item.title: item.owner for item in items}
    assert owners["Keep Arda eligible for the Creators API"] == "accountOwner"
    assert owners["Rotate the credential when needed"] == "devOps"
    assert owners["Watch the quota"] == "devOps"
    everything = "\n".join(item.body for item in items)
    for fact in (
        texts.QUOTED_RULE,
        "within 2 days",
        "annual sales requirement",
        "sponsored affiliate content",
        "Link Type Performance",
        "1 request per second per credential set",
        "8,640 calls a day",
        "up to 10 requests per second",
        "tell engineering",
        "a compromise",
        "hygiene",
        "Arda-SystemsOAM",
        "next: 2026-07-01",
    ):
        assert fact in everything, fact
    plain = texts.handoff_plain(items)
    assert "(owner: accountOwner)" in plain and "(owner: devOps)" in plain
    blocks = to_dicts(handoff_blocks(items, {"accountOwner": "U0O", "devOps": "U0D"}))
    shown = str(blocks)
    assert shown.count("owner: <@U0O> (accountOwner)") == 1
    assert shown.count("owner: <@U0D> (devOps)") == 3


def test_switched_off_watches_promise_nothing() -> None:
    items = texts.handoff_items(systems_vault="S", next_runs={})
    assert "next:" not in "\n".join(item.body for item in items)


def test_probe_diagnoses() -> None:
    rate = texts.probe_problem(
        "dev", "AMAZON_RATE_LIMITED", diagnose("AMAZON_RATE_LIMITED", partition="dev")
    )
    assert "AMAZON_RATE_LIMITED" in rate.symptom and "8,640" in rate.cause
    assert "tell engineering" in rate.fix and "watch probe" in rate.fix
    upstream = texts.probe_problem("prod", "AMAZON_UPSTREAM_UNAVAILABLE", None)
    assert texts.QUOTED_RULE in upstream.cause
    assert "Link Type Performance" in upstream.fix and "accountOwner" in upstream.fix
    other = texts.probe_problem("dev", "INTERNAL_ERROR", diagnose("INTERNAL_ERROR"))
    assert "BFF logs" in other.fix and "watch probe" in other.fix


def test_token_steps_cover_every_vault_and_the_github_secret() -> None:
    steps = texts.token_steps(["Arda-DevOAM", "Arda-ProdOAM"], "Arda-SystemsOAM")
    joined = "\n".join(steps)
    for fact in (
        "`Arda-DevOAM`",
        "`Arda-ProdOAM`",
        "`Arda-SystemsOAM`",
        "GitHub organisation secret",
        "restart the bot",
        "watch service_account",
        "Revoke the old",
    ):
        assert fact in joined, fact
    lost = texts.token_problem(["Arda-ProdOAM"], None)
    assert "can no longer see: Arda-ProdOAM" in lost.symptom
    refused = texts.token_problem([], "auth_failed", "invalid token")
    assert "no longer accepts" in refused.symptom and "expired" in refused.cause


# -------------------------------------------------------------------------- blocks


def test_checkin_has_two_answers_one_primary() -> None:
    blocks = to_dicts(checkin_blocks("sched-x", "U0O", "2026-06-01T16:00:00+00:00"))
    found = buttons(blocks)
    assert [b["action_id"] for b in found] == [CHECKIN_NORMAL, CHECKIN_NO_SALES]
    assert [b["text"]["text"] for b in found] == ["Sales look normal", "No qualifying sales lately"]  # type: ignore[index]
    assert [b.get("style") for b in found] == ["primary", None]
    assert decode_checkin(str(found[1]["value"])).answer == "no_sales"
    assert "Link Type Performance" in str(blocks) and "API Rates page" in str(blocks)


def test_alert_with_steps_and_the_start_rotation_button() -> None:
    problem = texts.token_problem(["A"], None)
    blocks = to_dicts(problem_blocks("T", problem, steps=["one", "two"], rotate="leak"))
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]  # type: ignore[index]
    assert "1. one\n2. two" in sections
    (rotate,) = buttons(blocks)
    assert rotate["action_id"] == START_ROTATION and rotate["style"] == "primary"
    assert decode_rotation(str(rotate["value"])) == "leak"
    with pytest.raises(ValueError):
        decode_rotation('{"start": "rotation", "reason": "because"}')


def test_the_board_shows_last_result_and_next_run() -> None:
    last = Outcome(watch="probe", at="2026-06-01T14:00:03+00:00", ok=False, summary="dev failed")
    statuses = [
        WatchStatus(
            name="probe", enabled=True, schedule="0 14 * * *", next_run="2026-06-02 14:00 UTC"
        ).model_copy(update={"last": last}),
        WatchStatus(name="rotation", enabled=False, schedule="0 15 * * 1", next_run=None),
    ]
    shown = str(to_dicts(board_blocks(statuses)))
    assert "⚠️ dev failed (2026-06-01T14:00:03+00:00)" in shown
    assert "next 2026-06-02 14:00 UTC" in shown
    assert "not run yet" in shown and "switched off" in shown


def test_the_shipped_example_yaml_spells_out_the_default_watches() -> None:
    from pathlib import Path

    example = load_file_config(Path(__file__).resolve().parents[1] / "creators-onboard.example.yml")
    assert example.watch == FileConfig().watch
