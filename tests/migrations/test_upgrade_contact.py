"""The contact service's schema: alembic makes exactly the tables the code defines, and a
database main wrote before migrations (c0694df, tests/migrations/data/contact*.sql) upgrades
to head losing nothing, on SQLite and PostgreSQL.

The old database has three cases, a contact, a kept promise whose payment was reversed, a
policy assignment, a QA sample and the projection's position; it lacks the columns added
since (`contacts.recorded_at`, `payments.flags`, `qa_samples.timezone`) and the tables
(`agency_settings`, `case_assignments`). After `casetrail migrate contact` every row is there
with its values, the new columns hold NULL in old rows, and today's code reads it through
the API and applies new events to it from where the projection stopped.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from casetrail import migrations
from casetrail.clock import ManualClock
from casetrail.dburl import DatabaseURL
from casetrail.envelope import EventEnvelope
from casetrail.projections.store import Delivery, make_engine
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, fresh_database, postgres_base_url
from contact_service.adapters import schema
from contact_service.bootstrap import build
from contact_service.config import ContactSettings
from contact_service.entrypoints.app import create_app
from fastapi.testclient import TestClient

DATA = Path(__file__).parent / "data"
MASTER_KEY = "b2xkLW1haW4tZml4dHVyZS1tYXN0ZXIta2V5LTMyYiE="  # the fixtures' (make_old_main_...)
NOW = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)  # the day after the fixtures were written
CASE = "184613c5-4c3a-57e4-b7ef-4dff22b6b506"  # AG-A's case with the contact and the promise
SAMPLE = "9e9eff31-b782-5509-8e46-107a426d8f08"
# Columns later migrations added, by table; old rows have no value for them (a review's
# collector is filled from the contact log only where the log knows the reviewed contact).
ADDED_COLUMNS = {"contacts": {"recorded_at"}, "payments": {"flags", "currency"},
                 "qa_samples": {"timezone"}, "qa_reviews": {"collector_id"}}
ADDED_TABLES = {"agency_settings", "case_assignments"}


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path, "contact") as database_url:
        yield database_url


def load_old_main(url: str) -> None:
    """Write the database main wrote before migrations at `url` (an empty one)."""
    parsed = DatabaseURL.parse(url)
    if parsed.backend == "sqlite":
        assert parsed.sqlite_path is not None
        with sqlite3.connect(parsed.sqlite_path) as db:
            db.executescript((DATA / "contact.sql").read_text(encoding="utf-8"))
        return
    psql = shutil.which("psql") or next(
        str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/psql")))
    dump = (DATA / "contact.pg.sql").read_text(encoding="utf-8")
    subprocess.run([psql, "-q", "-v", "ON_ERROR_STOP=1", "-f", "-", postgres_base_url()],
                   input=dump.replace("oldmain_contact", parsed.schema), text=True,
                   check=True, capture_output=True)


def rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (but the version table), in a stable order."""
    engine = make_engine(url)
    try:
        found = sa.MetaData()
        found.reflect(engine)
        with engine.connect() as conn:
            return {name: sorted((dict(r) for r in conn.execute(sa.select(table)).mappings()),
                                 key=repr)
                    for name, table in found.tables.items()
                    if name != schema.VERSION_TABLE}
    finally:
        engine.dispose()


def migrate_with_the_cli(url: str) -> str:
    """`casetrail migrate contact`, as the Kubernetes Job and `make run` do it."""
    done = subprocess.run([sys.executable, "-m", "casetrail.cli", "migrate", "contact"],
                          env={**os.environ, "CONTACT_DATABASE_URL": url},
                          check=True, capture_output=True, text=True, timeout=180)
    return done.stdout + done.stderr


