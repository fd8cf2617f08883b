"""The fuzz suite: 10,000 generated requests (fixed seed) at /slack/events, against a
live rollout waiting at the deploy gate.

Mixed: random and mutated slash-command text from people without the role, tampered
button values and action ids, broken JSON and form bodies, fields of the wrong type,
DM and App Home events with hostile text, and requests with bad, stale or missing
signatures (including devOps's own `abort` and deploy presses). Expected: no answer
≥ 500, the rollout's state unchanged, nothing dispatched or read from 1Password, no mass
mention or link relayed anywhere the bot writes, no error in the log.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from bot.afterack import lazy_runner
from bot.blocks.ids import DEPLOY, RERUN_VERIFY, partition_value, step_value
from bot.sandbox.fakes.signing import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    block_action_payload,
    event_body,
    sign,
    slash_command_body,
)
from tests.scenario import DEVOPS, OWNER, SIGNING_SECRET, STRANGER, World
from tests.scenarios.test_rollout import to_gate

REQUESTS = 10_000
SEED = 446
CONCURRENCY = 8
# A bound on the run, far above what it takes (about a minute on 2 cores).
DEADLINE_SECONDS = 240

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0EVIL>",
    "<https://evil.example|click>",
    "https://evil.example/x",
    "<@U0DEVOPS1>",
    "<#C0ENG123>",
    "&amp;",
    "*bold*",
    "`code`",
    "\u202e",
    "\x00",
    "\u0000\u0001",
    "💥",
    "' OR 1=1 --",
    "%s%s%n",
    "${jndi:ldap://x}",
    "../../etc/passwd",
    "a" * 5000,
    "\n\n\n",
    "prod",
    "dev",
    "rollout-1",
    "rollout-999",
]
WORDS = ["help", "start", "status", "verify", "deploy", "smoke", "retry", "abort", "rotate"]
MASS = ("<!channel>", "<!here>", "<!everyone>", "<!subteam", "<https://evil", "https://evil")
# People with no role in the rollout, and the owner (who may do nothing at the gate).
NOBODIES = [STRANGER, "U0NOBODY1", "W0OTHER22", OWNER]


class Fuzzer:
    def __init__(self, world: World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.kinds: collections.Counter[str] = collections.Counter()

    def text(self) -> str:
        rng = self.rng
        parts = [rng.choice(WORDS + HOSTILE) for _ in range(rng.randint(0, 5))]
        if rng.random() < 0.2:
            parts.append("".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(1, 40))))
        return " ".join(parts)

    def value(self) -> str:
        rng = self.rng
        good = [
            step_value("rollout-1", "deploy_gate", "deploy"),
            step_value("rollout-1", "prereq", "eligible"),
            partition_value("rollout-1", rng.choice(["dev", "prod", "nope"]), "deploy"),
            partition_value("rollout-1", "dev", "abort"),
        ]
        base = rng.choice(good)
        mutation = rng.randrange(8)
        if mutation == 0:
            return base
        if mutation == 1:
            return base[: rng.randrange(len(base))]
        if mutation == 2:
            data = json.loads(base)
            data[rng.choice(list(data))] = rng.choice([None, 7, [], {}, "x" * 300, *HOSTILE])
            return json.dumps(data)
        if mutation == 3:
            return json.dumps({"rollout": f"rollout-{rng.randint(0, 10**9)}", "step": "x"})
        if mutation == 4:
            return rng.choice(HOSTILE)
        if mutation == 5:
            return json.dumps([base])
        if mutation == 6:
            return base.replace("rollout-1", rng.choice(["rollout-2", "rollout-1 ", "rollout-"]))
        return "".join(chr(rng.randint(32, 126)) for _ in range(rng.randint(0, 80)))

    def action_id(self) -> str:
        ids = [DEPLOY, RERUN_VERIFY, "co_retry", "co_abort", "co:eligible", "co:done", "co_stuck"]
        if self.rng.random() < 0.8:
            return self.rng.choice(ids)
        return self.rng.choice(["", "co:", "co:" + "z" * 300, "x" * 256, *HOSTILE])

    # ----------------------------------------------------------- generators

    def command(self) -> tuple[bytes, dict[str, str]]:
        body = slash_command_body(
            self.text(), self.rng.choice(NOBODIES), response_url=self.world.slack.response_url("f")
        )
        return self.signed(body.encode(), FORM_CONTENT_TYPE)

    def press(self) -> tuple[bytes, dict[str, str]]:
        payload = block_action_payload(
            self.rng.choice(NOBODIES),
            self.action_id(),
            self.value(),
            channel_id="D0OWNER1",
            message_ts="1732262400.000100",
            response_url=self.world.slack.response_url("f"),
        )
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return self.signed(body, FORM_CONTENT_TYPE)

    def event(self) -> tuple[bytes, dict[str, str]]:
        rng = self.rng
        user = rng.choice(NOBODIES)
        if rng.random() < 0.5:
            event = {"type": "app_home_opened", "user": user, "tab": rng.choice(["home", "x"])}
        else:
            ts = f"{1_700_000_000 + rng.randint(0, 10**6)}.{rng.randint(0, 999_999):06d}"
            event = {
                "type": "message",
                "channel_type": "im",
                "channel": "D0FUZZ" + user[1:6],
                "user": user,
                "text": self.text(),
                "ts": ts,
                "event_ts": ts,
            }
        return self.signed(event_body(event).encode(), JSON_CONTENT_TYPE)

    def wrong_types(self) -> tuple[bytes, dict[str, str]]:
        rng = self.rng
        payload: dict[str, Any] = block_action_payload(
            rng.choice(NOBODIES),
            self.action_id(),
            self.value(),
            channel_id="D0OWNER1",
            message_ts="1732262400.000100",
        )
        key = rng.choice(
            [
                "user",
                "actions",
                "channel",
                "team",
                "trigger_id",
                "response_url",
                "container",
                "message",
                "type",
                "enterprise",
                "authorizations",
            ]
        )
        payload[key] = rng.choice([7, 3.5, True, None, [], [1], {}, "x", {"id": 9}, [{"a": 1}]])
        if rng.random() < 0.5:
            body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
            return self.signed(body, FORM_CONTENT_TYPE)
        event = {"type": "event_callback", "event": {"type": "message", "user": 5}}
        event[rng.choice(["event", "event_id", "team_id", "authorizations"])] = rng.choice(
            [7, "x", [], {"type": 9}, None]
        )
        return self.signed(json.dumps(event).encode(), JSON_CONTENT_TYPE)

    def broken(self) -> tuple[bytes, dict[str, str]]:
        rng = self.rng
        good, _ = rng.choice([self.command, self.press, self.event])()
        cut = good[: rng.randrange(max(1, len(good)))]
        choices = [
            cut,
            bytes(rng.randrange(256) for _ in range(rng.randint(0, 300))),
            b"payload=" + urllib.parse.quote(cut.decode(errors="replace")).encode(),
            b"{" * rng.randint(1, 3000),
            b'{"type": "event_callback", "event": ' + b"[" * 5000 + b"}",
            good.replace(b"%22", b"%ZZ"),
            b"payload=null",
            b"payload=%5B%5D",
            b"[]",
            b"null",
            b"1e999999",
            b"",
            "caf\xe9=\xff".encode("latin-1"),
        ]
        body = rng.choice(choices)
        return self.signed(body, rng.choice([FORM_CONTENT_TYPE, JSON_CONTENT_TYPE, "text/plain"]))

    def unsigned(self) -> tuple[bytes, dict[str, str]]:
        """devOps's own dangerous requests, badly signed: must never be carried out."""
        rng = self.rng
        if rng.random() < 0.5:
            body = slash_command_body(rng.choice(["abort fuzz", "deploy dev", "start"]), DEVOPS)
        else:
            payload = block_action_payload(
                DEVOPS, DEPLOY, partition_value("rollout-1", "dev", "deploy")
            )
            body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        raw = body.encode()
        headers = {"Content-Type": FORM_CONTENT_TYPE, **sign(raw, SIGNING_SECRET)}
        tamper = rng.randrange(6)
        if tamper == 0:
            headers = {"Content-Type": FORM_CONTENT_TYPE}
        elif tamper == 1:
            headers.update(sign(raw, "wrong-secret"))
        elif tamper == 2:
            headers.update(sign(raw, SIGNING_SECRET, timestamp=int(time.time()) - 3600))
        elif tamper == 3:
            headers["X-Slack-Request-Timestamp"] = rng.choice(["", "x", "-1", "9" * 30, "1e9"])
        elif tamper == 4:
            headers["X-Slack-Signature"] = rng.choice(["", "v0=", "v1=abc", "v0=" + "0" * 64])
        else:
            raw = raw + b"&x=1"  # signed, then changed
        return raw, headers

    def signed(self, body: bytes, content_type: str) -> tuple[bytes, dict[str, str]]:
        return body, {"Content-Type": content_type, **sign(body, SIGNING_SECRET)}

    def next(self) -> tuple[str, tuple[bytes, dict[str, str]]]:
        table: list[tuple[str, Callable[[], tuple[bytes, dict[str, str]]], float]] = [
            ("command", self.command, 0.13),
            ("press", self.press, 0.13),
            ("event", self.event, 0.04),
            ("wrong types", self.wrong_types, 0.2),
            ("broken body", self.broken, 0.2),
            ("bad signature", self.unsigned, 0.3),
        ]
        kind, make, _ = self.rng.choices(table, weights=[w for _, _, w in table])[0]
        self.kinds[kind] += 1
        return kind, make()


