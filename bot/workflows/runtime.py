"""The process's dependencies, as seen from inside DBOS workflows and steps.

DBOS workflows are module-level functions recovered by name after a restart, so they
cannot take live objects as arguments; they look them up here. `install()` is called
once per process before DBOS launches (and again per test app).
"""

from __future__ import annotations

from typing import Any

from bot.deps import Deps

_deps: Deps | None = None
_stopping = False


def install(deps: Deps) -> None:
    global _deps, _stopping
    _deps = deps
    _stopping = False


def stop() -> None:
    """The process is shutting down: DBOS is about to stop under the workflows still
    running in it. Their steps fail from here on, and that is no loss: each workflow
    resumes from its last recorded step after the restart (or on another replica)."""
    global _stopping
    _stopping = True


def stopping() -> bool:
    return _stopping


def notification_failed(log: Any) -> None:
    """Report a notification that failed, from inside an `except` block: with its
    traceback, unless only because the process is stopping (then it is done after the
    restart, and an ERROR with a traceback at every redeploy would be a false alarm)."""
    if _stopping:
        log.info("notification_left_for_restart")
    else:
        log.exception("notification_failed")


def current() -> Deps:
    if _deps is None:
        raise RuntimeError("bot.workflows.runtime.install() was not called before DBOS launched")
    return _deps
