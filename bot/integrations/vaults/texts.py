"""What people read when a vault check fails: one `VaultProblem` per kind of failure.

Pure functions of names (vaults, fields, the item's title) and op's own, already cleaned,
error text. No value of any field ever reaches these texts.
"""

from __future__ import annotations

from bot.integrations.vaults.models import ProblemCode, VaultProblem

_RERUN_ONCE = "re-run verification once"


def vault_not_visible(vault: str, *, systems: bool = False) -> VaultProblem:
    what = "the systems vault" if systems else "vault"
    return VaultProblem(
        code="vault_not_visible",
        where=vault,
        symptom=f"The service account can't see {what} {vault}.",
        cause=(
            "Either no vault has exactly that name, or the service account behind "
            "OP_SERVICE_ACCOUNT_TOKEN was not given access to it."
        ),
        fix=(
            f"Check the spelling of {vault} in 1Password and in creators-onboard.yml, then "
            f"grant the service account read access to {vault}. A service account's vaults "
            "are chosen when it is created: if it can't be changed, create a new one with "
            "read access to all five vaults and put its token in OP_SERVICE_ACCOUNT_TOKEN."
        ),
    )


def rate_limited() -> VaultProblem:
    return VaultProblem(
        code="rate_limited",
        symptom="1Password refused the read: the service account has used up its requests.",
        cause=(
            "Service accounts have an hourly (and a daily) limit on reads; it has been "
            "reached, possibly by other tools sharing the same service account."
        ),
        fix=(
            "Wait for the limit to reset (op says when; usually within the hour), then "
            f"{_RERUN_ONCE}. Don't re-run it in a loop: every run reads again."
        ),
    )


def duplicate_items(vault: str | None, item_title: str) -> VaultProblem:
    where = f" in {vault}" if vault else ""
    return VaultProblem(
        code="duplicate_items",
        where=vault,
        symptom=f"More than one item{where} is titled '{item_title}'.",
        cause="The item was created twice, so it is unclear which one the deploy should use.",
        fix=(
            f"In 1Password, open {vault or 'the vault'}, keep one '{item_title}' item with "
            "the four fields, and delete or rename the duplicate."
        ),
    )


def item_missing(vault: str, item_title: str) -> VaultProblem:
    return VaultProblem(
        code="item_missing",
        where=vault,
        symptom=f"There is no item titled '{item_title}' in {vault}.",
        cause="The item was not created in this vault yet, or its title is spelled differently.",
        fix=(
            f"In 1Password, open vault {vault} and create an item titled exactly "
            f"'{item_title}' with the four fields: credentialId (text), credentialSecret "
            "(password), version (text) and associateTag (text). If it exists under "
            "another title, rename it."
        ),
    )


def auth_failed(op_said: str) -> VaultProblem:
    return VaultProblem(
        code="auth_failed",
        symptom="1Password did not accept the service account token.",
        cause=(
            "OP_SERVICE_ACCOUNT_TOKEN is wrong, was cut short when copied, or belongs to "
            f"a service account that was deleted or revoked. op said: {op_said}"
        ),
        fix=(
            "In 1Password → Developer → Service accounts, check the account still exists; "
            "set OP_SERVICE_ACCOUNT_TOKEN to its full token (it starts with ops_) and "
            "restart the bot."
        ),
    )


def op_failed(vault: str | None, item_title: str, op_said: str) -> VaultProblem:
    return VaultProblem(
        code="op_failed",
        where=vault,
        symptom=f"op failed{' reading ' + vault if vault else ''}.",
        cause=f"op said: {op_said}",
        fix=(
            "Run the same command by hand with the service account token to see more: "
            f"op item get '{item_title}' --vault {vault or '<vault>'} --format json. "
            f"Then {_RERUN_ONCE}."
        ),
    )


def op_missing(op_path: str) -> VaultProblem:
    return VaultProblem(
        code="op_missing",
        symptom=f"The 1Password CLI could not be started (OP_CLI_PATH is '{op_path}').",
        cause="op is not installed on the machine running the bot, or not at that path.",
        fix=(
            "Install the 1Password CLI (developer.1password.com/docs/cli/get-started) in the "
            "bot's image, or set OP_CLI_PATH to the full path of the op binary."
        ),
    )


