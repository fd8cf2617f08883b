"""What the watches are, what one run of a watch found, and what the board shows. Pure data."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.config import FileConfig

WatchName = Literal["eligibility", "probe", "rotation", "service_account"]
WATCHES: tuple[WatchName, ...] = ("eligibility", "probe", "rotation", "service_account")

TITLES: dict[WatchName, str] = {
    "eligibility": "Eligibility check-in",
    "probe": "Creators API probe",
    "rotation": "Credential rotation reminder",
    "service_account": "OP_SERVICE_ACCOUNT_TOKEN",
}
# Whose concern each watch is, as the hand-off and the board name it.
OWNERS: dict[WatchName, str] = {
    "eligibility": "accountOwner",
    "probe": "devOps",
    "rotation": "devOps",
    "service_account": "devOps",
}
WHAT: dict[WatchName, str] = {
    "eligibility": "asks the accountOwner to look at the Link Type Performance report",
    "probe": "imports the smoke ASIN once through each partition's BFF",
    "rotation": "reminds devOps when the credential is older than the configured age",
    "service_account": "checks that the service account still sees every vault",
}


# The answers to a check-in count as the eligibility watch's latest result too.
CHECKIN_ANSWER = "checkin_answer"


def workflow_name(name: WatchName) -> str:
    """The DBOS workflow that runs a watch."""
    return f"watch_{name}"


def result_names(name: WatchName) -> list[str]:
    """The workflows whose results are a watch's results."""
    own = workflow_name(name)
    return [own, CHECKIN_ANSWER] if name == "eligibility" else [own]


def parse_watch(name: str) -> WatchName | None:
    """The watch a person typed (`service-account` and `service_account` alike)."""
    wanted = name.strip().lower().replace("-", "_")
    return next((w for w in WATCHES if w == wanted), None)


class Outcome(BaseModel):
    """What one run of a watch found. JSON: it is the watch workflow's result, and the
    next run compares its `states` with its own."""

    model_config = ConfigDict(frozen=True)

    watch: WatchName
    at: str
    # The schedule's tick this run belongs to; None when someone ran it by hand.
    scheduled_for: str | None = None
    by: str | None = None
    # True green, False red, None nothing to judge (a question asked, a check skipped).
    ok: bool | None = None
    summary: str
    # What each subject (a partition, a vault, the token) looked like, for the next run.
    states: dict[str, str] = Field(default_factory=dict)


class WatchStatus(BaseModel):
    """One row of the watch board (App Home, `status`)."""

    model_config = ConfigDict(frozen=True)

    name: WatchName
    enabled: bool
    schedule: str
    next_run: str | None
    last: Outcome | None = None

    @property
    def title(self) -> str:
        return TITLES[self.name]


def schedule_of(config: FileConfig, name: WatchName) -> tuple[bool, str]:
    """Whether the watch runs on its schedule, and its cron expression."""
    section = getattr(config.watch, name)
    return bool(section.enabled), str(section.schedule)
