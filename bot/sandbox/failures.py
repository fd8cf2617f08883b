"""The failures the runbook fears, as switches on the stand-ins. Each one changes what a
stand-in answers from then on, exactly as the real system would misbehave; `StandIns.heal`
puts everything right again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.integrations.bff import ERROR_CODES
from bot.sandbox.scene import VAULTS, amplify_app_id
from bot.sandbox.standins import StandIns

LINEAR_DOWN_REQUESTS = 100_000


@dataclass(frozen=True)
class Failure:
    key: str
    group: str
    label: str
    per_partition: bool
    apply: Callable[[StandIns, str], object]

    def describe(self, partition: str) -> str:
        return f"{self.label} ({partition})" if self.per_partition else self.label

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "group": self.group,
            "label": self.label,
            "per_partition": self.per_partition,
        }


def _run(conclusion: str) -> Callable[[StandIns, str], None]:
    def apply(s: StandIns, partition: str) -> None:
        states = ["queued", "in_progress", "in_progress", f"completed:{conclusion}"]
        s.github.script_run({"partition": partition}, states, once=True)

    return apply


def _smoke(code: str) -> Callable[[StandIns, str], None]:
    def apply(s: StandIns, partition: str) -> None:
        s.bff.set_behaviour(partition, f"error:{code}")

    return apply


def _mismatch(s: StandIns, partition: str) -> None:
    s.op.set_field(VAULTS[partition], "credentialId", "amzn1.application-oa2-client.typo0000")


def _amplify_missing(s: StandIns, partition: str) -> None:
    s.amplify.apps[amplify_app_id(partition)].variables.pop("AMAZON_ASSOCIATE_TAG", None)


CATALOGUE: tuple[Failure, ...] = (
    Failure(
        "vault_item_missing",
        "1Password",
        "Vault item missing",
        True,
        lambda s, p: s.op.remove_item(VAULTS[p]),
    ),
    Failure("vault_item_mismatch", "1Password", "Vault item differs", True, _mismatch),
    Failure(
        "vault_lost",
        "1Password",
        "Service account loses the vault",
        True,
        lambda s, p: s.op.hide_vault(VAULTS[p]),
    ),
    Failure("run_failed", "GitHub", "Next amm.yml run fails", True, _run("failure")),
    Failure("run_cancelled", "GitHub", "Next amm.yml run is cancelled", True, _run("cancelled")),
    Failure("amplify_missing", "Amplify", "Amplify lacks a variable", True, _amplify_missing),
    *(
        Failure(f"smoke:{code}", "Smoke test", f"BFF answers {code}", True, _smoke(code))
        for code in ERROR_CODES
    ),
    Failure(
        "linear_down",
        "Linear",
        "Linear is down",
        False,
        lambda s, p: s.linear.fail_next(LINEAR_DOWN_REQUESTS, status=503),
    ),
)


def failure(key: str) -> Failure:
    for known in CATALOGUE:
        if known.key == key:
            return known
    raise KeyError(key)
