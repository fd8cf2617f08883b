"""What a person is told when the bot fails while answering them, instead of Slack's bare
"dispatch_failed" or "operation_timeout": what happened, why, what to do (a `Problem`).

Two kinds. The database is away (a restart, an outage): nothing they did, try again in a
minute (`status` first shows whether it went through after all). Anything else is a fault
in the bot: it is logged with the request id the person is given, so whoever runs the bot
finds the traceback.
"""

from __future__ import annotations

import time

import structlog

from bot.logging import get_logger
from bot.outbound import scrub_text
from bot.runbook.problem import Problem
from bot.store import DatabaseUnavailable, connection_lost, database_reason
from bot.watches.board import BoardUnavailable

log = get_logger(__name__)


def database_away(exc: BaseException) -> str | None:
    """The database's reason when `exc` (or what caused it) says the database could not
    be reached; None for any other failure."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        err = pending.pop()
        if id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, DatabaseUnavailable | BoardUnavailable):
            return err.reason
        if connection_lost(err):
            return database_reason(err)
        pending.extend(e for e in (err.__cause__, err.__context__) if e is not None)
    return None


def request_id() -> str:
    """The id the request being handled is logged under (a new one when there is none)."""
    bound = structlog.contextvars.get_contextvars().get("request_id")
    return str(bound) if bound else f"{time.time_ns():x}"


def report(exc: BaseException) -> str:
    """Log a failure met while answering a person (called from an `except` block or an
    error handler) and return what to tell them.

    A database outage is expected while it restarts: a warning with its reason. Anything
    else is a fault: an error with its traceback, under the request id they are given."""
    rid = request_id()
    reason = database_away(exc)
    if reason is not None:
        log.warning("request_failed_database_away", reason=reason, request_id=rid)
    else:
        log.error("request_failed", request_id=rid, exc_info=exc)
    return scrub_text(failure_text(failure_problem(reason is not None, rid)))


def failure_problem(database_is_away: bool, request_id: str) -> Problem:
    if database_is_away:
        return Problem(
            symptom="I could not do that: my database did not answer.",
            cause=(
                "The bot's database is restarting or cannot be reached (the details are "
                f"logged as request `{request_id}`)."
            ),
            fix=(
                "Nothing you did. Try again in a minute (`/creators-onboard status` first "
                "shows whether it went through after all). If it lasts, whoever runs the "
                "bot checks the database in DATABASE_URL (`/readyz` answers 503 while it "
                "is away)."
            ),
        )
    return Problem(
        symptom="I could not do that: something went wrong inside the bot.",
        cause=f"A fault in the bot, logged with its details as request `{request_id}`.",
        fix=(
            "Try once more. If it happens again, send whoever runs the bot the request id "
            f"`{request_id}`; `/creators-onboard status` shows where the rollout stands."
        ),
    )


def failure_text(problem: Problem) -> str:
    return f":warning: {problem.symptom}\n*Why:* {problem.cause}\n*What to do:* {problem.fix}"
