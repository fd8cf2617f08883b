"""`bot.workflows.recheck` relies on one attribute of DBOS 3.4's system database: these
pin it, so an upgrade that moves it fails here rather than quietly bringing back the
minute-long wait (the scenario: tests/scenarios/test_database_away.py)."""

from __future__ import annotations

from dbos._sys_db import SystemDatabase
from dbos._sys_db_postgres import PostgresSystemDatabase

from bot.workflows.recheck import _ATTRIBUTE, RECHECK_SECONDS, recheck_lost_messages


def test_dbos_reads_the_recheck_from_the_attribute_the_bot_sets() -> None:
    assert getattr(SystemDatabase, _ATTRIBUTE) == 60.0  # DBOS's own
    system_db = PostgresSystemDatabase.__new__(PostgresSystemDatabase)  # no connection
    system_db._listener_running = True
    setattr(system_db, _ATTRIBUTE, RECHECK_SECONDS)
    assert system_db._event_recheck_interval() == RECHECK_SECONDS


def test_on_sqlite_dbos_is_left_as_it_is() -> None:
    # On SQLite DBOS polls for every waiting workflow (bot.workflows.messages), and a send
    # from this process wakes its waiter at once.
    assert recheck_lost_messages("sqlite:///bot.sqlite") is False
