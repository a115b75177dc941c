"""End to end: an auditor's witness on its own machine follows the running case service over
HTTP, and what it kept catches an insider who cut the log back and signed it again.

The case service runs as a process on SQLite; the witness, `audit checkpoint` and `audit
verify --trusted` run as the `casetrail` command line. The insider edits the database file
directly, with SQL, as someone with access to it would.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from casetrail import merkle

from tests.e2e.harness import System, placement

pytestmark = pytest.mark.e2e


def test_the_witness_keeps_what_it_verified_and_catches_a_log_cut_back(
        embedded: System, tmp_path: Path) -> None:
    system = embedded
    system.cli("migrate", "case")
    case_url = system.serve("case")
    creditor = system.client(case_url, "creditor")
    state = tmp_path / "witness"
    witness = ["audit", "witness", "--url", case_url, "--state", str(state),
               "--api-key", system.keys["auditor"]]

    assert creditor.post("/v1/placements", json=placement(4)).status_code == 201
    system.cli("audit", "checkpoint")
    first = system.cli(*witness)
    assert first.stdout.count("TRUST ON FIRST USE") == 2, first.stdout
    assert "kept: casetrail.example/case-log size 4 root " in first.stdout

    more = placement(7)
    more["placement_ref"] = "E2E-2"
    assert creditor.post("/v1/placements", json=more).status_code == 201
    system.cli("audit", "checkpoint")
    grown = system.cli(*witness)
    assert "verified: casetrail.example/case-log size 7 root " in grown.stdout, grown.stdout
    assert "extends the kept casetrail.example/case-log size 4" in grown.stdout
    kept = sorted(str(p) for p in (state / "notes").iterdir())
    assert [Path(p).name for p in kept] == ["4.note", "7.note"]
    trusted = [arg for path in kept for arg in ("--trusted", path)]
    assert system.cli("audit", "verify", *trusted, check=False).returncode == 0

    # The insider deletes the last two events, their leaves and every checkpoint, then signs
    # a checkpoint of the shortened log with the service's own key.
    with sqlite3.connect(tmp_path / "case.db") as db:
        last = db.execute("SELECT max(rowid) FROM stored_events").fetchone()[0]
        db.execute("DELETE FROM stored_events WHERE rowid > ?", [last - 2])
        db.execute("DELETE FROM audit_leaves WHERE position > ?", [last - 2])
        db.execute("DELETE FROM audit_checkpoints")
    system.cli("audit", "checkpoint")
    assert system.cli("audit", "verify", check=False).returncode == 0  # it agrees with itself

    note_before = (state / "checkpoint.note").read_text()
    refused = system.cli(*witness, check=False)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "FAILED: the log was cut back: its newest checkpoint has 5 leaves" in refused.stdout
    assert (state / "checkpoint.note").read_text() == note_before
    evidence = list((state / "rejected").iterdir())
    assert len(evidence) == 1
    key = merkle.parse_verifier_key((state / "verifier-key").read_text())[1]
    assert merkle.open_checkpoint_note(evidence[0].read_text(), key).tree_size == 5

    checked = system.cli("audit", "verify", *trusted, check=False)
    assert checked.returncode == 1
    assert "TRUSTED" in checked.stdout
    assert "7.note (size 7, root " in checked.stdout
    assert "the stored log has only 5 leaves: it was cut back" in checked.stdout