def version(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return migrations.current(conn, schema.VERSION_TABLE)
    finally:
        engine.dispose()


def test_an_empty_database_migrates_to_exactly_the_tables_the_code_defines(url: str) -> None:
    assert schema.migrate(url) == schema.head()
    assert migrations.differences(url, schema.metadata, schema.VERSION_TABLE) == []
    assert set(rows(url)) == set(schema.metadata.tables)
    assert schema.migrate(url) == schema.head()  # again: nothing to do
    assert migrations.differences(url, schema.metadata, schema.VERSION_TABLE) == []


def test_the_service_built_on_the_embedded_default_runs_the_same_migrations(url: str) -> None:
    service = build(ContactSettings(database_url=url, create_schema=True),
                    common=CommonSettings(master_key=MASTER_KEY))
    service.close()
    assert version(url) == schema.head()
    assert migrations.differences(url, schema.metadata, schema.VERSION_TABLE) == []


def test_a_database_of_old_main_upgrades_to_head_and_loses_nothing(
        url: str, caplog: pytest.LogCaptureFixture) -> None:
    load_old_main(url)
    before = rows(url)
    assert not ADDED_TABLES & set(before)  # as main wrote it: none of the additions yet
    assert all(column not in row for table, columns in ADDED_COLUMNS.items()
               for row in before.get(table, []) for column in columns)

    with caplog.at_level(logging.WARNING, logger="casetrail.migrations.contact"):
        assert schema.migrate(url) == schema.head()
    assert "case_assignments was created empty beside 3 cases" in caplog.text

    after = rows(url)
    assert set(after) == set(schema.metadata.tables)
    for table, old_rows in before.items():
        added = ADDED_COLUMNS.get(table, set())
        assert [{k: v for k, v in row.items() if k not in added} for row in after[table]] \
            == old_rows, table
        for column in added:  # old rows have no value for it
            assert {row[column] for row in after[table]} <= {None}, (table, column)
    assert all(after[table] == [] for table in ADDED_TABLES)
    assert len(after["contact_cases"]) == 3
    assert len(after["qa_samples"]) == 1
    assert migrations.differences(url, schema.metadata, schema.VERSION_TABLE) == []

    # Migrating again (as every start of the embedded default does) changes nothing.
    assert "contact-service schema is up to date" in migrate_with_the_cli(url)
    assert rows(url) == after


def test_casetrail_migrate_contact_upgrades_a_database_of_old_main(url: str) -> None:
    load_old_main(url)
    before = rows(url)
    out = migrate_with_the_cli(url)
    assert f"contact-service schema is up to date (revision {schema.head()})" in out
    assert version(url) == schema.head()
    assert migrations.differences(url, schema.metadata, schema.VERSION_TABLE) == []
    after = rows(url)
    assert {t: len(r) for t, r in after.items() if t in before} == \
        {t: len(r) for t, r in before.items()}


def test_todays_code_serves_an_upgraded_database_of_old_main(url: str) -> None:
    load_old_main(url)
    schema.migrate(url)
    keys = {"admin": generate_key(Role.ADMIN), "agency": generate_key(Role.AGENCY)}
    common = CommonSettings(master_key=MASTER_KEY, api_keys=json.dumps([
        KeyEntry("admin", hash_key(keys["admin"]), Role.ADMIN, None).to_json(),
        KeyEntry("agency", hash_key(keys["agency"]), Role.AGENCY, "AG-A").to_json()]))
    clock = ManualClock(NOW)
    service = build(ContactSettings(database_url=url, create_schema=False), common=common,
                    clock=clock)
    client = TestClient(create_app(common=common, service=service))
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    agency = {"Authorization": f"Bearer {keys['agency']}"}
    try:
        [contact] = client.get("/v1/contacts", headers=admin).json()["contacts"]
        assert (contact["case_id"], contact["contact_id"], contact["flags"]) == (CASE, "K1", [])

        sample = client.get(f"/v1/qa/samples/{SAMPLE}", headers=admin).json()
        assert (sample["seed"], sample["timezone"]) == ("old", "UTC")  # drawn before zones
        assert sample["verification"]["matches"] is True  # its seed still draws it
        review = client.post(f"/v1/qa/samples/{SAMPLE}/reviews", headers=agency, json={
            "item_id": sample["populations"]["recorded_calls"]["items"][0]["item_id"],
            "score": 90, "findings": "ok", "serious": False})
        assert review.status_code == 201, review.text

        policy = client.get("/v1/creditors/BANK/policy", headers=admin).json()
        assert [a["pack_id"] for a in policy["assignments"]] == ["cn-gbt-45251-2025"]
        assert policy["in_force"]["pack_id"] == "cn-gbt-45251-2025"

        permission = client.get(f"/v1/cases/{CASE}/contact-permission", headers=agency,
                                params={"channel": "phone", "at": "2026-12-08T03:00:00Z"})
        assert permission.status_code == 200, permission.text
        assert permission.json()["data_as_of"] == {"case_version": 6, "position": 8}

        settings = client.put("/v1/agencies/AG-A/settings", headers=agency,
                              json={"timezone": "Asia/Shanghai"})
        assert settings.status_code == 201, settings.text
        worklist = client.get("/v1/worklist", headers=agency)
        assert worklist.status_code == 200, worklist.text
        assert worklist.json()["timezone"] == "Asia/Shanghai"
        report = client.get("/v1/sla", headers=admin).json()
        assert len(report["cases"]) == 3

        # The projection goes on from where old main left it.
        assert service.contact_log.position("feed") == 10
        recorded = datetime(2026, 12, 8, 3, 5, tzinfo=UTC)
        service.contact_log.apply("feed", 0, [Delivery(11, EventEnvelope(
            event_id=uuid.uuid4(), type="Contacted", schema_version=1, case_id=uuid.UUID(CASE),
            version=7, position=11, occurred_at=NOW, recorded_at=recorded, payload={
                "agency_id": "AG-A", "contact_id": "K2", "channel": "phone",
                "direction": "outbound", "party": "debtor", "outcome": "no_answer",
                "action_code": "NA", "occurred_at": NOW.isoformat(), "flags": []}))])
        contacts = client.get("/v1/contacts", headers=admin, params={"case_id": CASE}).json()
        assert [c["contact_id"] for c in contacts["contacts"]] == ["K1", "K2"]
        with service.engine.connect() as conn:
            assert conn.execute(sa.text(
                "SELECT recorded_at FROM contacts WHERE contact_id = 'K2'")).scalar_one() \
                == recorded.isoformat()
    finally:
        service.close()
