"""IntegrationError: one Problem inside, picklable with everything a subclass adds."""

from __future__ import annotations

import pickle

import pytest

from bot.integrations.amplify import AmplifyError
from bot.integrations.errors import IntegrationError
from bot.integrations.github import GitHubError
from bot.integrations.slack import SlackCallError
from bot.runbook.problem import Problem

PROBLEM = Problem(symptom="GitHub answered 502.", cause="An outage.", fix="Retry later.")


def roundtrip(err: IntegrationError) -> IntegrationError:
    back = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own bytes
    assert type(back) is type(err)
    return back


@pytest.mark.parametrize("cls", [IntegrationError, GitHubError, AmplifyError])
def test_problem_flags_and_message_survive_pickling(cls: type[IntegrationError]) -> None:
    err = cls(PROBLEM, retryable=True, status=502)
    back = roundtrip(err)
    assert (back.problem, back.retryable, back.status, str(back)) == (PROBLEM, True, 502, str(err))
    assert str(err) == "GitHub answered 502. — An outage. Fix: Retry later."
    assert back.as_dict() == {
        "kind": cls.__name__,
        "symptom": "GitHub answered 502.",
        "cause": "An outage.",
        "fix": "Retry later.",
        "where": None,
        "retryable": True,
        "status": 502,
    }


def test_a_subclass_keeps_its_own_attributes_through_pickling() -> None:
    err = SlackCallError("chat.postMessage", "channel_not_found", retryable=False)
    back = roundtrip(err)
    assert isinstance(back, SlackCallError)
    assert (back.method, back.code, back.problem) == (err.method, err.code, err.problem)
    assert "channel_not_found" in back.problem.symptom and "/invite" in back.problem.fix


def test_repr_shows_the_symptom_only() -> None:
    assert repr(IntegrationError(PROBLEM, status=502)) == (
        "IntegrationError(symptom='GitHub answered 502.', retryable=False, status=502)"
    )


def test_one_line_leaves_out_empty_parts() -> None:
    assert Problem(symptom="s", cause="", fix="").one_line() == "s"
    assert Problem(symptom="s", cause="c.", fix="").one_line() == "s — c."
    assert Problem(symptom="s", cause="", fix="f").one_line() == "s Fix: f"
