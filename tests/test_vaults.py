"""VaultReader against the fake `op` (bot/sandbox/fakes/bin/op): real subprocesses, real errors.

The op client is `bot.integrations.vaults.op`, the judgement `...vaults.verify`; both are
exercised here through `VaultReader.verify`, the way the rollout uses them.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import pickle
import re
import resource
import subprocess
import time
from pathlib import Path
from typing import get_args

import pytest
from pydantic import SecretStr

from bot.blocks.verification import verification_blocks
from bot.integrations.vaults import (
    VaultError,
    VaultProblem,
    VaultReader,
    VaultRow,
    VerificationReport,
)
from bot.integrations.vaults import texts as vault_texts
from bot.integrations.vaults import verify as verify_mod
from bot.integrations.vaults.models import GLOBAL_CODES, ProblemCode
from bot.integrations.vaults.op import classify_op_error
from bot.integrations.vaults.texts import TextName
from tests.op_fixture import DEFAULT_VAULTS, SYSTEMS_VAULT, FakeOp

VAULTS = list(DEFAULT_VAULTS)
TITLE = "Amazon Creators API"


@pytest.fixture
def fake(tmp_path: Path) -> FakeOp:
    return FakeOp(tmp_path / "op").populate_all(VAULTS)


def codes(report: VerificationReport) -> list[str]:
    return [p.code for p in report.problems]


def row(report: VerificationReport, vault: str) -> VaultRow:
    return next(r for r in report.rows if r.vault == vault)


async def verify(fake: FakeOp, **kw: float) -> VerificationReport:
    return await fake.reader(**kw).verify(VAULTS, SYSTEMS_VAULT)


# ------------------------------------------------------------------------ green path


async def test_green(fake: FakeOp) -> None:
    report = await verify(fake)
    assert report.ok, report.problems
    assert report.problems == []
    assert [r.vault for r in report.rows] == VAULTS
    assert all(r.ok and r.read for r in report.rows)
    assert report.systems_vault_visible
    fields = {f.label: f for f in report.rows[0].fields}
    assert set(fields) == {"credentialId", "credentialSecret", "version", "associateTag"}
    assert fields["version"].shown == "3.1"
    assert fields["associateTag"].shown == "arda-20"
    assert fields["credentialSecret"].shown is None
    assert fields["credentialId"].shown is None
    assert fields["credentialSecret"].type == "CONCEALED"
    # Durable storage: JSON out and back in, without the secret's keyed hash.
    dumped = json.dumps(report.model_dump(mode="json"))
    back = VerificationReport.model_validate_json(dumped)
    assert back.model_dump() == report.model_dump()
    # The keyed hash the four vaults agree on travels beside the report, never in it.
    assert report.secret_fingerprint == verify_mod.fingerprint("fake-credential-secret-value")
    assert back.secret_fingerprint is None
    assert report.secret_fingerprint not in dumped and report.secret_fingerprint not in repr(report)


async def test_read_item_keeps_non_secret_values_only(fake: FakeOp) -> None:
    item = await fake.reader().read_item("Arda-DevOAM")
    assert item.vault == "Arda-DevOAM"
    assert item.title == TITLE
    assert item.fields["credentialId"].value == "amzn1.application-oa2-client.0123456789abcdef"
    assert item.fields["version"].value == "3.1"
    assert item.fields["credentialSecret"].value is None
    assert item.fields["credentialSecret"].non_empty
    dumped = json.dumps(item.model_dump(mode="json"))
    assert "fake-credential-secret-value" not in dumped
    assert "digest" not in dumped and "digest" not in repr(item)
    other = await fake.reader().read_item("Arda-ProdOAM")
    assert item.same_secret_as(other) is True


async def test_whoami_vault_list_and_version(fake: FakeOp) -> None:
    reader = fake.reader()
    assert await reader.visible_vaults() == {*VAULTS, SYSTEMS_VAULT}
    who = await reader.whoami()
    assert "service account" in who and "arda.1password.com" in who
    assert await reader.version() == "2.31.1"


# ------------------------------------------------------------------- vault problems


async def test_stage_item_missing(fake: FakeOp) -> None:
    fake.remove_item("Arda-StageOAM")
    report = await verify(fake)
    assert not report.ok
    assert codes(report) == ["item_missing"]
    problem = report.problems[0]
    assert problem.vault == "Arda-StageOAM"
    assert "Arda-StageOAM" in problem.symptom and TITLE in problem.symptom
    assert "open vault Arda-StageOAM" in problem.fix
    assert f"titled exactly '{TITLE}'" in problem.fix
    stage = row(report, "Arda-StageOAM")
    assert not stage.ok and not stage.read and stage.problems == [problem]
    assert all(r.ok for r in report.rows if r.vault != "Arda-StageOAM")


async def test_vault_not_visible(fake: FakeOp) -> None:
    fake.hide_vault("Arda-DemoOAM")
    report = await verify(fake)
    # item get and vault list both notice; it is told once.
    assert codes(report) == ["vault_not_visible"]
    problem = report.problems[0]
    assert problem.vault == "Arda-DemoOAM"
    assert "OP_SERVICE_ACCOUNT_TOKEN" in problem.cause
    # 1Password can't add a vault to an existing service account: the fix says make a new one.
    assert "the service account lacks Arda-DemoOAM" in problem.fix
    assert "can't add vaults to an existing service account" in problem.fix
    assert "grant" not in problem.fix
    assert report.systems_vault_visible


async def test_systems_vault_not_visible(fake: FakeOp) -> None:
    fake.hide_vault(SYSTEMS_VAULT)
    report = await verify(fake)
    assert not report.ok
    assert not report.systems_vault_visible
    assert codes(report) == ["vault_not_visible"]
    assert report.problems[0].vault == SYSTEMS_VAULT
    assert "systems vault" in report.problems[0].symptom
    assert all(r.ok for r in report.rows)


async def test_two_items(fake: FakeOp) -> None:
    fake.duplicate_item("Arda-ProdOAM")
    report = await verify(fake)
    assert codes(report) == ["duplicate_items"]
    problem = report.problems[0]
    assert problem.vault == "Arda-ProdOAM"
    assert "delete or rename the duplicate" in problem.fix


async def test_empty_field(fake: FakeOp) -> None:
    fake.set_field("Arda-ProdOAM", "associateTag", "")
    report = await verify(fake)
    assert codes(report) == ["field_empty"]
    problem = report.problems[0]
    assert (problem.vault, problem.field) == ("Arda-ProdOAM", "associateTag")
    prod = row(report, "Arda-ProdOAM")
    tag = next(f for f in prod.fields if f.label == "associateTag")
    assert tag.present and not tag.non_empty and not tag.ok


async def test_missing_field(fake: FakeOp) -> None:
    fake.remove_field("Arda-DevOAM", "version")
    report = await verify(fake)
    assert codes(report) == ["field_missing"]
    assert "labelled exactly version" in report.problems[0].fix


async def test_wrong_type(fake: FakeOp) -> None:
    fake.set_field("Arda-DevOAM", "credentialSecret", type="STRING")
    report = await verify(fake)
    assert codes(report) == ["field_wrong_type"]
    problem = report.problems[0]
    assert (problem.vault, problem.field) == ("Arda-DevOAM", "credentialSecret")
    assert "password (concealed)" in problem.fix


async def test_padded_value(fake: FakeOp) -> None:
    fake.set_field("Arda-DemoOAM", "credentialId", "amzn1.application-oa2-client.x\n")
    report = await verify(fake)
    assert "field_whitespace" in codes(report)


async def test_values_differ_across_vaults(fake: FakeOp) -> None:
    fake.set_field("Arda-StageOAM", "version", "3.0")
    fake.set_field("Arda-DemoOAM", "credentialId", "amzn1.application-oa2-client.OTHER")
    report = await verify(fake)
    assert sorted(codes(report)) == ["value_mismatch", "value_mismatch"]
    by_field = {p.field: p for p in report.problems}
    version = by_field["version"]
    assert version.vault == "Arda-StageOAM"
    assert "'3.0'" in version.symptom and "'3.1'" in version.symptom
    assert "Arda-DevOAM" in version.symptom
    cred = by_field["credentialId"]
    assert cred.vault == "Arda-DemoOAM"
    assert "OTHER" not in cred.symptom  # says where, not what
    assert not row(report, "Arda-StageOAM").ok and row(report, "Arda-DevOAM").ok


async def test_tie_names_both_groups(fake: FakeOp) -> None:
    fake.set_field("Arda-DemoOAM", "associateTag", "other-20")
    fake.set_field("Arda-ProdOAM", "associateTag", "other-20")
    report = await verify(fake)
    assert codes(report) == ["value_mismatch"]
    problem = report.problems[0]
    assert problem.vault is None
    assert all(v in problem.symptom for v in VAULTS)


async def test_secret_differs(fake: FakeOp) -> None:
    fake.set_field("Arda-DemoOAM", "credentialSecret", "a-different-secret")
    report = await verify(fake)
    assert codes(report) == ["secret_mismatch"]
    problem = report.problems[0]
    assert problem.vault == "Arda-DemoOAM"
    assert problem.symptom == "The credentialSecret in Arda-DemoOAM differs from the others."


# --------------------------------------------------------------------- op failures


async def test_rate_limited_reported_once_and_not_retried(fake: FakeOp) -> None:
    fake.fail("rate_limited")
    report = await verify(fake)
    assert codes(report) == ["rate_limited"]
    problem = report.problems[0]
    assert problem.vault is None
    assert "Wait for the limit to reset" in problem.fix and "loop" in problem.fix
    assert all(not r.ok and not r.read for r in report.rows)
    assert all(r.problems[0].code == "rate_limited" for r in report.rows)
    # Four item reads and one vault list, nothing more.
    assert len(fake.calls()) == 5


async def test_rate_limited_one_vault(fake: FakeOp) -> None:
    fake.fail("rate_limited", vault="Arda-StageOAM")
    report = await verify(fake)
    assert codes(report) == ["rate_limited"]
    assert not row(report, "Arda-StageOAM").ok and row(report, "Arda-DevOAM").ok


@pytest.mark.parametrize("kind", ["auth", "malformed_token"])
async def test_auth_errors(fake: FakeOp, kind: str) -> None:
    fake.fail(kind)
    report = await verify(fake)
    assert codes(report) == ["auth_failed"]
    assert "OP_SERVICE_ACCOUNT_TOKEN" in report.problems[0].fix


async def test_wrong_token_is_rejected_by_the_fake(fake: FakeOp) -> None:
    report = await fake.reader(token="ops_SOME-OTHER-TOKEN").verify(VAULTS, SYSTEMS_VAULT)
    assert codes(report) == ["auth_failed"]


async def test_no_token_never_runs_op(fake: FakeOp) -> None:
    report = await fake.reader(no_token=True).verify(VAULTS, SYSTEMS_VAULT)
    assert codes(report) == ["token_missing"]
    assert fake.calls() == []


async def test_op_missing(tmp_path: Path) -> None:
    reader = VaultReader(str(tmp_path / "no-such-op"), SecretStr("ops_x"), TITLE)
    with pytest.raises(VaultError) as caught:
        await reader.read_item("Arda-DevOAM")
    assert caught.value.problem.code == "op_missing"
    assert "OP_CLI_PATH" in caught.value.problem.fix
    assert "Install the 1Password CLI" in caught.value.problem.fix
    report = await reader.verify(VAULTS, SYSTEMS_VAULT)
    assert codes(report) == ["op_missing"]
    assert not report.systems_vault_visible


async def test_an_op_built_for_another_machine_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """An executable file this machine cannot run (an op for another CPU architecture):
    the kernel refuses it with ENOEXEC, which used to escape verification and end the
    rollout. It is one problem naming the file, the likely cause and the build to get."""
    op = tmp_path / "op"
    op.write_bytes(b"\xcf\xfa\xed\xfe\x0c\x00\x00\x01 an op for some other machine" * 8)
    op.chmod(0o755)
    reader = VaultReader(str(op), SecretStr("ops_x"), TITLE)
    with pytest.raises(VaultError) as caught:
        await reader.read_item("Arda-DevOAM")
    problem = caught.value.problem
    assert problem.code == "op_missing" and not caught.value.retryable
    assert f"'{op}' (OP_CLI_PATH) could not be started" in problem.symptom
    assert "Exec format error, ENOEXEC" in problem.symptom
    assert "another CPU architecture" in problem.cause
    assert "op build for this machine's architecture" in problem.fix
    assert "OP_CLI_PATH" in problem.fix and "re-run verification once" in problem.fix
    report = await reader.verify(VAULTS, SYSTEMS_VAULT)
    assert codes(report) == ["op_missing"] and report.problems[0] == problem


async def test_an_op_being_replaced_as_it_starts_is_a_problem_that_passes(
    fake: FakeOp,
) -> None:
    """op's file open for writing as it is started (an upgrade copying over it): ETXTBSY,
    one problem saying to let the copy finish and verify again."""
    reader = VaultReader(fake.op_path, SecretStr(fake.token), TITLE, timeout=10)
    with open(fake.op_path, "ab"):  # open to write (nothing is written)
        report = await reader.verify(VAULTS, SYSTEMS_VAULT)
    assert codes(report) == ["op_unstartable"]
    [problem] = report.problems
    assert "Text file busy, ETXTBSY" in problem.symptom and "being written" in problem.symptom
    assert "upgrade" in problem.cause and "re-run verification once" in problem.fix
    assert VaultError(problem).retryable
    assert (await reader.verify(VAULTS, SYSTEMS_VAULT)).ok  # once nothing writes to it


async def test_no_file_handle_left_to_start_op_is_a_problem_that_passes(fake: FakeOp) -> None:
    """The bot's process out of file handles (EMFILE) as it starts op: one problem that
    says so and how to raise the limit, instead of an OSError ending the rollout."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    taken: list[int] = []
    try:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (max(map(int, os.listdir("/proc/self/fd"))) + 1, hard)
        )
        with contextlib.suppress(OSError):
            while True:  # every handle below the limit taken
                taken.append(os.open(os.devnull, os.O_RDONLY))
        report = await verify(fake)
    finally:
        for fd in taken:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert codes(report) == ["op_unstartable"]
    [problem] = report.problems
    assert "Too many open files, EMFILE" in problem.symptom
    assert "open files" in problem.cause and "ulimit -n" in problem.fix
    assert (await verify(fake)).ok