def op_timeout(seconds: float) -> VaultProblem:
    return VaultProblem(
        code="op_timeout",
        symptom=f"op did not answer within {seconds:g} seconds, so it was stopped.",
        cause=(
            "1Password could not be reached from the bot's machine (network, proxy or "
            "firewall), or op was waiting for a sign-in it can't get."
        ),
        fix=(
            "Check the machine can reach *.1password.com over HTTPS and that "
            f"OP_SERVICE_ACCOUNT_TOKEN is set, then {_RERUN_ONCE}."
        ),
    )


def token_missing() -> VaultProblem:
    return VaultProblem(
        code="token_missing",
        symptom="OP_SERVICE_ACCOUNT_TOKEN is not set, so the bot can't read the vaults.",
        cause="The bot reads 1Password as a service account and has no token for it.",
        fix=(
            "Create (or reuse) a service account with read access to the four partition "
            "vaults and the systems vault, put its token in OP_SERVICE_ACCOUNT_TOKEN and "
            "restart the bot."
        ),
    )


def bad_output(vault: str | None, what: str) -> VaultProblem:
    return VaultProblem(
        code="bad_output",
        where=vault,
        symptom=f"op answered, but not with {what} as JSON.",
        cause="An unexpected op version, or a wrapper script in front of op printing extra text.",
        fix=(
            "Run `op --version` on the bot's machine (version 2 is needed) and make sure "
            "OP_CLI_PATH points at the real op binary."
        ),
    )


# ------------------------------------------------------------------ the item's fields


def _kind(concealed: bool) -> str:
    return "password (concealed)" if concealed else "text"


def field_missing(vault: str, label: str, item_title: str, *, concealed: bool) -> VaultProblem:
    return VaultProblem(
        code="field_missing",
        where=vault,
        field=label,
        symptom=f"{vault}: the item has no field labelled {label}.",
        cause="The field was not added, or its label is spelled differently.",
        fix=(
            f"In 1Password, edit '{item_title}' in {vault} and add a {_kind(concealed)} field "
            f"labelled exactly {label} (labels are case-sensitive)."
        ),
    )


def field_wrong_type(vault: str, label: str, found: str | None, *, concealed: bool) -> VaultProblem:
    if concealed:
        fix = (
            f"In {vault}, change {label} to a password (concealed) field: delete "
            "the text field and add a password field with the same label and value."
        )
    else:
        fix = f"In {vault}, change {label} to a plain text field with the same value."
    shows = " A text field shows the secret to anyone who opens the item." if concealed else ""
    return VaultProblem(
        code="field_wrong_type",
        where=vault,
        field=label,
        symptom=f"{vault}: {label} is a {found or 'typeless'} field, not {_kind(concealed)}.",
        cause="The field was added with the wrong type." + shows,
        fix=fix,
    )


def field_empty(vault: str, label: str, item_title: str) -> VaultProblem:
    return VaultProblem(
        code="field_empty",
        where=vault,
        field=label,
        symptom=f"{vault}: {label} is empty.",
        cause="The field exists but its value was not pasted in (or not saved).",
        fix=f"Paste the {label} value Amazon issued into '{item_title}' in {vault} and save.",
    )


def field_whitespace(vault: str, label: str) -> VaultProblem:
    return VaultProblem(
        code="field_whitespace",
        where=vault,
        field=label,
        symptom=f"{vault}: {label} starts or ends with a space or line break.",
        cause="A copy-paste picked up extra whitespace; Amazon would reject it.",
        fix=f"Edit {label} in {vault} and remove the leading/trailing whitespace.",
    )


def values_differ(
    label: str, symptom: str, *, secret: bool, vault: str | None = None
) -> VaultProblem:
    """A field whose value is not the same in every vault (`vault`: the odd one out)."""
    code: ProblemCode = "secret_mismatch" if secret else "value_mismatch"
    return VaultProblem(
        code=code,
        where=vault,
        field=label,
        symptom=symptom,
        cause=(
            "The vaults were filled from different copies, or one was mistyped or left over "
            "from an older credential."
        ),
        fix=(
            f"Copy the {label} Amazon issued into every vault so all of them hold the same "
            "value (one credential set serves all partitions), then re-run verification."
        ),
    )
