"""The tamper-evident log: tampering with the database directly is found at its position.

Each test builds a small log through the API, signs a checkpoint, then edits the database
behind the application's back (as an insider with SQL access would) and runs `verify`.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from uuid import UUID

import pytest
from case_service.adapters import audit as audit_adapter
from case_service.application import CaseApplication
from casetrail import merkle
from casetrail.merkle import Checkpoint


@pytest.fixture(params=[None, 2], ids=["pages", "pages_of_2"])
def paged(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verification as it reads a real log (pages of CHUNK) and in pages of two events, so
    that the page-at-a-time check of an intact prefix hands over to the step-by-step one at
    every kind of finding, wherever it falls."""
    if request.param is not None:
        monkeypatch.setattr(audit_adapter, "CHUNK", request.param)


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


def sql(insider: Any, statement: str, params: list[Any]) -> None:
    with insider.transaction() as cur:
        cur.execute(statement, params)


def events_table(insider: Any) -> tuple[str, str]:
    return insider.events_table, insider.position


def findings(application: CaseApplication) -> list[tuple[str, int | None]]:
    return [(p.kind, p.position) for p in application.audit.verify().problems]


def test_an_untouched_log_verifies(application: CaseApplication, log: list[int],
                                   paged: None) -> None:
    report = application.audit.verify()
    assert report.ok, report.problems
    assert report.events_checked == len(log) == 6
    assert report.checkpoint is not None
    assert report.checkpoint.tree_size == 6


def test_an_altered_payload_is_found_at_its_position(
        application: CaseApplication, log: list[int], insider: Any, paged: None) -> None:
    table, position = events_table(insider)
    sql(insider, f"UPDATE {table} SET state = %s WHERE {position} = %s",
        [b'{"amount": "1.00"}', log[4]])
    assert findings(application) == [("altered", log[4])]


def test_a_deleted_row_is_found_at_its_position(application: CaseApplication,
                                                log: list[int], insider: Any, paged: None) -> None:
    table, position = events_table(insider)
    sql(insider, f"DELETE FROM {table} WHERE {position} = %s", [log[2]])
    assert findings(application) == [("deleted", log[2])]


def test_two_swapped_rows_are_found_as_reordered(application: CaseApplication,
                                                 log: list[int], insider: Any, paged: None) -> None:
    table, position = events_table(insider)
    a, b = log[3], log[4]
    with insider.transaction() as cur:
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