def outgoing(world: World) -> str:
    calls = [json.dumps([c.method, c.args], ensure_ascii=False) for c in world.slack.calls()]
    responses = json.dumps(world.slack.responses("f"), ensure_ascii=False)
    linear = json.dumps([c.body for c in world.linear.comments_on()], ensure_ascii=False)
    return "\n".join([*calls, responses, linear])


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_ten_thousand_hostile_requests_change_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    async with world.bot() as running:
        await to_gate(world)
        before = (await world.state()).model_dump(mode="json")
        dispatches, op_reads = len(world.github.dispatches), len(world.op.item_reads())
        audit_before = len(await running.deps.store.entries())
        caplog.clear()
        fuzz = Fuzzer(world, random.Random(SEED))  # noqa: S311 - reproducible, not secret
        statuses: collections.Counter[int] = collections.Counter()
        by_kind: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        queue: asyncio.Queue[tuple[str, tuple[bytes, dict[str, str]]]] = asyncio.Queue()
        for _ in range(REQUESTS):
            queue.put_nowait(fuzz.next())
        url = f"{world.base_url}/slack/events"
        timeout = aiohttp.ClientTimeout(total=30)

        async def worker(session: aiohttp.ClientSession) -> None:
            while not queue.empty():
                kind, (body, headers) = queue.get_nowait()
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    statuses[resp.status] += 1
                    by_kind[kind][resp.status] += 1

        started = time.monotonic()
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await asyncio.wait_for(
                asyncio.gather(*(worker(session) for _ in range(CONCURRENCY))),
                DEADLINE_SECONDS,
            )
        took = time.monotonic() - started
        # Let the lazy listeners of the last requests finish before looking.
        await lazy_runner(running.bolt).drain(within=30)
        after = (await world.state()).model_dump(mode="json")
        audit = (await running.deps.store.entries())[audit_before:]

    report = {k: dict(v) for k, v in by_kind.items()}
    print(f"fuzz: {sum(statuses.values())} requests in {took:.1f}s: {json.dumps(report)}")
    assert sum(statuses.values()) == REQUESTS
    assert not [s for s in statuses if s >= 500], report
    assert after == before
    assert len(world.github.dispatches) == dispatches
    assert len(world.op.item_reads()) == op_reads
    assert {e.outcome for e in audit} <= {"refused"}, {e.outcome for e in audit}
    assert 401 in by_kind["bad signature"] and set(by_kind["bad signature"]) == {401}
    sent = outgoing(world)
    for needle in MASS:
        assert needle not in sent, needle
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage()[:300] for r in errors[:5]]
