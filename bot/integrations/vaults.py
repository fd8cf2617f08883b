"""The four partition vaults, read with the 1Password CLI (`op`).

`VaultReader` runs the real `op` binary as a subprocess: an argument list (never a
shell), `--vault` on every item read, a minimal child environment (PATH, HOME and
OP_SERVICE_ACCOUNT_TOKEN, which never enters our own environment or logs) and a timeout
per call after which the child is killed.

`verify()` is phase 6 of the runbook: every vault is read once, all at the same time
(service accounts have an hourly read limit, so nothing here loops or retries), plus
one `op vault list` for the service account's scope. The result is a
`VerificationReport`: plain JSON, safe to store durably and to show in Slack. It holds
no secret material at all: the credentialSecret is only ever compared through an
HMAC-SHA256 keyed with a random per-process key, and that digest lives in a private
attribute of `ItemCheck` that neither `model_dump()` nor `repr()` shows.

Every failure becomes a `Problem` (symptom → cause → fix). `op` errors are classified
from its stderr, which carries names and never field values; it is still scrubbed of
token-shaped text and truncated before it is quoted.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from bot.integrations.errors import IntegrationError

if TYPE_CHECKING:
    from bot.settings import Settings

log = structlog.get_logger(__name__)

FieldType = Literal["STRING", "CONCEALED"]

# The four fields of the "Amazon Creators API" item (runbook phase 5), matched by label.
SECRET_FIELD = "credentialSecret"  # noqa: S105 - a field label, not a secret
EXPECTED_FIELDS: dict[str, FieldType] = {
    "credentialId": "STRING",
    SECRET_FIELD: "CONCEALED",
    "version": "STRING",
    "associateTag": "STRING",
}
# Non-secret values short enough to show in Slack and compare in messages. credentialId
# is not secret either, but it is long and nobody needs to read it in a chat.
SHOWN_FIELDS = frozenset({"version", "associateTag"})

ProblemCode = Literal[
    "op_missing",
    "op_timeout",
    "token_missing",
    "auth_failed",
    "rate_limited",
    "vault_not_visible",
    "item_missing",
    "duplicate_items",
    "field_missing",
    "field_empty",
    "field_wrong_type",
    "field_whitespace",
    "value_mismatch",
    "secret_mismatch",
    "op_failed",
    "bad_output",
]
# Failures that are about the account or the machine, not one vault: reported once.
GLOBAL_CODES: frozenset[str] = frozenset(
    {"op_missing", "op_timeout", "token_missing", "auth_failed", "rate_limited"}
)

# A random key per process: digests can be compared within this process only, and the
# key is never written anywhere.
_HMAC_KEY = secrets.token_bytes(32)

_STDERR_LIMIT = 300
_ERROR_PREFIX = re.compile(r"^\s*\[ERROR\]\s+\d{4}/\d{2}/\d{2}\s+\d{2}:\d{2}:\d{2}\s*")
_TOKEN_SHAPE = re.compile(r"ops_[A-Za-z0-9_\-.=+/]+")
_RATE = re.compile(r"\(429\)|too many requests|rate[- ]?limit", re.IGNORECASE)
_DUPLICATE = re.compile(r"more than one item matches", re.IGNORECASE)
_NO_VAULT = re.compile(
    r"isn't a vault|is not a vault|doesn't seem to be a vault|\(403\)|forbidden", re.IGNORECASE
)
_NO_ITEM = re.compile(r"isn't an item|is not an item|doesn't seem to be an item", re.IGNORECASE)
_AUTH = re.compile(
    r"\(401\)|unauthori[sz]ed|DecodeSA|parseToken|has been deleted|revoked|"
    r"not currently signed in|not signed in|no account found|invalid token|"
    r"token (is )?(invalid|expired|malformed)|authenticat|session (has )?expired",
    re.IGNORECASE,
)


def _digest(value: str) -> bytes:
    return hmac.new(_HMAC_KEY, value.encode("utf-8"), hashlib.sha256).digest()


# --------------------------------------------------------------------------- models


class Problem(BaseModel):
    """One thing that is wrong, written for the person who has to fix it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: ProblemCode
    vault: str | None = None  # None: about the account or the machine, not one vault
    field: str | None = None
    symptom: str
    cause: str
    fix: str