def test_an_inserted_row_is_found_at_its_position(
        application: CaseApplication, log: list[int], insider: Any, paged: None) -> None:
    table, position = events_table(insider)
    with insider.transaction() as cur:
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
        application: CaseApplication, log: list[int], insider: Any) -> None:
    table, position = events_table(insider)
    forged = b'{"forged": true}'
    with insider.transaction() as cur:
        r = cur.execute(f"SELECT originator_id, originator_version, topic FROM {table} "
                        f"WHERE {position} = %s", [log[1]]).fetchone()
        assert r is not None
        cur.execute(f"UPDATE {table} SET state = %s WHERE {position} = %s", [forged, log[1]])
        case_id = str(r["originator_id"])
        if len(case_id) == 32:
            case_id = f"{case_id[:8]}-{case_id[8:12]}-{case_id[12:16]}-{case_id[16:20]}-" \
                      f"{case_id[20:]}"
        cur.execute("UPDATE audit_leaves SET leaf_hash = %s "
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
    statement = body["case_statement"]
    assert merkle.verify_case_history(body["events"], checkpoint, public_key, statement) == []
    tampered = [dict(body["events"][0], payload=base64.b64encode(b"{}").decode()),
                *body["events"][1:]]
    assert merkle.verify_case_history(tampered, checkpoint, public_key, statement) != []
    assert merkle.verify_case_history(body["events"][:1], checkpoint, public_key,
                                      statement) != []  # its last event dropped
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
    from case_service.application.audit import export_case

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


# ------------------------------------------------------------- checkpoints as signed notes


def test_the_newest_checkpoint_is_served_as_a_signed_note_under_the_published_key(
        as_: Any, row: Any, application: CaseApplication, log: list[int]) -> None:
    first = as_("auditor").get("/v1/audit/checkpoint")
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("text/plain")
    published = as_("auditor").get("/v1/audit/checkpoints").json()
    name, key = merkle.parse_verifier_key(published["verifier_key"])
    assert name == published["origin"] == "casetrail.example/case-log"
    assert key.hex() == published["public_key"]
    head = merkle.open_checkpoint_note(first.text, key, origin=name)
    assert (head.tree_size, head.root.hex()) == (6, published["checkpoints"][-1]["root"])
    assert first.text.splitlines()[:3] == [
        name, "6", base64.b64encode(head.root).decode()]

    as_("bank1").post("/v1/placements", json={"placement_ref": "P-NOTE",
                                              "accounts": [row("ACC-N")]})
    application.audit.checkpoint()
    newest = as_("admin").get("/v1/audit/checkpoint")
    assert merkle.open_checkpoint_note(newest.text, key, origin=name).tree_size == 7
    assert as_("auditor").get("/v1/audit/checkpoint", params={"size": 6}).text == first.text
    missing = as_("auditor").get("/v1/audit/checkpoint", params={"size": 5})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "checkpoint_not_found"
    assert as_("agency_a").get("/v1/audit/checkpoint").status_code == 403
    assert as_("bank1").get("/v1/audit/checkpoint").status_code == 403


def test_no_checkpoint_yet_answers_409_with_the_error_envelope(as_: Any) -> None:
    response = as_("auditor").get("/v1/audit/checkpoint")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_checkpoint"


def test_the_origin_of_the_notes_is_a_setting(database_url: str, common: Any) -> None:
    from case_service.bootstrap import build_application
    from case_service.config import CaseSettings

    app = build_application(CaseSettings(database_url=database_url,
                                         audit_origin="collections.bank.example/log"), common)
    try:
        checkpoint = app.audit.checkpoint()
        note = app.audit.note(checkpoint)
        assert note.startswith("collections.bank.example/log\n0\n")
        assert merkle.open_checkpoint_note(note, app.audit.public_key).origin == (
            "collections.bank.example/log")
        assert app.audit.verifier_key.startswith("collections.bank.example/log+")
    finally:
        app.close()
    with pytest.raises(ValueError, match="audit_origin"):
        CaseSettings(database_url=database_url, audit_origin="has space")


# ------------------------------------------------------------- trusted checkpoints


def delete_tail_and_checkpoints(insider: Any, first_deleted: int) -> None:
    """What an insider does to hide the last events: rows, leaves and every checkpoint."""
    table, position = events_table(insider)
    with insider.transaction() as cur:
        cur.execute(f"DELETE FROM {table} WHERE {position} >= %s", [first_deleted])
        cur.execute("DELETE FROM audit_leaves WHERE position >= %s",
                    [first_deleted])
        cur.execute("DELETE FROM audit_checkpoints")


def rewrite_event_and_leaf(insider: Any, at: int) -> None:
    """An insider's consistent rewrite of one event: the row and its leaf together."""
    table, position = events_table(insider)
    forged = b'{"forged": true}'
    with insider.transaction() as cur:
        r = cur.execute(f"SELECT originator_id, originator_version, topic FROM {table} "
                        f"WHERE {position} = %s", [at]).fetchone()
        assert r is not None
        cur.execute(f"UPDATE {table} SET state = %s WHERE {position} = %s", [forged, at])
        cur.execute("UPDATE audit_leaves SET leaf_hash = %s "
                    "WHERE position = %s",
                    [merkle.leaf_hash(at, str(UUID(str(r["originator_id"]))),
                                      int(r["originator_version"]), str(r["topic"]), forged),
                     at])


def kept_outside(application: CaseApplication) -> list[tuple[str, str]]:
    """The newest checkpoint as an auditor keeps it: the note and the JSON file."""
    checkpoint = application.audit.latest_checkpoint()
    assert checkpoint is not None
    as_json = json.dumps({**checkpoint.to_json(),
                          "public_key": application.audit.public_key.hex()})
    return [("kept.note", application.audit.note(checkpoint)), ("kept.json", as_json)]


def test_an_untouched_log_extends_every_trusted_checkpoint(application: CaseApplication,
                                                           log: list[int]) -> None:
    report = application.audit.verify(trusted=kept_outside(application))
    assert report.ok, report.problems
    assert report.trusted_checked == 2


def test_a_log_cut_back_with_its_checkpoints_deleted_fails_against_a_trusted_checkpoint(
        application: CaseApplication, log: list[int], insider: Any) -> None:
    trusted = kept_outside(application)
    delete_tail_and_checkpoints(insider, log[4])
    assert application.audit.verify().ok  # nothing inside the database shows it
    problems = application.audit.verify(trusted=trusted).problems
    assert [(p.kind, p.position) for p in problems] == [("trusted", None)] * 2
    assert all("only 4 leaves: it was cut back" in p.detail for p in problems)
    assert problems[0].detail.startswith("kept.note (size 6, root ")


def test_a_log_rewritten_and_signed_again_fails_against_a_trusted_checkpoint(
        as_: Any, row: Any, application: CaseApplication, log: list[int], insider: Any) -> None:
    trusted = kept_outside(application)
    rewrite_event_and_leaf(insider, log[1])
    delete_tail_and_checkpoints(insider, log[-1] + 1)  # only the checkpoints
    as_("bank1").post("/v1/placements", json={"placement_ref": "P-LATER",
                                              "accounts": [row("ACC-L")]})
    application.audit.checkpoint()  # the insider holds the signing key too
    assert application.audit.verify().ok
    problems = application.audit.verify(trusted=trusted).problems
    assert [p.kind for p in problems] == ["trusted", "trusted"]
    assert all("the first 6 stored leaves give another root: the log was rewritten"
               in p.detail for p in problems)


def test_deleted_checkpoint_rows_are_found_with_a_trusted_checkpoint(
        application: CaseApplication, log: list[int], insider: Any) -> None:
    trusted = kept_outside(application)[:1]
    delete_tail_and_checkpoints(insider, log[-1] + 1)
    problems = application.audit.verify(trusted=trusted).problems
    assert [p.kind for p in problems] == ["trusted"]
    assert "keeps no checkpoint of this size: checkpoint rows were deleted" in (
        problems[0].detail)


def test_a_trusted_checkpoint_must_be_signed_by_the_key(application: CaseApplication,
                                                       log: list[int]) -> None:
    note = kept_outside(application)[0][1]
    other_key, other_public = merkle.generate_signing_key()
    forged = merkle.sign_checkpoint_note(other_key, "casetrail.example/case-log", 1,
                                         bytes(32))
    altered = note.replace("\n6\n", "\n5\n")
    problems = application.audit.verify(trusted=[
        ("forged.note", forged), ("altered.note", altered), ("junk.note", "hello\n")]).problems
    assert [p.detail.split(":")[0] for p in problems] == [
        "forged.note", "altered.note", "junk.note"]
    assert all("not a checkpoint signed by the log's key" in p.detail for p in problems)
    # An auditor's own copy of the key overrides the configured one, for stored ones too.
    found = application.audit.verify(public_key=other_public).problems
    assert [(p.kind, "bad signature" in p.detail) for p in found] == [("checkpoint", True)]


def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, common: Any) -> None:
    """The environment `casetrail` reads: this test's database and keys."""
    monkeypatch.setenv("CASE_DATABASE_URL", database_url)
    monkeypatch.setenv("CASETRAIL_VAR_DIR", str(common.var_dir))
    monkeypatch.setenv("CASETRAIL_MASTER_KEY", common.master_key.get_secret_value())


