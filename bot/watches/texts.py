"""What people read about ongoing operations: the hand-off at completion, the monthly
eligibility check-in, the probe's alerts, the rotation reminder and the service-account
token's replacement steps. Pure text (Slack mrkdwn), no I/O.

Amazon is quoted only where the seeds quote it (the API Rates page's 30-day rule), with
attribution; every other sentence is our own plain language. Where Amazon today says more
than the seeds, Amazon wins: access needs 10 qualified sales in the trailing 30 days (its
API documentation's AssociateNotEligible error). Facts carried over from the seeds:
access returns within 2 days once sales are back; the Link Type Performance
report, monthly; 1 request per second per credential set, 8,640 calls a day, up to 10 per
second as shipped revenue grows; the token must see the four partition vaults plus the
systems vault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.rollout.roles import Role
from bot.runbook.problem import Problem
from bot.watches.rules import RATE_LIMITED, UPSTREAM

# The seed's verbatim quote of Amazon's API Rates page.
THIRTY_DAY_RULE = (
    "your account will lose access to Creators API if it has not generated qualified "
    "referring sales for a consecutive 30-day period."
)
# The threshold Amazon enforces now (its API documentation's AssociateNotEligible error,
# and the API page in Associates Central): 10 qualified sales in the trailing 30 days.
SALES_THRESHOLD = 10
TEN_SALES_RULE = (
    f"Amazon gives and keeps Creators API access only while the account has made at least "
    f"*{SALES_THRESHOLD} qualified sales in the last 30 days* (below that, Amazon answers "
    "`AssociateNotEligible`)."
)
QUOTED_RULE = f"Amazon's API Rates page says:\n> {THIRTY_DAY_RULE}\n{TEN_SALES_RULE}"
COMEBACK = (
    "Access comes back within 2 days once Arda is back to that many qualifying (shipped) sales."
)
QUOTA = (
    "The Creators API allows 1 request per second per credential set, and 8,640 calls a "
    "day. Amazon raises the rate as Arda's shipped revenue grows, up to 10 requests per second."
)


@dataclass(frozen=True)
class HandoffItem:
    """One thing that is someone's to keep after the rollout, and whose it is."""

    title: str
    owner: Role
    body: str


def handoff_items(*, systems_vault: str, next_runs: Mapping[str, str | None]) -> list[HandoffItem]:
    """What each person keeps after a rollout (seed task 12), each item with its owner.

    `next_runs` maps a watch name to the date of its next run (None: switched off)."""

    def when(name: str, text: str) -> str:
        date = next_runs.get(name)
        return f" {text} (next: {date})." if date else ""

    return [
        HandoffItem(
            "Keep Arda eligible for the Creators API",
            "accountOwner",
            f"{QUOTED_RULE}\nIf sales pause, product imports stop working. {COMEBACK}\n"
            "Amazon also has an annual sales requirement and a rule on sponsored affiliate "
            "content; both are on Amazon's own Creators API pages in Associates Central, so "
            "read them there once a year.\n"
            "Once a month, open the *Link Type Performance* report in Associates Central and "
            "check that qualifying sales keep coming."
            + when("eligibility", "I'll ask you about it each month"),
        ),
        HandoffItem(
            "Rotate the credential when needed",
            "devOps",
            "Replace the credential if it may have been seen by anyone it wasn't meant for "
            "(a compromise), and as routine hygiene. Type `/creators-onboard rotate <why>` "
            "(or press *Start rotation* on one of my reminders): the accountOwner makes a new "
            "credential in Associates Central and hands it over again, devOps updates the "
            "existing item in every partition vault, and I redeploy every partition in order."
            + when("rotation", "I'll remind you when the credential gets old"),
        ),
        HandoffItem(
            "Watch the quota",
            "devOps",
            f"{QUOTA} Nothing to do until throttle errors (`AMAZON_RATE_LIMITED`) show up in "
            "the BFF logs or in my daily probe; when they do, tell engineering."
            + when("probe", "My probe imports one product through each partition every day"),
        ),
        HandoffItem(
            "Keep the deploy's 1Password token working",
            "devOps",
            "`amm.yml` reads the vaults with the OP_SERVICE_ACCOUNT_TOKEN service account, which "
            f"must see every partition vault and {systems_vault}. If it is revoked, expires or "
            "loses a vault, every deploy fails: I'll tell you, with the steps to replace it."
            + when("service_account", "I check it every day"),
        ),
    ]


HANDOFF_INTRO = "The rollout is done. From now on, this is what each of you keeps:"


