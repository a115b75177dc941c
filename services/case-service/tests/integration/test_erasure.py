"""Erasure is final and immediate: `casetrail pii erase` leaves no copy of the debtor's wrapped
key in the database files, every running service stops showing the debtor within a second,
and every command or read on an erased debtor gets a documented answer, never a 500.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from case_service.adapters.debtor_keys import DebtorKeys
from case_service.application import CaseApplication
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from case_service.entrypoints.app import create_app
from casetrail.dburl import DatabaseURL
from casetrail.settings import CommonSettings
from fastapi.testclient import TestClient

CONTACT = {"channel": "phone", "party": "debtor", "outcome": "conversation",
           "action_code": "PTP", "occurred_at": "2026-01-05T03:00:00+00:00"}


def debtor_of(as_: Any, case_id: str) -> str:
    debtor_id: str = as_("auditor").get(f"/v1/cases/{case_id}").json()["debtor"]["debtor_id"]
    return debtor_id


def wrapped_key(store: DebtorKeys, debtor_id: str) -> bytes | None:
    key: bytes | None = store.wrapped_keys([debtor_id])[debtor_id]["wrapped_key"]
    return key


def database_files(insider: Any, database_url: str) -> list[Path]:
    """Every file the database keeps its data in: case.db, -wal and -shm on SQLite; the
    whole directory of this database in the PostgreSQL server's data directory, after a
    CHECKPOINT (so nothing still in shared buffers is missed). Skips, saying why, only when
    the test server's data directory cannot be read by this process."""
    if not insider.postgres:
        path = Path(DatabaseURL.parse(database_url).eventsourcing_env()["SQLITE_DBNAME"])
        return [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")
                if Path(f"{path}{suffix}").exists()]
    with insider.transaction() as cur:
        try:
            data_dir = cur.execute("SHOW data_directory").fetchone()
        except Exception as exc:  # not superuser nor pg_read_all_settings
            pytest.skip(f"the test server's data directory is not known to this role: {exc}")
        oid = cur.execute("SELECT oid FROM pg_database WHERE datname = current_database()"
                          ).fetchone()
    with insider.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("CHECKPOINT")
    folder = Path(str(data_dir["data_directory"])) / "base" / str(oid["oid"])
    try:
        files = [p for p in folder.iterdir() if p.is_file()]
        files[0].read_bytes()
    except (PermissionError, FileNotFoundError, IndexError) as exc:
        pytest.skip(f"the test server's data directory {folder} is not readable by this "
                    f"process ({exc}): run the server as this user (scripts/pg.sh does)")
    return files


def copies_in(files: list[Path], secret: bytes) -> list[str]:
    """Files holding these bytes, with how many times."""
    found = []
    for path in files:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # another test dropped its schema meanwhile
            continue
        if secret in data:
            found.append(f"{path.name} x{data.count(secret)}")
    return found


def test_after_pii_erase_no_copy_of_the_wrapped_key_is_left_in_the_database_files(
        as_: Any, placed: str, application: CaseApplication, database_url: str,
        common: CommonSettings, monkeypatch: pytest.MonkeyPatch, insider: Any) -> None:
    from casetrail import cli
    from typer.testing import CliRunner

    store, master = application.vault.store, application.vault.master
    debtor_id = debtor_of(as_, placed)
    before_rewrap = wrapped_key(store, debtor_id)
    assert before_rewrap is not None
    # A re-wrap (as `keys rotate-master` does) leaves the previous version behind too: a dead
    # row version on PostgreSQL, a freed cell on SQLite. Both must go.
    data_key = master.unwrap(before_rewrap, debtor_id)
    store.rewrap_keys([(debtor_id, master.key_id, master.wrap(data_key, debtor_id),
                        master.key_id)])
    current = wrapped_key(store, debtor_id)
    assert current is not None
    assert current != before_rewrap
    files = database_files(insider, database_url)
    assert copies_in(files, current), "the scan must see the live key before the erasure"

    monkeypatch.setenv("CASE_DATABASE_URL", database_url)
    monkeypatch.setenv("CASETRAIL_VAR_DIR", str(common.var_dir))
    assert common.master_key is not None
    monkeypatch.setenv("CASETRAIL_MASTER_KEY", common.master_key.get_secret_value())
    erased = CliRunner().invoke(cli.app, ["pii", "erase", "--debtor", debtor_id])
    assert erased.exit_code == 0, erased.output
    assert f"erased: the data key of {debtor_id} is destroyed" in erased.stdout

    files = database_files(insider, database_url)
    assert copies_in(files, current) == []
    assert copies_in(files, before_rewrap) == []
    if not insider.postgres:
        assert [p.stat().st_size for p in files if p.name.endswith("-wal")] in ([], [0])
    assert "copies purged" in erased.stdout
    # Erasing again is no error: it says so, and purges again.
    again = CliRunner().invoke(cli.app, ["pii", "erase", "--debtor", debtor_id])
    assert again.exit_code == 0, again.output
    assert "already erased" in again.stdout
    unknown = CliRunner().invoke(cli.app, ["pii", "erase", "--debtor", "d-" + "0" * 32])
    assert unknown.exit_code == 2