def test_audit_verify_trusted_on_the_command_line_names_why_it_fails(
        application: CaseApplication, log: list[int], database_url: str, common: Any,
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, insider: Any) -> None:
    from casetrail import cli
    from typer.testing import CliRunner

    cli_env(monkeypatch, database_url, common)
    note_file = tmp_path / "kept.note"
    made = CliRunner().invoke(cli.app, ["audit", "checkpoint", "--format", "note",
                                        "--note", str(note_file)])
    assert made.exit_code == 0, made.output
    assert made.stdout == note_file.read_text() == kept_outside(application)[0][1]
    good = CliRunner().invoke(cli.app, ["audit", "verify", "--trusted", str(note_file),
                                        "--public-key", application.audit.verifier_key])
    assert good.exit_code == 0, good.output

    delete_tail_and_checkpoints(insider, log[3])
    assert CliRunner().invoke(cli.app, ["audit", "verify"]).exit_code == 0
    bad = CliRunner().invoke(cli.app, ["audit", "verify", "--trusted", str(note_file)])
    assert bad.exit_code == 1, bad.output
    assert "TRUSTED" in bad.stdout
    assert "only 3 leaves: it was cut back" in bad.stdout
    missing = CliRunner().invoke(cli.app, ["audit", "verify", "--trusted",
                                           str(tmp_path / "nowhere.note")])
    assert missing.exit_code == 2


