"""The case service's schema: alembic makes exactly the tables the code defines, and a
database main wrote before migrations (c0694df, tests/migrations/data/case*.sql) upgrades to
head losing nothing, on SQLite and PostgreSQL.

The old database holds three cases placed by allocation rules (a contact with a sealed
number, a promise kept then reopened by a reversal, a reassignment, a recall), their ten
events with their audit leaves and a signed checkpoint, the placement's receipt, the rules and
the debtors' wrapped keys. It lacks what came since: `case_summaries.delinquent_since` and
`next_deadline_at`, the index on the next deadline, the erasure generation, and on
PostgreSQL the partitions of the key table. After `casetrail migrate case` every row is there
with its values, the new columns hold NULL in the old rows, and today's code serves it: the
cases open with their PII decrypted under the fixture's master key, `casetrail audit verify`
passes under its audit key, new commands are recorded, and the case list rebuilt from the
log is exact once swapped in.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from case_service.adapters import tables
from case_service.bootstrap import (
    MIGRATIONS,
    VERSION_TABLE,
    build_application,
    upgrade_tables,
)
from case_service.config import CaseSettings
from case_service.entrypoints.app import create_app
from casetrail import merkle, migrations
from casetrail.dburl import DatabaseURL
from casetrail.projections.store import make_engine
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, fresh_database, postgres_base_url
from fastapi.testclient import TestClient

DATA = Path(__file__).parent / "data"
MASTER_KEY = "b2xkLW1haW4tZml4dHVyZS1tYXN0ZXIta2V5LTMyYiE="  # the fixtures' (make_old_main_...)
AUDIT_KEY = "11" * 32
CASES = {"OLD-0": "184613c5-4c3a-57e4-b7ef-4dff22b6b506",  # contact, promise kept, reopened
         "OLD-1": "69c7402d-d57b-5ae4-b81d-16e107977d32",  # reassigned to AG-B
         "OLD-2": "eb1bc20c-bf81-5443-a8cd-81f74262de3b"}  # recalled
ADDED_COLUMNS = {"case_summaries": {"delinquent_since", "next_deadline_at"}}
ADDED_TABLES = {"debtor_key_erasures", "agency_profiles", "agency_collectors",
                "agency_qualifications"}  # the last three: the agency registry, empty
EVENTS_TABLES = {"stored_events", "cases_events"}  # the library's (SQLite, PostgreSQL)
CALLERS = {"auditor": (Role.AUDITOR, None), "bank": (Role.CREDITOR, "BANK"),
           "agency": (Role.AGENCY, "AG-A")}


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path, "case") as database_url:
        yield database_url


def load_old_main(url: str) -> None:
    """Write the database main wrote before migrations at `url` (an empty one)."""
    parsed = DatabaseURL.parse(url)
    if parsed.backend == "sqlite":
        assert parsed.sqlite_path is not None
        with sqlite3.connect(parsed.sqlite_path) as db:
            db.executescript((DATA / "case.sql").read_text(encoding="utf-8"))
        return
    psql = shutil.which("psql") or next(
        str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/psql")))
    dump = (DATA / "case.pg.sql").read_text(encoding="utf-8")
    subprocess.run([psql, "-q", "-v", "ON_ERROR_STOP=1", "-f", "-", postgres_base_url()],
                   input=dump.replace("oldmain_case", parsed.schema), text=True,
                   check=True, capture_output=True)


def rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table but the version table and the key table's partitions (their
    rows are the key table's), in a stable order."""
    engine = make_engine(url)
    try:
        found = sa.MetaData()
        found.reflect(engine)
        with engine.connect() as conn:
            return {name: sorted((dict(r) for r in conn.execute(sa.select(table)).mappings()),
                                 key=repr)
                    for name, table in found.tables.items()
                    if name != VERSION_TABLE and not name.startswith("debtor_keys_")}
    finally:
        engine.dispose()