def test_on_sqlite_remnants_left_by_page_splits_of_other_writers_are_purged_too(
        application: CaseApplication, database_url: str, insider: Any) -> None:
    """Connections without secure_delete (SQLite builds default it off) leave copies of
    key cells in free space when a page splits; the erasure must not depend on them."""
    if insider.postgres:
        pytest.skip("SQLite page layout")
    path = DatabaseURL.parse(database_url).eventsourcing_env()["SQLITE_DBNAME"]
    rng = random.Random(16)
    keys = {f"d-{rng.randbytes(16).hex()}": rng.randbytes(60) for _ in range(3000)}
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA secure_delete = 0")
    for debtor_id, key in keys.items():
        writer.execute("INSERT INTO debtor_keys (debtor_id, master_key_id, wrapped_key, "
                       "created_at) VALUES (?, 'mk-test', ?, '2026-01-01')", (debtor_id, key))
    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    writer.close()
    files = database_files(insider, database_url)
    blob = b"".join(p.read_bytes() for p in files)
    with_remnants = [d for d, key in keys.items() if blob.count(key) > 1]
    assert with_remnants, "page splits left no remnant: the precondition of this test"
    victims = with_remnants[:3]
    for debtor_id in victims:
        assert application.vault.erase(debtor_id) is True
    files = database_files(insider, database_url)
    for debtor_id in victims:
        assert copies_in(files, keys[debtor_id]) == []
    survivor = next(d for d in keys if d not in victims)
    assert copies_in(files, keys[survivor])  # live keys are all still there
    assert len(application.vault.store.wrapped_keys(list(keys))) == len(keys)


def test_every_running_service_stops_showing_an_erased_debtor_within_a_second(
        as_: Any, placed: str, application: CaseApplication, settings: CaseSettings,
        common: CommonSettings, api_keys: dict[str, str]) -> None:
    other = build_application(settings, common)  # a second process's application
    try:
        client = TestClient(create_app(settings, common, other))
        headers = {"Authorization": f"Bearer {api_keys['auditor']}"}
        debtor_id = debtor_of(as_, placed)
        shown = client.get(f"/v1/cases/{placed}", headers=headers).json()["debtor"]
        assert shown["name"] == "张三"
        assert debtor_id in other.vault._cache  # its key is cached there now

        assert application.vault.erase(debtor_id) is True
        erased_at = time.monotonic()
        while True:
            debtor = client.get(f"/v1/cases/{placed}", headers=headers).json()["debtor"]
            elapsed = time.monotonic() - erased_at
            if debtor.get("erased"):
                break
            assert elapsed < 3, "the other instance still shows the erased debtor"
            time.sleep(0.02)
        assert elapsed < 1.0
        assert "name" not in debtor
    finally:
        other.close()


def test_the_key_cache_still_spares_the_database_between_erasures(
        as_: Any, placed: str, application: CaseApplication) -> None:
    debtor_id = debtor_of(as_, placed)
    vault = application.vault
    case = application.get_case(application.events_after(0, 1)[0].case_id)
    loads = 0
    real = vault.store.wrapped_keys

    def counting(ids: Any) -> Any:
        nonlocal loads
        loads += 1
        return real(ids)

    vault.store.wrapped_keys = counting  # type: ignore[method-assign]
    try:
        for _ in range(200):
            assert vault.open(debtor_id, case.debtor_pii) is not None
    finally:
        vault.store.wrapped_keys = real  # type: ignore[method-assign]
    assert loads <= 1


def test_a_contact_with_a_number_on_an_erased_debtor_is_a_409_and_no_key_is_made_again(
        as_: Any, placed: str, application: CaseApplication) -> None:
    agency = as_("agency_a")
    before = agency.post(f"/v1/cases/{placed}/contacts",
                         json={**CONTACT, "contact_id": "c-before",
                               "contact_point": "+86 139-1234-5678"})
    assert before.status_code == 201, before.text
    debtor_id = debtor_of(as_, placed)
    assert application.vault.erase(debtor_id) is True

    refused = agency.post(f"/v1/cases/{placed}/contacts",
                          json={**CONTACT, "contact_id": "c-after",
                                "contact_point": "+86 139-1234-5678"})
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/json")
    assert refused.json()["error"]["code"] == "debtor_erased"
    assert wrapped_key(application.vault.store, debtor_id) is None  # never re-created

    # The fact is still recorded, without the number; a retry of a contact recorded before
    # the erasure answers as any retry does.
    without = agency.post(f"/v1/cases/{placed}/contacts",
                          json={**CONTACT, "contact_id": "c-after"})
    assert without.status_code == 201, without.text
    retry = agency.post(f"/v1/cases/{placed}/contacts",
                        json={**CONTACT, "contact_id": "c-before",
                              "contact_point": "+86 139-1234-5678"})
    assert retry.status_code == 200, retry.text
    assert retry.json()["recorded"] is False
    assert wrapped_key(application.vault.store, debtor_id) is None