async def test_timeout_kills_the_child(fake: FakeOp) -> None:
    fake.fail("timeout", vault="Arda-StageOAM")
    started = time.monotonic()
    # Room for a healthy `op` to start on a loaded machine; the hung one sleeps 30 s.
    report = await verify(fake, timeout=6.0)
    assert time.monotonic() - started < 25
    assert codes(report) == ["op_timeout"]
    assert "6 seconds" in report.problems[0].symptom
    assert not row(report, "Arda-StageOAM").ok and row(report, "Arda-DevOAM").ok
    stage = next(c for c in fake.item_reads() if "Arda-StageOAM" in c["argv"])
    with pytest.raises(ProcessLookupError):
        os.kill(stage["pid"], 0)


async def test_bad_output(fake: FakeOp) -> None:
    fake.fail("bad_json", vault="Arda-DevOAM")
    report = await verify(fake)
    assert codes(report) == ["bad_output"]
    assert report.problems[0].vault == "Arda-DevOAM"


async def test_unknown_op_error_is_quoted_short(fake: FakeOp) -> None:
    fake.fail("crash", vault="Arda-DevOAM")
    report = await verify(fake)
    assert codes(report) == ["op_failed"]
    assert "unexpected end of JSON input" in report.problems[0].cause
    assert "[ERROR]" not in report.problems[0].cause


