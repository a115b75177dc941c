"""End to end: every service as its own process, HTTP in, results out.

Embedded: case API + contact API + `casetrail consume contact-log` pulling the event feed,
all on SQLite. Kafka: the same plus `casetrail relay`, on PostgreSQL and the real broker.
"""

from __future__ import annotations

import re
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from casetrail.projections.store import make_engine

from tests.e2e.harness import System, placement

pytestmark = pytest.mark.e2e


def run_scenario(system: System, *, relay: bool) -> None:
    system.cli("migrate", "case")  # once, before any process starts (as in production)
    system.cli("migrate", "contact")
    case_url = system.serve("case")
    contact_url = system.serve("contact")
    system.env["CASE_EVENTS_URL"] = case_url
    workers = {"consumer": system.start_worker("consumer", "consume", "contact-log")}
    if relay:
        workers["relay"] = system.start_worker("relay", "relay")
    creditor, agency = system.client(case_url, "creditor"), system.client(case_url, "agency")

    placed = creditor.post("/v1/placements", json=placement(20))
    assert placed.status_code == 201, placed.text
    case_ids = [row["case_id"] for row in placed.json()["accepted"]]
    occurred = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    for i, case_id in enumerate(case_ids):
        r = agency.post(f"/v1/cases/{case_id}/contacts", json={
            "contact_id": f"call-{i}", "channel": "phone", "direction": "outbound",
            "party": "debtor" if i % 2 else "none", "outcome": "conversation" if i % 2
            else "no_answer", "action_code": "PTP" if i % 2 else "NOANS",
            "agent_id": "agent-1", "recording_ref": f"rec-{i}",
            "contact_point": f"+86139000{i:05d}", "occurred_at": occurred})
        assert r.status_code == 201, r.text

    contacts = system.client(contact_url, "agency")
    deadline = time.monotonic() + 90
    listed: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        system.assert_running()
        listed = contacts.get("/v1/contacts", params={"limit": 100}).json()["contacts"]
        if len(listed) == 20:
            break
        time.sleep(0.3)
    assert len(listed) == 20, system.log("consumer")
    assert {c["recording_ref"] for c in listed} == {f"rec-{i}" for i in range(20)}
    # Numbers never leave the case service: an opaque reference and a masked hint do.
    assert all(c["contact_point"].startswith("cp-") for c in listed)
    assert all(c["contact_point_hint"].startswith("*") for c in listed)
    nothing = system.client(contact_url, "other_agency").get("/v1/contacts").json()
    assert nothing["contacts"] == []  # another agency sees none of them
    audited = system.client(contact_url, "auditor").get(
        "/v1/contacts", params={"action_code": "PTP"}).json()["contacts"]
    assert len(audited) == 10
    history = system.client(case_url, "auditor").get(f"/v1/cases/{case_ids[0]}/history").json()
    contacted = [e for e in history["events"] if e["type"] == "Contacted"]
    assert contacted[0]["data"]["contact_point"] == "+8613900000000"  # auditors may read it

    for name, ops in workers.items():  # workers report readiness and metrics on their port
        ready = httpx.get(f"{ops}/readyz", timeout=5)
        assert ready.status_code == 200, (name, ready.text)
        metrics = httpx.get(f"{ops}/metrics", timeout=5).text
        expected = "casetrail_relay_position" if name == "relay" else \
            'casetrail_consumer_events_applied_total{projection="contact-log"} 40.0'
        assert expected in metrics, name
    case_metrics = system.client(case_url, "auditor").get("/metrics").text
    assert 'casetrail_events_appended_total{type="Contacted"} 20.0' in case_metrics

    check_rebuild(system)

    # SIGTERM: everything finishes the work in hand and exits by itself (uvicorn re-raises the
    # signal after its graceful shutdown, so servers report -SIGTERM; workers exit 0).
    codes = system.stop()
    assert None not in codes.values(), f"killed after the grace period: {codes}"
    assert all(code in (0, -signal.SIGTERM) for code in codes.values()), codes
    for worker in ("consumer", "relay"):
        assert codes.get(worker, 0) == 0, system.log(worker)


def test_contacts_flow_from_the_case_api_to_the_contact_log_on_the_embedded_transport(
        embedded: System) -> None:
    run_scenario(embedded, relay=False)


@pytest.mark.kafka
def test_contacts_flow_from_the_case_api_to_the_contact_log_through_kafka(
        on_kafka: System) -> None:
    run_scenario(on_kafka, relay=True)


def check_rebuild(system: System) -> None:
    """`casetrail projections rebuild`: the shadow equals the live copy; a tampered live copy
    is caught, and swapping the shadow in repairs it."""
    consumer = system.process("consumer")
    consumer.send_signal(signal.SIGTERM)
    assert consumer.wait(timeout=30) == 0
    clean = system.cli("projections", "rebuild", "contact-log", "--verify", check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "verified" in clean.stderr

    engine = make_engine(system.env["CONTACT_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM contacts WHERE contact_id = 'call-3'"))
        conn.execute(sa.text("UPDATE contact_cases SET agency_id = 'AG-FORGED' "
                             "WHERE case_id IN (SELECT case_id FROM contact_cases LIMIT 1)"))
    # Straight from the event store this time (the case service's CASE_DATABASE_URL).
    caught = system.cli("projections", "rebuild", "contact-log", "--verify", "--transport", "log",
                        check=False)
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert "DIFFERS contacts" in caught.stdout
    assert "DIFFERS contact_cases" in caught.stdout
    system.cli("projections", "rebuild", "contact-log", "--swap")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM contacts")).scalar() == 20
        assert conn.execute(sa.text(
            "SELECT count(*) FROM contact_cases WHERE agency_id = 'AG-FORGED'")).scalar() == 0
    engine.dispose()
    again = system.cli("projections", "rebuild", "contact-log", "--verify", check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    check_case_list_rebuild(system)


def check_case_list_rebuild(system: System) -> None:
    """The case list the case service wrote beside its events is what the log implies; a
    forged row is caught, and swapping the replayed list in repairs it."""
    clean = system.cli("projections", "rebuild", "case-summaries", "--verify", check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "verified" in clean.stderr
    password = sa.engine.make_url(system.env["CASE_DATABASE_URL"]).password
    # "shadow built: <url>" masks the password (here the same word as the user and database).
    assert not password or f":{password}@" not in clean.stdout + clean.stderr
    engine = make_engine(system.env["CASE_DATABASE_URL"])
    with engine.begin() as conn:
        forged = conn.execute(sa.text(
            "UPDATE case_summaries SET outstanding = '0.00', status = 'closed' "
            "WHERE case_id IN (SELECT case_id FROM case_summaries LIMIT 1) "
            "RETURNING case_id")).scalar_one()
    caught = system.cli("projections", "rebuild", "case-summaries", "--verify", check=False)
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert "DIFFERS case_summaries" in caught.stdout
    assert forged in caught.stdout
    refused = system.cli("projections", "rebuild", "case-summaries", "--transport", "kafka",
                         check=False)
    assert refused.returncode == 2  # a usage error, worded in a box that may wrap lines:
    assert "rebuilt from the event store" in " ".join(re.findall(r"[\w-]+", refused.stderr))
    system.cli("projections", "rebuild", "case-summaries", "--swap")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM case_summaries WHERE case_id = :c"),
                            {"c": forged}).scalar_one() != "closed"
    engine.dispose()