# ------------------------------------------------------------- consistency of any size


def test_consistency_is_served_between_any_sizes_even_without_stored_checkpoints(
        as_: Any, application: CaseApplication, log: list[int], insider: Any) -> None:
    leaves = application.audit.leaf_hashes()
    delete_tail_and_checkpoints(insider, log[-1] + 1)
    for old, new in [(0, 6), (1, 6), (2, 5), (3, 3), (6, 6), (4, 6), (5, 6)]:
        response = as_("auditor").get("/v1/audit/consistency",
                                       params={"old_size": old, "new_size": new})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["old"], body["new"]) == (None, None)
        assert merkle.verify_consistency(old, new, merkle.root(leaves[:old]),
                                         merkle.root(leaves[:new]),
                                         [bytes.fromhex(h) for h in body["proof"]])


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"old_size": 2, "new_size": 7}, 404, "size_not_in_log"),
    ({"old_size": 1, "new_size": 10**30}, 404, "size_not_in_log"),
    ({"old_size": 5, "new_size": 3}, 422, "validation_error"),
    ({"old_size": -1, "new_size": 3}, 422, "validation_error"),
    ({"old_size": "x", "new_size": 3}, 422, "validation_error"),
    ({"old_size": 1}, 422, "validation_error"),
])
def test_a_consistency_request_the_log_cannot_answer_is_a_4xx_with_the_envelope(
        as_: Any, log: list[int], params: dict[str, Any], status: int, code: str) -> None:
    response = as_("auditor").get("/v1/audit/consistency", params=params)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


# ------------------------------------------------------------- malformed rows


