"""The YAML file: everything that is not secret (people, channel, repository, vaults,
partitions, schedules). Its keys are what operators put in their config files: add to
them, never rename one. Every problem is a `ConfigError` line that names the key and says
how to fix it.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_CONFIG_PATH = "./creators-onboard.yml"


class ConfigError(Exception):
    """Configuration is invalid; `problems` holds one human line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlackSection(_Strict):
    engineering_channel: str = ""
    account_owners: list[str] = Field(default_factory=list)
    devops: list[str] = Field(default_factory=list)
    # Slack asks for at most one message per channel per second.
    min_post_interval_seconds: float = Field(default=1.0, ge=0)
    # The progress and status messages are edited once things have been quiet this long
    # (a burst of changes is one edit); never later than after 10 changes.
    board_coalesce_seconds: float = Field(default=2.0, ge=0)

    @field_validator("account_owners", "devops")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        for uid in value:
            if not uid or uid[0] not in "UW" or not uid.isalnum():
                raise ValueError(
                    f"{uid!r} is not a Slack user ID (they look like U0123ABCD; "
                    "find it in the person's Slack profile → ⋯ → Copy member ID)"
                )
        return value


class LinearSection(_Strict):
    issue: str = "PDEV-446"
    # A comment that Linear could not take is retried with a doubling pause, durably,
    # until it is delivered: first after this many seconds, then at most this far apart.
    retry_initial_seconds: float = Field(default=10.0, gt=0)
    retry_max_seconds: float = Field(default=600.0, gt=0)


class GitHubSection(_Strict):
    repository: str = "Arda-cards/infrastructure"
    workflow: str = "amm.yml"
    ref: str = "main"
    # Optional gate: the infrastructure pull request that must be merged before the
    # first deploy. Unset means no gate.
    pull_request: int | None = None
    # A run is read this often while it goes (with its ETag: an unchanged run answers 304,
    # which GitHub does not count against the rate limit). A webhook wakes it at once.
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    run_timeout_minutes: float = 90.0
    # How often, at most, the run's message is edited with its progress.
    progress_interval_seconds: float = Field(default=30.0, gt=0)
    # After an ambiguous dispatch failure (5xx, timeout), how long to look for the run it
    # may have started before dispatching again.
    run_appear_timeout_seconds: float = 30.0
    # The name of the environment variable holding the secret of a GitHub webhook that
    # sends `workflow_run` events to POST /github/events. Unset: no webhook, polling only.
    webhook_secret: str | None = None

    @field_validator("webhook_secret")
    @classmethod
    def _variable_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Z_][A-Z0-9_]*", value):
            raise ValueError(
                f"{value!r} must name the environment variable that holds the webhook's "
                "secret (e.g. GITHUB_WEBHOOK_FIELD), not the secret itself"
            )
        return value

    @field_validator("repository")
    @classmethod
    def _owner_repo(cls, value: str) -> str:
        if value.count("/") != 1 or not all(value.split("/")):
            raise ValueError(f"{value!r} must be owner/name, e.g. Arda-cards/infrastructure")
        return value


class OnePasswordSection(_Strict):
    item_title: str = "Amazon Creators API"
    systems_vault: str = "Arda-SystemsOAM"
    timeout_seconds: float = 30.0


class SmokeSection(_Strict):
    asin: str = "B08N5WRWNW"
    throttle_check: bool = False
    # Replace the shipped v1 DTO JSON Schema with this file.
    dto_schema: Path | None = None
    path: str = "/api/amazon/import"
    timeout_seconds: float = 30.0


class AmplifySection(_Strict):
    app_id: str
    branch: str = "main"


class Partition(_Strict):
    name: str
    vault: str
    region: str = "us-east-1"
    workflow_inputs: dict[str, str] = Field(default_factory=dict)
    bff_url: str | None = None
    bff_token_env: str | None = None
    amplify: AmplifySection | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.isidentifier() or value.lower() != value:
            raise ValueError(f"{value!r} must be a short lowercase word such as dev or prod")
        return value

    @field_validator("bff_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with https:// (or http:// for a local test)")
        return value.rstrip("/") if value else value


def _default_partitions() -> list[Partition]:
    return [
        Partition(name="dev", vault="Arda-DevOAM", workflow_inputs={"partition": "dev"}),
        Partition(name="stage", vault="Arda-StageOAM", workflow_inputs={"partition": "stage"}),
        Partition(name="demo", vault="Arda-DemoOAM", workflow_inputs={"partition": "demo"}),
        Partition(
            name="prod",
            vault="Arda-ProdOAM",
            region="us-east-2",
            workflow_inputs={"partition": "prod"},
        ),
    ]


class WorkflowSection(_Strict):
    # How long the bot waits on a person before it nudges them again.
    nudge_after_hours: float = 24.0
    # A replica that has not said it is alive for this long is taken for dead: a live
    # replica recovers its pending workflows (README → Running more than one replica).
    takeover_after_seconds: float = Field(default=60.0, gt=0)


