"""The 1Password CLI (`op`) as a client: the subprocess, its environment, its errors.

`VaultReader` runs the real `op` binary as a subprocess: an argument list (never a
shell), `--vault` on every item read, a minimal child environment (PATH, HOME and
OP_SERVICE_ACCOUNT_TOKEN, which never enters our own environment or logs) and a timeout
per call after which the child is killed. It never retries: service accounts have an
hourly read limit.

`verify()` is phase 6 of the runbook: every vault is read once, all at the same time, plus
one `op vault list` for the service account's scope; `verify.build_report` judges them.

A failed call becomes a `VaultError` carrying a `VaultProblem`, classified from op's
stderr, which carries names and never field values; it is still scrubbed of token-shaped
text and truncated before it is quoted.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import re
import time
from collections.abc import Awaitable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr

from bot.integrations.errors import IntegrationError
from bot.integrations.vaults import texts
from bot.integrations.vaults.models import (
    RETRYABLE_CODES,
    ItemCheck,
    VaultProblem,
    VaultRef,
    VerificationReport,
)
from bot.integrations.vaults.verify import build_report, parse_item, parse_vault_list
from bot.logging import get_logger

if TYPE_CHECKING:
    from bot.settings import Settings

log = get_logger(__name__)
T = TypeVar("T")

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


class VaultError(IntegrationError):
    """An `op` call failed; `problem` (a VaultProblem) says what, why and how to fix it."""

    problem: VaultProblem

    def __init__(self, problem: VaultProblem) -> None:
        super().__init__(problem, retryable=problem.code in RETRYABLE_CODES)


def clean_stderr(stderr: str, token: str | None) -> str:
    """op's own error text, safe to quote: no timestamp prefix, no token, short."""
    lines = [_ERROR_PREFIX.sub("", line).strip() for line in stderr.splitlines()]
    text = " ".join(line for line in lines if line)
    if token:
        text = text.replace(token, "[redacted]")
    text = _TOKEN_SHAPE.sub("[redacted]", text)
    if len(text) > _STDERR_LIMIT:
        text = text[: _STDERR_LIMIT - 1] + "…"
    return text or "(no error text)"


def classify_op_error(
    stderr: str,
    *,
    vault: str | None,
    item_title: str,
    token: str | None = None,
) -> VaultProblem:
    """Turn a failed `op` call (exit code ≠ 0) into a VaultProblem, from its stderr."""
    if _RATE.search(stderr):
        return texts.problem("rate_limited")
    if _DUPLICATE.search(stderr):
        return texts.problem("duplicate_items", where=vault, item_title=item_title)
    if vault and _NO_VAULT.search(stderr):
        return texts.problem("vault_not_visible", where=vault)
    if vault and _NO_ITEM.search(stderr):
        return texts.problem("item_missing", where=vault, item_title=item_title)
    said = clean_stderr(stderr, token)
    if _AUTH.search(stderr) or _NO_VAULT.search(stderr):
        return texts.problem("auth_failed", op_said=said)
    failed: texts.TextName = "op_failed_reading" if vault else "op_failed"
    return texts.problem(failed, where=vault, item_title=item_title, op_said=said)


# Why the system would not start op, by errno: a build this machine cannot run; out of
# file handles, memory or processes; the file being written as it was started.
_UNSTARTABLE: dict[int, texts.TextName] = {
    errno.ENOEXEC: "op_wrong_build",
    errno.EMFILE: "op_out_of_resources",
    errno.ENFILE: "op_out_of_resources",
    errno.ENOMEM: "op_out_of_resources",
    errno.EAGAIN: "op_out_of_resources",
    errno.ETXTBSY: "op_being_replaced",
}