# ------------------------------------------------------------- how op is called


async def test_reads_are_concurrent_and_once_per_vault(fake: FakeOp) -> None:
    fake.set_delay(1.0)
    started = time.monotonic()
    report = await verify(fake)
    elapsed = time.monotonic() - started
    assert report.ok
    reads = fake.item_reads()
    assert sorted(c["argv"][4] for c in reads) == sorted(VAULTS)  # once each
    assert [c["argv"][:2] for c in fake.calls()].count(["vault", "list"]) == 1
    starts = [c["started"] for c in fake.calls()]
    # Sequential calls would start ≥1 s apart; concurrent ones all start before the
    # first has finished.
    assert max(starts) - min(starts) < 1.0
    assert elapsed < 4.0  # five sequential calls would take at least 5 s


async def test_vault_always_passed_and_no_shell(fake: FakeOp) -> None:
    fake.remove_item("Arda-StageOAM")
    await verify(fake)
    for call in fake.item_reads():
        argv = call["argv"]
        assert argv[:3] == ["item", "get", TITLE]  # the title is one argument, unquoted
        assert argv[argv.index("--vault") + 1] in VAULTS
        assert argv[-2:] == ["--format", "json"]


async def test_child_env_is_minimal_and_has_the_token(
    fake: FakeOp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "must-not-leak")
    monkeypatch.delenv("OP_SERVICE_ACCOUNT_TOKEN", raising=False)
    report = await verify(fake)  # the fake checks the token value itself
    assert report.ok
    for call in fake.calls():
        assert call["token_set"] is True
        keys = set(call["env_keys"])
        assert "AWS_SECRET_ACCESS_KEY" not in keys
        # What the child's own start-up adds (a pyenv shim for python3, bash, python).
        added_by_child = {k for k in keys if "PYENV" in k} | {"SHLVL", "PWD", "_", "LC_CTYPE"}
        assert keys - added_by_child == {
            "PATH",
            "HOME",
            "OP_SERVICE_ACCOUNT_TOKEN",
            "FAKE_OP_STATE",
            "FAKE_OP_LOG",
        }
    # And the token never entered our own environment.
    assert "OP_SERVICE_ACCOUNT_TOKEN" not in os.environ


