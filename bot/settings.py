"""Configuration: secrets and endpoints from the environment, everything else from YAML.

The environment variable names and YAML keys are what operators put in their deployments
and config files: add to them, never rename one. `load_settings()` turns every validation
problem into a `ConfigError` whose lines name the variable or YAML key and say how to fix
it, so the CLI can print them and exit 2.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from croniter import croniter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_CONFIG_PATH = "./creators-onboard.yml"
DEFAULT_SQLITE_NAME = "creators-onboard.sqlite"


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


class EnvSettings(BaseSettings):
    """Secrets and endpoints (environment only).

    Each field is one environment variable (its name upper-cased); its description is the
    one-line meaning that `serve --help` and `check --help` print (`environment_variables`).
    """

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    slack_bot_token: SecretStr = Field(
        description="the bot token (xoxb-…) from OAuth & Permissions"
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="request signing secret (Basic Information); HTTP mode needs it"
    )
    slack_app_token: SecretStr | None = Field(
        default=None, description="app-level token (xapp-…); setting it enables Socket Mode"
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", description="Slack Web API base URL"
    )
    github_token: SecretStr | None = Field(
        default=None,
        description="token with actions:write on the infrastructure repository; deploys need it",
    )
    github_api_url: str = Field(
        default="https://api.github.com", description="GitHub REST API base URL"
    )
    linear_api_key: SecretStr | None = Field(
        default=None, description="Linear personal API key; ticket comments need it"
    )
    linear_api_url: str = Field(
        default="https://api.linear.app/graphql", description="Linear GraphQL endpoint"
    )
    op_service_account_token: SecretStr | None = Field(
        default=None,
        description="1Password service account token; vault verification needs it",
    )
    op_cli_path: str = Field(default="op", description="the 1Password CLI executable")
    database_url: str = Field(
        default="",
        description=(
            f"sqlite:///… or postgresql://…; unset means the SQLite file ./{DEFAULT_SQLITE_NAME}"
        ),
    )
    creators_onboard_config: str = Field(
        default=DEFAULT_CONFIG_PATH, description="the YAML file with everything that is not secret"
    )
    host: str = Field(
        default="0.0.0.0",  # noqa: S104 - the contract's default: listen on every interface
        description="address the HTTP server (Slack events, /healthz, /readyz) listens on",
    )
    # 0 picks a free port (tests); the bound address is logged as "listening".
    port: int = Field(
        default=3000, ge=0, le=65535, description="HTTP port; 0 picks a free one (logged)"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="DEBUG, INFO, WARNING or ERROR"
    )
    # json | console; unset means json, or console when stderr is a terminal.
    log_format: Literal["json", "console", ""] = Field(
        default="", description="json or console; unset means console on a terminal, else json"
    )
    # Read by DBOS itself as well; one process per value (README → Deploy).
    dbos__vmid: str = Field(
        default="",
        description="this replica's executor id; give each replica its own; unset means local",
    )
    # The BFF smoke-test tokens, keyed by the variable each partition names in its
    # bff_token_env. load_settings() reads those variables from the same environment as
    # the rest; a variable that is unset or empty gives no token.
    bff_tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="one partition's smoke-test bearer token; the YAML's bff_token_env names it",
    )
    # Read from the variable the YAML's github.webhook_secret names (this one in the
    # example configuration), like the BFF tokens.
    github_webhook_secret: SecretStr | None = Field(
        default=None,
        description="secret of the GitHub webhook (workflow_run events to POST /github/events); "
        "read from the variable the YAML's github.webhook_secret names",
    )

    @field_validator("bff_tokens")
    @classmethod
    def _non_empty(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        return {name: token for name, token in value.items() if token.get_secret_value()}

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb- (OAuth & Permissions page)")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp- (Basic Information)")
        return value

    @field_validator("database_url")
    @classmethod
    def _db(cls, value: str) -> str:
        if not value:
            return value
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        try:
            url = make_url(value)
            _ = url.port  # an out-of-range or non-numeric port fails here
        except (ArgumentError, ValueError) as exc:
            raise ValueError(
                "is not a valid database URL (postgresql://user:password@host:5432/name or "
                "sqlite:///path/to/file.sqlite)"
            ) from exc
        if url.drivername.startswith("sqlite") and not url.database:
            raise ValueError("names no SQLite file (sqlite:///path/to/file.sqlite)")
        if url.drivername.startswith("postgres") and not url.host:
            raise ValueError("names no host (postgresql://user:password@host:5432/name)")
        return value


class Settings:
    """Everything the bot needs, validated. Build with `load_settings()`."""

    def __init__(self, env: EnvSettings, config: FileConfig, config_path: Path | None) -> None:
        self.env = env
        self.config = config
        self.config_path = config_path

    @property
    def socket_mode(self) -> bool:
        return self.env.slack_app_token is not None

    @property
    def database_url(self) -> str:
        url = self.env.database_url or f"sqlite:///{Path.cwd() / DEFAULT_SQLITE_NAME}"
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        return url

    def bff_token(self, partition: Partition) -> SecretStr | None:
        """The partition's smoke-test token (read at load time), or None when it has none."""
        if not partition.bff_token_env:
            return None
        return self.env.bff_tokens.get(partition.bff_token_env)

    def secret_values(self) -> list[str]:
        """Every configured secret value, for the log redaction processor."""
        secrets: list[SecretStr | None] = [
            self.env.slack_bot_token,
            self.env.slack_signing_secret,
            self.env.slack_app_token,
            self.env.github_token,
            self.env.linear_api_key,
            self.env.op_service_account_token,
        ]
        secrets.append(self.env.github_webhook_secret)
        secrets.extend(self.env.bff_tokens.values())
        password = make_url(self.database_url).password if self.env.database_url else None
        if password:
            secrets.append(SecretStr(str(password)))
        return [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]


