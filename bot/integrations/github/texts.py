"""What people read when GitHub fails: every text is a `Problem` (symptom → cause → fix).

Pure functions of names, numbers and GitHub's own error message; no I/O, no token.
"""

from __future__ import annotations

from datetime import timedelta

from bot.runbook.problem import Problem

_RETRY = "`/creators-onboard retry`"

_CONCLUSION_CAUSES = {
    "failure": "A step in the workflow failed (often a missing vault item, a 1Password "
    "service-account scope problem, or an AWS/Amplify permission error).",
    "cancelled": "Someone cancelled the run, or a newer run of the same concurrency "
    "group replaced it.",
    "timed_out": "The run exceeded its job timeout (a hung step or a runner outage).",
    "action_required": "The run is waiting for an approval (environment protection rule).",
    "startup_failure": "GitHub could not start the workflow (invalid YAML or a missing "
    "reusable workflow / secret).",
    "stale": "GitHub marked the run stale: it waited too long to start.",
}


def run_concluded(
    conclusion: str, *, link: str, partition: str | None, where: str | None = None
) -> Problem:
    """A completed run that did not succeed."""
    part = f" for {partition}" if partition else ""
    return Problem(
        symptom=f"The amm.yml run{part} ended with '{conclusion}'.",
        cause=_CONCLUSION_CAUSES.get(conclusion, "The run did not finish successfully."),
        fix=f"Open {link}, read the failed job's log, fix the cause, then use {_RETRY} to "
        "dispatch this partition again. No later partition has been touched.",
        where=where,
    )


def rate_limited(wait: float) -> Problem:
    return Problem(
        symptom="GitHub is rate-limiting requests made with GITHUB_TOKEN.",
        cause=f"The token has used its hourly API allowance; it resets in about {wait:.0f} s.",
        fix=f"Wait for the reset, then {_RETRY}. If this keeps happening, use a token that "
        "no other automation shares.",
    )


def unavailable(action: str, what: str, attempts: int, api_url: str) -> Problem:
    return Problem(
        symptom=f"GitHub did not answer {action} ({what}) after {attempts} attempts.",
        cause=f"GitHub is having an outage, or the network between the bot and {api_url} is down.",
        fix=f"Check https://www.githubstatus.com and the bot's network, then {_RETRY}.",
    )


def refused(
    status: int, message: str, *, action: str, repository: str, workflow: str, ref: str
) -> Problem:
    """What a non-success answer means for this repository, workflow and ref."""
    said = f" GitHub said: “{message}”." if message else ""
    if status == 401:
        return Problem(
            symptom=f"GitHub answered 401 to {action}.",
            cause="GITHUB_TOKEN is invalid, expired or revoked.",
            fix=f"Create a token with Actions read & write on {repository}, put it in "
            "GITHUB_TOKEN and restart the bot (`creators-onboard check` confirms it).",
        )
    if status == 403:
        sso = "sso" in message.lower() or "saml" in message.lower()
        return Problem(
            symptom=f"GitHub answered 403 to {action}.{said}",
            cause=(
                "The token has not been authorised for the organisation's SAML single sign-on."
                if sso
                else f"GITHUB_TOKEN lacks permission: it needs Actions write on {repository} "
                "(fine-grained token: Actions read & write; classic token: repo and "
                "workflow scopes)."
            ),
            fix="Grant the permission (or authorise the token for SSO), update GITHUB_TOKEN, "
            f"then {_RETRY}.",
        )
    if status == 404:
        return Problem(
            symptom=f"GitHub answered 404 to {action}.{said}",
            cause=f"The token cannot see {repository}, or .github/workflows/{workflow} does "
            "not exist there (GitHub hides private repositories from tokens without access).",
            fix="Check the repository and workflow names in the YAML (github.repository, "
            f"github.workflow) and give the token access to {repository}.",
        )
    if status == 422:
        cause, fix = _invalid(message.lower(), repository=repository, workflow=workflow, ref=ref)
        return Problem(symptom=f"GitHub answered 422 to {action}.{said}", cause=cause, fix=fix)
    return Problem(
        symptom=f"GitHub answered {status} to {action}.{said}",
        cause="An unexpected answer from the GitHub API.",
        fix=f"Check https://www.githubstatus.com, then {_RETRY}.",
    )


def _invalid(low: str, *, repository: str, workflow: str, ref: str) -> tuple[str, str]:
    """(cause, fix) for a 422, from GitHub's message."""
    if "workflow_dispatch" in low:
        return (
            f"{workflow} has no `workflow_dispatch:` trigger on {ref}.",
            f"Add a `workflow_dispatch:` trigger (with its inputs) to {workflow} on {ref}.",
        )
    if "input" in low:
        return (
            "The inputs sent do not match the ones the workflow declares.",
            "Make the partition's `workflow_inputs` in the YAML match the inputs declared "
            f"under `workflow_dispatch.inputs` in {workflow}.",
        )
    if "ref" in low:
        return (
            f"The ref {ref!r} does not exist in {repository}.",
            "Set github.ref in the YAML to an existing branch or tag.",
        )
    return (
        "GitHub rejected the request as invalid.",
        f"Compare the YAML's github settings and workflow_inputs with {workflow}.",
    )


def run_not_appeared(workflow: str, repository: str, seconds: float) -> Problem:
    return Problem(
        symptom=f"GitHub accepted the dispatch of {workflow} but no new run appeared within "
        f"{seconds:.0f} s.",
        cause="GitHub is slow to create the run, or amm.yml's `run-name` names different "
        "values than the inputs sent.",
        fix=f"Look at the Actions tab of {repository}; if a run started, {_RETRY} adopts it "
        "instead of dispatching again.",
    )


def run_still_going(run_id: int, workflow: str, state: str, timeout: float, link: str) -> Problem:
    return Problem(
        symptom=f"Run {run_id} of {workflow} was still '{state}' after "
        f"{timedelta(seconds=round(timeout))}.",
        cause="The run is queued behind others, waiting for a runner or an approval, or a "
        "step is hanging.",
        fix=f"Open {link}. If it is still going, {_RETRY} resumes following it (no second "
        "dispatch); if it is stuck, cancel it there first.",
    )


def workflow_disabled(workflow: str, repository: str, state: str) -> Problem:
    return Problem(
        symptom=f"{workflow} in {repository} is '{state}'.",
        cause="The workflow has been disabled, so it cannot be dispatched.",
        fix=f"Enable it in the Actions tab of {repository} (… → Enable workflow).",
    )


def workflow_not_on_ref(path: str, ref: str, repository: str) -> Problem:
    return Problem(
        symptom=f"{path} does not exist on {ref} in {repository}.",
        cause="The workflow is known to GitHub but not on the configured ref.",
        fix="Merge the workflow into the ref, or set github.ref in the YAML to the branch "
        "that has it.",
    )


def no_dispatch_trigger(path: str, ref: str) -> Problem:
    return Problem(
        symptom=f"{path} on {ref} has no workflow_dispatch trigger.",
        cause="Without `on: workflow_dispatch` GitHub refuses to start the workflow by API.",
        fix=f"Add a `workflow_dispatch:` trigger (and its inputs) to {path}.",
    )