def unstartable(op_path: str, exc: OSError) -> VaultProblem:
    """The problem for an `op` that exists but could not be started (`exc`, from starting
    it): named by its errno, so that it reaches the report instead of ending the rollout."""
    code = exc.errno
    name = errno.errorcode.get(code or 0, "no errno")
    reason = f"{os.strerror(code)}, {name}" if code else type(exc).__name__
    text = _UNSTARTABLE.get(code or 0, "op_unstartable")
    return texts.problem(text, op_path=op_path, reason=reason)


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

    def _child_env(self, *, with_token: bool) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", os.defpath)}
        if "HOME" in os.environ:
            env["HOME"] = os.environ["HOME"]
        env.update(self._extra_env)
        token = self._token_value() if with_token else None
        if token:
            env["OP_SERVICE_ACCOUNT_TOKEN"] = token
        return env

    async def _spawn(self, args: list[str], *, with_token: bool) -> asyncio.subprocess.Process:
        # The token lives only in this frame's `env` and in the child.
        env = self._child_env(with_token=with_token)
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
            raise VaultError(texts.problem("op_missing", op_path=self.op_path)) from None
        except OSError as exc:  # op is there, and the system would not start it
            problem = unstartable(self.op_path, exc)
            log.warning("op_unstartable", command=args[:2], errno=exc.errno, problem=problem.code)
            raise VaultError(problem) from None
        finally:
            del env

    async def _communicate(
        self, proc: asyncio.subprocess.Process, args: list[str], vault: str | None
    ) -> tuple[bytes, bytes]:
        """The child's output; killed (and reaped) when it outlives the timeout."""
        try:
            return await asyncio.wait_for(proc.communicate(), timeout=self.timeout)
        except TimeoutError:
            with suppress(ProcessLookupError):  # it may have ended just as time ran out
                proc.kill()
            await proc.wait()
            log.warning("op_timeout", command=args[:2], vault=vault, timeout=self.timeout)
            raise VaultError(texts.problem("op_timeout", seconds=self.timeout)) from None

    async def _run(self, args: list[str], *, vault: str | None) -> bytes:
        """Run op once with the token; return stdout, or raise VaultError. Never retries."""
        if self._token_value() is None:
            raise VaultError(texts.problem("token_missing"))
        started = time.monotonic()
        proc = await self._spawn(args, with_token=True)
        stdout, stderr = await self._communicate(proc, args, vault)
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

    # -- the reads

    async def read_item(self, vault: str) -> ItemCheck:
        """`op item get <title> --vault <vault> --format json`, reduced to an ItemCheck."""
        out = await self._run(
            ["item", "get", self.item_title, "--vault", vault, "--format", "json"], vault=vault
        )
        item = parse_item(out, vault)
        del out
        if item is None:
            raise VaultError(texts.problem("bad_output", where=vault, what="an item"))
        return item

    async def list_vaults(self) -> list[VaultRef]:
        """The vaults the service account can see (`op vault list`)."""
        vaults = parse_vault_list(
            await self._run(["vault", "list", "--format", "json"], vault=None)
        )
        if vaults is None:
            raise VaultError(texts.problem("bad_output", what="a list of vaults"))
        return vaults

    async def visible_vaults(self) -> set[str]:
        """Names of the vaults the service account can see (`op vault list`)."""
        return {v.name for v in await self.list_vaults() if v.name}

    async def whoami(self) -> str:
        """Who op is signed in as (`op whoami`), for the preflight."""
        out = await self._run(["whoami", "--format", "json"], vault=None)
        try:
            data: Any = json.loads(out)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise VaultError(texts.problem("bad_output", what="an account"))
        kind = str(data.get("user_type") or "user").lower().replace("_", " ")
        url = str(data.get("url") or "1Password")
        ident = str(data.get("user_uuid") or data.get("email") or "").strip()
        return f"{kind} {ident} on {url}".replace("  ", " ")

    async def version(self) -> str:
        """`op --version` (no token is sent for this one)."""
        args = ["--version"]
        proc = await self._spawn(args, with_token=False)
        stdout, _ = await self._communicate(proc, args, None)
        return stdout.decode("utf-8", "replace").strip()

    # -- phase 6

    async def verify(self, vaults: Sequence[str], systems_vault: str) -> VerificationReport:
        """Read every vault once, concurrently, and check the four fields agree."""
        order = list(dict.fromkeys(vaults))
        reads, scope = await asyncio.gather(
            asyncio.gather(*(self._or_problem(self.read_item(v)) for v in order)),
            self._or_problem(self.list_vaults()),
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

    @staticmethod
    async def _or_problem(read: Awaitable[T]) -> T | VaultProblem:
        try:
            return await read
        except VaultError as exc:
            return exc.problem
