"""What people read about a smoke test: every text a red check can carry.

Two tables. `diagnose()` says what each of the BFF's eight error codes means for this
rollout and what to do: the same wherever the code shows up, while the symptom a check
reports says where it showed up ("Expected …; the BFF answered 401 AUTHENTICATION_REQUIRED.").
`TEXTS` holds everything else a check can find wrong, as `str.format` templates over the
facts the check names (`status`, `url`, …). No text ever holds the token.
"""

from __future__ import annotations

from typing import Literal

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


def smoke_again(partition: str) -> str:
    """The command that runs a partition's smoke test again on its own (report only)."""
    return f"`/creators-onboard smoke {partition}`"


def _causes_and_fixes(
    token_env: str, partition: str, again: str | None = None
) -> dict[str, tuple[str, str]]:
    retry = again or smoke_again(partition)
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
            "partition vault; otherwise the account lost Creators API access (fewer than 10 "
            "qualified sales in the last 30 days: Amazon answers AssociateNotEligible, and "
            "access returns within 2 days once sales are back), or Amazon is down.",
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
    again: str | None = None,
) -> Problem | None:
    """The problem one BFF error code stands for (None for an unknown code); `again` is
    the command its fix names to test again (`/creators-onboard smoke <partition>` unless
    said otherwise: a halted rollout's is `/creators-onboard retry`)."""
    found = _causes_and_fixes(token_env, partition, again).get(code)
    if found is None:
        return None
    cause, fix = found
    return Problem(symptom=f"The BFF answered {code}.", cause=cause, fix=fix)


TextName = Literal[
    "no_token",
    "hanging",
    "unreachable",
    "unknown_code",
    "server_failed",
    "no_route",
    "redirects",
    "off_contract",
    "not_an_object",
    "wrong_asin",
    "not_the_dto",
    "null_core_fields",
    "non_amazon_accepted",
    "error_without_message",
    "error_not_4xx",
    "served_without_token",
    "auth_wrong_shape",
    "throttle_wrong_shape",
]

_BY_BFF_URL = (
    "Check partitions[{partition}].bff_url in the YAML and that the amm.yml run finished, "
    "then {again}."
)
_TELL_ENGINEERING = "Tell engineering: "
_ROLL_BACK = "Roll back this partition's deploy and tell engineering."

TEXTS: dict[TextName, tuple[str, str, str]] = {
    "no_token": (
        "No smoke-test token is configured, so {what} could not be tried.",
        "The environment variable {token_env} is unset or empty.",
        "{auth_fix}",
    ),
    "hanging": (
        "{url}: {failure}.",
        "The BFF is hanging: a cold start, or it is waiting on Amazon (slow upstream or "
        "a wrong credential that makes every call time out).",
        _BY_BFF_URL,
    ),
    "unreachable": (
        "{url}: {failure}.",
        "Nothing is listening at that address: the partition's bff_url is wrong, DNS "
        "does not resolve, or the deploy has not finished.",
        _BY_BFF_URL,
    ),
    "unknown_code": (
        "Expected {expected}; the BFF answered {status} with the unknown error code {code!r}.",
        "The BFF's error codes differ from the eight the contract defines.",
        _TELL_ENGINEERING + "the BFF and the bot disagree on the error contract.",
    ),
    "server_failed": (
        "Expected {expected}; the BFF answered {status} with {shape}.",
        "The BFF crashed or is not running behind the hosting layer (an HTML error "
        "page comes from Amplify/CloudFront, not from the BFF).",
        "Open the Amplify console for this partition: check the latest deploy and the "
        "BFF logs; roll back this partition if the deploy broke it.",
    ),
    "no_route": (
        "Expected {expected}; the BFF answered {status} with {shape}.",
        "There is no {path} route at this address: wrong bff_url or smoke.path, "
        "or a BFF version without the import endpoint.",
        "Check partitions[].bff_url and smoke.path in the YAML against the BFF.",
    ),
    "redirects": (
        "Expected {expected}; the BFF answered {status} with {shape}.",
        "The address redirects (often to a login page or the web app's front end).",
        "Point bff_url at the BFF itself, not at the web app.",
    ),
    "off_contract": (
        "Expected {expected}; the BFF answered {status} with {shape}.",
        "The answer does not follow the BFF contract.",
        "Tell engineering; roll back this partition if the deploy changed the BFF.",
    ),
    "not_an_object": (
        "The BFF answered {status} with {what} instead of a JSON object.",
        "bff_url probably points at the web app or a CDN page, not the BFF.",
        "Point partitions[].bff_url at the BFF.",
    ),
    "wrong_asin": (
        "The BFF answered {status} for ASIN {found!r} while {asin} was requested.",
        "The BFF resolved a different product (a parent or variation ASIN) or "
        "served a cached or mocked answer.",
        "Tell engineering; do not promote this deploy until the ASIN matches.",
    ),
    "not_the_dto": (
        "The {status} answer does not match the v1 DTO schema: {errors}.",
        "The BFF's product shape differs from the v1 DTO: this deploy changed it, "
        "or the schema is out of date.",
        "If the BFF is right, point smoke.dto_schema at an updated schema; otherwise "
        "roll back this partition and tell engineering.",
    ),
    "null_core_fields": (
        "The BFF answered 200 (full) but {fields} {verb} null.",
        "A partial product must be answered with 206; 200 promises every core field.",
        _TELL_ENGINEERING + "the BFF should answer 206 when Amazon leaves fields out.",
    ),
    "non_amazon_accepted": (
        "The BFF accepted a non-Amazon link ({url}) with {status}.",
        "The BFF's URL validation is missing or broken in this deploy.",
        _ROLL_BACK,
    ),
    "error_without_message": (
        "UNRECOGNIZED_AMAZON_URL came with status {status} or without a message.",
        "The BFF's error answers do not follow the contract (4xx, error.message).",
        _TELL_ENGINEERING + "error answers must be 4xx {{error: {{code, message}}}}.",
    ),
    "error_not_4xx": (
        "UNRECOGNIZED_AMAZON_URL came with status {status} instead of a 4xx.",
        "The BFF maps a client error to the wrong HTTP status.",
        _TELL_ENGINEERING + "a bad link is the caller's error and must be a 4xx.",
    ),
    "served_without_token": (
        "The BFF served an import WITHOUT a token ({status}).",
        "Authentication is switched off or bypassed in this deploy: anyone could "
        "spend the partition's Amazon quota.",
        "Roll back this partition's deploy now and tell engineering.",
    ),
    "auth_wrong_shape": (
        "A request without a token got {status} {code} but not the contract's "
        "401 {{error: {{code: AUTHENTICATION_REQUIRED, message}}}}.",
        "The BFF's authentication error does not follow the contract.",
        _TELL_ENGINEERING + "a missing token must give 401 AUTHENTICATION_REQUIRED.",
    ),
    "throttle_wrong_shape": (
        "Throttling came back as {status} instead of 429 "
        "{{error: {{code: AMAZON_RATE_LIMITED, message}}}}.",
        "The BFF reports Amazon's throttling with the wrong shape or status.",
        _TELL_ENGINEERING + "throttling must be a 429 AMAZON_RATE_LIMITED.",
    ),
}


def problem(name: TextName, **facts: object) -> Problem:
    """The problem `name`, its templates filled in with `facts`."""
    symptom, cause, fix = TEXTS[name]
    return Problem(
        symptom=symptom.format_map(facts),
        cause=cause.format_map(facts),
        fix=fix.format_map(facts),
    )