@dataclass(frozen=True)
class EnvVariable:
    name: str
    meaning: str
    default: str  # "required", "unset", or the value used when the variable is unset


# The field that holds one variable per partition (the BFF smoke-test tokens).
_PER_PARTITION = "bff_tokens"
# The field read from the variable the YAML's github.webhook_secret names.
_WEBHOOK_FIELD = "github_webhook_secret"


def environment_variables() -> list[EnvVariable]:
    """Every environment variable the bot reads, from the settings' own field descriptions."""
    found = []
    for field_name, info in EnvSettings.model_fields.items():
        if field_name == _PER_PARTITION:
            continue
        if info.is_required():
            default = "required"
        elif info.default in (None, ""):
            default = "unset"
        else:
            default = str(info.default)
        found.append(EnvVariable(field_name.upper(), info.description or "", default))
    # One field, one variable per partition: the YAML names it (partitions[].bff_token_env).
    found.append(EnvVariable("BFF_TOKEN_<PARTITION>", _bff_tokens_meaning(), "unset"))
    return found


def _bff_tokens_meaning() -> str:
    return EnvSettings.model_fields[_PER_PARTITION].description or ""


def secret_variable_names() -> list[str]:
    """The environment variables whose values the settings hold as secrets."""
    return [
        name.upper()
        for name, info in EnvSettings.model_fields.items()
        if name != _PER_PARTITION and SecretStr in (info.annotation, *get_args(info.annotation))
    ]


_ENV_HINTS = {
    "slack_bot_token": "set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-…)",
    "slack_signing_secret": "set SLACK_SIGNING_SECRET (Basic Information → Signing Secret)",
}


def _format_error(exc: ValidationError, prefix: str, env: bool) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        if env:
            name = loc[0].upper() if loc else "?"
            hint = _ENV_HINTS.get(loc[0] if loc else "", "")
            msg = "is missing" if err["type"] == "missing" else err["msg"]
            msg = msg.removeprefix("Value error, ")
            problems.append(
                f"{name} {msg}" + (f": {hint}" if hint and err["type"] == "missing" else "")
            )
        else:
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
        raise ConfigError(_format_error(exc, path.name, env=False)) from None


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read and validate everything. Raises ConfigError listing every problem found.

    Only `environ` is read (the process environment when None), BFF tokens included.
    """
    source = dict(os.environ if environ is None else environ)
    problems: list[str] = []

    config_value = source.get("CREATORS_ONBOARD_CONFIG", "")
    path = Path(config_value or DEFAULT_CONFIG_PATH)
    config = FileConfig()
    config_path: Path | None = None
    config_problems: list[str] = []
    if config_value or path.exists():
        try:
            config = load_file_config(path)
            config_path = path
        except ConfigError as exc:
            config_problems = exc.problems

    env: EnvSettings | None = None
    try:
        # Only our own names are read; pass them explicitly so tests can inject.
        # An empty variable counts as unset, as a blank `NAME=` line in an .env file means.
        fields = EnvSettings.model_fields
        named = ("bff_tokens", _WEBHOOK_FIELD)  # read from the variables the YAML names
        kwargs: dict[str, Any] = {
            k: source[k.upper()] for k in fields if k not in named and source.get(k.upper())
        }
        token_names = {p.bff_token_env for p in config.partitions if p.bff_token_env}
        kwargs["bff_tokens"] = {name: source[name] for name in token_names if name in source}
        webhook_env = config.github.webhook_secret
        if webhook_env and source.get(webhook_env):
            kwargs[_WEBHOOK_FIELD] = source[webhook_env]
        elif webhook_env:
            problems.append(
                f"{webhook_env} is missing: github.webhook_secret names it as the variable "
                "holding the GitHub webhook's secret; set it, or remove github.webhook_secret "
                "to follow runs by polling alone"
            )
        env = EnvSettings.model_validate(kwargs)
    except ValidationError as exc:
        problems.extend(_format_error(exc, "", env=True))
    problems.extend(config_problems)

    if env is not None and env.slack_app_token is None and env.slack_signing_secret is None:
        problems.append(
            "SLACK_SIGNING_SECRET is missing: HTTP mode needs it to check that requests come "
            "from Slack (Basic Information → Signing Secret); or set SLACK_APP_TOKEN "
            "for Socket Mode"
        )
    if problems or env is None:
        raise ConfigError(problems)
    return Settings(env, config, config_path)