class VaultError(IntegrationError):
    """An `op` call failed; `problem` says what, why and how to fix it. No secrets inside."""

    def __init__(self, problem: Problem) -> None:
        retryable = problem.code in {"op_timeout", "rate_limited", "op_failed"}
        super().__init__(problem.symptom, problem.cause, problem.fix, retryable=retryable)
        self.problem = problem

    def __reduce__(self) -> tuple[Any, ...]:
        return (VaultError, (self.problem,))


class FieldCheck(BaseModel):
    """What one expected field of the item looks like. `value` only for non-secret fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    expected_type: FieldType
    present: bool
    type: str | None = None
    non_empty: bool = False
    # Leading or trailing whitespace (a copy-paste slip): it would break the credential.
    padded: bool = False
    value: str | None = None  # never set for credentialSecret

    @property
    def type_ok(self) -> bool:
        return self.type == self.expected_type

    @property
    def ok(self) -> bool:
        return self.present and self.non_empty and self.type_ok and not self.padded


class ItemCheck(BaseModel):
    """The item as read from one vault, minus the secret.

    The credentialSecret is kept only as a keyed digest in a private attribute: it is not
    a field, so `model_dump()`, `repr()` and JSON never show it. Compare with
    `same_secret_as()`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    vault: str
    item_id: str
    title: str
    fields: dict[str, FieldCheck]

    _secret_digest: bytes | None = PrivateAttr(default=None)

    def same_secret_as(self, other: ItemCheck) -> bool | None:
        """True/False when both items carry a secret, None when either lacks one."""
        if self._secret_digest is None or other._secret_digest is None:
            return None
        return hmac.compare_digest(self._secret_digest, other._secret_digest)


class FieldStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    expected_type: FieldType
    present: bool
    type: str | None = None
    non_empty: bool
    ok: bool
    shown: str | None = None  # the value, only for version and associateTag


class VaultRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    vault: str
    ok: bool
    read: bool  # the item was read (False: op failed for this vault)
    fields: list[FieldStatus] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)


class VerificationReport(BaseModel):
    """Phase 6's verdict. JSON-serialisable; holds no secret material, not even a digest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    item_title: str
    rows: list[VaultRow]
    problems: list[Problem]
    systems_vault: str
    systems_vault_visible: bool
    checked_at: datetime


# --------------------------------------------------------------------- error texts


def _clean_stderr(stderr: str, token: str | None) -> str:
    """op's own error text, safe to quote: no timestamp prefix, no token, short."""
    lines = [_ERROR_PREFIX.sub("", line).strip() for line in stderr.splitlines()]
    text = " ".join(line for line in lines if line)
    if token:
        text = text.replace(token, "[redacted]")
    text = _TOKEN_SHAPE.sub("[redacted]", text)
    if len(text) > _STDERR_LIMIT:
        text = text[: _STDERR_LIMIT - 1] + "…"
    return text or "(no error text)"


def _vault_not_visible(vault: str, *, systems: bool = False) -> Problem:
    what = "the systems vault" if systems else "vault"
    return Problem(
        code="vault_not_visible",
        vault=vault,
        symptom=f"The service account can't see {what} {vault}.",
        cause=(
            "Either no vault has exactly that name, or the service account behind "
            "OP_SERVICE_ACCOUNT_TOKEN was not given access to it."
        ),
        fix=(
            f"Check the spelling of {vault} in 1Password and in creators-onboard.yml, then "
            f"grant the service account read access to {vault}. A service account's vaults "
            "are chosen when it is created: if it can't be changed, create a new one with "
            "read access to all five vaults and put its token in OP_SERVICE_ACCOUNT_TOKEN."
        ),
    )


