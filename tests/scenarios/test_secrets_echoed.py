"""An outside system that echoes a secret back cannot carry it any further: the halt
card, the channel, Linear, the audit table and what DBOS stores are all scrubbed."""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path
from typing import Any

from dbos import DBOS

from bot.integrations.errors import IntegrationError
from bot.integrations.slack import SlackCallError
from bot.outbound import ScrubbedError, scrub, scrub_exception
from bot.runbook.problem import Problem
from tests.scenario import DEVOPS, ENG, World, eventually
from tests.scenarios.test_rollout import deploy, to_gate

# Not shaped like any well-known token, so only knowing the configured value catches it.
OPAQUE = "opaque/Secret+Value=7f3a9c2e41d8b605"


def forms(secret: str) -> list[str]:
    """The forms the fake GitHub echoes the token in."""
    return [
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        json.dumps(secret)[1:-1],
        base64.b64encode(f"x-access-token:{secret}".encode()).decode(),
        base64.urlsafe_b64encode(f"{secret}\n".encode()).decode(),
    ]


def leaks(text: str, secret: str = OPAQUE) -> list[str]:
    found = [f for f in forms(secret) if f in text]
    # Any base64 rendering: the core that depends only on the secret.
    for shift in range(3):
        core = base64.b64encode(b"\0" * shift + secret.encode()).decode()[4:-4]
        if core in text or core.replace("+", "-").replace("/", "_") in text:
            found.append(f"base64 core {shift}")
    return found


def test_scrub_reaches_into_models_lists_and_exceptions() -> None:
    from bot.outbound import know_secrets

    know_secrets([OPAQUE])
    nested = {"a": [f"x {OPAQUE} y", ("t", urllib.parse.quote(OPAQUE, safe=""))], "n": 3}
    assert not leaks(json.dumps(scrub(nested)))
    err = IntegrationError(
        Problem(symptom=f"GitHub said {OPAQUE}", cause="cause", fix="fix"), status=422
    )
    clean = scrub_exception(err)
    assert isinstance(clean, IntegrationError) and clean.status == 422
    assert not leaks(str(clean)) and not leaks(repr(clean.__reduce__()))
    other = scrub_exception(ValueError(f"bad {OPAQUE}"))
    assert isinstance(other, ScrubbedError) and "ValueError" in str(other)
    assert not leaks(str(other))
    untouched = SlackCallError("chat.postMessage", "ratelimited")
    assert scrub_exception(untouched) is untouched


async def dbos_texts() -> str:
    """Every input, output, error and event DBOS stores, as text."""
    parts: list[Any] = []
    for wf in await DBOS.list_workflows_async(load_input=True, load_output=True):
        parts += [wf.input, wf.output, wf.error]
        for step in await DBOS.list_workflow_steps_async(wf.workflow_id):
            parts += [step.get("output"), step.get("error")]
        parts.append(await DBOS.get_event_async(wf.workflow_id, "state", timeout_seconds=0))
    return "\n".join(repr(p) for p in parts)


async def test_a_token_echoed_by_github_reaches_nothing(tmp_path: Path) -> None:
    async with World(tmp_path, github_token=OPAQUE) as world:
        echoed = " | ".join(forms(OPAQUE))
        world.github.fail_next(
            "/dispatches", status=422, body={"message": f"Bad token {echoed}"}, times=5
        )
        async with world.bot() as running:
            await to_gate(world)
            await deploy(world, "dev")
            await world.wait(lambda s: s.status == "halted", "the halt")
            await world.wait_text(world.dm(DEVOPS), "halted")
            await eventually(
                lambda: any("halt" in c.body.lower() for c in world.linear.comments_on()),
                what="the halt on Linear",
            )
            # The echo really reached the bot (else this test proves nothing).
            assert "[redacted]" in world.texts(world.dm(DEVOPS)) + world.texts(ENG)
            slack = json.dumps([(c.method, c.args) for c in world.slack.calls()])
            responses = json.dumps(world.slack.responses("deploy-dev"))
            linear = json.dumps([(r.document, r.variables) for r in world.linear.requests])
            audit = repr(await running.deps.store.entries())
            stored = await dbos_texts()
            assert "GitHub" in stored  # the stored outputs were really read
        for name, haystack in (
            ("slack", slack),
            ("response_url", responses),
            ("linear", linear),
            ("audit", audit),
            ("dbos", stored),
        ):
            assert not leaks(haystack), (name, leaks(haystack))
