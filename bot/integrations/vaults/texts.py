"""What people read when a vault check fails, all in one table.

Each entry is one kind of problem: its code and its symptom, cause and fix, written as
`str.format` templates over the facts the caller names (`vault`, `label`, `item_title`,
…). The facts are names (vaults, fields, the item's title), numbers, and op's own error
text, already cleaned; no value of any field ever reaches these texts.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from bot.integrations.vaults.models import ProblemCode, VaultProblem


class Text(NamedTuple):
    code: ProblemCode
    symptom: str
    cause: str
    fix: str


TextName = Literal[
    "vault_not_visible",
    "systems_vault_not_visible",
    "rate_limited",
    "duplicate_items",
    "item_missing",
    "auth_failed",
    "op_failed",
    "op_failed_reading",
    "op_missing",
    "op_wrong_build",
    "op_out_of_resources",
    "op_being_replaced",
    "op_unstartable",
    "op_timeout",
    "token_missing",
    "bad_output",
    "field_missing",
    "field_not_concealed",
    "field_not_text",
    "field_empty",
    "field_whitespace",
    "value_differs",
    "value_differs_shown",
    "values_split",
    "secret_differs",
    "secrets_split",
]

_RERUN_ONCE = "re-run verification once"
_NOT_VISIBLE_CAUSE = (
    "Either no vault has exactly that name, or the service account behind "
    "OP_SERVICE_ACCOUNT_TOKEN was not given access to it."
)
_NOT_VISIBLE_FIX = (
    "Check the spelling of {vault} in 1Password and in creators-onboard.yml first. If "
    "the name is right, the service account lacks {vault}: 1Password can't add vaults to "
    "an existing service account, so create a new one with read access to all five "
    "vaults and put its token in OP_SERVICE_ACCOUNT_TOKEN (the bot's and the GitHub "
    "organisation secret amm.yml uses)."
)
_OP_BY_HAND = (
    "Run the same command by hand with the service account token to see more: "
    "op item get '{item_title}' --vault %s --format json. Then " + _RERUN_ONCE + "."
)
_DIFFERS_CAUSE = (
    "The vaults were filled from different copies, or one was mistyped or left over "
    "from an older credential."
)
_DIFFERS_FIX = (
    "Copy the {label} Amazon issued into every vault so all of them hold the same "
    "value (one credential set serves all partitions), then re-run verification."
)

TEXTS: dict[TextName, Text] = {
    "vault_not_visible": Text(
        "vault_not_visible",
        "The service account can't see vault {vault}.",
        _NOT_VISIBLE_CAUSE,
        _NOT_VISIBLE_FIX,
    ),
    "systems_vault_not_visible": Text(
        "vault_not_visible",
        "The service account can't see the systems vault {vault}.",
        _NOT_VISIBLE_CAUSE,
        _NOT_VISIBLE_FIX,
    ),
    "rate_limited": Text(
        "rate_limited",
        "1Password refused the read: the service account has used up its requests.",
        "Service accounts have an hourly (and a daily) limit on reads; it has been "
        "reached, possibly by other tools sharing the same service account.",
        "Wait for the limit to reset (op says when; usually within the hour), then "
        + _RERUN_ONCE
        + ". Don't re-run it in a loop: every run reads again.",
    ),
    "duplicate_items": Text(
        "duplicate_items",
        "More than one item in {vault} is titled '{item_title}'.",
        "The item was created twice, so it is unclear which one the deploy should use.",
        "In 1Password, open {vault}, keep one '{item_title}' item with the four fields, "
        "and delete or rename the duplicate.",
    ),
    "item_missing": Text(
        "item_missing",
        "There is no item titled '{item_title}' in {vault}.",
        "The item was not created in this vault yet, or its title is spelled differently.",
        "In 1Password, open vault {vault} and create an item titled exactly "
        "'{item_title}' with the four fields: credentialId (text), credentialSecret "
        "(password), version (text) and associateTag (text). If it exists under "
        "another title, rename it.",
    ),
    "auth_failed": Text(
        "auth_failed",
        "1Password did not accept the service account token.",
        "OP_SERVICE_ACCOUNT_TOKEN is wrong, was cut short when copied, or belongs to "
        "a service account that was deleted, revoked or has expired. op said: {op_said}",
        "In 1Password → Developer → Service accounts, check the account still exists; "
        "set OP_SERVICE_ACCOUNT_TOKEN to its full token (it starts with ops_) and "
        "restart the bot.",
    ),
    "op_failed": Text(
        "op_failed",
        "op failed.",
        "op said: {op_said}",
        _OP_BY_HAND % "<vault>",
    ),
    "op_failed_reading": Text(
        "op_failed",
        "op failed reading {vault}.",
        "op said: {op_said}",
        _OP_BY_HAND % "{vault}",
    ),
    "op_missing": Text(
        "op_missing",
        "The 1Password CLI could not be started (OP_CLI_PATH is '{op_path}').",
        "op is not installed on the machine running the bot, or not at that path.",
        "Install the 1Password CLI (developer.1password.com/docs/cli/get-started) in the "
        "bot's image, or set OP_CLI_PATH to the full path of the op binary.",
    ),
    "op_wrong_build": Text(
        "op_missing",
        "The 1Password CLI at '{op_path}' (OP_CLI_PATH) could not be started: this machine "
        "cannot run that file ({reason}).",
        "It is an op build for another CPU architecture or operating system (an arm64 op "
        "on an amd64 host or the reverse, a macOS op on Linux), or the file is damaged or "
        "not op at all.",
        "Install the op build for this machine's architecture (`uname -m` on the bot's "
        "host names it; developer.1password.com/docs/cli/get-started lists the builds) in "
        "the bot's image, or set OP_CLI_PATH to the full path of one; `{op_path} --version` "
        "on that host must print a version. Then " + _RERUN_ONCE + ".",
    ),
    "op_out_of_resources": Text(
        "op_unstartable",
        "The 1Password CLI could not be started: the bot's process is out of room to "
        "start it ({reason}).",
        "The bot's process, or the machine, has used up its open files, memory or "
        "processes: a limit set low for the container, or something in the bot or beside "
        "it holding too many. It usually passes once that work ends.",
        "Wait a minute, then " + _RERUN_ONCE + ". If it keeps happening, raise the bot's "
        "limits (open files: `ulimit -n`, Docker's --ulimit nofile=…; memory: the "
        "container's memory limit) and restart the bot.",
    ),
    "op_being_replaced": Text(
        "op_unstartable",
        "The 1Password CLI at '{op_path}' (OP_CLI_PATH) could not be started: the file was "
        "being written at that moment ({reason}).",
        "op was being replaced while the bot ran: an upgrade of op or of the image, or a "
        "copy to that path, still in progress.",
        "Let the upgrade or copy finish, then " + _RERUN_ONCE + ". If it keeps happening, "
        "find what keeps writing to {op_path}, or install op where nothing rewrites it and "
        "set OP_CLI_PATH to that path.",
    ),
    "op_unstartable": Text(
        "op_unstartable",
        "The 1Password CLI at '{op_path}' (OP_CLI_PATH) could not be started ({reason}).",
        "The operating system refused to start it.",
        "Run `{op_path} --version` on the bot's host as the bot's user to see why, mend "
        "that (or set OP_CLI_PATH to an op that runs there), then " + _RERUN_ONCE + ".",
    ),
    "op_timeout": Text(
        "op_timeout",
        "op did not answer within {seconds:g} seconds, so it was stopped.",
        "1Password could not be reached from the bot's machine (network, proxy or "
        "firewall), or op was waiting for a sign-in it can't get.",
        "Check the machine can reach *.1password.com over HTTPS and that "
        "OP_SERVICE_ACCOUNT_TOKEN is set, then " + _RERUN_ONCE + ".",
    ),
    "token_missing": Text(
        "token_missing",
        "OP_SERVICE_ACCOUNT_TOKEN is not set, so the bot can't read the vaults.",
        "The bot reads 1Password as a service account and has no token for it.",
        "Create (or reuse) a service account with read access to the four partition "
        "vaults and the systems vault, put its token in OP_SERVICE_ACCOUNT_TOKEN and "
        "restart the bot.",
    ),
    "bad_output": Text(
        "bad_output",
        "op answered, but not with {what} as JSON.",
        "An unexpected op version, or a wrapper script in front of op printing extra text.",
        "Run `op --version` on the bot's machine (version 2 is needed) and make sure "
        "OP_CLI_PATH points at the real op binary.",
    ),
    "field_missing": Text(
        "field_missing",
        "{vault}: the item has no field labelled {label}.",
        "The field was not added, or its label is spelled differently.",
        "In 1Password, edit '{item_title}' in {vault} and add a {kind} field labelled "
        "exactly {label} (labels are case-sensitive).",
    ),
    "field_not_concealed": Text(
        "field_wrong_type",
        "{vault}: {label} is a {found} field, not password (concealed).",
        "The field was added with the wrong type. A text field shows the secret to anyone "
        "who opens the item.",
        "In {vault}, change {label} to a password (concealed) field: delete the text field "
        "and add a password field with the same label and value.",
    ),
    "field_not_text": Text(
        "field_wrong_type",
        "{vault}: {label} is a {found} field, not text.",
        "The field was added with the wrong type.",
        "In {vault}, change {label} to a plain text field with the same value.",
    ),
    "field_empty": Text(
        "field_empty",
        "{vault}: {label} is empty.",
        "The field exists but its value was not pasted in (or not saved).",
        "Paste the {label} value Amazon issued into '{item_title}' in {vault} and save.",
    ),
    "field_whitespace": Text(
        "field_whitespace",
        "{vault}: {label} starts or ends with a space or line break.",
        "A copy-paste picked up extra whitespace; Amazon would reject it.",
        "Edit {label} in {vault} and remove the leading/trailing whitespace.",
    ),
    "value_differs": Text(
        "value_mismatch",
        "{label} in {vault} differs from {majority}.",
        _DIFFERS_CAUSE,
        _DIFFERS_FIX,
    ),
    "value_differs_shown": Text(
        "value_mismatch",
        "{label} in {vault} is '{value}', but '{majority_value}' in {majority}.",
        _DIFFERS_CAUSE,
        _DIFFERS_FIX,
    ),
    "values_split": Text(
        "value_mismatch",
        "{label} is not the same in every vault (groups: {groups}).",
        _DIFFERS_CAUSE,
        _DIFFERS_FIX,
    ),
    "secret_differs": Text(
        "secret_mismatch",
        "The credentialSecret in {vault} differs from the others.",
        _DIFFERS_CAUSE,
        _DIFFERS_FIX,
    ),
    "secrets_split": Text(
        "secret_mismatch",
        "{label} is not the same in every vault (groups: {groups}).",
        _DIFFERS_CAUSE,
        _DIFFERS_FIX,
    ),
}


def problem(
    name: TextName,
    *,
    where: str | None = None,
    field: str | None = None,
    **facts: object,
) -> VaultProblem:
    """The problem `name`, about vault `where` (None: the account or the machine) and
    `field`. Besides the `facts`, the templates may use `vault` (`where`, or "the vault")
    and `label` (`field`)."""
    text = TEXTS[name]
    known = {"vault": where or "the vault", "label": field, **facts}
    return VaultProblem(
        code=text.code,
        where=where,
        field=field,
        symptom=text.symptom.format_map(known),
        cause=text.cause.format_map(known),
        fix=text.fix.format_map(known),
    )
