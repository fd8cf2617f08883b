"""The process's dependencies, as seen from inside DBOS workflows and steps.

DBOS workflows are module-level functions recovered by name after a restart, so they
cannot take live objects as arguments; they look them up here. `install()` is called
once per process before DBOS launches (and again per test app).
"""

from __future__ import annotations

from bot.deps import Deps

_deps: Deps | None = None


def install(deps: Deps) -> None:
    global _deps
    _deps = deps


def current() -> Deps:
    if _deps is None:
        raise RuntimeError("bot.workflows.runtime.install() was not called before DBOS launched")
    return _deps