class HttpSection(_Strict):
    # A client must send a whole request head this soon after connecting (or after its
    # previous answer), and a whole body this soon after its head.
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    # Connections held at once; 0 means half the process's file descriptor limit.
    max_connections: int = Field(default=0, ge=0)
    # New connections the kernel queues until the bot accepts them (capped by the
    # kernel's net.core.somaxconn). A burst beyond it is dropped, and each dropped client
    # waits a whole second before TCP tries again (aiohttp's default is 128).
    backlog: int = Field(default=1024, ge=1, le=65535)


class _Watch(_Strict):
    """One watch: when it runs (a cron expression in UTC; six fields when the first is
    seconds) and whether it runs on its schedule at all (`enabled: false` switches the
    schedule off; `/creators-onboard watch <name>` still runs it by hand)."""

    enabled: bool = True
    schedule: str

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value, second_at_beginning=True):
            raise ValueError(
                f"{value!r} is not a cron expression (five fields: minute hour day month "
                'weekday, e.g. "0 14 * * *" for 14:00 UTC every day; six when seconds come first)'
            )
        return value


class EligibilityWatch(_Watch):
    # The accountOwner's monthly look at the Link Type Performance report.
    schedule: str = "0 16 1 * *"


class ProbeWatch(_Watch):
    # One import of the smoke ASIN per partition, every day.
    schedule: str = "0 14 * * *"
    # Which partitions to probe (default: every partition).
    partitions: list[str] | None = None


class RotationWatch(_Watch):
    # Weekly: is the credential older than max_age_days? (0: remind at every run)
    schedule: str = "0 15 * * 1"
    max_age_days: int = Field(default=365, ge=0)


class ServiceAccountWatch(_Watch):
    # Every day: can OP_SERVICE_ACCOUNT_TOKEN still see every vault?
    schedule: str = "30 13 * * *"


class WatchSection(_Strict):
    """Ongoing operations after a rollout: each watch is a durable scheduled workflow."""

    eligibility: EligibilityWatch = Field(default_factory=EligibilityWatch)
    probe: ProbeWatch = Field(default_factory=ProbeWatch)
    rotation: RotationWatch = Field(default_factory=RotationWatch)
    service_account: ServiceAccountWatch = Field(default_factory=ServiceAccountWatch)


class FileConfig(_Strict):
    """The YAML file (CREATORS_ONBOARD_CONFIG)."""

    slack: SlackSection = Field(default_factory=SlackSection)
    linear: LinearSection = Field(default_factory=LinearSection)
    github: GitHubSection = Field(default_factory=GitHubSection)
    onepassword: OnePasswordSection = Field(default_factory=OnePasswordSection)
    smoke: SmokeSection = Field(default_factory=SmokeSection)
    workflow: WorkflowSection = Field(default_factory=WorkflowSection)
    watch: WatchSection = Field(default_factory=WatchSection)
    http: HttpSection = Field(default_factory=HttpSection)
    partitions: list[Partition] = Field(default_factory=_default_partitions)

    @model_validator(mode="after")
    def _unique_partitions(self) -> FileConfig:
        names = [p.name for p in self.partitions]
        if not names:
            raise ValueError("at least one partition is needed")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"partition names must be unique; repeated: {', '.join(dupes)}")
        vaults = [p.vault for p in self.partitions]
        if len(set(vaults)) != len(vaults):
            raise ValueError("each partition needs its own vault (vaults are scoped by usage)")
        unknown = [n for n in self.watch.probe.partitions or [] if n not in names]
        if unknown:
            raise ValueError(
                f"watch.probe.partitions names unknown partitions: {', '.join(unknown)} "
                f"(known: {', '.join(names)})"
            )
        return self

    @property
    def probed_partitions(self) -> list[Partition]:
        """The partitions the daily probe imports from, in rollout order."""
        chosen = self.watch.probe.partitions
        return [p for p in self.partitions if chosen is None or p.name in chosen]

    def partition(self, name: str) -> Partition | None:
        return next((p for p in self.partitions if p.name == name), None)


def format_error(exc: ValidationError, prefix: str) -> list[str]:
    """One line per problem, naming the YAML key (`prefix` is the file's name)."""
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        key = ".".join([prefix, *loc]) if loc else prefix
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "is not a known setting (check the spelling against the README table)"
        problems.append(f"{key}: {msg}")
    return problems


def load_file_config(path: Path) -> FileConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML ({exc})"]) from None
    except OSError as exc:
        raise ConfigError(
            [
                f"CREATORS_ONBOARD_CONFIG: cannot read {path} ({exc.strerror}); "
                "copy creators-onboard.example.yml there or point the variable at your file"
            ]
        ) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: the top level must be a mapping (slack:, partitions:, …)"])
    try:
        return FileConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_error(exc, path.name)) from None
