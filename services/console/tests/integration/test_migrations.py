"""The console's table under alembic, on SQLite and PostgreSQL: a fresh database migrates to
exactly the code's table; a database the console made before migrations (create_all at
start-up) is adopted with its sessions still open; `casetrail migrate console` is the same
upgrade and changes nothing the second time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from casetrail import migrations
from casetrail.cli import app as casetrail_cli
from casetrail.clock import ManualClock
from casetrail.projections.store import make_engine
from casetrail.security import Role
from casetrail.testing import BACKENDS, fresh_database
from console_service.adapters import schema
from console_service.adapters.sessions import SessionStore, metadata, sessions_table
from console_service.domain.sessions import Identity, SessionPolicy
from typer.testing import CliRunner

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def console_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty console database on each backend."""
    with fresh_database(request.param, tmp_path, "console") as url:
        yield url


def store(url: str) -> SessionStore:
    return SessionStore(make_engine(url), SessionPolicy(idle=timedelta(minutes=30),
                                                         absolute=timedelta(hours=12)),
                        ManualClock(START))


def at_head(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return migrations.current(conn, schema.VERSION_TABLE) == schema.head()
    finally:
        engine.dispose()


def test_a_fresh_database_migrates_to_exactly_the_codes_table(console_db: str) -> None:
    assert schema.migrate(console_db) == schema.head() == "console_0001"
    assert at_head(console_db)
    assert migrations.differences(console_db, schema.metadata, schema.VERSION_TABLE) == []
    sessions = store(console_db)
    token, _ = sessions.create(Identity("key-1", Role.AUDITOR, None), "ct_auditor_x", "en")
    assert sessions.open(token) is not None
    sessions.engine.dispose()


def test_a_table_made_before_migrations_is_adopted_with_its_sessions(console_db: str) -> None:
    engine = make_engine(console_db)
    with engine.begin() as conn:
        metadata.create_all(conn)  # what start-up did before migrations
    engine.dispose()
    before = store(console_db)
    token, _ = before.create(Identity("key-1", Role.CREDITOR, "BANK-1"), "ct_creditor_x", "zh")
    before.engine.dispose()

    output = CliRunner().invoke(casetrail_cli, ["migrate", "console"],
                                env={"CONSOLE_DATABASE_URL": console_db})
    assert output.exit_code == 0, output.output
    assert "console_0001" in output.output

    assert at_head(console_db)
    assert migrations.differences(console_db, schema.metadata, schema.VERSION_TABLE) == []
    after = store(console_db)
    found = after.open(token)  # the session signed in before the upgrade still opens
    assert found is not None
    assert (found[0].tenant, found[1]) == ("BANK-1", "ct_creditor_x")
    assert schema.migrate(console_db) == "console_0001"  # again: nothing to do
    with after.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(
            sessions_table)).scalar_one() == 1
    after.engine.dispose()
