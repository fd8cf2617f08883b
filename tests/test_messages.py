"""`bot.workflows.messages.wake` reaches into DBOS 3.4's system database. If an upgrade
moves what it uses, the press scenario (tests/scenarios/test_wake.py) fails; this says
what the bot does meanwhile: it says so once, and the poll still delivers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from dbos._sys_db_sqlite import SQLiteSystemDatabase
from structlog.testing import capture_logs

from bot.workflows import messages


def test_dbos_keys_its_waiters_by_workflow_and_topic() -> None:
    system_db = SQLiteSystemDatabase.__new__(SQLiteSystemDatabase)  # no connection
    key, components = getattr(system_db, messages._KEY_OF)("rollout-1", "events")
    assert key == "rollout-1::events"
    assert components == ("rollout-1", "events", None)


# A SQLite system database where DBOS keeps neither.
SQLITE_WITHOUT_THEM = SimpleNamespace(
    engine=SimpleNamespace(dialect=SimpleNamespace(name="sqlite"))
)


def test_a_dbos_without_them_is_named_once_and_nothing_is_woken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dbos._dbos

    monkeypatch.setattr(messages, "_warned", False)
    monkeypatch.setattr(
        dbos._dbos, "_get_dbos_instance", lambda: SimpleNamespace(_sys_db=SQLITE_WITHOUT_THEM)
    )
    with capture_logs() as logs:
        assert messages.wake("rollout-1", "events") is False
        assert messages.wake("rollout-1", "events") is False
    warned = [e for e in logs if e["event"] == "dbos_wake_unavailable"]
    assert len(warned) == 1
    assert "every 1 s" in warned[0]["reason"]


def test_on_postgresql_waking_is_left_to_dbos_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    import dbos._dbos

    postgres = SimpleNamespace(engine=SimpleNamespace(dialect=SimpleNamespace(name="postgresql")))
    monkeypatch.setattr(messages, "_warned", False)
    monkeypatch.setattr(dbos._dbos, "_get_dbos_instance", lambda: SimpleNamespace(_sys_db=postgres))
    with capture_logs() as logs:
        assert messages.wake("rollout-1", "events") is False
    assert logs == []  # not a DBOS without a waiter map: a database that does not need it
