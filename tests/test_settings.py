"""load_settings(): every mistake becomes a line naming the variable or YAML key; defaults."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ConfigError
from bot.server import dbos_config
from bot.settings import (
    DEFAULT_SQLITE_NAME,
    Settings,
    environment_variables,
    load_settings,
    secret_variable_names,
)

REPO = Path(__file__).resolve().parents[1]

BOT = "xoxb-1111-2222-settingstesttoken"
SECRET = "settings-signing-secret-0123456789"
BASE = {"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": SECRET}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The default config path and SQLite file are relative to the working directory.
    monkeypatch.chdir(tmp_path)


def problems(env: dict[str, str], config: Any = None, tmp: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(env, config, tmp)
    assert info.value.problems, "a ConfigError must say what is wrong"
    assert str(info.value).startswith("invalid configuration:")
    return info.value.problems


def load(env: dict[str, str], config: Any = None, tmp: Path | None = None) -> Settings:
    env = dict(env)
    if config is not None:
        path = (tmp or Path.cwd()) / "creators-onboard.yml"
        text = config if isinstance(config, str) else yaml.safe_dump(config)
        path.write_text(text, encoding="utf-8")
        env["CREATORS_ONBOARD_CONFIG"] = str(path)
    return load_settings(env)


def one(found: list[str]) -> str:
    assert len(found) == 1, found
    return found[0]


# --------------------------------------------------------------------------- environment


def test_missing_bot_token_says_where_to_find_it() -> None:
    line = one(problems({"SLACK_SIGNING_SECRET": SECRET}))
    assert line.startswith("SLACK_BOT_TOKEN is missing")
    assert "Bot User OAuth Token" in line and "xoxb-" in line


def test_empty_environment_lists_the_token_only() -> None:
    # The signing secret is reported once the token is there (it depends on the mode).
    found = problems({})
    assert any(p.startswith("SLACK_BOT_TOKEN is missing") for p in found)


def test_missing_signing_secret_in_http_mode() -> None:
    line = one(problems({"SLACK_BOT_TOKEN": BOT}))
    assert "SLACK_SIGNING_SECRET is missing" in line
    assert "Signing Secret" in line and "SLACK_APP_TOKEN" in line


@pytest.mark.parametrize("token", ["xoxp-1234-user-token", "xapp-1-A-app-token", "bot-token"])
def test_bot_token_must_be_a_bot_token(token: str) -> None:
    line = one(problems({**BASE, "SLACK_BOT_TOKEN": token}))
    assert line.startswith("SLACK_BOT_TOKEN")
    assert "xoxb-" in line
    assert token not in line  # the value itself is never echoed


def test_app_token_must_be_an_app_token() -> None:
    line = one(problems({**BASE, "SLACK_APP_TOKEN": "xoxb-not-an-app-token"}))
    assert line.startswith("SLACK_APP_TOKEN") and "xapp-" in line
    assert "xoxb-not-an-app-token" not in line


def test_env_messages_read_as_plain_language() -> None:
    line = one(problems({**BASE, "SLACK_BOT_TOKEN": "xoxp-1"}))
    assert "Value error" not in line


@pytest.mark.parametrize(
    "url", ["mysql://user:hunter2-password@db/creators", "sqlite:relative.db", "postgresq://x"]
)
def test_bad_database_url(url: str) -> None:
    line = one(problems({**BASE, "DATABASE_URL": url}))
    assert line.startswith("DATABASE_URL")
    assert "sqlite:///" in line and "postgresql://" in line
    assert "hunter2" not in line


def test_database_url_default_and_postgres_alias(tmp_path: Path) -> None:
    settings = load(BASE)
    assert settings.database_url == f"sqlite:///{tmp_path / DEFAULT_SQLITE_NAME}"
    settings = load({**BASE, "DATABASE_URL": "postgres://u:p@127.0.0.1:5432/db"})
    assert settings.database_url == "postgresql://u:p@127.0.0.1:5432/db"
    settings = load({**BASE, "DATABASE_URL": "postgresql://u:p@h/db"})
    assert settings.database_url == "postgresql://u:p@h/db"


@pytest.mark.parametrize(
    ("name", "value"),
    [("PORT", "99999"), ("PORT", "http"), ("LOG_LEVEL", "verbose"), ("LOG_FORMAT", "xml")],
)
def test_bad_process_settings_are_named(name: str, value: str) -> None:
    line = one(problems({**BASE, name: value}))
    assert line.startswith(name)


def test_socket_mode_needs_no_signing_secret() -> None:
    settings = load({"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": "xapp-1-A0FAKE-0123456789"})
    assert settings.socket_mode
    assert settings.env.slack_signing_secret is None


def test_empty_app_token_means_http_mode() -> None:
    settings = load({**BASE, "SLACK_APP_TOKEN": ""})
    assert not settings.socket_mode
    line = one(problems({"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": ""}))
    assert "SLACK_SIGNING_SECRET" in line


def test_empty_variables_count_as_unset() -> None:
    """A blank `NAME=` line in an .env file means the default, not an empty value."""
    settings = load(
        {
            **BASE,
            "GITHUB_TOKEN": "",
            "LINEAR_API_KEY": "",
            "OP_SERVICE_ACCOUNT_TOKEN": "",
            "PORT": "",
            "LOG_LEVEL": "",
            "DATABASE_URL": "",
            "SLACK_API_URL": "",
            "DBOS__VMID": "",
        }
    )
    env = settings.env
    assert (env.github_token, env.linear_api_key, env.op_service_account_token) == (None,) * 3
    assert (env.port, env.log_level, env.slack_api_url) == (3000, "INFO", "https://slack.com/api/")
    assert settings.database_url.endswith(DEFAULT_SQLITE_NAME)
    assert "executor_id" not in dbos_config(settings)
    line = one(problems({"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": SECRET}))
    assert line.startswith("SLACK_BOT_TOKEN is missing")


def test_each_replica_names_its_executor() -> None:
    settings = load({**BASE, "DBOS__VMID": "creators-onboard-1"})
    assert dbos_config(settings)["executor_id"] == "creators-onboard-1"


def test_secret_variables_are_the_secret_fields() -> None:
    assert set(secret_variable_names()) == {
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "GITHUB_TOKEN",
        "GITHUB_WEBHOOK_SECRET",
        "LINEAR_API_KEY",
        "OP_SERVICE_ACCOUNT_TOKEN",
    }


def test_every_variable_has_a_meaning_and_the_readme_lists_it() -> None:
    variables = environment_variables()
    assert all(v.meaning for v in variables), [v.name for v in variables if not v.meaning]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    in_table = {
        name
        for row in section.splitlines()
        if row.startswith("| `")
        for name in re.findall(r"`([A-Z_<>]+)`", row.split("|")[1])
    }
    assert in_table == {v.name for v in variables}


def test_log_level_is_case_insensitive() -> None:
    assert load({**BASE, "LOG_LEVEL": "debug"}).env.log_level == "DEBUG"


def test_unrelated_environment_is_ignored() -> None:
    settings = load({**BASE, "HOME": "/root", "SLACK_SOMETHING_ELSE": "x", "PATH": "/bin"})
    assert settings.env.slack_bot_token.get_secret_value() == BOT


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(
        {"SLACK_BOT_TOKEN": "xoxp-wrong", "DATABASE_URL": "mysql://x"},
        {"slack": {"devops": ["bob"]}, "colour": "blue"},
        tmp_path,
    )
    joined = "\n".join(found)
    for name in ("SLACK_BOT_TOKEN", "DATABASE_URL", "slack.devops", "colour"):
        assert name in joined, (name, found)


# ----------------------------------------------------------------------------------- YAML


def test_duplicate_partitions(tmp_path: Path) -> None:
    config = {"partitions": [{"name": "dev", "vault": "A"}, {"name": "dev", "vault": "B"}]}
    line = one(problems(BASE, config, tmp_path))
    assert "partition names must be unique" in line and "dev" in line


def test_two_partitions_sharing_a_vault(tmp_path: Path) -> None:
    config = {"partitions": [{"name": "dev", "vault": "A"}, {"name": "stage", "vault": "A"}]}
    assert "own vault" in one(problems(BASE, config, tmp_path))


def test_no_partitions(tmp_path: Path) -> None:
    assert "at least one partition" in one(problems(BASE, {"partitions": []}, tmp_path))


@pytest.mark.parametrize("name", ["Dev", "dev-1", "1dev", ""])
def test_invalid_partition_name(name: str, tmp_path: Path) -> None:
    line = one(problems(BASE, {"partitions": [{"name": name, "vault": "A"}]}, tmp_path))
    assert "partitions.0.name" in line and "lowercase" in line


@pytest.mark.parametrize("uid", ["alice", "u0123ABC", "C0ENG123", "U01 23", ""])
@pytest.mark.parametrize("key", ["devops", "account_owners"])
def test_bad_user_ids(uid: str, key: str, tmp_path: Path) -> None:
    line = one(problems(BASE, {"slack": {key: ["U0GOOD1", uid]}}, tmp_path))
    assert f"slack.{key}" in line
    assert "Slack user ID" in line and "Copy member ID" in line


def test_good_user_ids(tmp_path: Path) -> None:
    settings = load(BASE, {"slack": {"devops": ["U0DEVOPS1", "W0ENTERPRISE"]}}, tmp_path)
    assert settings.config.slack.devops == ["U0DEVOPS1", "W0ENTERPRISE"]


def test_unknown_key(tmp_path: Path) -> None:
    line = one(problems(BASE, {"linear": {"isue": "PDEV-1"}}, tmp_path))
    assert "linear.isue" in line and "not a known setting" in line


def test_wrong_type(tmp_path: Path) -> None:
    line = one(problems(BASE, {"smoke": {"throttle_check": "sometimes"}}, tmp_path))
    assert "smoke.throttle_check" in line


def test_bad_repository_and_bff_url(tmp_path: Path) -> None:
    found = problems(
        BASE,
        {
            "github": {"repository": "infrastructure"},
            "partitions": [{"name": "dev", "vault": "A", "bff_url": "bff.dev.example"}],
        },
        tmp_path,
    )
    joined = "\n".join(found)
    assert "github.repository" in joined and "owner/name" in joined
    assert "partitions.0.bff_url" in joined and "https://" in joined


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert "mapping" in one(problems(BASE, "- a\n- b\n", tmp_path))


def test_not_yaml(tmp_path: Path) -> None:
    assert "not valid YAML" in one(problems(BASE, "slack: [unclosed\n", tmp_path))


def test_missing_config_file(tmp_path: Path) -> None:
    line = one(problems({**BASE, "CREATORS_ONBOARD_CONFIG": str(tmp_path / "missing.yml")}))
    assert line.startswith("CREATORS_ONBOARD_CONFIG") and "missing.yml" in line


def test_empty_yaml_means_defaults(tmp_path: Path) -> None:
    settings = load(BASE, "", tmp_path)
    assert [p.name for p in settings.config.partitions] == ["dev", "stage", "demo", "prod"]


def test_default_yaml_path_is_read_from_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "creators-onboard.yml").write_text(
        yaml.safe_dump({"linear": {"issue": "PDEV-1"}}), encoding="utf-8"
    )
    settings = load_settings(dict(BASE))
    assert settings.config.linear.issue == "PDEV-1"
    assert settings.config_path is not None


def test_bff_url_trailing_slash_is_trimmed(tmp_path: Path) -> None:
    settings = load(
        BASE, {"partitions": [{"name": "dev", "vault": "A", "bff_url": "https://b/"}]}, tmp_path
    )
    assert settings.config.partitions[0].bff_url == "https://b"


# ------------------------------------------------------------------------------ defaults


def test_defaults() -> None:
    settings = load(BASE)
    assert settings.config_path is None
    env, cfg = settings.env, settings.config
    assert env.host == "0.0.0.0"  # noqa: S104
    assert env.port == 3000
    assert env.log_level == "INFO"
    assert env.slack_api_url == "https://slack.com/api/"
    assert env.github_api_url == "https://api.github.com"
    assert env.linear_api_url == "https://api.linear.app/graphql"
    assert env.op_cli_path == "op"
    assert not settings.socket_mode

    parts = cfg.partitions
    assert [p.name for p in parts] == ["dev", "stage", "demo", "prod"]
    assert [p.vault for p in parts] == [
        "Arda-DevOAM",
        "Arda-StageOAM",
        "Arda-DemoOAM",
        "Arda-ProdOAM",
    ]
    assert {p.name: p.region for p in parts} == {
        "dev": "us-east-1",
        "stage": "us-east-1",
        "demo": "us-east-1",
        "prod": "us-east-2",
    }
    assert all(p.workflow_inputs == {"partition": p.name} for p in parts)
    assert cfg.partition("prod") is parts[3]
    assert cfg.partition("qa") is None
    assert cfg.linear.issue == "PDEV-446"
    assert (cfg.github.repository, cfg.github.workflow, cfg.github.ref) == (
        "Arda-cards/infrastructure",
        "amm.yml",
        "main",
    )
    assert cfg.onepassword.item_title == "Amazon Creators API"
    assert cfg.onepassword.systems_vault == "Arda-SystemsOAM"
    assert cfg.smoke.asin == "B08N5WRWNW"
    assert cfg.smoke.throttle_check is False


def test_secret_values_include_every_configured_secret() -> None:
    settings = load(
        {
            **BASE,
            "GITHUB_TOKEN": "ghp_settings0123456789abcdefghij",
            "LINEAR_API_KEY": "lin_api_settings0123",
            "OP_SERVICE_ACCOUNT_TOKEN": "ops_settings-token-0123456789",
            "BFF_TOKEN_DEV": "bff-dev-token-0123456789",
        },
        {"partitions": [{"name": "dev", "vault": "A", "bff_token_env": "BFF_TOKEN_DEV"}]},
    )
    assert set(settings.secret_values()) == {
        BOT,
        SECRET,
        "ghp_settings0123456789abcdefghij",
        "lin_api_settings0123",
        "ops_settings-token-0123456789",
        "bff-dev-token-0123456789",
    }
    text = repr(settings.env) + str(settings.env)
    for value in settings.secret_values():
        assert value not in text


def test_bff_tokens_come_from_the_given_environment_at_load_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The process environment is not consulted: only the mapping load_settings() gets.
    monkeypatch.setenv("BFF_TOKEN_STAGE", "from-the-process-environment")
    config = {
        "partitions": [
            {"name": "dev", "vault": "A", "bff_token_env": "BFF_TOKEN_DEV"},
            {"name": "stage", "vault": "B", "bff_token_env": "BFF_TOKEN_STAGE"},
            {"name": "demo", "vault": "C", "bff_token_env": "BFF_TOKEN_DEMO"},
            {"name": "prod", "vault": "D"},
        ]
    }
    env = {**BASE, "BFF_TOKEN_DEV": "bff-dev-token-0123456789", "BFF_TOKEN_DEMO": ""}
    settings = load(env, config)
    dev, stage, demo, prod = settings.config.partitions
    token = settings.bff_token(dev)
    assert token is not None and token.get_secret_value() == "bff-dev-token-0123456789"
    assert settings.bff_token(stage) is None  # unset in the mapping
    assert settings.bff_token(demo) is None  # empty counts as unset
    assert settings.bff_token(prod) is None  # no bff_token_env
    # Changing the process environment later changes nothing.
    monkeypatch.setenv("BFF_TOKEN_DEV", "changed-later")
    assert settings.bff_token(dev) == token
    # Treated like every other secret: hidden in repr and dumps, listed for redaction.
    assert "bff-dev-token-0123456789" in settings.secret_values()
    for text in (repr(settings.env), str(settings.env), str(settings.env.model_dump())):
        assert "bff-dev-token-0123456789" not in text


def test_the_webhook_secret_comes_from_the_variable_the_yaml_names(tmp_path: Path) -> None:
    config = tmp_path / "c.yml"
    config.write_text("github: {webhook_secret: HOOK_SECRET}\n")
    env = {**BASE, "CREATORS_ONBOARD_CONFIG": str(config)}
    settings = load({**env, "HOOK_SECRET": "whsec-0123456789"})
    assert settings.env.github_webhook_secret is not None
    assert settings.env.github_webhook_secret.get_secret_value() == "whsec-0123456789"
    assert "whsec-0123456789" in settings.secret_values()
    # GITHUB_WEBHOOK_SECRET itself is not read when the YAML names another variable.
    assert load({**BASE, "GITHUB_WEBHOOK_SECRET": "x"}).env.github_webhook_secret is None
    with pytest.raises(ConfigError) as missing:
        load(env)
    assert any("HOOK_SECRET is missing" in p for p in missing.value.problems)
    config.write_text("github: {webhook_secret: 'sha256-actual-secret'}\n")
    with pytest.raises(ConfigError) as literal:
        load({**env, "HOOK_SECRET": "x"})
    assert any(
        "github.webhook_secret" in p and "not the secret" in p for p in literal.value.problems
    )


def test_a_secret_read_from_a_file_loses_its_trailing_newline() -> None:
    """`kubectl create secret --from-file`, `echo` without `-n`, a Windows editor: the
    value ends in a newline (or CR LF), which would break every Authorization header and
    every signature check. Surrounding whitespace is never part of a value."""
    settings = load(
        {
            "SLACK_BOT_TOKEN": BOT + "\n",
            "SLACK_SIGNING_SECRET": SECRET + "\r\n",
            "GITHUB_TOKEN": "  github_pat_example_0123456789\t",
            "LOG_LEVEL": "info\n",
            "LINEAR_API_KEY": "\n",  # only whitespace: unset, as a blank line is
        }
    )
    assert settings.env.slack_bot_token.get_secret_value() == BOT
    assert settings.env.slack_signing_secret is not None
    assert settings.env.slack_signing_secret.get_secret_value() == SECRET
    assert settings.env.github_token is not None
    assert settings.env.github_token.get_secret_value() == "github_pat_example_0123456789"
    assert settings.env.log_level == "INFO"
    assert settings.env.linear_api_key is None