def test_a_new_account_for_an_erased_debtor_is_rejected_row_by_row(
        as_: Any, row: Any, placed: str, application: CaseApplication) -> None:
    debtor_id = debtor_of(as_, placed)
    assert application.vault.erase(debtor_id) is True
    same_debtor = row("ACC-NEW")
    same_debtor["debtor"] = row("ACC-1")["debtor"]  # the erased debtor's national id
    response = as_("bank1").post("/v1/placements", json={
        "placement_ref": "P-AFTER-ERASURE",
        "accounts": [same_debtor, row("ACC-OTHER"), row("ACC-1")]})
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["counts"] == {"received": 3, "placed": 1, "already_placed": 1,
                                 "rejected": 1}
    [rejected] = receipt["rejected"]
    assert rejected["index"] == 0
    assert rejected["errors"][0]["path"] == "debtor"
    assert "erased" in rejected["errors"][0]["message"]
    assert [a["account_ref"] for a in receipt["accepted"]] == ["ACC-OTHER", "ACC-1"]
    assert wrapped_key(application.vault.store, debtor_id) is None


def test_every_read_of_an_erased_debtors_case_answers_without_their_data(
        as_: Any, placed: str, application: CaseApplication, tmp_path: Any) -> None:
    from case_service.application.audit import export_case

    as_("agency_a").post(f"/v1/cases/{placed}/contacts",
                         json={**CONTACT, "contact_id": "c1", "contact_point": "+8613912345678"})
    debtor_id = debtor_of(as_, placed)
    assert application.vault.erase(debtor_id) is True
    for who in ("auditor", "bank1", "agency_a", "admin"):
        view = as_(who).get(f"/v1/cases/{placed}")
        assert view.status_code == 200, view.text
        assert view.json()["debtor"] == {"debtor_id": debtor_id, "timezone": "Asia/Shanghai",
                                         "erased": True}
        history = as_(who).get(f"/v1/cases/{placed}/history",
                               params={"as_of": "2100-01-01T00:00:00Z"})
        assert history.status_code == 200, history.text
        events = history.json()["events"]
        assert events[0]["data"]["debtor"]["erased"] is True
        assert [e["data"].get("contact_point") for e in events
                if e["type"] == "Contacted"] == [None]
    assert as_("auditor").get("/v1/cases", params={"creditor_id": "BANK1"}).status_code == 200
    application.audit.checkpoint()
    checkpoint = application.audit.latest_checkpoint()
    assert checkpoint is not None
    _, pdf = export_case(application, placed, checkpoint, tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert application.audit.verify().ok


def test_a_key_table_made_before_partitioning_is_converted_with_every_key(
        database_url: str, settings: CaseSettings, common: CommonSettings) -> None:
    url = DatabaseURL.parse(database_url)
    if url.backend != "postgres":
        pytest.skip("the key table is partitioned on PostgreSQL only")
    import psycopg

    rng = random.Random(7)
    rows = [(f"d-{rng.randbytes(16).hex()}", "mk-old", rng.randbytes(60), "2026-01-01", None)
            for _ in range(300)] + [("legacy-id", "mk-old", None, "2026-01-01", "2026-02-01")]
    with psycopg.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                         dbname=url.dbname, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{url.schema}"')
        conn.execute(f'CREATE TABLE "{url.schema}".debtor_keys (debtor_id TEXT PRIMARY KEY, '
                     "master_key_id TEXT NOT NULL, wrapped_key BYTEA, created_at TEXT NOT NULL, "
                     "destroyed_at TEXT)")
        with conn.cursor() as cur:
            cur.executemany(f'INSERT INTO "{url.schema}".debtor_keys VALUES (%s, %s, %s, %s, %s)',
                            rows)
    application = build_application(settings, common)
    try:
        store = application.vault.store
        assert store.keys_partitioned()
        stored = store.wrapped_keys([r[0] for r in rows])  # > 64 ids: partition by partition
        assert {d: r["wrapped_key"] for d, r in stored.items()} == {r[0]: r[2] for r in rows}
        assert stored["legacy-id"]["destroyed_at"] == "2026-02-01"
        with store.engine.connect() as conn:
            spread = conn.exec_driver_sql("SELECT count(DISTINCT tableoid) FROM debtor_keys"
                                          ).scalar()
        assert spread is not None
        assert spread > 32
        build_application(settings, common).close()  # converting is done once
    finally:
        application.close()
