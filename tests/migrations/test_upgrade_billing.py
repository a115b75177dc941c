"""A billing database written by main before migrations (c0694df: data/billing.sql and
data/billing.pg.sql) upgrades to head and loses nothing, on SQLite and PostgreSQL.

`casetrail migrate billing` adopts it: every row of every table is still there with its
values, the columns added since (`payments.assignment`, `payments.flags`) exist and are NULL
on the old rows, the tables equal the code's (`differences == []`), running it again changes
nothing, and today's service serves the old data: the invoice old main issued still
recomputes to its content hash (`matches: true`), its contract reads in UTC days, the
projection continues from its recorded position, and the performance report counts the old
payments.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from billing_service.adapters import schema
from billing_service.bootstrap import build
from billing_service.config import BillingSettings
from billing_service.entrypoints.app import create_app
from casetrail import migrations
from casetrail.cli import app as casetrail_cli
from casetrail.crypto import MasterKey
from casetrail.dburl import DatabaseURL
from casetrail.projections.store import make_engine
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, drop_schemas, postgres_base_url
from fastapi.testclient import TestClient
from typer.testing import CliRunner

DATA = Path(__file__).parent / "data"
OLD_SCHEMA = "oldmain_billing"
INVOICE = "INV-BANK-AG-A-00001"
ADDED_SINCE = {"payments": {"assignment", "flags"}}  # columns the code gained after c0694df


def load_sqlite(folder: Path) -> str:
    """The SQLite dump in a file of its own; its DATABASE_URL."""
    path = folder / "billing.db"
    with sqlite3.connect(path) as conn:
        conn.executescript((DATA / "billing.sql").read_text())
    return f"sqlite:///{path}"


def psql() -> str:
    """The psql of the test server's major version (the dump's `\\restrict` needs 15.14+)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))
    return str(found[-1]) if found else (shutil.which("psql") or "psql")


def load_postgres(base_url: str, schema_name: str) -> str:
    """The pg_dump in a schema of its own (the dump's schema renamed); its DATABASE_URL."""
    url = DatabaseURL.parse(base_url)
    dump = (DATA / "billing.pg.sql").read_text().replace(OLD_SCHEMA, schema_name)
    subprocess.run(  # a fixed command line, the dump on stdin
        [psql(), "-q", "-v", "ON_ERROR_STOP=1", "-h", url.host, "-p", str(url.port),
         "-U", url.user, "-d", url.dbname, "-f", "-"],
        input=dump, text=True, check=True, capture_output=True,
        env={**os.environ, "PGPASSWORD": url.password or ""})
    return f"{base_url}?schema={schema_name}"


@pytest.fixture(params=BACKENDS)
def old_main(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A billing database as main wrote it before migrations, on each backend."""
    if request.param == "sqlite":
        yield load_sqlite(tmp_path)
        return
    base = postgres_base_url()
    name = f"billing_up_{uuid.uuid4().hex[:10]}"
    try:
        yield load_postgres(base, name)
    finally:
        drop_schemas(base, [name])


def snapshot(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (the alembic version table aside), in a stable order."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found = {}
            for name in sa.inspect(conn).get_table_names():
                if name == schema.VERSION_TABLE:
                    continue
                table = sa.Table(name, sa.MetaData(), autoload_with=conn)
                rows = conn.execute(sa.select(table)).mappings().all()
                found[name] = sorted((dict(r) for r in rows), key=repr)
            return found
    finally:
        engine.dispose()


def migrate_with_the_cli(url: str) -> str:
    """`casetrail migrate billing` against `url`; its output."""
    result = CliRunner().invoke(casetrail_cli, ["migrate", "billing"],
                                env={"BILLING_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.output


def test_old_main_database_upgrades_to_head_and_loses_nothing(old_main: str) -> None:
    before = snapshot(old_main)
    assert {table: len(rows) for table, rows in before.items()} == {  # the fixture's history
        "billing_cases": 3, "case_assignments": 4, "payments": 1, "reversals": 1,
        "promises": 1, "projection_positions": 1, "projection_dead_letters": 0,
        "contracts": 2, "invoices": 1, "invoice_lines": 2}

    output = migrate_with_the_cli(old_main)

    assert schema.head() in output
    after = snapshot(old_main)
    assert set(after) == set(before) | set(schema.metadata.tables)
    for table, rows in before.items():
        added = ADDED_SINCE.get(table, set())
        assert len(after[table]) == len(rows), table
        kept = sorted(({k: v for k, v in row.items() if k not in added}
                       for row in after[table]), key=repr)
        assert kept == rows, table  # every old value as it was
        columns = set(schema.metadata.tables[table].columns.keys())
        for row in after[table]:
            assert set(row) == columns, table  # the code's columns: the old ones and the new
            assert all(row[column] is None for column in added), (table, row)

    engine = make_engine(old_main)
    try:
        with engine.connect() as conn:
            assert migrations.current(conn, schema.VERSION_TABLE) == schema.head()
    finally:
        engine.dispose()
    assert migrations.differences(old_main, schema.metadata, schema.VERSION_TABLE) == []

    migrate_with_the_cli(old_main)  # again: nothing changes
    assert snapshot(old_main) == after


KEYS = {"auditor": (Role.AUDITOR, None), "bank": (Role.CREDITOR, "BANK"),
        "agency": (Role.AGENCY, "AG-A")}


def test_todays_service_serves_what_old_main_recorded(old_main: str) -> None:
    migrate_with_the_cli(old_main)
    keys = {name: generate_key(role) for name, (role, _) in KEYS.items()}
    common = CommonSettings(
        api_keys=json.dumps([KeyEntry(n, hash_key(keys[n]), r, t).to_json()
                             for n, (r, t) in KEYS.items()]),
        master_key=MasterKey.generate_b64())
    service = build(BillingSettings(database_url=old_main, create_schema=False),
                    common=common)
    try:
        client = TestClient(create_app(common=common, service=service))

        def get(who: str, path: str, **params: Any) -> Any:
            answer = client.get(path, params=params,
                                headers={"Authorization": f"Bearer {keys[who]}"})
            assert answer.status_code == 200, answer.text
            return answer.json()

        stored = get("bank", f"/v1/invoices/{INVOICE}")
        assert (stored["document_type"], stored["timezone"]) == ("invoice", "UTC")
        assert (stored["period_start"], stored["period_end"]) == ("2026-10-01", "2026-10-31")
        assert [line["kind"] for line in stored["lines"]] == ["payment", "reversal"]
        listed = get("agency", "/v1/invoices")["invoices"]
        assert [i["invoice_id"] for i in listed] == [INVOICE]

        preview = get("auditor", "/v1/billing-runs/preview", creditor_id="BANK",
                      agency_id="AG-A", period_start="2026-10-01", period_end="2026-10-31")
        assert preview["stored"] is True
        assert preview["stored_content_intact"] is True
        assert preview["matches"] is True
        assert preview["content_hash"] == stored["content_hash"]

        versions = get("bank", "/v1/contracts/BANK/AG-A")["versions"]
        assert [(v["version"], v["timezone"], v["rates"]) for v in versions] == [
            (1, "UTC", {"M2": "0.18"})]

        report = get("auditor", "/v1/agencies/AG-A/performance", period="2026-10",
                     timezone="UTC", as_of="2026-11-30")
        assert report["timezone"] == "UTC"
        assert report["currency"] == "CNY"

        # The projection carries on from the position old main recorded.
        assert service.ledger.position("feed") == 10
    finally:
        service.close()
