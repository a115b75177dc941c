"""The billing database under alembic, on SQLite and PostgreSQL: a fresh database migrates to
exactly the code's tables (`differences == []`); a database an earlier release made with
create_all, or one the billing-ledger consumer started first (it creates its tables itself),
is adopted with its rows; a migrated database is left as it is by a second run.
(tests/migrations/test_upgrade_billing.py upgrades the database main wrote before
migrations.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from billing_service.adapters import schema
from billing_service.adapters.billing_ledger import BillingLedger
from billing_service.adapters.records import contracts, records_metadata
from billing_service.bootstrap import build
from billing_service.config import BillingSettings
from casetrail import migrations
from casetrail.projections.store import ProjectionStore, make_engine
from casetrail.testing import BACKENDS, fresh_database

CONTRACT = {"creditor_id": "BANK", "agency_id": "AG-A", "version": 1,
            "effective_from": "2026-01-01", "currency": "CNY",
            "terms": '{"currency": "CNY"}', "recorded_at": "2026-01-01T00:00:00+00:00",
            "actor": "creditor:BANK:bank"}


@pytest.fixture(params=BACKENDS)
def billing_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty billing database on each backend."""
    with fresh_database(request.param, tmp_path, "billing") as url:
        yield url


def revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return migrations.current(conn, schema.VERSION_TABLE)
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_a_fresh_database_migrates_to_exactly_the_codes_tables(billing_db: str) -> None:
    assert revision(billing_db) is None
    assert schema.migrate(billing_db) == schema.head() == "billing_0003"
    assert revision(billing_db) == schema.head()
    assert tables(billing_db) == set(schema.metadata.tables) | {schema.VERSION_TABLE}
    assert migrations.differences(billing_db, schema.metadata, schema.VERSION_TABLE) == []
    assert schema.migrate(billing_db) == schema.head()  # again: nothing to do


def test_start_up_runs_the_same_upgrade_unless_told_not_to(billing_db: str) -> None:
    build(BillingSettings(database_url=billing_db, create_schema=False)).close()
    assert revision(billing_db) is None
    assert not tables(billing_db) & set(schema.metadata.tables)
    build(BillingSettings(database_url=billing_db)).close()  # create_schema defaults to true
    assert revision(billing_db) == schema.head()
    assert migrations.differences(billing_db, schema.metadata, schema.VERSION_TABLE) == []


def test_tables_made_before_migrations_are_adopted_with_their_rows(billing_db: str) -> None:
    # The consumer started first (it makes its tracking and read-model tables), and an
    # earlier release of the API made the records with create_all and stored a contract.
    engine = make_engine(billing_db)
    ProjectionStore(engine, BillingLedger()).create_schema()
    with engine.begin() as conn:
        records_metadata.create_all(conn)
        conn.execute(contracts.insert().values(**CONTRACT))
    engine.dispose()

    assert schema.migrate(billing_db) == schema.head()

    assert migrations.differences(billing_db, schema.metadata, schema.VERSION_TABLE) == []
    engine = make_engine(billing_db)
    try:
        with engine.connect() as conn:
            assert [dict(r) for r in conn.execute(sa.select(contracts)).mappings()] == [
                CONTRACT]
    finally:
        engine.dispose()


def test_a_database_at_the_baseline_gains_the_parties_table_and_keeps_its_rows(
        billing_db: str) -> None:
    assert migrations.upgrade(billing_db, script_location=schema.SCRIPT_LOCATION,
                              version_table=schema.VERSION_TABLE, metadata=schema.metadata,
                              revision="billing_0001") == "billing_0001"
    assert "parties" not in tables(billing_db)
    engine = make_engine(billing_db)
    with engine.begin() as conn:
        conn.execute(contracts.insert().values(**CONTRACT))
    engine.dispose()

    assert schema.migrate(billing_db) == "billing_0003"

    assert "parties" in tables(billing_db)
    assert migrations.differences(billing_db, schema.metadata, schema.VERSION_TABLE) == []
    engine = make_engine(billing_db)
    try:
        with engine.connect() as conn:
            assert [dict(r) for r in conn.execute(sa.select(contracts)).mappings()] == [
                CONTRACT]
    finally:
        engine.dispose()


def test_a_database_at_billing_0002_gains_the_litigation_stages_table_and_keeps_its_rows(
        billing_db: str) -> None:
    assert migrations.upgrade(billing_db, script_location=schema.SCRIPT_LOCATION,
                              version_table=schema.VERSION_TABLE, metadata=schema.metadata,
                              revision="billing_0002") == "billing_0002"
    assert "litigation_stages" not in tables(billing_db)
    engine = make_engine(billing_db)
    with engine.begin() as conn:
        conn.execute(contracts.insert().values(**CONTRACT))
    engine.dispose()

    assert schema.migrate(billing_db) == "billing_0003"

    assert "litigation_stages" in tables(billing_db)
    assert migrations.differences(billing_db, schema.metadata, schema.VERSION_TABLE) == []
    engine = make_engine(billing_db)
    try:
        with engine.connect() as conn:
            assert [dict(r) for r in conn.execute(sa.select(contracts)).mappings()] == [
                CONTRACT]
    finally:
        engine.dispose()