def classify_op_error(
    stderr: str,
    *,
    vault: str | None,
    item_title: str,
    token: str | None = None,
) -> Problem:
    """Turn a failed `op` call (exit code ≠ 0) into a Problem, from its stderr."""
    where = f" in {vault}" if vault else ""
    if _RATE.search(stderr):
        return Problem(
            code="rate_limited",
            symptom="1Password refused the read: the service account has used up its requests.",
            cause=(
                "Service accounts have an hourly (and a daily) limit on reads; it has been "
                "reached, possibly by other tools sharing the same service account."
            ),
            fix=(
                "Wait for the limit to reset (op says when; usually within the hour), then "
                "re-run verification once. Don't re-run it in a loop: every run reads again."
            ),
        )
    if _DUPLICATE.search(stderr):
        return Problem(
            code="duplicate_items",
            vault=vault,
            symptom=f"More than one item{where} is titled '{item_title}'.",
            cause="The item was created twice, so it is unclear which one the deploy should use.",
            fix=(
                f"In 1Password, open {vault or 'the vault'}, keep one '{item_title}' item with "
                "the four fields, and delete or rename the duplicate."
            ),
        )
    if vault and _NO_VAULT.search(stderr):
        return _vault_not_visible(vault)
    if vault and _NO_ITEM.search(stderr):
        return Problem(
            code="item_missing",
            vault=vault,
            symptom=f"There is no item titled '{item_title}' in {vault}.",
            cause=(
                "The item was not created in this vault yet, or its title is spelled differently."
            ),
            fix=(
                f"In 1Password, open vault {vault} and create an item titled exactly "
                f"'{item_title}' with the four fields: credentialId (text), credentialSecret "
                "(password), version (text) and associateTag (text). If it exists under "
                "another title, rename it."
            ),
        )
    if _AUTH.search(stderr) or _NO_VAULT.search(stderr):
        return Problem(
            code="auth_failed",
            symptom="1Password did not accept the service account token.",
            cause=(
                "OP_SERVICE_ACCOUNT_TOKEN is wrong, was cut short when copied, or belongs to "
                f"a service account that was deleted or revoked. op said: "
                f"{_clean_stderr(stderr, token)}"
            ),
            fix=(
                "In 1Password → Developer → Service accounts, check the account still exists; "
                "set OP_SERVICE_ACCOUNT_TOKEN to its full token (it starts with ops_) and "
                "restart the bot."
            ),
        )
    return Problem(
        code="op_failed",
        vault=vault,
        symptom=f"op failed{' reading ' + vault if vault else ''}.",
        cause=f"op said: {_clean_stderr(stderr, token)}",
        fix=(
            "Run the same command by hand with the service account token to see more: "
            f"op item get '{item_title}' --vault {vault or '<vault>'} --format json. "
            "Then re-run verification once."
        ),
    )


def _op_missing(op_path: str) -> Problem:
    return Problem(
        code="op_missing",
        symptom=f"The 1Password CLI could not be started (OP_CLI_PATH is '{op_path}').",
        cause="op is not installed on the machine running the bot, or not at that path.",
        fix=(
            "Install the 1Password CLI (developer.1password.com/docs/cli/get-started) in the "
            "bot's image, or set OP_CLI_PATH to the full path of the op binary."
        ),
    )


def _timeout(seconds: float) -> Problem:
    return Problem(
        code="op_timeout",
        symptom=f"op did not answer within {seconds:g} seconds, so it was stopped.",
        cause=(
            "1Password could not be reached from the bot's machine (network, proxy or "
            "firewall), or op was waiting for a sign-in it can't get."
        ),
        fix=(
            "Check the machine can reach *.1password.com over HTTPS and that "
            "OP_SERVICE_ACCOUNT_TOKEN is set, then re-run verification once."
        ),
    )


