"""Rollback guidance per partition, shown on every halt card. Pure text, no I/O.

What the procedure says depends on the check that failed: only a failed run has a log
to read; after a smoke or Amplify failure the run succeeded, so the partition already
runs with the vault's current values. `amm.sh` reads 1Password when it runs, so
re-running an earlier successful `amm.yml` run deploys the vault's CURRENT values:
rolling back a bad credential means restoring the item's previous values in the vault
first (1Password keeps every item's history), then re-running.

Prod gets its own notes: a latent bug that fires only on prod is met last, when a
rollback matters most.
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
    # The check that failed (dispatch, follow, run, amplify, smoke); for a failed run, where
    # it failed ("job deploy, step Check for drift") and that job's log.
    failed_check: str | None = "run"
    failed_at: str | None = None
    log_url: str | None = None
    item_title: str = "Amazon Creators API"


# What Retry does after each failed check: the button's label and what it repeats. Only
# a failed dispatch or a failed run is dispatched again (see bot.rollout.partitions).
RETRY_WORDS: dict[str, tuple[str, str]] = {
    "dispatch": (
        "Retry the dispatch",
        "starts `amm.yml` for {p} again — adopting the run the failed attempt may have "
        "started instead of starting a second one —",
    ),
    "run": ("Deploy {p} again", "dispatches a new `amm.yml` run for {p}"),
    "follow": (
        "Follow the run again",
        "follows the same `amm.yml` run to its end (no new run)",
    ),
    "amplify": ("Check Amplify again", "checks the Amplify variables of {p} again (no new run)"),
    "smoke": ("Smoke-test {p} again", "runs the smoke test of {p} again (no new run)"),
}
# Where Redeploy is offered besides Retry: where Retry would not dispatch.
REDEPLOY_AFTER = ("follow", "amplify", "smoke")


def retry_words(failed_check: str | None, partition: str) -> tuple[str, str]:
    """(button label, what Retry does) after a halt at `failed_check`."""
    label, what = RETRY_WORDS.get(failed_check or "run", RETRY_WORDS["run"])
    return label.format(p=partition), what.format(p=partition)


def new_run_words(failed_check: str | None, partition: str) -> str:
    """How to start a new `amm.yml` run from the halt card, by the check that failed: the
    card offers *Redeploy* only where its Retry would not dispatch; after a failed run its
    Retry is the new run; after a failed dispatch only the command is sure to dispatch
    anew (Retry adopts a run the failed attempt may have started)."""
    if failed_check in REDEPLOY_AFTER:
        return f"press *Redeploy {partition}* (`/creators-onboard retry redeploy`)"
    if failed_check == "dispatch":
        return "type `/creators-onboard retry redeploy`"
    label, _ = retry_words(failed_check, partition)
    return f"press *{label}* (`/creators-onboard retry redeploy`)"


def _what_happened(ctx: RollbackContext) -> str:
    """What the failed check left behind, and where to read about it."""
    run = f"<{ctx.run_url}|the run>" if ctx.run_url else "the run"
    if ctx.failed_check == "run":
        log = f"<{ctx.log_url}|its log>" if ctx.log_url else f"the log of {run}"
        where = f" at {ctx.failed_at}" if ctx.failed_at else ""
        return (
            f"The `{ctx.workflow}` run for {ctx.partition} failed{where}: read {log} in "
            f"{ctx.repository}. A run that failed part-way may have changed some of "
            f"{ctx.partition}'s settings and not others."
        )
    if ctx.failed_check == "dispatch":
        return (
            f"No `{ctx.workflow}` run was started for {ctx.partition}, so nothing was deployed: "
            f"{ctx.partition} keeps its previous deploy."
        )
    if ctx.failed_check == "follow":
        return (
            f"The bot lost sight of {run}: look at it on GitHub. It may still be going, or "
            "it may have finished; nothing failed as far as the bot knows."
        )
    return (
        f"The `{ctx.workflow}` run succeeded: {ctx.partition} now runs with the values the "
        f"run read from `{ctx.vault}`, and the {_check_name(ctx.failed_check)} after it "
        "failed."
    )


def _check_name(check: str | None) -> str:
    return {"amplify": "Amplify check", "smoke": "smoke test"}.get(check or "", "check")


def rollback_steps(ctx: RollbackContext) -> list[str]:
    """The numbered procedure for one halted partition."""
    later = ", ".join(ctx.later) if ctx.later else "none"
    new_run = new_run_words(ctx.failed_check, ctx.partition)
    steps = [
        f"Nothing later in the order was touched: {later} keep their previous deploy. "
        "Leave them alone until this partition is green again.",
        _what_happened(ctx),
        f"To put *{ctx.partition}* back as it was: `amm.sh` reads the partition's 1Password "
        "vault when it runs, so re-running the last *successful* "
        f"`{ctx.workflow}` run for {ctx.partition} (Actions tab → that run → *Re-run all "
        "jobs*) redeploys its code with the vault's *current* values, not the ones that "
        "worked before. GitHub offers *Re-run* for 30 days after a run: for an older one, "
        f"{new_run} instead (a new run of the current `{ctx.ref}`).",
        f"If the new credential is what broke {ctx.partition}: in `{ctx.vault}`, open "
        f"*{ctx.item_title}* → ⋯ → *View Item History*, restore the previous values (it takes "
        "the vault's *View Item History* permission), then re-run that last successful "
        f"`{ctx.workflow}` run (or {new_run}: a new run reads the restored values). Then "
        "abort this rollout: the other vaults still hold the new credential.",
        f"If the credential is right but a vault item is wrong (a typo, a missing field), fix "
        f"it in `{ctx.vault}` (all four vaults must hold the same values), run "
        f"`/creators-onboard verify`, then {new_run} so a new run reads the fixed item.",
        "When the cause is fixed, press the Retry button (`/creators-onboard retry`): it "
        "repeats the check that failed and carries on in order. If the rollout must stop, "
        "press *Abort rollout* (or `/creators-onboard abort <reason>`).",
    ]
    if ctx.failed_check == "amplify":
        steps.insert(
            2,
            f"If the Amplify variables are wrong, don't edit them by hand: fix the item in "
            f"`{ctx.vault}` and redeploy, so AMAZON_CREATORS_CREDENTIAL_ID, "
            "AMAZON_CREATORS_CREDENTIAL_SECRET, AMAZON_CREATORS_CREDENTIAL_VERSION and "
            f"AMAZON_ASSOCIATE_TAG on the {ctx.partition} Amplify app ({ctx.region}) come "
            "from the vault.",
        )
    if ctx.partition == "prod":
        steps.insert(
            1,
            f"Prod (Alpha001) lives in *{ctx.region}*, not us-east-1. Check that the run and "
            "the Amplify app target that region: a cross-region mistake (PDEV-452) once "
            "surfaced only on prod, because prod is the first partition deployed this way.",
        )
    return steps