def devops_keeps_for_owner(devops: str) -> str:
    """devOps' part of the hand-off, told to the accountOwner in plain words."""
    who = f"<@{devops}> (devOps)" if devops else "devOps"
    return (
        f"{who} looks after the rest: replacing the credential when it is needed (you will "
        "be asked to make a new one then), keeping an eye on how many product lookups "
        "Amazon allows, and keeping the deploy's access to 1Password working."
    )


def handoff_plain(items: list[HandoffItem]) -> str:
    """The hand-off as plain text for the ticket (no Slack mentions: roles by name)."""
    lines = [HANDOFF_INTRO, ""]
    for n, item in enumerate(items, 1):
        lines.append(f"{n}. {item.title} (owner: {item.owner})")
        lines.append(item.body.replace("\n> ", "\n    ").replace("*", ""))
        lines.append("")
    return "\n".join(lines).rstrip()


# -------------------------------------------------------------------- eligibility


CHECKIN_TITLE = "Monthly check-in: Arda's Amazon sales"
CHECKIN_NORMAL = "Sales look normal"
CHECKIN_NO_SALES = "No qualifying sales lately"


def checkin_text(owner: str) -> str:
    return (
        f"Hi <@{owner}> 👋 Time for a quick look at Arda's Amazon sales, so Arda keeps its "
        "Creators API access:\n"
        "1. Sign in to Associates Central.\n"
        "2. Under *Reports*, open the *Link Type Performance* report and look at the last "
        f"30 days: are there at least {SALES_THRESHOLD} qualifying (shipped) sales?\n"
        "3. Tell me what you see with one of the buttons below."
    )


CHECKIN_WHY = f"Why I ask: {QUOTED_RULE}"
THANKS_NORMAL = "Thanks! Nothing else to do. I'll ask again next month."
THANKS_NO_SALES = (
    "Thanks for telling me. I've let devOps and engineering know. With fewer than "
    f"{SALES_THRESHOLD} qualifying sales in the last 30 days, Amazon pauses the Creators API "
    f"access. {COMEBACK} There's nothing to change on your side: access returns by itself."
)


def no_sales_notice(owner: str) -> str:
    """What devOps and engineering hear when the owner reports no qualifying sales."""
    return (
        f":warning: <@{owner}> reports *no qualifying Amazon sales lately* (monthly check-in).\n"
        f"*What it means:* {QUOTED_RULE}\n{COMEBACK} While access is paused, product imports "
        "fail with `AMAZON_UPSTREAM_UNAVAILABLE`.\n"
        "*What to do:*\n"
        "1. Tell the people who import products that imports may fail until sales resume.\n"
        "2. Keep an eye on my daily Creators API probe: it alerts on "
        "`AMAZON_UPSTREAM_UNAVAILABLE` (`/creators-onboard watch probe` runs it now).\n"
        "3. Don't redeploy or rotate for this: the credential is fine, and access comes back "
        "by itself once qualifying sales are back above the threshold."
    )


# -------------------------------------------------------------------------- probe


def probe_problem(partition: str, code: str, diagnosis: Problem | None) -> Problem:
    """The diagnosis card of a probe alert: what the probe saw, why, what to do now."""
    symptom = f"My daily probe of *{partition}* got `{code}` from the BFF."
    if code == RATE_LIMITED:
        return Problem(
            symptom=symptom,
            cause=(diagnosis.cause if diagnosis else "Amazon throttled the credential.")
            + f" {QUOTA}",
            fix="If it happens once, nothing to do. If it keeps happening (the BFF logs show "
            "`AMAZON_RATE_LIMITED`), tell engineering: the quota is too small for Arda's "
            "traffic, or the BFF needs to queue or cache. `/creators-onboard watch probe` "
            "tries again.",
            where=partition,
        )
    if code == UPSTREAM:
        return Problem(
            symptom=symptom,
            cause="Amazon is not answering the Creators API for Arda. After a rollout that "
            "worked, the usual reason is lost eligibility: "
            f"{QUOTED_RULE} Less often Amazon itself is down, or the partition's credential "
            "was changed.",
            fix="accountOwner: open the *Link Type Performance* report in Associates Central "
            f"and count the qualifying sales of the last 30 days (at least {SALES_THRESHOLD} "
            f"are needed). {COMEBACK} devOps: check "
            "the Creators API page in Associates Central for a notice, and that the vault item "
            "was not changed; `/creators-onboard watch probe` tries again.",
            where=partition,
        )
    return Problem(
        symptom=symptom,
        cause=diagnosis.cause if diagnosis else "The BFF did not answer the import as expected.",
        fix=(diagnosis.fix if diagnosis else "Look at the BFF's logs for the time of the probe.")
        + " `/creators-onboard watch probe` tries again.",
        where=partition,
    )


