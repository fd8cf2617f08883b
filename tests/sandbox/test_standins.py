"""Every failure the rehearsal strip injects changes what a stand-in answers, over its real
protocol, and `heal` puts it right; the Amplify stand-in serves the bot's real checker
through boto3's endpoint override."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.integrations.amplify import AmplifyChecker
from bot.sandbox.failures import CATALOGUE, Failure
from bot.sandbox.scene import VAULTS, Secrets, amplify_app_id, region
from bot.sandbox.standins import StandIns


@pytest.fixture
async def standins(tmp_path: Path) -> AsyncIterator[StandIns]:
    s = await StandIns(tmp_path, Secrets()).start()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def aws(standins: StandIns, monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables the sandbox gives the bot for AWS, in this process."""
    env = standins.bot_env()
    for name, value in env.items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


async def amplify_missing(s: StandIns, partition: str) -> list[str]:
    report = await AmplifyChecker().check(
        amplify_app_id(partition), "main", region(partition), partition_name=partition
    )
    return report.missing


async def smoke(s: StandIns, partition: str) -> tuple[int, str | None]:
    url = s.bff.url_for(partition) + "/api/amazon/import"
    headers = {"Authorization": f"Bearer {s.secrets.bff_tokens[partition]}"}
    body = {"url": "https://www.amazon.com/dp/B08N5WRWNW"}
    async with aiohttp.ClientSession() as http, http.post(url, json=body, headers=headers) as r:
        answer = await r.json()
        return r.status, (answer.get("error") or {}).get("code")


async def run_conclusion(s: StandIns, partition: str) -> str | None:
    """Dispatch amm.yml for the partition and poll its run until it completes."""
    s.set_pace("fast")
    repo = f"{s.github.url}/repos/{s.github.repository}/actions"
    headers = {
        "Authorization": f"Bearer {s.secrets.github_token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    body = {"ref": "main", "inputs": {"partition": partition}, "return_run_details": True}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(f"{repo}/workflows/amm.yml/dispatches", json=body) as r:
            run_id = (await r.json())["workflow_run_id"]
        for _ in range(10):
            async with http.get(f"{repo}/runs/{run_id}") as r:
                run = await r.json()
            if run["status"] == "completed":
                return str(run["conclusion"])
    raise AssertionError("the run never completed")


async def vaults_ok(s: StandIns) -> bool:
    report = await s.op.reader().verify(list(VAULTS.values()), "Arda-SystemsOAM")
    return report.ok


async def linear_status(s: StandIns) -> int:
    body = {"query": "query { viewer { id } }"}
    headers = {"Authorization": s.secrets.linear_key}
    async with (
        aiohttp.ClientSession() as http,
        http.post(s.linear.url, json=body, headers=headers) as r,
    ):
        return r.status


@pytest.mark.parametrize("known", CATALOGUE, ids=lambda f: f.key)
async def test_each_failure_shows_over_the_protocol_and_heal_clears_it(
    standins: StandIns, aws: None, known: Failure
) -> None:
    s, p = standins, "stage"
    known.apply(s, p)
    group = known.group
    if group == "1Password":
        assert not await vaults_ok(s)
    elif group == "GitHub":
        wanted = {"run_failed": "failure", "run_cancelled": "cancelled"}[known.key]
        assert await run_conclusion(s, p) == wanted
    elif group == "Amplify":
        assert await amplify_missing(s, p) == ["AMAZON_ASSOCIATE_TAG"]
    elif group == "Smoke test":
        status, code = await smoke(s, p)
        assert code == known.key.removeprefix("smoke:") and status >= 400
    else:
        assert await linear_status(s) == 503
    s.heal()
    assert await vaults_ok(s)
    assert await run_conclusion(s, p) == "success"
    assert await amplify_missing(s, p) == []
    assert await smoke(s, p) == (200, None)
    assert await linear_status(s) == 200
    s.github.assert_no_violations()


async def test_amplify_is_regional_and_signed(standins: StandIns, aws: None) -> None:
    assert await amplify_missing(standins, "prod") == []
    regions = [(r.path, r.region, r.signed) for r in standins.amplify.requests]
    assert regions == [
        ("/apps/d0prodrehearsal", "us-east-2", True),
        ("/apps/d0prodrehearsal/branches/main", "us-east-2", True),
    ]
    with pytest.raises(Exception, match="was not found in us-east-1"):
        await AmplifyChecker().check("d0prodrehearsal", "main", "us-east-1", partition_name="prod")
