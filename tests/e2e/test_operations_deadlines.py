"""End to end, issue 21: what falls due when nobody posts it, on both transports.

A placement term ends under the creditor's `on_term_end: scorecard` rule (item 11), a
complaint's acknowledgement is not given in time (item 1), and a contact is entered days after
it happened (item 9). The deadline worker runs as a
process of its own, three days ahead of real time (`CASETRAIL_CLOCK_OFFSET=P3D`,
docs/time.md), exactly as the services would run it then: each fact lands in the history as
of its deadline, the case list and the contact service's read models show it, and rebuilds of
both reproduce every figure.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.harness import System
from tests.e2e.test_operations import (
    CREDITOR,
    ZONE,
    Run,
    clear_of_midnight,
    consumed,
    created,
    eventually,
    iso,
    now,
    rebuild,
    start,
)

pytestmark = pytest.mark.e2e

HOLDER, CHAMPION, CHALLENGER = "AG-E2E", "AG-OTHER", "AG-B"
OFFSET = timedelta(days=3)
RULES: dict[str, Any] = {
    "buckets": {"M2": [{"agency_id": a, "weight": 1} for a in (HOLDER, CHAMPION, CHALLENGER)]},
    "default_term_days": 30, "timezone": ZONE, "on_term_end": "scorecard",
    "scorecard": {"champion_weight": 80},
    "complaints": {"acknowledge_hours": 24, "investigate_days": 7, "resolve_days": 15},
}
# The book the scorecard measures: each agency's M2 cases of the creditor, 1,000.00 placed
# and some of it paid back (creditor-direct payments count as the case's recovery).
BOOK = [(CHAMPION, "500.00"), (CHAMPION, "500.00"), (CHALLENGER, "100.00"),
        (CHALLENGER, "100.00")]


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def place(run: Run, term_end: datetime) -> None:
    """The book, the case whose term ends tomorrow (ROT) and one with a complaint (CMP)."""
    far = (now() + timedelta(days=200)).date().isoformat()
    tomorrow = term_end.date().isoformat()
    rows = [(f"BOOK-{i}", agency, far) for i, (agency, _) in enumerate(BOOK)]
    rows += [("ROT", HOLDER, tomorrow), ("CMP", HOLDER, far)]
    accounts = [{"account_ref": ref, "agency_id": agency, "currency": "CNY", "dpd": 45,
                 "balances": {"principal": "1000.00"}, "term_end": term_end_day,
                 "debtor": {"name": f"债务人{i}", "national_id": f"11010119800101{i:04d}",
                            "phones": [f"+86 139 1111 {i:04d}"], "timezone": ZONE}}
                for i, (ref, agency, term_end_day) in enumerate(rows)]
    creditor = run.case("creditor")
    assert creditor.put(f"/v1/creditors/{CREDITOR}/allocation-rules",
                        json=RULES).status_code == 200
    placed = creditor.post("/v1/placements", json={"placement_ref": "DUE-1",
                                                   "accounts": accounts})
    assert placed.status_code == 201, placed.text
    run.ids = {row["account_ref"]: row["case_id"] for row in placed.json()["accepted"]}
    assert len(run.ids) == len(rows), placed.json()
    for i, (_, amount) in enumerate(BOOK):
        created(creditor.post(f"/v1/cases/{run.ids[f'BOOK-{i}']}/payments", json={
            "reference": f"PAY-BOOK-{i}", "amount": amount, "currency": "CNY",
            "source": "creditor_direct", "received_at": iso(now())}), "PaymentReceived")


def late_entries(run: Run) -> dict[str, datetime]:
    """A complaint nobody acknowledges, and a contact entered two days after it was made (a
    complaint cannot precede its case's placement; a contact can, flagged
    `before_placement`)."""
    agency, case_id = run.case("agency"), run.ids["CMP"]
    received = now()
    created(agency.post(f"/v1/cases/{case_id}/complaints", json={
        "complaint_id": "CMP-LATE", "channel": "phone", "category": "amount",
        "received_at": iso(received)}), "ComplaintReceived")
    made = now() - timedelta(days=2)
    created(agency.post(f"/v1/cases/{case_id}/contacts", json={
        "contact_id": "c-late", "channel": "phone", "direction": "outbound", "party": "none",
        "outcome": "no_answer", "action_code": "NOANS", "agent_id": "COL-9",
        "contact_point": "+86 139 1111 0005", "occurred_at": iso(made)}), "Contacted")
    return {"received": received, "made": made}


def run_deadlines(run: Run) -> str:
    """`casetrail deadlines --once` as a process of its own, three days ahead."""
    done = run.system.cli("deadlines", "--once", check=False,
                          CASETRAIL_CLOCK_OFFSET=f"P{OFFSET.days}D")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def check_history(run: Run, term_end: datetime, times: dict[str, datetime]) -> str:
    """The rotation and the missed acknowledgement, each as of its deadline; returns the
    agency the case moved to."""
    auditor = run.case("auditor")
    rot = ok(auditor.get(f"/v1/cases/{run.ids['ROT']}/history"))["events"]
    moved, card = rot[-2:]
    assert (moved["type"], card["type"]) == ("Reassigned", "ReallocatedByScorecard")
    deadline = datetime.combine(term_end.date() + timedelta(days=1), datetime.min.time(),
                                ZoneInfo(ZONE))
    to_agency = moved["data"]["to_agency_id"]
    assert to_agency in (CHAMPION, CHALLENGER)  # never back to the agency it leaves
    assert card["data"]["to_agency_id"] == to_agency
    assert datetime.fromisoformat(card["data"]["reallocated_at"]) == deadline
    scorecard = card["data"]["scorecard"]
    assert (scorecard["bucket"], scorecard["currency"]) == ("M2", "CNY")
    assert [(a["agency_id"], a["role"], a["weight"], a["cases"], a["recovery_rate"])
            for a in scorecard["agencies"]] == [
        (CHAMPION, "champion", 80, 2, "0.5000"), (CHALLENGER, "challenger", 20, 2, "0.1000")]
    view = ok(run.case("creditor").get(f"/v1/cases/{run.ids['ROT']}"))
    assert view["agency_id"] == to_agency
    assert view["term_end"] == (deadline.date() + timedelta(days=29)).isoformat()

    cmp = ok(auditor.get(f"/v1/cases/{run.ids['CMP']}/history"))["events"]
    [missed] = [e["data"] for e in cmp if e["type"] == "ComplaintDeadlineMissed"]
    assert (missed["complaint_id"], missed["step"]) == ("CMP-LATE", "acknowledge")
    assert datetime.fromisoformat(missed["due_at"]) == times["received"] + timedelta(hours=24)
    [complaint] = ok(run.case("creditor").get(f"/v1/cases/{run.ids['CMP']}"))["complaints"]
    assert (complaint["open"], complaint["missed"]) == (True, ["acknowledge"])
    # run again: nothing more is due, nothing recorded twice
    assert run_deadlines(run) == "0 fact(s) recorded"
    return str(to_agency)


def read_figures(run: Run, mark: datetime) -> dict[str, Any]:
    """The figures these facts feed, read with fixed parameters."""
    auditor, creditor = run.contact("auditor"), run.contact("creditor")
    period = {"from": iso(run.started - timedelta(days=3)), "to": iso(mark)}
    ahead = iso(mark + OFFSET)
    return {
        "complaints": ok(creditor.get("/v1/complaints", params={"limit": 100}))["complaints"],
        "timeliness": ok(auditor.get(f"/v1/agencies/{HOLDER}/timeliness", params=period)),
        "sla": {agency: ok(auditor.get("/v1/sla", params={"agency_id": agency,
                                                          "as_of": ahead}))
                for agency in (HOLDER, CHAMPION, CHALLENGER)},
        "cases": ok(run.case("creditor").get("/v1/cases", params={
            "creditor_id": CREDITOR, "limit": 100}))["items"],
    }


def check_figures(run: Run, figures: dict[str, Any], to_agency: str) -> None:
    [complaint] = figures["complaints"]
    assert (complaint["complaint_id"], complaint["status"], complaint["overdue"]) == (
        "CMP-LATE", "open", True)
    assert complaint["missed_steps"] == ["acknowledge"]
    report = figures["timeliness"]
    assert (report["agency"]["late_entries"], report["agency"]["late_reports"]) == (1, 0)
    assert [(row["ref"], row["reason"]) for row in report["late"]] == [("c-late", "late_entry")]
    holders = {agency: {c["case_id"] for c in page["cases"]}
               for agency, page in figures["sla"].items()}
    assert run.ids["ROT"] in holders[to_agency]
    assert run.ids["ROT"] not in holders[HOLDER]
    listed = {c["case_id"]: c for c in figures["cases"]}
    assert listed[run.ids["ROT"]]["agency_id"] == to_agency
    assert {listed[run.ids[f"BOOK-{i}"]]["agency_id"] for i in range(4)} == {
        CHAMPION, CHALLENGER}


def caught_up(run: Run, to_agency: str) -> Any:
    def ok_(figures: dict[str, Any]) -> bool:
        holders = {c["case_id"] for c in figures["sla"][to_agency]["cases"]}
        return (run.ids["ROT"] in holders
                and any(c["overdue"] for c in figures["complaints"])
                and figures["timeliness"]["agency"]["late_entries"] == 1)
    return ok_


def run_deadline_scenario(system: System, *, relay: bool, transport: str) -> None:
    clear_of_midnight()
    run = start(system, relay=relay, transport=transport)
    term_end = datetime.now(ZoneInfo(ZONE)) + timedelta(days=1)
    place(run, term_end)
    times = late_entries(run)
    out = run_deadlines(run)
    assert out == "3 fact(s) recorded", out  # the move, its scorecard, the miss
    to_agency = check_history(run, term_end, times)
    mark = now()
    logged = sum(len(ok(run.case("auditor").get(f"/v1/cases/{case_id}/history"))["events"])
                 for case_id in run.ids.values())
    eventually(system, lambda: consumed(run), lambda n: n >= logged)
    figures = eventually(system, lambda: read_figures(run, mark), caught_up(run, to_agency))
    check_figures(run, figures, to_agency)

    consumer = system.process("consumer")
    consumer.terminate()
    assert consumer.wait(timeout=30) == 0, system.log("consumer")
    for source in (transport, "log"):
        out = rebuild(run, "contact-log", "--verify", "--transport", source)
        assert "verified" in out, out
        assert "DIFFERS" not in out, out
    out = rebuild(run, "case-summaries", "--verify")
    assert "verified" in out, out
    assert "DIFFERS" not in out, out
    assert read_figures(run, mark) == figures
    rebuild(run, "contact-log", "--swap", "--transport", transport)
    rebuild(run, "case-summaries", "--swap")
    assert read_figures(run, mark) == figures
    for client in run.clients.values():
        client.close()


def test_deadlines_record_a_scorecard_rotation_and_a_missed_step_on_the_embedded_transport(
        embedded: System) -> None:
    run_deadline_scenario(embedded, relay=False, transport="feed")


@pytest.mark.kafka
def test_deadlines_record_a_scorecard_rotation_and_a_missed_step_through_kafka(
        on_kafka: System) -> None:
    run_deadline_scenario(on_kafka, relay=True, transport="kafka")