def probe_alert_title(partition: str, state: str) -> str:
    if state == RATE_LIMITED:
        return f"Creators API probe: {partition} is throttled (quota)"
    if state == UPSTREAM:
        return f"Creators API probe: Amazon is not answering for {partition}"
    return f"Creators API probe: {partition} failed"


def probe_recovered(partition: str, before: str) -> str:
    return (
        f":white_check_mark: Creators API probe: *{partition}* imports again "
        f"(it was `{before}`). Nothing more to do."
    )


# --------------------------------------------------------------- service account


def token_steps(vaults: list[str], systems_vault: str) -> list[str]:
    """How to replace OP_SERVICE_ACCOUNT_TOKEN (seed changelog: scoped to the four partition
    vaults plus the systems vault)."""
    listed = ", ".join(f"`{v}`" for v in [*vaults, systems_vault])
    return [
        "In 1Password (Developer → Directory → *Other* under Infrastructure Secrets "
        f"Management → *Create a Service Account*), create one with read access to {listed}. "
        "1Password can't add vaults to a service account once it exists, so a missing vault "
        "means a new service account.",
        "Save its token in 1Password at once: 1Password shows it only once.",
        "Replace the GitHub organisation secret `OP_SERVICE_ACCOUNT_TOKEN` that `amm.yml` "
        "uses (Organization settings → Secrets and variables → Actions).",
        "Replace `OP_SERVICE_ACCOUNT_TOKEN` in this bot's environment and restart the bot.",
        "Run `/creators-onboard watch service_account` (or `creators-onboard check`): every "
        "vault must show as visible.",
        "Revoke the old service account in 1Password.",
    ]


def token_problem(lost: list[str], token_code: str | None, op_said: str = "") -> Problem:
    """The service account token can no longer do its job."""
    if token_code is not None:
        said = f" (1Password said: {op_said})" if op_said else ""
        symptom = f"1Password no longer accepts OP_SERVICE_ACCOUNT_TOKEN{said}."
        cause = "The service account was revoked or deleted, or its token expired."
    else:
        symptom = "OP_SERVICE_ACCOUNT_TOKEN can no longer see: " + ", ".join(lost) + "."
        cause = "The service account's access was changed, or a vault was renamed or removed."
    return Problem(
        symptom=symptom,
        cause=cause + " `amm.yml` reads the vaults with this token, so every deploy that "
        "needs those vaults would fail.",
        fix="Replace the token with the steps below.",
        where="OP_SERVICE_ACCOUNT_TOKEN",
    )


TOKEN_RECOVERED = ":white_check_mark: OP_SERVICE_ACCOUNT_TOKEN sees every vault again."  # noqa: S105


# ------------------------------------------------------------------------ rotation


def rotation_reminder(age_days: int, since: str, max_age_days: int) -> str:
    return (
        f":repeat: The Amazon Creators API credential has been in place for *{age_days} days* "
        f"(since {since}); the reminder age is {max_age_days} days. Replacing it now is routine "
        "hygiene.\nPress *Start rotation* when you're ready: I'll guide the accountOwner through "
        "a new credential and the handover, you update the existing item in every vault, and "
        "I redeploy every partition in order. Nothing changes for Arda's users until the "
        "redeploys."
    )


ROTATION_REASONS = {
    "hygiene": "routine hygiene: the credential is old",
    "leak": "the Credential Secret was posted in Slack",
}


# ---------------------------------------------------------------------- leak guard


def leak_warning(user: str, *, secret: bool) -> str:
    what = (
        "the Amazon Creators API *Credential Secret*"
        if secret
        else "what looks like the Amazon Creators API credentials"
    )
    return (
        f":rotating_light: <@{user}>, this message contains {what}. Please *delete it now* "
        "(hover over it → More actions → Delete message).\n"
        "Slack keeps copies (exports, retention, notifications), so deleting is not enough: "
        "the credential must be replaced. devOps: press *Start rotation*."
    )


def leak_notice(user: str, where: str, *, secret: bool) -> str:
    what = "The Credential Secret" if secret else "What looks like the Creators API credentials"
    return (
        f":rotating_light: {what} was posted in Slack by <@{user}> ({where}). I asked them to "
        "delete it. Because Slack keeps copies, the credential must be rotated: press *Start "
        "rotation* (or `/creators-onboard rotate the secret was posted in Slack`)."
    )