def _token_missing() -> Problem:
    return Problem(
        code="token_missing",
        symptom="OP_SERVICE_ACCOUNT_TOKEN is not set, so the bot can't read the vaults.",
        cause="The bot reads 1Password as a service account and has no token for it.",
        fix=(
            "Create (or reuse) a service account with read access to the four partition "
            "vaults and the systems vault, put its token in OP_SERVICE_ACCOUNT_TOKEN and "
            "restart the bot."
        ),
    )


def _bad_output(vault: str | None, what: str) -> Problem:
    return Problem(
        code="bad_output",
        vault=vault,
        symptom=f"op answered, but not with {what} as JSON.",
        cause="An unexpected op version, or a wrapper script in front of op printing extra text.",
        fix=(
            "Run `op --version` on the bot's machine (version 2 is needed) and make sure "
            "OP_CLI_PATH points at the real op binary."
        ),
    )


# ----------------------------------------------------------------------- the reader


class VaultReader:
    """Reads the onboarding item and the visible vaults with the `op` CLI."""

    def __init__(
        self,
        op_path: str,
        token: SecretStr | None,
        item_title: str,
        *,
        timeout: float = 30.0,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.op_path = op_path
        self._token = token
        self.item_title = item_title
        self.timeout = timeout
        # Added to the child's environment (tests point the fake op at its state this way).
        self._extra_env = dict(extra_env or {})

    @classmethod
    def from_settings(cls, settings: Settings) -> VaultReader:
        """OP_CLI_PATH, OP_SERVICE_ACCOUNT_TOKEN and the YAML's onepassword section."""
        section = settings.config.onepassword
        return cls(
            settings.env.op_cli_path,
            settings.env.op_service_account_token,
            section.item_title,
            timeout=section.timeout_seconds,
        )

    def __repr__(self) -> str:
        return f"VaultReader(op_path={self.op_path!r}, item_title={self.item_title!r})"

    # -- subprocess plumbing

    def _token_value(self) -> str | None:
        if self._token is None:
            return None
        return self._token.get_secret_value() or None

    def _child_env(self) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", os.defpath)}
        if "HOME" in os.environ:
            env["HOME"] = os.environ["HOME"]
        env.update(self._extra_env)
        token = self._token_value()
        if token:
            env["OP_SERVICE_ACCOUNT_TOKEN"] = token
        return env

    async def _spawn(self, args: list[str]) -> asyncio.subprocess.Process | None:
        # The token lives only in this frame's `env` and in the child.
        env = self._child_env()
        try:
            return await asyncio.create_subprocess_exec(
                self.op_path,
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError):
            return None
        finally:
            del env

    async def _run(self, args: list[str], *, vault: str | None) -> bytes:
        """Run op once; return stdout, or raise VaultError. Never retries."""
        if self._token_value() is None:
            raise VaultError(_token_missing())
        started = time.monotonic()
        proc = await self._spawn(args)
        if proc is None:
            raise VaultError(_op_missing(self.op_path))
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=self.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            log.warning("op_timeout", command=args[:2], vault=vault, timeout=self.timeout)
            raise VaultError(_timeout(self.timeout)) from None
        elapsed = round(time.monotonic() - started, 3)
        if proc.returncode != 0:
            problem = classify_op_error(
                stderr.decode("utf-8", "replace"),
                vault=vault,
                item_title=self.item_title,
                token=self._token_value(),
            )
            log.info(
                "op_failed",
                command=args[:2],
                vault=vault,
                exit_code=proc.returncode,
                problem=problem.code,
                seconds=elapsed,
            )
            raise VaultError(problem)
        log.debug("op_ok", command=args[:2], vault=vault, seconds=elapsed)
        return stdout

    # -- the three reads

    async def read_item(self, vault: str) -> ItemCheck:
        """`op item get <title> --vault <vault> --format json`, reduced to an ItemCheck."""
        out = await self._run(
            ["item", "get", self.item_title, "--vault", vault, "--format", "json"], vault=vault
        )
        item = _parse_item(out, vault)
        del out
        if item is None:
            raise VaultError(_bad_output(vault, "an item"))
        return item

    async def _list_vaults(self) -> list[dict[str, str]]:
        out = await self._run(["vault", "list", "--format", "json"], vault=None)
        try:
            data = json.loads(out)
        except ValueError:
            data = None
        if not isinstance(data, list):
            raise VaultError(_bad_output(None, "a list of vaults"))
        vaults = []
        for entry in data:
            if isinstance(entry, dict):
                vaults.append(
                    {
                        "id": str(entry.get("id", "")),
                        "name": str(entry.get("name", "")),
                    }
                )
        return vaults

    async def visible_vaults(self) -> set[str]:
        """Names of the vaults the service account can see (`op vault list`)."""
        return {v["name"] for v in await self._list_vaults() if v["name"]}

    async def whoami(self) -> str:
        """Who op is signed in as (`op whoami`), for the preflight."""
        out = await self._run(["whoami", "--format", "json"], vault=None)
        try:
            data = json.loads(out)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise VaultError(_bad_output(None, "an account"))
        kind = str(data.get("user_type") or "user").lower().replace("_", " ")
        url = str(data.get("url") or "1Password")
        ident = str(data.get("user_uuid") or data.get("email") or "").strip()
        return f"{kind} {ident} on {url}".replace("  ", " ")

    async def version(self) -> str:
        """`op --version` (no token is sent for this one)."""
        proc = await asyncio.create_subprocess_exec(
            self.op_path,
            "--version",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": os.environ.get("PATH", os.defpath), **self._extra_env},
        )
        try:
            stdout, _ = await asyncio.wait_for(proc.communicate(), timeout=self.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise VaultError(_timeout(self.timeout)) from None
        return stdout.decode("utf-8", "replace").strip()

    # -- phase 6

    async def verify(self, vaults: Sequence[str], systems_vault: str) -> VerificationReport:
        """Read every vault once, concurrently, and check the four fields agree."""
        order = list(dict.fromkeys(vaults))
        reads, scope = await asyncio.gather(
            asyncio.gather(*(self._read_or_problem(v) for v in order)),
            self._scope_or_problem(),
        )
        report = build_report(
            order, reads, scope, systems_vault=systems_vault, item_title=self.item_title
        )
        log.info(
            "vaults_verified",
            ok=report.ok,
            problems=[p.code for p in report.problems],
            vaults=order,
        )
        return report

    async def _read_or_problem(self, vault: str) -> ItemCheck | Problem:
        try:
            return await self.read_item(vault)
        except VaultError as exc:
            return exc.problem

    async def _scope_or_problem(self) -> list[dict[str, str]] | Problem:
        try:
            return await self._list_vaults()
        except VaultError as exc:
            return exc.problem


# --------------------------------------------------------------------------- parsing


def _parse_item(raw: bytes, vault: str) -> ItemCheck | None:
    """Parse `op item get --format json`. Never raises (an exception could carry values)."""
    try:
        return _parse_item_unsafe(raw, vault)
    except Exception:  # noqa: BLE001 - any surprise is "bad output", without its details
        return None


def _parse_item_unsafe(raw: bytes, vault: str) -> ItemCheck | None:
    data = json.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("fields", []), list):
        return None
    by_label: dict[str, dict[str, Any]] = {}
    for field in data.get("fields") or []:
        if isinstance(field, dict):
            label = field.get("label")
            if isinstance(label, str) and label in EXPECTED_FIELDS and label not in by_label:
                by_label[label] = field
    checks: dict[str, FieldCheck] = {}
    digest: bytes | None = None
    for label, expected in EXPECTED_FIELDS.items():
        field = by_label.get(label)
        if field is None:
            checks[label] = FieldCheck(label=label, expected_type=expected, present=False)
            continue
        value = field.get("value")
        text = value if isinstance(value, str) else ""
        is_secret = label == SECRET_FIELD
        if is_secret and text:
            digest = _digest(text)
        checks[label] = FieldCheck(
            label=label,
            expected_type=expected,
            present=True,
            type=str(field.get("type") or "") or None,
            non_empty=bool(text.strip()),
            padded=bool(text.strip()) and text != text.strip(),
            value=None if is_secret else text,
        )
        del value, text
    item = ItemCheck(
        vault=vault,  # as asked for (op may answer with the vault's canonical name)
        item_id=str(data.get("id") or ""),
        title=str(data.get("title") or ""),
        fields=checks,
    )
    item._secret_digest = digest
    return item


# --------------------------------------------------------------------------- checks


def _field_problems(item: ItemCheck, vault: str) -> list[Problem]:
    problems: list[Problem] = []
    for check in item.fields.values():
        label = check.label
        kind = "password (concealed)" if check.expected_type == "CONCEALED" else "text"
        if not check.present:
            problems.append(
                Problem(
                    code="field_missing",
                    vault=vault,
                    field=label,
                    symptom=f"{vault}: the item has no field labelled {label}.",
                    cause="The field was not added, or its label is spelled differently.",
                    fix=(
                        f"In 1Password, edit '{item.title}' in {vault} and add a {kind} field "
                        f"labelled exactly {label} (labels are case-sensitive)."
                    ),
                )
            )
            continue
        if not check.type_ok:
            if check.expected_type == "CONCEALED":
                fix = (
                    f"In {vault}, change {label} to a password (concealed) field: delete "
                    "the text field and add a password field with the same label and value."
                )
            else:
                fix = f"In {vault}, change {label} to a plain text field with the same value."
            problems.append(
                Problem(
                    code="field_wrong_type",
                    vault=vault,
                    field=label,
                    symptom=(
                        f"{vault}: {label} is a {check.type or 'typeless'} field, not {kind}."
                    ),
                    cause=(
                        "The field was added with the wrong type."
                        + (
                            " A text field shows the secret to anyone who opens the item."
                            if check.expected_type == "CONCEALED"
                            else ""
                        )
                    ),
                    fix=fix,
                )
            )
        if not check.non_empty:
            problems.append(
                Problem(
                    code="field_empty",
                    vault=vault,
                    field=label,
                    symptom=f"{vault}: {label} is empty.",
                    cause="The field exists but its value was not pasted in (or not saved).",
                    fix=(
                        f"Paste the {label} value Amazon issued into '{item.title}' in "
                        f"{vault} and save."
                    ),
                )
            )
        elif check.padded:
            problems.append(
                Problem(
                    code="field_whitespace",
                    vault=vault,
                    field=label,
                    symptom=f"{vault}: {label} starts or ends with a space or line break.",
                    cause="A copy-paste picked up extra whitespace; Amazon would reject it.",
                    fix=f"Edit {label} in {vault} and remove the leading/trailing whitespace.",
                )
            )
    return problems


def _odd_ones_out(groups: list[list[str]]) -> tuple[list[str], list[str]] | None:
    """Given vaults grouped by value, return (majority, odd vaults), or None on a tie."""
    groups = sorted(groups, key=len, reverse=True)
    if len(groups) > 1 and len(groups[0]) == len(groups[1]):
        return None
    majority = groups[0]
    odd = [v for g in groups[1:] for v in g]
    return majority, odd


def _mismatch_problems(items: list[ItemCheck]) -> list[Problem]:
    problems: list[Problem] = []
    for label in EXPECTED_FIELDS:
        groups: dict[Any, list[str]] = {}
        shown: dict[str, str] = {}
        for item in items:
            check = item.fields[label]
            if not check.present or not check.non_empty:
                continue
            if label == SECRET_FIELD:
                key: Any = item._secret_digest
            else:
                key = check.value
                if label in SHOWN_FIELDS and check.value is not None:
                    shown[item.vault] = check.value
            if key is None:
                continue
            groups.setdefault(key, []).append(item.vault)
        if len(groups) < 2:
            continue
        code: ProblemCode = "secret_mismatch" if label == SECRET_FIELD else "value_mismatch"
        fix = (
            f"Copy the {label} Amazon issued into every vault so all of them hold the same "
            "value (one credential set serves all partitions), then re-run verification."
        )
        cause = (
            "The vaults were filled from different copies, or one was mistyped or left over "
            "from an older credential."
        )
        split = _odd_ones_out(list(groups.values()))
        if split is None:
            sets = "; ".join(", ".join(g) for g in groups.values())
            problems.append(
                Problem(
                    code=code,
                    field=label,
                    symptom=f"{label} is not the same in every vault (groups: {sets}).",
                    cause=cause,
                    fix=fix,
                )
            )
            continue
        majority, odd = split
        for vault in odd:
            if label == SECRET_FIELD:
                symptom = f"The credentialSecret in {vault} differs from the others."
            elif label in SHOWN_FIELDS and vault in shown and majority[0] in shown:
                symptom = (
                    f"{label} in {vault} is '{shown[vault]}', but "
                    f"'{shown[majority[0]]}' in {', '.join(majority)}."
                )
            else:
                symptom = f"{label} in {vault} differs from {', '.join(majority)}."
            problems.append(
                Problem(code=code, vault=vault, field=label, symptom=symptom, cause=cause, fix=fix)
            )
    return problems


def _status(check: FieldCheck) -> FieldStatus:
    return FieldStatus(
        label=check.label,
        expected_type=check.expected_type,
        present=check.present,
        type=check.type,
        non_empty=check.non_empty,
        ok=check.ok,
        shown=check.value if check.label in SHOWN_FIELDS else None,
    )


def build_report(
    vaults: Sequence[str],
    reads: Sequence[ItemCheck | Problem],
    scope: Sequence[dict[str, str]] | Problem,
    *,
    systems_vault: str,
    item_title: str,
) -> VerificationReport:
    """Combine one read per vault and the vault list into the report (pure; no I/O)."""
    per_vault: dict[str, list[Problem]] = {v: [] for v in vaults}
    loose: list[Problem] = []
    items: list[ItemCheck] = []

    for vault, read in zip(vaults, reads, strict=True):
        if isinstance(read, Problem):
            per_vault[vault].append(read.model_copy(update={"vault": vault}))
        else:
            items.append(read)
            per_vault[vault].extend(_field_problems(read, vault))

    for problem in _mismatch_problems(items):
        if problem.vault in per_vault:
            per_vault[problem.vault].append(problem)
        else:
            loose.append(problem)

    if isinstance(scope, Problem):
        systems_visible = False
        loose.append(scope)
    else:
        names = {v["name"] for v in scope} | {v["id"] for v in scope}
        systems_visible = systems_vault in names
        for vault in vaults:
            already = any(p.code == "vault_not_visible" for p in per_vault[vault])
            if vault not in names and not already:
                per_vault[vault].append(_vault_not_visible(vault))
        if not systems_visible:
            loose.append(_vault_not_visible(systems_vault, systems=True))

    # The flat list: per-vault problems in vault order, then the rest; failures about
    # the account or the machine (same cause everywhere) are told once, without a vault.
    flat: list[Problem] = []
    seen_global: set[str] = set()
    for problem in [p for v in vaults for p in per_vault[v]] + loose:
        if problem.code in GLOBAL_CODES:
            if problem.code in seen_global:
                continue
            seen_global.add(problem.code)
            problem = problem.model_copy(update={"vault": None})
        if problem not in flat:
            flat.append(problem)

    rows: list[VaultRow] = []
    for vault, read in zip(vaults, reads, strict=True):
        fields = (
            [_status(read.fields[label]) for label in EXPECTED_FIELDS]
            if isinstance(read, ItemCheck)
            else []
        )
        rows.append(
            VaultRow(
                vault=vault,
                ok=not per_vault[vault],
                read=isinstance(read, ItemCheck),
                fields=fields,
                problems=per_vault[vault],
            )
        )

    return VerificationReport(
        ok=not flat,
        item_title=item_title,
        rows=rows,
        problems=flat,
        systems_vault=systems_vault,
        systems_vault_visible=systems_visible,
        checked_at=datetime.now(UTC),
    )
