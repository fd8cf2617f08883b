"""What each of the BFF's eight error codes means for this rollout, and what to do.

The cause and fix are the same wherever the code shows up; the symptom a check reports
says where it showed up ("Expected …; the BFF answered 401 AUTHENTICATION_REQUIRED.").
"""

from __future__ import annotations

from bot.runbook.problem import Problem

ERROR_CODES = (
    "AUTHENTICATION_REQUIRED",
    "INVALID_REQUEST",
    "UNRECOGNIZED_AMAZON_URL",
    "UNSUPPORTED_SHORT_LINK",
    "UNSUPPORTED_AMAZON_LOCALE",
    "AMAZON_RATE_LIMITED",
    "AMAZON_UPSTREAM_UNAVAILABLE",
    "INTERNAL_ERROR",
)


def _causes_and_fixes(token_env: str, partition: str) -> dict[str, tuple[str, str]]:
    retry = f"`/creators-onboard smoke {partition}`"
    return {
        "AUTHENTICATION_REQUIRED": (
            f"The smoke-test bearer token in the environment variable {token_env} is missing, "
            "expired, or belongs to another partition.",
            f"Put a current token for the {partition} BFF in {token_env} on the bot's host, "
            f"restart the bot, then {retry}.",
        ),
        "INVALID_REQUEST": (
            'The BFF did not accept the request body {"url": …}: its contract changed, or '
            "smoke.path points at a different route.",
            "Compare the BFF's import contract with smoke.path in the YAML; fix whichever is "
            f"wrong, then {retry}.",
        ),
        "UNRECOGNIZED_AMAZON_URL": (
            "The BFF did not recognise a plain https://www.amazon.com/dp/<ASIN> link: smoke.asin "
            "is malformed, or the BFF's URL parser has regressed.",
            "Check smoke.asin (ten letters/digits, e.g. B08N5WRWNW); if it is right, roll back "
            "this partition and tell engineering.",
        ),
        "UNSUPPORTED_SHORT_LINK": (
            "The BFF treated a full /dp/ link as a short link (amzn.to, a.co): a URL-parsing bug.",
            "Roll back this partition's deploy and tell engineering.",
        ),
        "UNSUPPORTED_AMAZON_LOCALE": (
            "The BFF thinks www.amazon.com is not a supported marketplace: its marketplace "
            "settings are missing, or AMAZON_ASSOCIATE_TAG is not the US tag.",
            "Check that the partition vault's associateTag is the US Associates tag and that "
            f"Amplify has AMAZON_ASSOCIATE_TAG; redeploy, then {retry}.",
        ),
        "AMAZON_RATE_LIMITED": (
            "Amazon throttled the credential: the Creators API allows 1 request per second per "
            "credential (ID, secret, version), up to 10 TPS as sales grow, and other traffic "
            "shares it.",
            f"Wait a minute and {retry}. If it keeps happening, tell engineering: the BFF needs "
            "to queue or cache, or the quota is too small.",
        ),
        "AMAZON_UPSTREAM_UNAVAILABLE": (
            "The BFF could not get an answer from Amazon. On a fresh deploy this is usually the "
            "Amplify environment variables missing or holding a wrong credential from the "
            "partition vault; otherwise the account lost Creators API access (30 days without "
            "qualified sales — it returns within 2 days of the next one), or Amazon is down.",
            "Check the Amplify variables (the bot's Amplify check) and the vault item for this "
            "partition, redeploy if either was wrong; check the Creators API page in Associates "
            f"Central for access; then {retry}.",
        ),
        "INTERNAL_ERROR": (
            "The BFF failed while handling the import: a bug or a misconfiguration in this deploy.",
            "Read the BFF logs for the time of the smoke test; roll back this partition's deploy "
            "and tell engineering.",
        ),
    }


def diagnose(
    code: str,
    *,
    token_env: str = "BFF_TOKEN_<PARTITION>",  # noqa: S107 - a variable's name, not a secret
    partition: str = "<partition>",
) -> Problem | None:
    """The problem one BFF error code stands for (None for an unknown code)."""
    found = _causes_and_fixes(token_env, partition).get(code)
    if found is None:
        return None
    cause, fix = found
    return Problem(symptom=f"The BFF answered {code}.", cause=cause, fix=fix)
