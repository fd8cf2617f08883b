"""Confirm a partition's Amplify app carries the four Creators API environment variables.

Effective variables are the app's `environmentVariables` overlaid by the branch's (a branch
value wins, including an empty one). Only the variable NAMES are kept: the values are turned
into "set / empty" flags immediately after each boto3 call and dropped, so no value can reach
a report, a log line or an exception.

`AmplifyChecker.check()` returns an `AmplifyReport` (ok, present, missing names, and a
`Problem` when a variable is missing) when it could read the app; it raises `AmplifyError`
(carrying a `Problem`) when it could not (app or branch not found in that region, access
denied, no AWS credentials, throttling). boto3 is synchronous, so every call runs in a
worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, computed_field

from bot.integrations.errors import IntegrationError
from bot.logging import get_logger
from bot.runbook.problem import Problem

if TYPE_CHECKING:
    from mypy_boto3_amplify import AmplifyClient

log = get_logger(__name__)

REQUIRED_VARIABLES = (
    "AMAZON_CREATORS_CREDENTIAL_ID",
    "AMAZON_CREATORS_CREDENTIAL_SECRET",
    "AMAZON_CREATORS_CREDENTIAL_VERSION",
    "AMAZON_ASSOCIATE_TAG",
)
PROD_REGION = "us-east-2"


class AmplifyError(IntegrationError):
    """The Amplify check could not be carried out."""


def _error(
    symptom: str, cause: str, fix: str, *, retryable: bool = False, status: int | None = None
) -> AmplifyError:
    return AmplifyError(
        Problem(symptom=symptom, cause=cause, fix=fix), retryable=retryable, status=status
    )


class AmplifyApp(BaseModel):
    """Which Amplify app and branch a partition deploys to, and in which region."""

    model_config = ConfigDict(frozen=True)

    partition: str
    app_id: str
    branch: str
    region: str

    def __str__(self) -> str:
        return f"Amplify app {self.app_id} branch {self.branch} ({self.region})"


class AmplifyReport(BaseModel):
    """Names only: which required variables are set (non-empty) and which are not."""

    model_config = ConfigDict(frozen=True)

    app: AmplifyApp
    app_name: str | None = None
    missing: list[str]
    # name -> "app" or "branch": where the effective value comes from (present names only)
    source: dict[str, str]
    problem: Problem | None = None  # set when a variable is missing

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.missing

    @computed_field  # type: ignore[prop-decorator]
    @property
    def present(self) -> list[str]:
        """The required variables that are set, in the order of REQUIRED_VARIABLES."""
        return [name for name in REQUIRED_VARIABLES if name in self.source]


def default_client_factory(region: str) -> AmplifyClient:
    import boto3  # imported lazily: never build a client (or read credentials) at import

    return boto3.client("amplify", region_name=region)


def _flags(variables: Mapping[str, Any] | None) -> dict[str, bool]:
    """name -> has a non-empty value. Values are not kept."""
    return {
        str(name): isinstance(value, str) and bool(value.strip())
        for name, value in (variables or {}).items()
    }


def _missing_problem(
    app: AmplifyApp, missing: list[str], flags: Mapping[str, bool]
) -> Problem | None:
    """What to do about the variables that are missing (None when none is); `flags` are
    every variable the app or the branch sets, empty or not."""
    if not missing:
        return None
    empty = [n for n in missing if n in flags]
    detail = f" ({', '.join(empty)} set but empty)" if empty else ""
    partition = app.partition
    return Problem(
        symptom=f"{app} lacks {', '.join(missing)}{detail}.",
        cause="The amm.yml run did not write the variables, or it read an incomplete vault "
        f"item for {partition}.",
        fix=f"Check the 'Amazon Creators API' item in the {partition} vault has all four "
        f"fields, re-run the deploy for this partition (`/creators-onboard deploy {partition}`), "
        "then check again. Do not copy values by hand into Amplify.",
        where=partition,
    )


class AmplifyChecker:
    def __init__(self, client_factory: Callable[[str], AmplifyClient] | None = None) -> None:
        self._factory = client_factory or default_client_factory
        self._clients: dict[str, AmplifyClient] = {}

    def _client(self, region: str) -> AmplifyClient:
        client = self._clients.get(region)
        if client is None:
            client = self._clients[region] = self._factory(region)
        return client

    def _read(
        self, app_id: str, branch: str, region: str
    ) -> tuple[str | None, dict[str, bool], dict[str, bool]]:
        client = self._client(region)
        app = client.get_app(appId=app_id)["app"]
        app_name = app.get("name")
        app_flags = _flags(app.get("environmentVariables"))
        del app
        branch_data = client.get_branch(appId=app_id, branchName=branch)["branch"]
        branch_flags = _flags(branch_data.get("environmentVariables"))
        del branch_data
        return app_name, app_flags, branch_flags

    async def check(
        self, app_id: str, branch: str, region: str, *, partition_name: str
    ) -> AmplifyReport:
        try:
            app_name, app_flags, branch_flags = await asyncio.to_thread(
                self._read, app_id, branch, region
            )
        except Exception as exc:  # noqa: BLE001 - every boto failure becomes an AmplifyError
            raise self._translate(exc, app_id, branch, region, partition_name) from None
        missing: list[str] = []
        source: dict[str, str] = {}
        for name in REQUIRED_VARIABLES:
            if name in branch_flags:
                ok, where = branch_flags[name], "branch"
            else:
                ok, where = app_flags.get(name, False), "app"
            if ok:
                source[name] = where
            else:
                missing.append(name)
        app = AmplifyApp(partition=partition_name, app_id=app_id, branch=branch, region=region)
        report = AmplifyReport(
            app=app,
            app_name=app_name,
            missing=missing,
            source=source,
            problem=_missing_problem(app, missing, {**app_flags, **branch_flags}),
        )
        log.info("amplify_checked", **app.model_dump(), ok=report.ok, missing=report.missing)
        return report

    @staticmethod
    def _translate(
        exc: Exception, app_id: str, branch: str, region: str, partition: str
    ) -> AmplifyError:
        from botocore.exceptions import (
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
            NoRegionError,
            PartialCredentialsError,
        )

        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return _error(
                "The bot has no AWS credentials to read Amplify.",
                "No AWS credentials are available to the bot's process (environment, profile "
                "or instance role).",
                "Give the bot an AWS identity with amplify:GetApp and amplify:GetBranch on the "
                "partition apps (e.g. AWS_PROFILE or an instance/task role), then retry.",
            )
        if isinstance(exc, NoRegionError):
            return _error(
                "No AWS region was given for the Amplify check.",
                "The partition has no region.",
                f"Set partitions[{partition}].region in the YAML.",
            )
        if isinstance(exc, EndpointConnectionError):
            return _error(
                f"Cannot reach the Amplify API in {region}.",
                "A network problem, or the region name is misspelt.",
                f"Check partitions[{partition}].region and the bot's network, then retry.",
                retryable=True,
            )
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            message = str(error.get("Message", ""))[:200]
            operation = exc.operation_name
            if code == "NotFoundException" and operation == "GetBranch":
                return _error(
                    f"Amplify app {app_id} in {region} has no branch {branch!r}.",
                    "The branch name in the YAML does not match the Amplify app.",
                    f"Set partitions[{partition}].amplify.branch to the app's branch.",
                    status=404,
                )
            if code == "NotFoundException":
                prod = ""
                if partition == "prod" and region != PROD_REGION:
                    prod = (
                        f" Prod (Alpha001) lives in {PROD_REGION}, not {region}: set "
                        f"region: {PROD_REGION} for the prod partition."
                    )
                return _error(
                    f"Amplify app {app_id} was not found in {region}.",
                    f"There is no app with that id in {region}: the app id or the region is "
                    f"wrong for {partition}.{prod}",
                    f"Check partitions[{partition}].amplify.app_id and partitions[{partition}]"
                    f".region in the YAML against the Amplify console.{prod}",
                    status=404,
                )
            if code in {"UnauthorizedException", "AccessDeniedException", "AccessDenied"}:
                return _error(
                    f"AWS refused to show Amplify app {app_id} in {region} ({code}).",
                    "The bot's AWS identity lacks amplify:GetApp / amplify:GetBranch on it.",
                    "Grant amplify:GetApp and amplify:GetBranch on the partition apps to the "
                    "bot's AWS role, then retry.",
                    status=403,
                )
            if code in {"UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken",
                        "ExpiredTokenException", "InvalidSignatureException"}:  # fmt: skip
                return _error(
                    f"AWS rejected the bot's credentials ({code}).",
                    "The AWS credentials are invalid or expired.",
                    "Refresh the bot's AWS credentials (or its role session), then retry.",
                    status=403,
                )
            if code in {"LimitExceededException", "TooManyRequestsException", "Throttling",
                        "ThrottlingException"}:  # fmt: skip
                return _error(
                    "AWS is throttling Amplify API calls.",
                    "Too many Amplify API calls in a short time.",
                    "Wait a minute and retry.",
                    retryable=True,
                    status=429,
                )
            return _error(
                f"Amplify answered {code or 'an error'} for app {app_id} in {region}: {message}",
                "An unexpected Amplify API error.",
                "Retry; if it persists, check the AWS Health dashboard.",
                retryable=code in {"InternalFailureException", "ServiceUnavailable"},
            )
        return _error(
            f"The Amplify check for {partition} failed ({type(exc).__name__}).",
            "An unexpected error while calling AWS.",
            "Retry; if it persists, check the bot's AWS configuration.",
            retryable=True,
        )
