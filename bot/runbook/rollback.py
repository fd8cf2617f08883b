"""Rollback guidance per partition, shown on every halt card. Pure text, no I/O.

Every partition gets a rollback procedure. Prod gets its own notes: a latent bug that
fires only on prod is met last, when a rollback matters most.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RollbackContext:
    partition: str
    region: str
    vault: str
    repository: str
    workflow: str
    ref: str
    run_url: str | None
    later: list[str]


def rollback_steps(ctx: RollbackContext) -> list[str]:
    """The numbered procedure for one halted partition."""
    later = ", ".join(ctx.later) if ctx.later else "none"
    run = f"<{ctx.run_url}|the failed run>" if ctx.run_url else "the failed run"
    steps = [
        f"Nothing later in the order was touched: {later} keep their previous deploy. "
        "Leave them alone until this partition is green again.",
        f"Read {run} in {ctx.repository} to see which job failed; the halt card above "
        "names the check that went red.",
        f"To restore the previous behaviour of *{ctx.partition}*, open the last *successful* "
        f"`{ctx.workflow}` run for {ctx.partition} in the Actions tab and use "
        "*Re-run all jobs*: it redeploys the configuration that worked before. "
        "If the new Amplify variables are the problem, remove AMAZON_CREATORS_CREDENTIAL_ID, "
        "AMAZON_CREATORS_CREDENTIAL_SECRET, AMAZON_CREATORS_CREDENTIAL_VERSION and "
        f"AMAZON_ASSOCIATE_TAG from the {ctx.partition} Amplify app ({ctx.region}) "
        "and redeploy its branch.",
        f"If the credential itself is wrong, fix the item in `{ctx.vault}` (all four vaults "
        "must hold the same values), run `/creators-onboard verify`, then retry.",
        f"When the cause is fixed, press *Retry {ctx.partition}* (or `/creators-onboard retry`): "
        "the bot deploys and smoke-tests this partition again and continues in order. "
        "If the rollout must stop, press *Abort rollout* (or `/creators-onboard abort <reason>`).",
    ]
    if ctx.partition == "prod":
        steps.insert(
            1,
            f"Prod (Alpha001) lives in *{ctx.region}*, not us-east-1. Check that the run and "
            "the Amplify app target that region: a cross-region mistake (PDEV-452) once "
            "surfaced only on prod, because prod is the first partition deployed this way.",
        )
    return steps