@pytest.mark.parametrize("kind", ["text_state", "null_state", "non_uuid_originator"])
def test_a_malformed_row_is_a_finding_at_its_position_and_the_scan_goes_on(
        application: CaseApplication, log: list[int], kind: str, database_url: str,
        common: Any, monkeypatch: pytest.MonkeyPatch, insider: Any, paged: None) -> None:
    from casetrail import cli
    from typer.testing import CliRunner

    table, position = events_table(insider)
    pg = insider.postgres
    with insider.transaction() as cur:
        if kind == "null_state":
            cur.execute(f"UPDATE {table} SET state = NULL WHERE {position} = %s", [log[1]])
        elif kind == "text_state" and pg:  # the column itself must change type on PostgreSQL
            cur.execute(f"ALTER TABLE {table} ALTER COLUMN state TYPE text "
                        "USING encode(state, 'escape')")
        elif kind == "text_state":
            cur.execute(f"UPDATE {table} SET state = CAST(state AS TEXT) WHERE {position} = %s",
                        [log[1]])
        else:
            if pg:
                cur.execute(f"ALTER TABLE {table} ALTER COLUMN originator_id TYPE text")
            cur.execute(f"UPDATE {table} SET originator_id = 'not-a-uuid' "
                        f"WHERE {position} = %s", [log[1]])
        cur.execute(f"DELETE FROM {table} WHERE {position} = %s", [log[4]])
    problems = application.audit.verify().problems
    found = [(p.kind, p.position) for p in problems]
    if kind == "text_state" and pg:  # every row is now TEXT
        assert found == [("malformed", p) for p in log[:4]] + [("deleted", log[4]),
                                                                ("malformed", log[5])]
    else:
        assert found == [("malformed", log[1]), ("deleted", log[4])]
    assert {"text_state": "state is stored as TEXT", "null_state": "state is NULL",
            "non_uuid_originator": "originator id 'not-a-uuid' is not a UUID"}[kind] in (
        problems[1 if kind == "text_state" and pg else 0].detail)

    cli_env(monkeypatch, database_url, common)
    result = CliRunner().invoke(cli.app, ["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # an answer, not a traceback
    assert f"MALFORMED  position {log[1]}:" in result.stdout
    assert f"DELETED    position {log[4]}:" in result.stdout


def test_text_that_is_not_utf8_in_any_column_is_a_finding_on_sqlite(
        application: CaseApplication, log: list[int], insider: Any) -> None:
    if insider.postgres:
        pytest.skip("PostgreSQL refuses text that is not valid in its encoding")
    table, position = events_table(insider)
    with insider.transaction() as cur:
        cur.execute(f"UPDATE {table} SET state = CAST(X'FF00FE' AS TEXT) WHERE {position} = %s",
                    [log[0]])
        cur.execute(f"UPDATE {table} SET topic = CAST(X'C3' AS TEXT) WHERE {position} = %s",
                    [log[2]])
        cur.execute("UPDATE audit_leaves "
                    "SET leaf_hash = CAST(X'FF' AS TEXT) WHERE position = %s", [log[3]])
    assert findings(application) == [("malformed", log[0]), ("malformed", log[2]),
                                     ("malformed", log[3]), ("checkpoint", None)]


# ------------------------------------------------------------- exports an auditor can trust


def test_a_regulator_export_cut_short_fails_and_one_past_its_checkpoint_is_partial(
        as_: Any, application: CaseApplication, log: list[int], tmp_path: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    from case_service.application.audit import export_case

    case_id = str(application.events_after(0, 1)[0].case_id)
    checkpoint = application.audit.latest_checkpoint()
    assert checkpoint is not None
    public_key = application.audit.public_key.hex()
    data, _ = export_case(application, case_id, checkpoint, tmp_path / "export")
    head = json.loads(data.read_text().splitlines()[0])
    assert head["case_statement"]["event_count"] == 2
    short = tmp_path / "short.jsonl"
    short.write_text("\n".join(data.read_text().splitlines()[:-1]) + "\n")
    assert merkle.main(["verify-export", str(short), "--public-key", public_key]) == 1
    assert "holds 1 of the 2 event(s)" in capsys.readouterr().out

    r = as_("agency_a").post(f"/v1/cases/{case_id}/contacts", json={
        "contact_id": "late", "channel": "phone", "party": "debtor",
        "outcome": "conversation", "action_code": "PTP",
        "occurred_at": "2026-01-06T03:00:00+00:00"})
    assert r.status_code == 201, r.text
    newer, _ = export_case(application, case_id, checkpoint, tmp_path / "newer")
    assert merkle.main(["verify-export", str(newer), "--public-key", public_key]) == 3
    out = capsys.readouterr().out  # after the service's request log lines, if they go there
    assert re.search(r"(?m)^PARTIAL \(1 event unproven\): ", out), out
    assert not re.search(r"(?m)^VERIFIED", out), out


# ------------------------------------------------------------- the witness against the service


def test_the_witness_keeps_a_growing_log_and_refuses_a_rewritten_one(
        client: Any, api_keys: dict[str, str], as_: Any, row: Any,
        application: CaseApplication, log: list[int], tmp_path: Any, insider: Any) -> None:
    from casetrail.witness import Witness, WitnessError

    client.headers["Authorization"] = f"Bearer {api_keys['auditor']}"
    state = tmp_path / "witness"
    key = application.audit.verifier_key
    assert Witness(client, state, public_key=key).run().outcome == "first"
    as_("bank1").post("/v1/placements", json={"placement_ref": "P-W1",
                                              "accounts": [row("ACC-W1")]})
    application.audit.checkpoint()
    grown = Witness(client, state).run()
    assert (grown.outcome, grown.checkpoint.tree_size) == ("grew", 7)

    rewrite_event_and_leaf(insider, log[2])
    delete_tail_and_checkpoints(insider, log[-1] + 100)
    as_("bank1").post("/v1/placements", json={"placement_ref": "P-W2",
                                              "accounts": [row("ACC-W2")]})
    application.audit.checkpoint()
    assert application.audit.verify().ok  # the database agrees with itself
    kept = (state / "checkpoint.note").read_text()
    with pytest.raises(WitnessError, match="rewritten"):
        Witness(client, state).run()
    assert (state / "checkpoint.note").read_text() == kept
