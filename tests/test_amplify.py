"""AmplifyChecker with botocore's Stubber (moto has no Amplify)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber

from bot.integrations.amplify import REQUIRED_VARIABLES, AmplifyChecker, AmplifyError
from bot.sandbox.fakes.amplify import APP_ID, app_response, branch_response

SECRET = "planted-credential-secret-value-9f8e7d"


def all_vars() -> dict[str, str]:
    return {
        "AMAZON_CREATORS_CREDENTIAL_ID": "amzn1.cred.id",
        "AMAZON_CREATORS_CREDENTIAL_SECRET": SECRET,
        "AMAZON_CREATORS_CREDENTIAL_VERSION": "3.1",
        "AMAZON_ASSOCIATE_TAG": "arda-20",
        "OTHER": "x",
    }


class Stubs:
    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}
        self.regions_built: list[str] = []

    def factory(self, region: str) -> Any:
        self.regions_built.append(region)
        return self.client(region)

    def client(self, region: str) -> Any:
        if region not in self.clients:
            client = boto3.client(
                "amplify",
                region_name=region,
                aws_access_key_id="AKIDEXAMPLE",
                aws_secret_access_key="not-a-real-key",
            )
            stubber = Stubber(client)
            stubber.activate()
            self.clients[region] = client
            self.stubbers[region] = stubber
        return self.clients[region]

    def stub(self, region: str = "us-east-1") -> Stubber:
        self.client(region)
        return self.stubbers[region]


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    s = Stubs()
    yield s
    for stubber in s.stubbers.values():
        stubber.assert_no_pending_responses()


def expect(stubs: Stubs, app_vars: dict[str, str], branch_vars: dict[str, str]) -> None:
    stub = stubs.stub()
    stub.add_response("get_app", app_response(app_vars), {"appId": APP_ID})
    stub.add_response(
        "get_branch", branch_response(branch_vars), {"appId": APP_ID, "branchName": "main"}
    )


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text
        assert "amzn1.cred.id" not in text


async def test_all_present(
    stubs: Stubs, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    expect(stubs, all_vars(), {})
    report = await AmplifyChecker(stubs.factory).check(
        APP_ID, "main", "us-east-1", partition_name="dev"
    )
    assert report.ok and report.missing == [] and report.problem is None
    assert report.present == list(REQUIRED_VARIABLES)
    assert set(report.source.values()) == {"app"}
    assert report.app_name == "arda-web-dev"
    captured = capsys.readouterr()
    assert_no_secret(
        report.model_dump_json(), repr(report), caplog.text, captured.out, captured.err
    )


async def test_missing_on_app_but_set_on_branch_is_ok(stubs: Stubs) -> None:
    app_vars = all_vars()
    del app_vars["AMAZON_ASSOCIATE_TAG"]
    expect(stubs, app_vars, {"AMAZON_ASSOCIATE_TAG": "arda-20"})
    report = await AmplifyChecker(stubs.factory).check(
        APP_ID, "main", "us-east-1", partition_name="dev"
    )
    assert report.ok
    assert report.source["AMAZON_ASSOCIATE_TAG"] == "branch"
    assert_no_secret(report.model_dump_json())


async def test_missing_names_it(stubs: Stubs, capsys: pytest.CaptureFixture[str]) -> None:
    app_vars = all_vars()
    del app_vars["AMAZON_CREATORS_CREDENTIAL_VERSION"]
    expect(stubs, app_vars, {"AMAZON_ASSOCIATE_TAG": "  "})  # branch blanks the tag
    report = await AmplifyChecker(stubs.factory).check(
        APP_ID, "main", "us-east-1", partition_name="stage"
    )
    assert not report.ok
    assert report.missing == ["AMAZON_CREATORS_CREDENTIAL_VERSION", "AMAZON_ASSOCIATE_TAG"]
    assert report.problem is not None
    assert "AMAZON_CREATORS_CREDENTIAL_VERSION" in report.problem.symptom
    assert "AMAZON_ASSOCIATE_TAG set but empty" in report.problem.symptom
    assert "stage" in report.problem.fix and report.problem.where == "stage"
    captured = capsys.readouterr()
    assert_no_secret(report.model_dump_json(), captured.out, captured.err)


async def test_prod_app_not_found_in_us_east_1_mentions_us_east_2(stubs: Stubs) -> None:
    stubs.stub().add_client_error(
        "get_app",
        service_error_code="NotFoundException",
        service_message=f"App {APP_ID} not found.",
        http_status_code=404,
        expected_params={"appId": APP_ID},
    )
    with pytest.raises(AmplifyError) as info:
        await AmplifyChecker(stubs.factory).check(
            APP_ID, "main", "us-east-1", partition_name="prod"
        )
    err = info.value
    assert "us-east-1" in err.problem.symptom
    assert "us-east-2" in err.problem.cause and "us-east-2" in err.problem.fix
    assert err.__cause__ is None and err.__suppress_context__


async def test_branch_not_found(stubs: Stubs) -> None:
    stub = stubs.stub()
    stub.add_response("get_app", app_response(all_vars()), {"appId": APP_ID})
    stub.add_client_error(
        "get_branch", service_error_code="NotFoundException", http_status_code=404
    )
    with pytest.raises(AmplifyError) as info:
        await AmplifyChecker(stubs.factory).check(APP_ID, "main", "us-east-1", partition_name="dev")
    assert "branch" in info.value.problem.fix
    assert_no_secret(str(info.value), repr(info.value), str(info.value.as_dict()))


async def test_access_denied(stubs: Stubs) -> None:
    stubs.stub().add_client_error(
        "get_app", service_error_code="UnauthorizedException", http_status_code=401
    )
    with pytest.raises(AmplifyError) as info:
        await AmplifyChecker(stubs.factory).check(APP_ID, "main", "us-east-1", partition_name="dev")
    assert "amplify:GetApp" in info.value.problem.fix


async def test_no_credentials() -> None:
    def factory(region: str) -> Any:
        class NoCreds:
            def get_app(self, **_: Any) -> Any:
                raise NoCredentialsError()

        return NoCreds()

    with pytest.raises(AmplifyError) as info:
        await AmplifyChecker(factory).check(APP_ID, "main", "us-east-2", partition_name="prod")
    assert "credentials" in info.value.problem.symptom


async def test_clients_are_built_lazily_per_region(stubs: Stubs) -> None:
    checker = AmplifyChecker(stubs.factory)
    assert stubs.regions_built == []
    expect(stubs, all_vars(), {})
    await checker.check(APP_ID, "main", "us-east-1", partition_name="dev")
    expect(stubs, all_vars(), {})
    await checker.check(APP_ID, "main", "us-east-1", partition_name="dev")
    assert stubs.regions_built == ["us-east-1"]


def test_default_factory_is_lazy() -> None:
    # Constructing the checker must not build a client or read AWS credentials.
    AmplifyChecker()