async def test_op_path_wrapper_works_without_extra_env(fake: FakeOp) -> None:
    reader = VaultReader(fake.op_path, SecretStr(fake.token), TITLE, timeout=10)
    report = await reader.verify(VAULTS, SYSTEMS_VAULT)
    assert report.ok
    assert len(fake.calls()) == 5


# ------------------------------------------------------- the fake speaks like op


def run_fake(fake: FakeOp, *args: str, token: bool = True) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"), **fake.env()}
    if token:
        env["OP_SERVICE_ACCOUNT_TOKEN"] = fake.token
    return subprocess.run(
        [str(FakeOp.BIN_DIR / "op"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_fake_op_formats(fake: FakeOp) -> None:
    done = run_fake(fake, "item", "get", TITLE, "--vault=Arda-DevOAM", "--format=json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["vault"]["name"] == "Arda-DevOAM" and data["title"] == TITLE
    labels = {f["label"]: f for f in data["fields"]}
    assert labels["credentialSecret"]["type"] == "CONCEALED"
    assert labels["version"]["reference"] == f"op://Arda-DevOAM/{TITLE}/version"

    fake.remove_item("Arda-StageOAM")
    done = run_fake(fake, "item", "get", TITLE, "--vault", "Arda-StageOAM", "--format", "json")
    assert done.returncode == 1 and done.stdout == ""
    assert re.fullmatch(
        r'\[ERROR\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d "Amazon Creators API" isn\'t an item in '
        r'the "Arda-StageOAM" vault\. Specify the item with its UUID, name, or domain\.\n',
        done.stderr,
    )
    done = run_fake(fake, "item", "get", TITLE, "--vault", "Arda-Nope", "--format", "json")
    assert '"Arda-Nope" isn\'t a vault in this account.' in done.stderr

    fake.duplicate_item("Arda-DevOAM")
    done = run_fake(fake, "item", "get", TITLE, "--vault", "Arda-DevOAM", "--format", "json")
    assert f'More than one item matches "{TITLE}". Try again' in done.stderr
    assert done.stderr.count("\t* for the item") == 2

    assert run_fake(fake, "--version", token=False).stdout.strip() == "2.31.1"
    assert "not currently signed in" in run_fake(fake, "whoami", token=False).stderr
    listing = json.loads(run_fake(fake, "vault", "list", "--format", "json").stdout)
    assert {v["name"] for v in listing} == {*VAULTS, SYSTEMS_VAULT}
    assert all(
        c["token_set"] is (c["argv"] not in (["--version"], ["whoami"])) for c in fake.calls()
    )


def test_from_settings() -> None:
    from bot.config import FileConfig
    from bot.settings import EnvSettings, Settings

    env = EnvSettings(
        slack_bot_token=SecretStr("xoxb-1"),
        op_service_account_token=SecretStr("ops_abc"),
        op_cli_path="/opt/op",
    )
    reader = VaultReader.from_settings(Settings(env, FileConfig(), None))
    assert (reader.op_path, reader.item_title, reader.timeout) == ("/opt/op", TITLE, 30.0)
    assert "ops_abc" not in repr(reader)


# ------------------------------------------------------------- error classification


@pytest.mark.parametrize(
    ("stderr", "code"),
    [
        (
            '[ERROR] 2026/11/22 10:00:00 "Amazon Creators API" isn\'t an item in the '
            '"Arda-StageOAM" vault. Specify the item with its UUID, name, or domain.',
            "item_missing",
        ),
        (
            '[ERROR] 2026/11/22 10:00:00 "Arda-X" isn\'t a vault in this account. '
            "Specify the vault with its ID or name.",
            "vault_not_visible",
        ),
        (
            '[ERROR] 2021/06/29 13:56:37 "Arda-X" doesn\'t seem to be a vault in this '
            "account. Specify the vault with its UUID or name.",
            "vault_not_visible",
        ),
        (
            '[ERROR] 2026/11/22 10:00:00 More than one item matches "Amazon Creators API". '
            "Try again and specify the item by its ID:\n"
            '\t* for the item "Amazon Creators API" in vault Arda-X: aaaaaaaaaaaaaaaaaaaaaaaaaa\n'
            '\t* for the item "Amazon Creators API" in vault Arda-X: bbbbbbbbbbbbbbbbbbbbbbbbbb',
            "duplicate_items",
        ),
        (
            "[ERROR] 2026/09/13 20:46:05 (429) Too Many Requests: You've reached the maximum "
            "number of this type of requests this service account is allowed to make. "
            "Please retry in 59 minutes or try other requests.",
            "rate_limited",
        ),
        (
            "[ERROR] 2026/09/13 20:46:05 Too many requests. Your client has been rate-limited.",
            "rate_limited",
        ),
        (
            "[ERROR] 2025/01/04 14:41:14 (401) Unauthorized: You aren't authorized to "
            "perform this action.",
            "auth_failed",
        ),
        (
            "[ERROR] 2026/11/22 10:00:00 failed to session.DecodeSACredentials: failed to "
            "DecodeSACCredentials: failed to parseToken, format is invalid",
            "auth_failed",
        ),
        (
            "[ERROR] 2026/11/22 10:00:00 You are not currently signed in. Please run "
            "`op signin --help` for instructions",
            "auth_failed",
        ),
        ("[ERROR] 2026/11/22 10:00:00 something odd happened", "op_failed"),
    ],
)
def test_classify_real_error_texts(stderr: str, code: str) -> None:
    problem = classify_op_error(stderr, vault="Arda-X", item_title=TITLE)
    assert problem.code == code
    assert problem.symptom and problem.cause and problem.fix
    if code in GLOBAL_CODES:
        assert problem.vault is None


def test_quoted_stderr_is_scrubbed_and_short() -> None:
    token = "ops_eyJzaWduSW5BZGRyZXNzIjoibXkuMXBhc3N3b3JkLmNvbSJ9"
    stderr = f"[ERROR] 2026/11/22 10:00:00 weird failure with {token} " + "x" * 2000
    problem = classify_op_error(stderr, vault="Arda-X", item_title=TITLE, token=token)
    assert problem.code == "op_failed"
    assert token not in problem.cause and "ops_" not in problem.cause
    assert len(problem.cause) < 400


def test_vault_error_pickles_and_has_no_secret_in_repr() -> None:
    problem = VaultProblem(code="item_missing", where="V", symptom="s", cause="c", fix="f")
    err = pickle.loads(pickle.dumps(VaultError(problem)))  # noqa: S301 - our own bytes
    assert isinstance(err, VaultError) and err.problem == problem
    assert err.as_dict()["symptom"] == "s"
    assert err.problem.vault == "V" and not err.retryable
    assert VaultError(problem.model_copy(update={"code": "rate_limited"})).retryable


def test_a_report_recorded_before_vault_became_where_still_loads() -> None:
    """A rollout that spans a redeploy replays the report its verification step recorded."""
    recorded = {
        "ok": False,
        "item_title": TITLE,
        "rows": [
            {
                "vault": "Arda-DevOAM",
                "ok": False,
                "read": False,
                "fields": [],
                "problems": [
                    {
                        "code": "item_missing",
                        "vault": "Arda-DevOAM",
                        "field": None,
                        "symptom": "s",
                        "cause": "c",
                        "fix": "f",
                    }
                ],
            }
        ],
        "problems": [
            {
                "code": "rate_limited",
                "vault": None,
                "field": None,
                "symptom": "s2",
                "cause": "c2",
                "fix": "f2",
            }
        ],
        "systems_vault": SYSTEMS_VAULT,
        "systems_vault_visible": True,
        "checked_at": "2026-11-22T10:00:00Z",
    }
    report = VerificationReport.model_validate(recorded)
    (missing,) = report.rows[0].problems
    assert (missing.code, missing.vault, missing.symptom, missing.fix) == (
        "item_missing",
        "Arda-DevOAM",
        "s",
        "f",
    )
    assert report.problems[0].vault is None and report.problems[0].cause == "c2"


# ------------------------------------------------------------ secrets never leak


PLANTED_SECRET = "SECRET-PLANTED-123"
PLANTED_TOKEN = "ops_TOKEN-PLANTED-4567890abcdefghijklmnop"


@pytest.mark.parametrize(
    "scenario",
    ["green", "secret_differs", "secret_as_text", "stage_missing", "crash", "timeout"],
)
async def test_planted_secrets_never_appear(
    tmp_path: Path,
    scenario: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeOp(tmp_path / "op", token=PLANTED_TOKEN).populate_all(VAULTS, secret=PLANTED_SECRET)
    if scenario == "secret_differs":
        fake.set_field("Arda-StageOAM", "credentialSecret", PLANTED_SECRET + "-v2")
    elif scenario == "secret_as_text":
        fake.set_field("Arda-DevOAM", "credentialSecret", type="STRING")
    elif scenario == "stage_missing":
        fake.remove_item("Arda-StageOAM")
    elif scenario == "crash":
        fake.fail("crash", vault="Arda-DemoOAM")
    elif scenario == "timeout":
        fake.fail("timeout", vault="Arda-DemoOAM")

    reader = fake.reader(timeout=5)  # the "timeout" op hangs for 30 s; the others answer
    report = await reader.verify(VAULTS, SYSTEMS_VAULT)
    item = await reader.read_item("Arda-DevOAM") if scenario != "secret_as_text" else None
    errors: list[str] = []
    try:
        await reader.read_item("Arda-DemoOAM")
    except VaultError as exc:
        errors += [str(exc), repr(exc), json.dumps(exc.as_dict()), exc.problem.model_dump_json()]

    digest = hmac.new(verify_mod._HMAC_KEY, PLANTED_SECRET.encode(), hashlib.sha256)
    blocks = verification_blocks(report, rollout_id="r1")
    out = capsys.readouterr()
    haystacks = {
        "report json": json.dumps(report.model_dump(mode="json")),
        "report repr": repr(report) + str(report),
        "item": (repr(item) + json.dumps(item.model_dump(mode="json"))) if item else "",
        "reader": repr(reader) + str(vars(reader)),
        "blocks": json.dumps([b.to_dict() for b in blocks]),
        "errors": " ".join(errors),
        "logs": caplog.text + out.out + out.err,
    }
    for where, text in haystacks.items():
        for needle in (PLANTED_SECRET, PLANTED_TOKEN, digest.hexdigest()):
            assert needle not in text, f"{needle[:12]}… leaked into {where}"
        assert digest.hexdigest()[:16] not in text


def test_every_problem_code_has_words_and_every_text_renders() -> None:
    """The texts table covers each code, and each template uses only facts callers give."""
    assert set(get_args(TextName)) == set(vault_texts.TEXTS)
    assert {t.code for t in vault_texts.TEXTS.values()} == set(get_args(ProblemCode))
    facts = {
        "item_title": TITLE,
        "op_said": "op's words",
        "op_path": "/opt/op",
        "reason": "Exec format error, ENOEXEC",
        "seconds": 1.5,
        "what": "an item",
        "kind": "text",
        "found": "STRING",
        "majority": "Arda-DevOAM",
        "value": "3.0",
        "majority_value": "3.1",
        "groups": "a; b",
    }
    for name in vault_texts.TEXTS:
        found = vault_texts.problem(name, where="Arda-DevOAM", field="version", **facts)
        for part in (found.symptom, found.cause, found.fix):
            assert part and "{" not in part and "None" not in part, (name, part)
