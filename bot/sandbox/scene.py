"""Who and what the rehearsal is about: the two people, the channel, the partitions, and
the made-up credentials every stand-in is configured with (none of them is real)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

OWNER = "U0OWNER1"
DEVOPS = "U0DEVOPS1"
ENGINEERING = "C0ENG123"
ISSUE = "PDEV-446"
PARTITIONS = ("dev", "stage", "demo", "prod")
VAULTS = {
    "dev": "Arda-DevOAM",
    "stage": "Arda-StageOAM",
    "demo": "Arda-DemoOAM",
    "prod": "Arda-ProdOAM",
}
PROD_REGION = "us-east-2"
CREDENTIAL_ID = "amzn1.application-oa2-client.rehearsal0000"


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    role: str  # "accountOwner" | "devOps"


PEOPLE = (
    Person(OWNER, "Alex Rivera", "accountOwner"),
    Person(DEVOPS, "Sam Chen", "devOps"),
)


def region(partition: str) -> str:
    return PROD_REGION if partition == "prod" else "us-east-1"


def amplify_app_id(partition: str) -> str:
    return f"d0{partition}rehearsal"


@dataclass(frozen=True)
class Secrets:
    """Fresh made-up values for one sandbox: shaped like the real ones, worth nothing."""

    bot_token: str = field(default_factory=lambda: f"xoxb-0-0-{secrets.token_hex(12)}")
    signing_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    github_token: str = field(default_factory=lambda: f"ghp_{secrets.token_hex(18)}")
    linear_key: str = field(default_factory=lambda: f"lin_api_{secrets.token_hex(16)}")
    credential_secret: str = field(default_factory=lambda: f"rehearsal-{secrets.token_hex(8)}")
    bff_tokens: dict[str, str] = field(
        default_factory=lambda: {p: f"bff-{p}-{secrets.token_hex(8)}" for p in PARTITIONS}
    )
