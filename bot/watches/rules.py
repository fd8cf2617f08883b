"""How a watch judges what it found: against the previous run, so that people hear about
a change once — an alert when something goes wrong, one announcement when it recovers —
and never the same alert every day. Pure: no clock, no I/O (times are passed in)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from croniter import croniter

from bot.rollout.roles import Role

OK = "ok"
RATE_LIMITED = "AMAZON_RATE_LIMITED"
UPSTREAM = "AMAZON_UPSTREAM_UNAVAILABLE"
TOKEN = "token"  # noqa: S105 - the subject name for the service account token, not a secret
NOT_VISIBLE = "not_visible"
# `op` failures that say nothing about the token's scope (try again later): no verdict.
TRANSIENT_OP_CODES = frozenset(
    {"rate_limited", "op_timeout", "op_failed", "bad_output", "op_unstartable"}
)


@dataclass(frozen=True)
class Change:
    """A subject (a partition, a vault, the token) whose state changed since the last run."""

    subject: str
    before: str | None
    after: str

    @property
    def recovered(self) -> bool:
        return self.after == OK


def changes(previous: Mapping[str, str] | None, now: Mapping[str, str]) -> list[Change]:
    """What to tell people: each subject that went wrong (or wrong differently) since the
    previous run, and each that recovered. A subject seen for the first time is told only
    when it is not OK; one missing from `now` was not looked at and changes nothing."""
    before_all = previous or {}
    found: list[Change] = []
    for subject, after in now.items():
        before = before_all.get(subject)
        if after == OK:
            if before is not None and before != OK:
                found.append(Change(subject, before, after))
        elif before != after:
            found.append(Change(subject, before, after))
    return found


def carried(previous: Mapping[str, str] | None, now: Mapping[str, str]) -> dict[str, str]:
    """The states to remember: what was seen now, and for subjects not looked at this time,
    what was seen before (so a recovery is still noticed later)."""
    return {**dict(previous or {}), **dict(now)}


# ------------------------------------------------------------------------------ probe


def probe_state(ok: bool, code: str | None) -> str:
    """One partition's probe, as a state: OK, the BFF's error code, or "failed"."""
    if ok:
        return OK
    return code or "failed"


def probe_audience(state: str | None) -> tuple[Role, ...]:
    """Who hears about a probe in this state: everything is devOps' (quota, deploys);
    Amazon refusing service may be lost eligibility, which is the accountOwner's too."""
    return ("devOps", "accountOwner") if state == UPSTREAM else ("devOps",)


# ------------------------------------------------------------------- service account


def scope_states(wanted: Sequence[str], visible: set[str]) -> dict[str, str]:
    """The token works; each vault it must see is visible or not."""
    states = {TOKEN: OK}
    for vault in wanted:
        states[vault] = OK if vault in visible else NOT_VISIBLE
    return states


def token_states(code: str) -> dict[str, str] | None:
    """States when `op` failed with `code`: the token itself is at fault, or (None) the
    failure says nothing about the token (rate limit, timeout) and nothing is judged."""
    if code in TRANSIENT_OP_CODES:
        return None
    return {TOKEN: code}


# ---------------------------------------------------------------------------- rotation


def credential_age_days(completed_at: str | None, now: datetime) -> int | None:
    """Days since the credential was put in place (the last completed rollout or rotation);
    None when no rollout has completed yet."""
    if not completed_at:
        return None
    since = datetime.fromisoformat(completed_at)
    return max(0, (now - since).days)


def rotation_due(age_days: int | None, max_age_days: int) -> bool:
    return age_days is not None and age_days >= max_age_days


# ---------------------------------------------------------------------------- schedule


# Each expression's last answer: (asked after, fires at). Parsing a cron expression takes
# about 0.2 ms, and `status` asks for every watch's next run on every answer.
_NEXT_RUNS: dict[tuple[str, object], tuple[datetime, datetime]] = {}
_NEXT_RUNS_HELD = 64


def next_run(cron: str, after: datetime) -> datetime:
    """When a cron expression (UTC; six fields when seconds come first) fires next.

    The same answer holds for every moment from the one it was worked out after until the
    moment it names (the expression fires nowhere in between), so within that span it is
    not worked out again."""
    key = (cron, after.tzinfo)
    held = _NEXT_RUNS.get(key)
    if held is not None and held[0] <= after < held[1]:
        return held[1]
    found: datetime = croniter(cron, after, second_at_beginning=True).get_next(datetime)
    if len(_NEXT_RUNS) >= _NEXT_RUNS_HELD:
        _NEXT_RUNS.clear()
    _NEXT_RUNS[key] = (after, found)
    return found
