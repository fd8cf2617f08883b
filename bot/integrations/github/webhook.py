"""GitHub webhook deliveries: the signature check and the `workflow_run` payload.

GitHub signs each delivery's raw body with the webhook's secret: `X-Hub-Signature-256` is
`sha256=` and the HMAC-SHA256 hex digest, compared here in constant time over the exact
bytes received. Each delivery has a GUID in `X-GitHub-Delivery`, kept when GitHub
redelivers it, and names its event in `X-GitHub-Event`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

SIGNATURE_HEADER = "X-Hub-Signature-256"
DELIVERY_HEADER = "X-GitHub-Delivery"
EVENT_HEADER = "X-GitHub-Event"


class Malformed(ValueError):
    """A signed delivery the bot cannot read."""


def signature(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_by(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is GitHub's signature of `body` with `secret`."""
    if not header:
        return False
    # A header byte that is not UTF-8 reaches here as a surrogate: no match, not an error.
    given = header.strip().encode("utf-8", "replace")
    return hmac.compare_digest(signature(secret, body).encode(), given)


@dataclass(frozen=True)
class RunChanged:
    """A `workflow_run` event: the run that changed and how it stands now."""

    run_id: int
    action: str  # requested | in_progress | completed
    status: str
    conclusion: str | None


def workflow_run(body: bytes) -> RunChanged:
    """Read a `workflow_run` payload; `Malformed` when it is not one."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise Malformed("the body is not JSON") from None
    run = payload.get("workflow_run") if isinstance(payload, dict) else None
    if not isinstance(run, dict) or not isinstance(run.get("id"), int):
        raise Malformed("workflow_run.id is missing")
    return RunChanged(
        run_id=run["id"],
        action=str(payload.get("action") or ""),
        status=str(run.get("status") or ""),
        conclusion=run.get("conclusion") if isinstance(run.get("conclusion"), str) else None,
    )
