"""The tamper-evident log: tampering with the database directly is found at its position.

Each test builds a small log through the API, signs a checkpoint, then edits the database
behind the application's back (as an insider with SQL access would) and runs `verify`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from case_service.application import CaseApplication
from casetrail import merkle
from casetrail.merkle import Checkpoint


@pytest.fixture
def log(as_: Any, row: Any, application: CaseApplication) -> list[int]:
    """Three cases with a few events each and a signed checkpoint; returns the positions."""
    placed = as_("bank1").post("/v1/placements", json={
        "placement_ref": "P-AUDIT", "accounts": [row(f"ACC-{i}") for i in range(3)]})
    assert placed.status_code == 201
    for i, accepted in enumerate(placed.json()["accepted"]):
        r = as_("agency_a").post(f"/v1/cases/{accepted['case_id']}/contacts", json={
            "contact_id": f"c{i}", "channel": "phone", "party": "debtor",
            "outcome": "conversation", "action_code": "PTP",
            "occurred_at": "2026-01-05T03:00:00+00:00"})
        assert r.status_code == 201
    application.audit.checkpoint()
    return [e.position for e in application.events_after(0, 100)]


def sql(application: CaseApplication, statement: str, params: list[Any]) -> None:
    with application.store.db.transaction() as cur:
        cur.execute(statement, params)


def events_table(application: CaseApplication) -> tuple[str, str]:
    db = application.store.db
    return db.table(db.events_table), ("notification_id" if db.dialect == "postgres"
                                      else "rowid")


def findings(application: CaseApplication) -> list[tuple[str, int | None]]:
    return [(p.kind, p.position) for p in application.audit.verify().problems]


def test_an_untouched_log_verifies(application: CaseApplication, log: list[int]) -> None:
    report = application.audit.verify()
    assert report.ok, report.problems
    assert report.events_checked == len(log) == 6
    assert report.checkpoint is not None
    assert report.checkpoint.tree_size == 6


def test_an_altered_payload_is_found_at_its_position(application: CaseApplication,
                                                     log: list[int]) -> None:
    table, position = events_table(application)
    sql(application, f"UPDATE {table} SET state = %s WHERE {position} = %s",
        [b'{"amount": "1.00"}', log[4]])
    assert findings(application) == [("altered", log[4])]


def test_a_deleted_row_is_found_at_its_position(application: CaseApplication,
                                                log: list[int]) -> None:
    table, position = events_table(application)
    sql(application, f"DELETE FROM {table} WHERE {position} = %s", [log[2]])
    assert findings(application) == [("deleted", log[2])]


def test_two_swapped_rows_are_found_as_reordered(application: CaseApplication,
                                                 log: list[int]) -> None:
    table, position = events_table(application)
    a, b = log[3], log[4]
    with application.store.db.transaction() as cur:
        rows = {r["p"]: r for r in cur.execute(
            f"SELECT {position} AS p, originator_id, originator_version, topic, state "
            f"FROM {table} WHERE {position} IN (%s, %s)", [a, b]).fetchall()}
        # Park one row's version out of the way: (originator_id, version) is unique.
        cur.execute(f"UPDATE {table} SET originator_version = -1 WHERE {position} = %s", [a])
        for target, source in ((b, a), (a, b)):
            r = rows[source]
            cur.execute(f"UPDATE {table} SET originator_id = %s, originator_version = %s, "
                        f"topic = %s, state = %s WHERE {position} = %s",
                        [r["originator_id"], r["originator_version"] if target == a else -2,
                         r["topic"], r["state"], target])
        cur.execute(f"UPDATE {table} SET originator_version = %s WHERE {position} = %s",
                    [rows[a]["originator_version"], b])
    assert findings(application) == [("reordered", a), ("reordered", b)]


def test_an_inserted_row_is_found_at_its_position(application: CaseApplication,
                                                  log: list[int]) -> None:
    table, position = events_table(application)
    with application.store.db.transaction() as cur:
        source = cur.execute(f"SELECT originator_id, topic, state FROM {table} "
                             f"WHERE {position} = %s", [log[0]]).fetchone()
        assert source is not None
        cur.execute(f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
                    "VALUES (%s, %s, %s, %s)",
                    [source["originator_id"], 99, source["topic"], source["state"]])
        inserted = cur.execute(f"SELECT max({position}) AS p FROM {table}").fetchone()
    assert inserted is not None
    assert findings(application) == [("inserted", inserted["p"])]


def test_rewriting_events_and_leaves_together_breaks_the_signed_root(
        application: CaseApplication, log: list[int]) -> None:
    table, position = events_table(application)
    forged = b'{"forged": true}'
    with application.store.db.transaction() as cur:
        r = cur.execute(f"SELECT originator_id, originator_version, topic FROM {table} "
                        f"WHERE {position} = %s", [log[1]]).fetchone()
        assert r is not None
        cur.execute(f"UPDATE {table} SET state = %s WHERE {position} = %s", [forged, log[1]])
        case_id = str(r["originator_id"])
        if len(case_id) == 32:
            case_id = f"{case_id[:8]}-{case_id[8:12]}-{case_id[12:16]}-{case_id[16:20]}-" \
                      f"{case_id[20:]}"
        cur.execute(f"UPDATE {application.store.db.table('audit_leaves')} SET leaf_hash = %s "
                    "WHERE position = %s",
                    [merkle.leaf_hash(log[1], case_id, int(r["originator_version"]),
                                      str(r["topic"]), forged), log[1]])
    found = application.audit.verify().problems
    assert [p.kind for p in found] == ["checkpoint"]
    assert "no longer give its root" in found[0].detail


def test_a_case_history_carries_inclusion_proofs_an_auditor_checks_offline(
        as_: Any, application: CaseApplication, log: list[int]) -> None:
    case_id = application.events_after(0, 1)[0].case_id
    body = as_("auditor").get(f"/v1/audit/cases/{case_id}").json()
    checkpoint = Checkpoint.from_json(body["checkpoint"])
    public_key = bytes.fromhex(body["public_key"])
    assert merkle.verify_case_history(body["events"], checkpoint, public_key) == []
    tampered = [dict(body["events"][0], payload=base64.b64encode(b"{}").decode()),
                *body["events"][1:]]
    assert merkle.verify_case_history(tampered, checkpoint, public_key) != []
    assert as_("agency_a").get(f"/v1/audit/cases/{case_id}").status_code == 403


def test_consistency_between_two_checkpoints_shows_the_log_only_grew(
        as_: Any, row: Any, application: CaseApplication, log: list[int]) -> None:
    as_("bank1").post("/v1/placements", json={"placement_ref": "P-MORE",
                                              "accounts": [row("ACC-9")]})
    later = application.audit.checkpoint()
    body = as_("auditor").get("/v1/audit/consistency",
                              params={"old_size": 6, "new_size": later.tree_size}).json()
    old, new = Checkpoint.from_json(body["old"]), Checkpoint.from_json(body["new"])
    assert merkle.verify_consistency(old.tree_size, new.tree_size, old.root, new.root,
                                     [bytes.fromhex(h) for h in body["proof"]])


def test_shredding_a_debtor_keeps_the_chain_verified_and_their_pii_unreadable(
        as_: Any, application: CaseApplication, log: list[int]) -> None:
    case_id = application.events_after(0, 1)[0].case_id
    debtor_id = as_("auditor").get(f"/v1/cases/{case_id}").json()["debtor"]["debtor_id"]
    assert application.vault.erase(debtor_id) is True
    application.vault._cache.clear()  # another process would not have it cached either
    view = as_("auditor").get(f"/v1/cases/{case_id}").json()
    assert view["debtor"] == {"debtor_id": debtor_id, "timezone": "Asia/Shanghai",
                              "erased": True}
    assert view["outstanding"] == "1020.50"  # amounts and dates stay readable
    assert application.audit.verify().ok


def test_the_regulator_export_verifies_offline_reads_as_a_pdf_and_is_reproducible(
        application: CaseApplication, log: list[int], tmp_path: Any) -> None:
    import pypdfium2
    from case_service.adapters.regulator_export import export_case

    case_id = str(application.events_after(0, 1)[0].case_id)
    checkpoint = application.audit.latest_checkpoint()
    assert checkpoint is not None
    data, pdf = export_case(application, case_id, checkpoint, tmp_path / "first")
    again_data, again_pdf = export_case(application, case_id, checkpoint, tmp_path / "again")
    assert data.read_bytes() == again_data.read_bytes()
    assert pdf.read_bytes() == again_pdf.read_bytes()

    public_key = application.audit.public_key.hex()
    assert merkle.main(["verify-export", str(data), "--public-key", public_key]) == 0
    lines = data.read_text().splitlines()
    forged = json.loads(lines[1])
    forged["payload"] = base64.b64encode(b'{"forged": 1}').decode()
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join([lines[0], json.dumps(forged), *lines[2:]]) + "\n")
    assert merkle.main(["verify-export", str(tampered), "--public-key", public_key]) == 1

    page = pypdfium2.PdfDocument(pdf.read_bytes())[0]
    text = page.get_textpage().get_text_range()
    assert case_id in text
    assert "Contacted" in text
    assert "included" in text
    image = page.render(scale=1.5).to_pil()
    image.save(tmp_path / "timeline.png")
    assert image.getextrema() != ((255, 255), (255, 255), (255, 255))  # not blank