def casetrail(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The `casetrail` command line on the case service's database, with the fixtures'
    keys, as an operator runs it."""
    return subprocess.run([sys.executable, "-m", "casetrail.cli", *args], env={
        **os.environ, "CASE_DATABASE_URL": url, "CASETRAIL_MASTER_KEY": MASTER_KEY,
        "CASETRAIL_AUDIT_SIGNING_KEY": AUDIT_KEY, "CASETRAIL_LOG_LEVEL": "WARNING"},
        capture_output=True, text=True, timeout=300, check=False)


def version(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return migrations.current(conn, VERSION_TABLE)
    finally:
        engine.dispose()


def key_table_kind(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT relkind::text FROM pg_class "
                                        "WHERE oid = to_regclass('debtor_keys')")).scalar()
    finally:
        engine.dispose()


@pytest.fixture
def old_main(url: str) -> dict[str, list[dict[str, Any]]]:
    """A database of old main at `url`, upgraded with `casetrail migrate case`; returns its
    rows before the upgrade."""
    load_old_main(url)
    before = rows(url)
    assert set(before) >= {"case_summaries", "debtor_keys", "audit_leaves"}
    assert not ADDED_TABLES & set(before)
    migrated = casetrail(url, "migrate", "case")
    assert migrated.returncode == 0, migrated.stderr
    assert f"case-service schema is up to date (revision {migrations.head(MIGRATIONS)})" \
        in migrated.stdout + migrated.stderr
    return before


def test_an_empty_database_migrates_to_exactly_the_tables_the_code_defines(url: str) -> None:
    head = migrations.head(MIGRATIONS)
    assert upgrade_tables(url) == head
    assert migrations.differences(url, tables.metadata, VERSION_TABLE) == []
    assert set(rows(url)) == set(tables.metadata.tables)
    assert upgrade_tables(url) == head  # again: nothing to do
    assert migrations.differences(url, tables.metadata, VERSION_TABLE) == []
    assert rows(url)["debtor_key_erasures"] == [{"id": 1, "generation": 0, "erased_at": None}]
    if DatabaseURL.parse(url).backend == "postgres":
        assert key_table_kind(url) == "p"


def test_the_application_built_with_migrate_runs_the_same_migrations(url: str) -> None:
    build_application(CaseSettings(database_url=url),
                      CommonSettings(master_key=MASTER_KEY), migrate=True).close()
    assert version(url) == migrations.head(MIGRATIONS)
    assert migrations.differences(url, tables.metadata, VERSION_TABLE) == []


def test_a_database_of_old_main_upgrades_to_head_losing_nothing(
        url: str, old_main: dict[str, list[dict[str, Any]]]) -> None:
    after = rows(url)
    assert version(url) == migrations.head(MIGRATIONS)
    assert migrations.differences(url, tables.metadata, VERSION_TABLE) == []
    for name, old_rows in old_main.items():
        added = ADDED_COLUMNS.get(name, set())
        kept = [{k: v for k, v in row.items() if k not in added} for row in after[name]]
        assert sorted(kept, key=repr) == old_rows, name  # every row, every value
        assert all(row[column] is None for row in after[name] for column in added), name
    assert set(after) - set(old_main) == ADDED_TABLES
    assert after["debtor_key_erasures"] == [{"id": 1, "generation": 0, "erased_at": None}]
    assert all(after[t] == [] for t in ADDED_TABLES - {"debtor_key_erasures"})
    assert len(old_main["debtor_keys"]) == 3
    assert len(old_main["audit_leaves"]) == 10
    assert len(next(r for n, r in old_main.items() if n in EVENTS_TABLES)) == 10
    if DatabaseURL.parse(url).backend == "postgres":
        assert key_table_kind(url) == "p"  # every key moved into the partitions
    again = casetrail(url, "migrate", "case")
    assert again.returncode == 0, again.stderr
    assert rows(url) == after


def test_today_s_code_serves_an_upgraded_database_of_old_main(
        url: str, old_main: dict[str, list[dict[str, Any]]]) -> None:
    keys = {name: generate_key(role) for name, (role, _) in CALLERS.items()}
    common = CommonSettings(
        master_key=MASTER_KEY, audit_signing_key=AUDIT_KEY,
        api_keys=json.dumps([KeyEntry(name, hash_key(keys[name]), role, tenant).to_json()
                             for name, (role, tenant) in CALLERS.items()]))
    application = build_application(CaseSettings(database_url=url, create_schema=False),
                                    common)
    try:
        client = TestClient(create_app(CaseSettings(database_url=url), common, application))

        def get(who: str, path: str, **params: Any) -> Any:
            answer = client.get(path, params=params,
                                headers={"Authorization": f"Bearer {keys[who]}"})
            assert answer.status_code == 200, answer.text
            return answer.json()

        promised = get("auditor", f"/v1/cases/{CASES['OLD-0']}")
        assert promised["debtor"]["name"] == "张三"  # sealed under old main's data keys
        assert promised["debtor"]["national_id"] == "ID-OLD-0"
        assert (promised["status"], promised["version"]) == ("promised", 6)
        assert [p["state"] for p in promised["promises"]] == ["open"]  # reopened
        history = get("auditor", f"/v1/cases/{CASES['OLD-0']}/history")["events"]
        assert [e["type"] for e in history] == [
            "Placed", "Contacted", "PromisedToPay", "PaymentReceived", "PromiseKept",
            "PaymentReversed"]
        assert history[1]["data"]["contact_point"] == "+8613800000000"
        assert get("auditor", f"/v1/cases/{CASES['OLD-2']}")["status"] == "recalled"
        assert get("bank", "/v1/placements/P-OLD")["counts"]["placed"] == 3
        assert get("bank", "/v1/creditors/BANK/allocation-rules")["version"] == 1
        listed = get("bank", "/v1/cases")["items"]
        assert {c["case_id"] for c in listed} == set(CASES.values())
        assert {c["delinquent_since"] for c in listed} == {None}  # until the list is rebuilt

        proven = get("auditor", f"/v1/audit/cases/{CASES['OLD-0']}")
        assert merkle.verify_case_history(
            proven["events"], merkle.Checkpoint.from_json(proven["checkpoint"]),
            bytes.fromhex(proven["public_key"]), proven["case_statement"]) == []

        paid = client.post(f"/v1/cases/{CASES['OLD-0']}/payments",
                           headers={"Authorization": f"Bearer {keys['agency']}"},
                           json={"reference": "PAY-NEW", "amount": "300.00",
                                 "received_at": "2026-12-01T02:00:00Z"})
        assert paid.status_code == 201, paid.text
        assert (paid.json()["version"], paid.json()["events"]) == (7, ["PaymentReceived"])
        assert len(application.events_after(0, 100)) == 11
    finally:
        application.close()

    signed = casetrail(url, "audit", "checkpoint")
    assert signed.returncode == 0, signed.stderr
    assert json.loads(signed.stdout)["tree_size"] == 11
    verified = casetrail(url, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "verified: no event altered" in verified.stderr


def test_the_case_list_of_old_main_rebuilt_from_the_log_is_exact_once_swapped(
        url: str, old_main: dict[str, list[dict[str, Any]]]) -> None:
    first = casetrail(url, "projections", "rebuild", "case-summaries", "--verify")
    assert first.returncode == 1, first.stdout + first.stderr  # old rows lack what is new
    assert "DIFFERS case_summaries" in first.stdout
    swapped = casetrail(url, "projections", "rebuild", "case-summaries", "--swap")
    assert swapped.returncode == 0, swapped.stdout + swapped.stderr
    again = casetrail(url, "projections", "rebuild", "case-summaries", "--verify")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "verified: the live copy is exactly what the events imply" in again.stderr
    listed = rows(url)["case_summaries"]
    assert {r["case_id"] for r in listed} == set(CASES.values())
    assert {r["delinquent_since"] for r in listed} == {"2026-08-21"}  # 45 DPD on 5 Oct
    assert migrations.differences(url, tables.metadata, VERSION_TABLE) == []
