"""Configuration: secrets and endpoints from the environment, everything else from YAML.

The environment variable names and YAML keys are what operators put in their deployments
and config files: add to them, never rename one. `load_settings()` turns every validation
problem into a `ConfigError` whose lines name the variable or YAML key and say how to fix
it, so the CLI can print them and exit 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import (
    DEFAULT_CONFIG_PATH,
    ConfigError,
    FileConfig,
    Partition,
    load_file_config,
)

DEFAULT_SQLITE_NAME = "creators-onboard.sqlite"


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


# Read where outbound HTTP is made (`bot.egress`; slack_sdk, boto3 and `op` read them
# themselves), never into the settings.
PROXY_VARIABLES = (
    (
        "HTTPS_PROXY",
        "the proxy for https:// calls (Slack, GitHub, Linear, the BFFs, 1Password, AWS) on a "
        "host that reaches the internet only through one: http://host:port, with "
        "user:password@ if it asks",
    ),
    ("HTTP_PROXY", "the proxy for http:// calls, written as HTTPS_PROXY"),
    (
        "NO_PROXY",
        "hosts reached directly, comma-separated: example.com also takes its subdomains, "
        "host:port only that port, * every host",
    ),
)


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
    found.extend(EnvVariable(name, meaning, "unset") for name, meaning in PROXY_VARIABLES)
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


def _env_errors(exc: ValidationError) -> list[str]:
    """One line per problem, naming the environment variable."""
    problems = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        hint = _ENV_HINTS.get(field, "")
        msg = "is missing" if err["type"] == "missing" else err["msg"]
        msg = msg.removeprefix("Value error, ")
        missing = hint and err["type"] == "missing"
        problems.append(f"{field.upper() or '?'} {msg}" + (f": {hint}" if missing else ""))
    return problems


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read and validate everything. Raises ConfigError listing every problem found.

    Only `environ` is read (the process environment when None), BFF tokens included.
    Surrounding whitespace is not part of any value: a secret read from a file (a
    Kubernetes secret made with `--from-file`, `echo` without `-n`) ends in a newline,
    which would otherwise break every HTTP header it goes into and every signature.
    """
    source = {k: v.strip() for k, v in (os.environ if environ is None else environ).items()}
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
        problems.extend(_env_errors(exc))
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
