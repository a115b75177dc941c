"""End to end, issue 21: one scenario per collection workflow, on both transports.

HTTP in (the case service's workflow endpoints), facts in the history, figures out of the read
models (the contact service's complaints, contact KPIs, service levels and timeliness; the case
service's provisioning report and case list). At the end a rebuild of the contact log and of the
case list verifies against the live copies, and every figure read before is read again, equal,
after the verification and after swapping the rebuilt copies in.

One System per transport (the fixtures are per test), the workflows in sequence, each in a
function of its own (docs/operations-guide.md, docs/contact-operations.md, docs/provisioning.md).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from casetrail.projections.store import make_engine

from tests.e2e.harness import System

pytestmark = pytest.mark.e2e

CREDITOR, AGENCY = "BANK-E2E", "AG-E2E"
ZONE = "Asia/Shanghai"
CODES = ["PTP", "NOANS", "REFUSE", "VISIT"]
RATES = {"M1": "0.05", "M2": "0.25", "M3": "0.5", "M4+": "1"}
RULES: dict[str, Any] = {
    "buckets": {"M3": [{"agency_id": AGENCY, "weight": 1}]},
    "timezone": ZONE,
    "complaints": {"acknowledge_hours": 24, "investigate_days": 7, "resolve_days": 15,
                   "hold_categories": ["conduct", "frequency"]},
    "settlement_limits": {"max_discount_pct": "20", "max_deferral_days": 60},
    "action_codes": [{"code": "PTP", "label": "承诺还款"}, {"code": "NOANS", "label": "无人接听"},
                     {"code": "REFUSE", "label": "拒绝还款"}, {"code": "VISIT", "label": "外访"}],
    "provision_rates": RATES,
}
# One account per workflow: (dpd, balances, debtor name). Default scheme: M1 1-30, M2 31-60,
# M3 61-90, M4+ 91+; each DPD sits mid-bucket, so a day's ageing moves none of them.
ACCOUNTS: dict[str, tuple[int, dict[str, str], str]] = {
    "complaint": (75, {"principal": "5000.00", "interest": "120.50"}, "李娜"),
    "visit": (15, {"principal": "1000.00"}, "王芳"),
    "settle": (45, {"principal": "2000.00"}, "刘洋"),
    "codes": (120, {"principal": "3000.00", "fees": "50.00"}, "张三"),
}
ADDRESS = "北京市朝阳区某路 1 号"
LATER_DEADLINES = {"acknowledge_hours": 48, "investigate_days": 10, "resolve_days": 20}

T = TypeVar("T")


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Run:
    """One transport's system and what the workflows left behind to check."""

    system: System
    case_url: str
    contact_url: str
    transport: str  # the consumers' transport, for `projections rebuild --transport`
    started: datetime = field(default_factory=now)
    ids: dict[str, str] = field(default_factory=dict)
    hold_at: datetime | None = None  # an instant while CMP-1 held contact on "complaint"
    mark: datetime | None = None  # after every write: the fixed "now" of the figures
    consumer_ops: str = ""  # the contact-log consumer's metrics
    clients: dict[tuple[str, str], httpx.Client] = field(default_factory=dict)

    def case(self, who: str) -> httpx.Client:
        return self._client(self.case_url, who)

    def contact(self, who: str) -> httpx.Client:
        return self._client(self.contact_url, who)

    def _client(self, url: str, who: str) -> httpx.Client:
        if (url, who) not in self.clients:
            self.clients[url, who] = self.system.client(url, who)
        return self.clients[url, who]

    def history(self, name: str) -> list[dict[str, Any]]:
        got = self.case("auditor").get(f"/v1/cases/{self.ids[name]}/history")
        assert got.status_code == 200, got.text
        events: list[dict[str, Any]] = got.json()["events"]
        return events

    def types(self, name: str) -> list[str]:
        return [e["type"] for e in self.history(name)]


def created(response: httpx.Response, *events: str) -> dict[str, Any]:
    """A step recorded now (201), with the events it recorded when given."""
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    if events:
        assert body["events"] == list(events), body
    return body


def eventually(system: System, read: Callable[[], T], ok: Callable[[T], bool],
               seconds: float = 90) -> T:
    """Read until `ok` holds (the contact service trails the case log by the consumer lag:
    until it has the case, a read may even answer 404)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = read()
            if ok(value):
                return value
            seen: object = value
        except AssertionError as exc:
            seen = exc
        assert time.monotonic() < deadline, f"never reached: {seen}\n{system.log('consumer')}"
        system.assert_running()
        time.sleep(0.3)


def start(system: System, *, relay: bool, transport: str) -> Run:
    system.cli("migrate", "case")
    system.cli("migrate", "contact")
    case_url = system.serve("case")
    contact_url = system.serve("contact")
    system.env["CASE_EVENTS_URL"] = case_url
    consumer_ops = system.start_worker("consumer", "consume", "contact-log")
    if relay:
        system.start_worker("relay", "relay")
    return Run(system, case_url, contact_url, transport, consumer_ops=consumer_ops)


def consumed(run: Run) -> int:
    """Events the contact-log consumer has taken in (applied or skipped as duplicates)."""
    try:
        metrics = httpx.get(f"{run.consumer_ops}/metrics", timeout=5).text
    except httpx.HTTPError:  # its ops endpoints not listening yet
        return -1
    return sum(int(float(m)) for m in re.findall(
        r'^casetrail_consumer_(?:events_applied|duplicates)_total\{projection="contact-log"\} '
        r"(\S+)$", metrics, re.MULTILINE))


# ------------------------------------------------------------------------ 1. creditor rules


def creditor_rules(run: Run) -> None:
    """The creditor's one versioned rules document, then a placement of one account per
    workflow."""
    creditor = run.case("creditor")
    stored = creditor.put(f"/v1/creditors/{CREDITOR}/allocation-rules", json=RULES)
    assert stored.status_code == 200, stored.text
    rules = creditor.get(f"/v1/creditors/{CREDITOR}/allocation-rules").json()
    assert [c["code"] for c in rules["action_codes"]] == CODES
    assert rules["complaints"]["hold_categories"] == ["conduct", "frequency"]
    assert Decimal(rules["settlement_limits"]["max_discount_pct"]) == 20
    assert {k: Decimal(v) for k, v in rules["provision_rates"].items()} == {
        k: Decimal(v) for k, v in RATES.items()}
    assert run.case("agency").put(f"/v1/creditors/{CREDITOR}/allocation-rules",
                                  json=RULES).status_code == 403  # the creditor's own

    accounts = [{
        "account_ref": f"OPS-{name}", "agency_id": AGENCY, "currency": "CNY",
        "balances": balances, "dpd": dpd,
        "debtor": {"name": debtor, "national_id": f"11010119900101{i:04d}",
                   "phones": [f"+86 139 0000 {i:04d}"], "address": ADDRESS,
                   "email": f"debtor{i}@example.com", "timezone": ZONE}}
        for i, (name, (dpd, balances, debtor)) in enumerate(ACCOUNTS.items())]
    placed = creditor.post("/v1/placements", json={"placement_ref": "OPS-1",
                                                   "accounts": accounts})
    assert placed.status_code == 201, placed.text
    accepted = placed.json()["accepted"]
    assert len(accepted) == len(ACCOUNTS), placed.json()
    by_ref = {row["account_ref"]: row["case_id"] for row in accepted}
    run.ids = {name: by_ref[f"OPS-{name}"] for name in ACCOUNTS}
    for name, (dpd, balances, _) in ACCOUNTS.items():
        view = creditor.get(f"/v1/cases/{run.ids[name]}").json()
        assert (view["agency_id"], view["status"], view["dpd_at_placement"]) == (
            AGENCY, "placed", dpd), view
        assert Decimal(view["outstanding"]) == sum(Decimal(v) for v in balances.values())


# ------------------------------------------------------------------------- 2. action codes


def contact(run: Run, name: str, contact_id: str, code: str, *, debtor: bool, agent: str,
            at: datetime | None = None) -> httpx.Response:
    return run.case("agency").post(f"/v1/cases/{run.ids[name]}/contacts", json={
        "contact_id": contact_id, "channel": "phone", "direction": "outbound",
        "party": "debtor" if debtor else "none",
        "outcome": "conversation" if debtor else "no_answer", "action_code": code,
        "agent_id": agent, "recording_ref": f"rec-{contact_id}",
        "contact_point": "+86 139 0000 0003", "occurred_at": iso(at or now())})


def action_codes(run: Run) -> None:
    """Contacts must use the creditor's catalogue: an unknown code is 422 listing the valid
    ones and records nothing; a promise taken on a PTP call counts for PTP."""
    agency, case_id = run.case("agency"), run.ids["codes"]
    promised_at = now()
    created(contact(run, "codes", "c-1", "PTP", debtor=True, agent="COL-1", at=promised_at),
            "Contacted")
    created(agency.post(f"/v1/cases/{case_id}/promises", json={
        "promise_id": "P-1", "amount": "500.00",
        "due_date": (promised_at + timedelta(days=10)).date().isoformat(),
        "promised_at": iso(promised_at)}))
    created(contact(run, "codes", "c-2", "NOANS", debtor=False, agent="COL-1"))
    placed_at = datetime.fromisoformat(run.case("creditor").get(
        f"/v1/cases/{case_id}").json()["placed_at"])
    # entered a few seconds after it happened: a lag the timeliness report must measure
    created(contact(run, "codes", "c-3", "REFUSE", debtor=True, agent="COL-2", at=placed_at))
    before = len(run.history("codes"))
    refused = contact(run, "codes", "c-9", "CALLBACK", debtor=True, agent="COL-1")
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "unknown_action_code"
    assert error["valid_codes"] == sorted(CODES)
    assert [f["path"] for f in error["fields"]] == ["body.action_code"]
    history = run.history("codes")
    assert len(history) == before  # nothing recorded
    contacted = [e["data"] for e in history if e["type"] == "Contacted"]
    assert [c["action_code"] for c in contacted] == ["PTP", "NOANS", "REFUSE"]
    assert {c["catalogue_version"] for c in contacted} == {1}
    # a payment, for the provisioning report: 3050.00 placed, 2050.00 owed
    created(agency.post(f"/v1/cases/{case_id}/payments", json={
        "reference": "PAY-CODES-1", "amount": "1000.00", "currency": "CNY",
        "source": "agency", "received_at": iso(now())}), "PaymentReceived", "PromiseKept")


EXPECTED_CODES = [
    {"action_code": "NOANS", "contacts": 2, "right_party_contacts": 0, "promises": 0},
    {"action_code": "PTP", "contacts": 1, "right_party_contacts": 1, "promises": 1},
    {"action_code": "REFUSE", "contacts": 1, "right_party_contacts": 1, "promises": 0},
]


# --------------------------------------------------------------------------- 3. complaints


def complaints(run: Run) -> None:
    """received → acknowledged → (a contact during the hold, flagged) → investigated →
    resolved, then a recall naming the complaint; a second complaint, of a category that
    holds nothing, stays open."""
    agency, creditor = run.case("agency"), run.case("creditor")
    case_id = run.ids["complaint"]
    base = f"/v1/cases/{case_id}/complaints"
    created(agency.post(base, json={"complaint_id": "CMP-1", "channel": "regulator",
                                    "category": "frequency", "received_at": iso(now())}),
            "ComplaintReceived")
    [held] = creditor.get(f"/v1/cases/{case_id}").json()["complaints"]
    assert (held["contact_hold"], held["open"], held["next_step"]) == (True, True, "acknowledge")
    # new rules: a complaint keeps the deadlines of the rules it arrived under
    stored = creditor.put(f"/v1/creditors/{CREDITOR}/allocation-rules", json={
        **RULES, "complaints": {**RULES["complaints"], **LATER_DEADLINES}})
    assert stored.status_code == 200, stored.text
    [kept] = creditor.get(f"/v1/cases/{case_id}").json()["complaints"]
    assert kept["due"] == held["due"]
    created(agency.post(f"{base}/CMP-1/acknowledgement", json={}), "ComplaintAcknowledged")
    run.hold_at = now()
    no_visit = run.case("collector").post(f"/v1/cases/{case_id}/visits", json={
        "visit_id": "V-HELD", "reason": "the debtor stopped answering"})
    assert no_visit.status_code == 409, no_visit.text  # no visit while a complaint holds contact
    flagged = created(contact(run, "complaint", "c-4", "NOANS", debtor=False, agent="COL-1",
                              at=run.hold_at))
    assert flagged["events"] == ["Contacted"], flagged
    early = agency.post(f"{base}/CMP-1/resolution", json={"outcome": "upheld"})
    assert early.status_code == 409, early.text  # investigation first
    created(agency.post(f"{base}/CMP-1/investigation", json={"finding": "five calls in one day"}),
            "ComplaintInvestigated")
    created(creditor.post(f"{base}/CMP-1/resolution", json={"outcome": "upheld"}),
            "ComplaintResolved")
    again = creditor.post(f"{base}/CMP-1/resolution", json={"outcome": "upheld"})
    assert (again.status_code, again.json()["recorded"]) == (200, False)
    created(creditor.post(f"/v1/cases/{case_id}/recall",
                          json={"reason": "complaint", "complaint_id": "CMP-1"}), "Recalled")

    history = run.history("complaint")
    steps = [e for e in history if e["type"].startswith("Complaint") or e["type"] in (
        "Contacted", "Recalled")]
    assert [e["type"] for e in steps] == [
        "ComplaintReceived", "ComplaintAcknowledged", "Contacted", "ComplaintInvestigated",
        "ComplaintResolved", "Recalled"]
    received, acknowledged, contacted, investigated, resolved, recalled = (
        e["data"] for e in steps)
    assert (received["complaint_id"], received["category"], received["contact_hold"]) == (
        "CMP-1", "frequency", True)
    assert acknowledged["late"] is False
    assert "complaint_hold" in contacted["flags"]
    assert investigated["finding"] == "five calls in one day"
    assert resolved["outcome"] == "upheld"
    assert (recalled["reason"], recalled["complaint_id"]) == ("complaint", "CMP-1")
    view = creditor.get(f"/v1/cases/{case_id}").json()
    assert (view["status"], view["recall_reason"]) == ("recalled", "complaint")
    [done] = view["complaints"]
    assert (done["open"], done["outcome"], done["missed"]) == (False, "upheld", [])

    created(agency.post(f"/v1/cases/{run.ids['codes']}/complaints", json={
        "complaint_id": "CMP-2", "channel": "phone", "category": "amount",
        "received_at": iso(now())}), "ComplaintReceived")
    [other] = creditor.get(f"/v1/cases/{run.ids['codes']}").json()["complaints"]
    assert (other["contact_hold"], other["open"]) == (False, True)


def check_complaint_figures(run: Run, figures: dict[str, Any]) -> None:
    listed = {c["complaint_id"]: c for c in figures["complaints"]}
    assert set(listed) == {"CMP-1", "CMP-2"}
    first, second = listed["CMP-1"], listed["CMP-2"]
    assert (first["case_id"], first["creditor_id"], first["agency_id"]) == (
        run.ids["complaint"], CREDITOR, AGENCY)
    assert (first["status"], first["outcome"], first["contact_hold"], first["overdue"]) == (
        "resolved", "upheld", True, False)
    assert (first["acknowledged_late"], first["investigated_late"], first["resolved_late"]) == (
        False, False, False)
    assert first["finding"] == "five calls in one day"
    assert first["recalled_at"] is not None
    assert (second["case_id"], second["status"], second["contact_hold"], second["category"],
            second["recalled_at"]) == (run.ids["codes"], "open", False, "amount", None)
    assert [c["complaint_id"] for c in figures["open_complaints"]] == ["CMP-2"]
    # CMP-1 under the first rules (24 h, 7 days, 15 days), CMP-2 under the second
    for complaint, (hours, investigate, resolve) in ((first, (24, 7, 15)), (second, (48, 10, 20))):
        received = datetime.fromisoformat(complaint["received_at"])
        assert [datetime.fromisoformat(complaint[k]) - received for k in (
            "acknowledge_by", "investigate_by", "resolve_by")] == [
            timedelta(hours=hours), timedelta(days=investigate), timedelta(days=resolve)]
    kpis = figures["kpis"]
    assert kpis["complaints"] == {"received": 2, "resolved": 1, "overdue": 0, "upheld": 1,
                                  "partially_upheld": 0}
    rate = kpis["kpis"]["complaints_per_1000_cases"]
    assert (rate["value"], rate["numerator"], rate["denominator"]) == ("500.0000", 2, 4)
    permission = figures["permission_during_hold"]
    assert permission["allowed"] is False
    assert "complaint_hold" in {d["kind"] for d in permission["denials"]}
    assert permission["earliest_allowed_at"] is None  # only the resolution lifts it
    letters = figures["letter_during_hold"]  # the complaint process still writes
    assert "complaint_hold" not in {d["kind"] for d in letters["denials"]}
    assert figures["other_agency_complaints"] == []
    assert figures["complaints_filtered"] == {
        "frequency": ["CMP-1"], "regulator": ["CMP-1"], "not_overdue": ["CMP-1", "CMP-2"],
        "overdue": [], "resolved": ["CMP-1"], "other_creditor": [],
        "in_period": ["CMP-1", "CMP-2"], "before": []}
    held = [c for c in figures["contacts"] if "complaint_hold" in c[4]]
    assert [c[0] for c in held] == ["c-4"]
    # resolved: the hold is lifted (other rules of the pack may still say no at that hour)
    assert "complaint_hold" not in {d["kind"] for d in figures["permission_after"]["denials"]}


# ------------------------------------------------------------------------- 4. field visits


def field_visits(run: Run) -> None:
    """A collector requests, cannot approve; the supervisor approves; the collector reports
    the visit made with its evidence. A second visit, requested and never made, falls due."""
    collector, supervisor = run.case("collector"), run.case("agency")
    case_id = run.ids["visit"]
    base = f"/v1/cases/{case_id}/visits"
    created(collector.post(base, json={"visit_id": "V-1",
                                       "reason": "no number reaches the debtor"}),
            "VisitRequested")
    refused = collector.post(f"{base}/V-1/approval", json={})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "supervisor_required"
    created(supervisor.post(f"{base}/V-1/approval", json={}), "VisitApproved")
    evidence = [{"kind": "photo", "sha256": hashlib.sha256(b"door.jpg").hexdigest(),
                 "ref": "dms://v1/door.jpg"},
                {"kind": "recording", "sha256": hashlib.sha256(b"talk.m4a").hexdigest(),
                 "ref": "dms://v1/talk.m4a"}]
    created(collector.post(f"{base}/V-1/outcome", json={
        "performed_at": iso(now()), "outcome": "found", "visitor_id": "COL-7",
        "evidence": evidence}), "VisitPerformed")
    created(collector.post(f"{base}/V-1/report",
                           json={"summary": "met the debtor, promised Friday"}),
            "VisitReported")
    history = run.history("visit")
    visit_steps = [e for e in history if e["type"].startswith("Visit")]
    assert [e["type"] for e in visit_steps] == [
        "VisitRequested", "VisitApproved", "VisitPerformed", "VisitReported"]
    performed = visit_steps[2]["data"]
    assert (performed["outcome"], performed["visitor_id"], performed["late"]) == (
        "found", "COL-7", False)
    assert performed["evidence"] == evidence
    assert visit_steps[1]["data"]["after_the_fact"] is False
    [visit] = run.case("creditor").get(f"/v1/cases/{case_id}").json()["visits"]
    assert (visit["state"], visit["outcome"], visit["approved"]) == ("reported", "found", True)

    created(collector.post(f"/v1/cases/{run.ids['codes']}/visits", json={
        "visit_id": "V-2", "reason": "the debtor moved"}), "VisitRequested")

    # urgent: made first, approved after the fact (the case closes as settled later on)
    urgent = f"/v1/cases/{run.ids['settle']}/visits"
    created(collector.post(urgent, json={"visit_id": "V-U", "reason": "the debtor is leaving",
                                         "urgent": True}), "VisitRequested")
    created(collector.post(f"{urgent}/V-U/outcome", json={
        "performed_at": iso(now()), "outcome": "not_found", "visitor_id": "COL-8",
        "evidence": evidence[:1]}), "VisitPerformed")
    created(supervisor.post(f"{urgent}/V-U/approval", json={}), "VisitApproved")
    created(collector.post(f"{urgent}/V-U/report", json={"summary": "nobody home"}),
            "VisitReported")
    [approved] = [e["data"] for e in run.history("settle") if e["type"] == "VisitApproved"]
    assert approved["after_the_fact"] is True


def levels(report: dict[str, Any], case_id: str) -> dict[str, dict[str, Any]]:
    [case] = [c for c in report["cases"] if c["case_id"] == case_id]
    return {s["service_level"]: s for s in case["service_levels"]
            if s["service_level"].startswith("visit_")}


def check_visit_figures(run: Run, figures: dict[str, Any]) -> None:
    now_, later = figures["sla_now"], figures["sla_in_8_days"]
    made = levels(now_, run.ids["visit"])
    assert {k: v["status"] for k, v in made.items()} == {
        "visit_performed": "met", "visit_approval": "met", "visit_report": "met"}
    owed = levels(now_, run.ids["codes"])
    assert owed["visit_performed"]["status"] == "pending"
    assert owed["visit_performed"]["outstanding"] is True
    assert {k: v["status"] for k, v in levels(later, run.ids["visit"]).items()} == {
        "visit_performed": "met", "visit_approval": "met", "visit_report": "met"}
    assert {k: v["status"] for k, v in levels(now_, run.ids["settle"]).items()} == {
        "visit_performed": "met", "visit_approval": "not_applicable", "visit_report": "met"}
    late = levels(later, run.ids["codes"])["visit_performed"]
    assert (late["status"], late["reason"]) == ("breached", "visit_late")
    visit_breaches = [(b["case_id"], b["service_level"], b["reason"]) for b in later["breaches"]
                      if b["service_level"].startswith("visit_")]
    assert (run.ids["codes"], "visit_performed", "visit_late") in visit_breaches
    assert all(case_id == run.ids["codes"] for case_id, _, _ in visit_breaches)
    assert not [b for b in now_["breaches"] if b["service_level"].startswith("visit_")]
    # B and the settled case made theirs, D owes one, the recalled case requested none
    assert {k: v for k, v in now_["totals"].items() if k.startswith("visit_")} == {
        "visit_performed": {"met": 2, "breached": 0, "pending": 1, "not_applicable": 1},
        "visit_approval": {"met": 1, "breached": 0, "pending": 1, "not_applicable": 2},
        "visit_report": {"met": 2, "breached": 0, "pending": 0, "not_applicable": 2}}
    assert later["totals"]["visit_performed"] == {"met": 2, "breached": 1, "pending": 0,
                                                  "not_applicable": 1}
    for name in ("visit", "complaint"):  # a visit made, a complaint: reported at once
        [case] = [c for c in now_["cases"] if c["case_id"] == run.ids[name]]
        reported = {s["service_level"]: s["status"] for s in case["service_levels"]}
        assert reported.get("event_report") == "met", (name, reported)


# --------------------------------------------------------------------------- 5. settlements


def settlements(run: Run) -> None:
    """Proposed by the agency, refused beyond the creditor's limits, approved within them;
    paying the settled amount closes the case as settled; the certificate is reproducible."""
    agency, creditor = run.case("agency"), run.case("creditor")
    case_id = run.ids["settle"]  # 2000.00 owed; the creditor approves up to 20 % off
    base = f"/v1/cases/{case_id}/settlements"
    due = (now() + timedelta(days=20)).date().isoformat()
    proposal = {"settlement_id": "S-1", "kind": "settlement", "amount": "1500.00",
                "due_date": due}
    created(agency.post(base, json=proposal), "SettlementProposed")
    beyond = creditor.post(f"{base}/S-1/approval", json={})
    assert beyond.status_code == 409, beyond.text  # 25 % off
    assert beyond.json()["error"]["code"] == "beyond_approval_limit"
    created(creditor.post(f"{base}/S-1/rejection", json={"reason": "above 20 % off"}),
            "SettlementRejected")
    created(agency.post(base, json={**proposal, "settlement_id": "S-2", "amount": "1700.00"}),
            "SettlementProposed")
    created(creditor.post(f"{base}/S-2/approval", json={}), "SettlementApproved")
    not_yet = creditor.get(f"/v1/cases/{case_id}/certificate")
    assert not_yet.status_code == 409, not_yet.text
    assert not_yet.json()["error"]["code"] == "not_settled"
    created(agency.post(f"/v1/cases/{case_id}/payments", json={
        "reference": "PAY-S-2", "amount": "1700.00", "currency": "CNY", "source": "agency",
        "received_at": iso(now())}), "PaymentReceived", "SettlementFulfilled", "Closed")
    view = creditor.get(f"/v1/cases/{case_id}").json()
    assert (view["status"], view["close_reason"]) == ("closed", "settled")
    assert (view["outstanding"], view["paid_total"], view["waived_total"]) == (
        "0.00", "1700.00", "300.00")
    states = {s["settlement_id"]: s["state"] for s in view.get("settlements", [])}
    if states:
        assert states["S-1"] == "rejected"
    first = creditor.get(f"/v1/cases/{case_id}/certificate")
    second = agency.get(f"/v1/cases/{case_id}/certificate")
    for got in (first, second):
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == "application/pdf"
        assert got.content.startswith(b"%PDF")
        assert got.headers["x-content-sha256"] == hashlib.sha256(got.content).hexdigest()
    assert first.headers["x-content-sha256"] == second.headers["x-content-sha256"]
    assert first.content == second.content
    types = run.types("settle")
    assert types[-5:] == ["SettlementProposed", "SettlementApproved", "PaymentReceived",
                          "SettlementFulfilled", "Closed"]
    assert "SettlementRejected" in types
    reductions_and_deferrals(run)


def reductions_and_deferrals(run: Run) -> None:
    """A reduction within the limits is waived at once; a deferral longer than the
    creditor's limit is refused, a shorter one binds."""
    agency, creditor = run.case("agency"), run.case("creditor")
    case_id = run.ids["visit"]  # 1000.00 owed
    base = f"/v1/cases/{case_id}/settlements"
    created(agency.post(base, json={"settlement_id": "R-1", "kind": "reduction",
                                    "amount": "100.00"}), "SettlementProposed")
    created(creditor.post(f"{base}/R-1/approval", json={}))
    view = creditor.get(f"/v1/cases/{case_id}").json()
    assert (view["outstanding"], view["waived_total"], view["status"]) == (
        "900.00", "100.00", "placed"), view
    far = (now() + timedelta(days=90)).date().isoformat()
    created(agency.post(base, json={"settlement_id": "D-1", "kind": "deferral",
                                    "amount": "900.00", "due_date": far}))
    beyond = creditor.post(f"{base}/D-1/approval", json={})
    assert beyond.status_code == 409, beyond.text  # 90 days, the limit is 60
    assert beyond.json()["error"]["code"] == "beyond_approval_limit"
    created(creditor.post(f"{base}/D-1/rejection", json={"reason": "too long"}))
    near = (now() + timedelta(days=30)).date().isoformat()
    created(agency.post(base, json={"settlement_id": "D-2", "kind": "deferral",
                                    "amount": "900.00", "due_date": near}))
    created(creditor.post(f"{base}/D-2/approval", json={}), "SettlementApproved")
    view = creditor.get(f"/v1/cases/{case_id}").json()
    assert (view["outstanding"], view["waived_total"]) == ("900.00", "100.00")
    types = [e for e in run.types("visit") if e.startswith("Settlement")]
    assert types == ["SettlementProposed", "SettlementApproved", "SettlementProposed",
                     "SettlementRejected", "SettlementProposed", "SettlementApproved"], types


# ------------------------------------------------------------------------------ 6. masking


def masking(run: Run) -> None:
    """A collector sees the debtor masked until an audited reveal, and masked again after."""
    collector, case_id = run.case("collector"), run.ids["codes"]
    masked = collector.get(f"/v1/cases/{case_id}").json()["debtor"]
    assert (masked["name"], masked["masked"]) == ("张*", True)
    assert "139 0000 0003" not in str(masked)  # numbers only as hints and references
    assert len(masked["phone_refs"]) == 1
    assert "朝阳" not in str(masked)  # address and email hidden
    assert "example.com" not in str(masked)
    assert "朝阳" not in collector.get(f"/v1/cases/{case_id}/history").text
    full = run.case("agency").get(f"/v1/cases/{case_id}").json()["debtor"]
    assert full["name"] == "张三"  # the supervisor's key sees the debtor

    reason = "the debtor asked for a call back"
    shown = created(collector.post(f"/v1/cases/{case_id}/pii-reveal",
                                   json={"reveal_id": "R-1", "reason": reason}))
    assert shown["recorded"] is True
    debtor = shown["debtor"]
    assert (debtor["name"], debtor["address"], debtor["email"]) == (
        "张三", ADDRESS, "debtor3@example.com")
    assert "0003" in "".join(debtor["phones"])
    assert "19900101" not in str(debtor)  # the national id stays masked
    [revealed] = [e for e in run.history("codes") if e["type"] == "PiiRevealed"]
    assert revealed["data"]["reason"] == reason
    assert revealed["actor"] == f"agency:{AGENCY}:collector"
    assert collector.get(f"/v1/cases/{case_id}").json()["debtor"]["name"] == "张*"


# ------------------------------------------------------------------------- 7. provisioning


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def ratio(part: Decimal, whole: Decimal) -> str:
    return str((part / whole).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def check_provisioning(run: Run, report: dict[str, Any]) -> None:
    """The book at the end of today: the settled case left out, the recalled one the
    creditor's, each line's outstanding times its rate."""
    owed = {"visit": ("M1", AGENCY, Decimal("900.00")),  # 100.00 waived
            "complaint": ("M3", "creditor", Decimal("5120.50")),
            "codes": ("M4+", AGENCY, Decimal("2050.00"))}
    assert (report["creditor_id"], report["timezone"], report["rules_version"]) == (
        CREDITOR, ZONE, 2)
    assert report["bucket_order"] == ["paid", "current", "M1", "M2", "M3", "M4+"]
    assert report["closed_left_out"] == {"settled": 1}
    assert report["unrated_buckets"] == ["current"]
    assert report["rates_without_bucket"] == []
    [cny] = report["currencies"]
    assert cny["currency"] == "CNY"
    lines = {row["bucket"]: row for row in cny["rows"]}
    assert list(lines) == report["bucket_order"]
    provision: dict[str, Decimal] = {}
    for bucket, row in lines.items():
        mine = [amount for b, _, amount in owed.values() if b == bucket]
        rate = RATES.get(bucket)
        expected = money(sum(mine, Decimal(0)) * Decimal(rate or 0))
        assert (row["cases"], row["outstanding"], row["provision"]) == (
            len(mine), money(sum(mine, Decimal(0))), expected), row
        assert (row["rate"] is None) == (rate is None)
        if rate is not None:
            assert Decimal(row["rate"]) == Decimal(rate)
        provision[bucket] = Decimal(expected)
    total_owed = sum((amount for _, _, amount in owed.values()), Decimal(0))
    total = sum(provision.values(), Decimal(0))
    assert cny["totals"] == {"cases": 3, "outstanding": money(total_owed),
                             "provision": money(total),
                             "coverage_ratio": ratio(total, total_owed)}
    assert (money(total_owed), money(total), ratio(total, total_owed)) == (
        "8070.50", "4655.25", "0.5768")
    holders = {a["agency_id"]: a for a in cny["by_agency"]}
    assert set(holders) == {AGENCY, "creditor"}
    assert (holders[AGENCY]["cases"], holders[AGENCY]["outstanding"],
            holders[AGENCY]["provision"], holders[AGENCY]["coverage_ratio"]) == (
        2, "2950.00", "2095.00", "0.7102")
    assert (holders["creditor"]["cases"], holders["creditor"]["outstanding"],
            holders["creditor"]["provision"], holders["creditor"]["coverage_ratio"]) == (
        1, "5120.50", "2560.25", "0.5000")


# --------------------------------------------------------------------------- 8. timeliness


def nearest_rank(lags: list[int], pct: int) -> int:
    ordered = sorted(lags)
    return ordered[max(0, math.ceil(pct * len(ordered) / 100) - 1)]


def expected_lags(run: Run) -> dict[str | None, list[int]]:
    """Each fact's lag from the history: its envelope's recorded_at less its business time,
    per collector (the contact's agent, the visitor; none for a complaint)."""
    lags: dict[str | None, list[int]] = {}
    for name in ACCOUNTS:
        for event in run.history(name):
            data = event["data"]
            if event["type"] == "Contacted":
                who, at = data["agent_id"], data["occurred_at"]
            elif event["type"] == "VisitPerformed":
                who, at = data["visitor_id"], data["performed_at"]
            elif event["type"] == "ComplaintReceived":
                who, at = None, data["received_at"]
            else:
                continue
            lag = datetime.fromisoformat(event["recorded_at"]) - datetime.fromisoformat(at)
            lags.setdefault(who, []).append(max(0, math.floor(lag.total_seconds())))
    return lags


def check_timeliness(run: Run, figures: dict[str, Any]) -> None:
    """Four contacts, two visits made and two complaints, all entered within minutes: none
    late; every lag and percentile as the history implies."""
    report = figures["timeliness"]
    assert report["agency_id"] == AGENCY
    agency = report["agency"]
    assert (agency["count"], agency["late_entries"], agency["late_reports"]) == (8, 0, 0)
    counts = {c["collector_id"]: (c["count"], c["late_entries"], c["late_reports"])
              for c in report["collectors"]}
    assert counts == {"COL-1": (3, 0, 0), "COL-2": (1, 0, 0), "COL-7": (1, 0, 0),
                      "COL-8": (1, 0, 0), None: (2, 0, 0)}
    assert report["late"] == []
    assert report["late_truncated"] is False
    lags = expected_lags(run)
    everyone = [lag for some in lags.values() for lag in some]
    for row, mine in [(agency, everyone), *[(c, lags[c["collector_id"]])
                                           for c in report["collectors"]]]:
        assert (row["p50_lag_seconds"], row["p95_lag_seconds"], row["max_lag_seconds"]) == (
            nearest_rank(mine, 50), nearest_rank(mine, 95), max(mine)), (row, mine)
    assert max(everyone) < 600


# ------------------------------------------------------------------ the read models' figures


def read_figures(run: Run) -> dict[str, Any]:
    """Every figure checked, read with fixed parameters (so a re-read must give the same)."""
    assert run.mark is not None
    assert run.hold_at is not None
    period = {"from": iso(run.started - timedelta(minutes=1)), "to": iso(run.mark)}
    creditor, agency, auditor = (run.contact(w) for w in ("creditor", "agency", "auditor"))

    def ok(response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text
        return response.json()

    as_of_day = run.mark.astimezone(ZoneInfo(ZONE)).date().isoformat()
    provisioning = ok(run.case("creditor").get(
        f"/v1/creditors/{CREDITOR}/provisioning", params={"as_of": as_of_day}))
    provisioning.pop("rules_in_force_at")  # when the report was made
    csv_report = run.case("creditor").get(f"/v1/creditors/{CREDITOR}/provisioning",
                                          params={"as_of": as_of_day, "format": "csv"})
    assert csv_report.status_code == 200, csv_report.text
    assert csv_report.headers["content-type"].startswith("text/csv")
    assert csv_report.content.startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
    cases = ok(run.case("creditor").get("/v1/cases", params={"creditor_id": CREDITOR,
                                                             "limit": 500}))
    return {
        "complaints": ok(creditor.get("/v1/complaints", params={"limit": 1000}))["complaints"],
        "open_complaints": ok(agency.get("/v1/complaints", params={"status": "open"}))[
            "complaints"],
        "kpis": ok(agency.get(f"/v1/agencies/{AGENCY}/contact-kpis", params=period)),
        "sla_now": ok(agency.get("/v1/sla", params={"agency_id": AGENCY,
                                                    "as_of": iso(run.mark)})),
        "sla_in_8_days": ok(agency.get("/v1/sla", params={
            "agency_id": AGENCY, "as_of": iso(run.mark + timedelta(days=8))})),
        "timeliness": ok(agency.get(f"/v1/agencies/{AGENCY}/timeliness", params=period)),
        "permission_during_hold": ok(auditor.get(
            f"/v1/cases/{run.ids['complaint']}/contact-permission",
            params={"channel": "phone", "at": iso(run.hold_at)})),
        "permission_after": ok(auditor.get(
            f"/v1/cases/{run.ids['complaint']}/contact-permission",
            params={"channel": "phone", "at": iso(run.mark)})),
        "letter_during_hold": ok(auditor.get(
            f"/v1/cases/{run.ids['complaint']}/contact-permission",
            params={"channel": "letter", "at": iso(run.hold_at)})),
        "contacts": sorted((c["contact_id"], c["action_code"], c["agent_id"], c["party"],
                            sorted(c["flags"])) for c in ok(auditor.get(
            "/v1/contacts", params={"creditor_id": CREDITOR, "limit": 100}))["contacts"]),
        "creditor_kpis": ok(creditor.get(f"/v1/agencies/{AGENCY}/contact-kpis",
                                         params=period)),
        "creditor_timeliness": ok(creditor.get(f"/v1/agencies/{AGENCY}/timeliness",
                                               params=period)),
        "other_agency_complaints": ok(run.contact("other_agency").get("/v1/complaints"))[
            "complaints"],
        "complaints_filtered": {name: [c["complaint_id"] for c in ok(auditor.get(
            "/v1/complaints", params=params))["complaints"]] for name, params in {
                "frequency": {"category": "frequency"}, "regulator": {"channel": "regulator"},
                "not_overdue": {"overdue": "false"}, "overdue": {"overdue": "true"},
                "resolved": {"status": "resolved", "agency_id": AGENCY},
                "other_creditor": {"creditor_id": "BANK-OTHER"},
                "in_period": {"from": period["from"], "to": period["to"]},
                "before": {"to": period["from"]}}.items()},
        "provisioning": provisioning,
        "provisioning_csv": list(csv.DictReader(io.StringIO(csv_report.text.lstrip("\ufeff")))),
        "cases": sorted((c["case_id"], c["status"], c["outstanding"]) for c in cases["items"]),
    }


def caught_up(run: Run) -> Callable[[dict[str, Any]], bool]:
    """The contact service has applied the last fact of every workflow."""
    def ok(figures: dict[str, Any]) -> bool:
        listed = {c["complaint_id"]: c for c in figures["complaints"]}
        codes = figures["kpis"]["action_codes"]
        visits = [c for c in figures["sla_now"]["cases"] if c["case_id"] in (
            run.ids["visit"], run.ids["codes"])]
        return (set(listed) == {"CMP-1", "CMP-2"}
                and listed["CMP-1"]["recalled_at"] is not None
                and sum(c["contacts"] for c in codes) == 4
                and figures["timeliness"]["agency"]["count"] == 8
                and len(visits) == 2
                and all(any(s["service_level"].startswith("visit_")
                            and s["status"] != "not_applicable"
                            for s in c["service_levels"]) for c in visits)
                and levels(figures["sla_now"], run.ids["visit"])["visit_report"]["status"]
                != "pending")
    return ok


def check_scopes(run: Run) -> None:
    """Another agency reads none of AG-E2E's reports; an agency not the creditor's book."""
    other = run.contact("other_agency")
    period = {"from": iso(run.started), "to": iso(now())}
    for path in ("contact-kpis", "timeliness"):
        refused = other.get(f"/v1/agencies/{AGENCY}/{path}", params=period)
        assert refused.status_code == 403, (path, refused.text)
    refused = run.case("agency").get(f"/v1/creditors/{CREDITOR}/provisioning",
                                     params={"as_of": "2026-01-01"})
    assert refused.status_code == 403, refused.text


def check_figures(run: Run, figures: dict[str, Any]) -> None:
    assert figures["kpis"]["action_codes"] == EXPECTED_CODES
    assert [c[:4] for c in figures["contacts"]] == [
        ("c-1", "PTP", "COL-1", "debtor"), ("c-2", "NOANS", "COL-1", "none"),
        ("c-3", "REFUSE", "COL-2", "debtor"), ("c-4", "NOANS", "COL-1", "none")]
    # the creditor's view of the agency over its own cases: here, every case
    mine = figures["creditor_kpis"]
    assert mine["creditor_id"] == CREDITOR
    assert (mine["action_codes"], mine["complaints"], mine["kpis"]) == (
        figures["kpis"]["action_codes"], figures["kpis"]["complaints"], figures["kpis"]["kpis"])
    assert figures["creditor_timeliness"]["creditor_id"] == CREDITOR
    for key in ("agency", "collectors", "late"):
        assert figures["creditor_timeliness"][key] == figures["timeliness"][key], key
    check_complaint_figures(run, figures)
    check_visit_figures(run, figures)
    check_timeliness(run, figures)
    check_provisioning(run, figures["provisioning"])
    rows = figures["provisioning_csv"]
    total = figures["provisioning"]["currencies"][0]["totals"]
    [csv_total] = [r for r in rows if r["bucket"] == "total" and not r["agency_id"]]
    assert (csv_total["creditor_id"], csv_total["currency"], csv_total["timezone"]) == (
        CREDITOR, "CNY", ZONE)
    assert (int(csv_total["cases"]), csv_total["outstanding"], csv_total["rate"],
            csv_total["provision"]) == (total["cases"], total["outstanding"],
                                        total["coverage_ratio"], total["provision"])
    assert [r["bucket"] for r in rows if not r["agency_id"]] == [
        *figures["provisioning"]["bucket_order"], "total"]
    statuses = {case_id: status for case_id, status, _ in figures["cases"]}
    assert statuses == {run.ids["complaint"]: "recalled", run.ids["visit"]: "placed",
                        run.ids["settle"]: "closed", run.ids["codes"]: "active"}


# ------------------------------------------------------------------------------- rebuilds


def rebuild(run: Run, projection: str, *options: str, differs: bool = False) -> str:
    done = run.system.cli("projections", "rebuild", projection, *options, check=False)
    assert done.returncode == (1 if differs else 0), done.stdout + done.stderr
    return done.stdout + done.stderr


def tamper(url: str, *statements: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            assert conn.execute(sa.text(statement)).rowcount == 1, statement
    engine.dispose()


def rebuilds_reproduce_the_figures(run: Run, before: dict[str, Any]) -> None:
    """The contact log rebuilt from the consumers' transport and from the event store, and
    the case list from the event store, verify against the live copies; the figures read
    again after verifying are the same. Live rows of the workflows' tables forged by hand
    change the figures and are caught; swapping the rebuilt copies in gives the figures
    back."""
    consumer = run.system.process("consumer")
    consumer.send_signal(signal.SIGTERM)
    assert consumer.wait(timeout=30) == 0, run.system.log("consumer")
    for transport in (run.transport, "log"):
        out = rebuild(run, "contact-log", "--verify", "--transport", transport)
        assert "verified" in out
        assert "DIFFERS" not in out
    out = rebuild(run, "case-summaries", "--verify")
    assert "verified" in out
    assert "DIFFERS" not in out
    assert read_figures(run) == before

    tamper(run.system.env["CONTACT_DATABASE_URL"],
           "UPDATE complaints SET outcome = 'rejected', recalled_at = NULL "
           "WHERE complaint_id = 'CMP-1'",
           "DELETE FROM visits WHERE visit_id = 'V-2'",
           "UPDATE contacts SET action_code = 'PTP' WHERE contact_id = 'c-2'")
    tampered = read_figures(run)
    for name in ("complaints", "kpis", "sla_in_8_days"):
        assert tampered[name] != before[name], name
    out = rebuild(run, "contact-log", "--verify", "--transport", run.transport, differs=True)
    for table in ("complaints", "visits", "contacts"):
        assert f"DIFFERS {table} " in out, table
    rebuild(run, "contact-log", "--swap", "--transport", run.transport)
    assert read_figures(run) == before
    assert "verified" in rebuild(run, "contact-log", "--verify", "--transport", "log")

    tamper(run.system.env["CASE_DATABASE_URL"],
           "UPDATE case_summaries SET status = 'closed', outstanding = '0.00' "
           f"WHERE case_id = '{run.ids['visit']}'")
    assert read_figures(run)["cases"] != before["cases"]
    out = rebuild(run, "case-summaries", "--verify", differs=True)
    assert "DIFFERS case_summaries" in out
    assert run.ids["visit"] in out
    rebuild(run, "case-summaries", "--swap")
    after = read_figures(run)
    assert after == before
    check_figures(run, after)


def clear_of_midnight() -> None:
    """Some figures read "the same day" in Shanghai (entries, visit reports, the provisioning
    day): start well clear of its midnight rather than straddle it."""
    local = datetime.now(ZoneInfo(ZONE))
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    left = (midnight - local).total_seconds()
    if left < 300:
        time.sleep(left + 1)


def run_operations(system: System, *, relay: bool, transport: str) -> None:
    clear_of_midnight()
    run = start(system, relay=relay, transport=transport)
    creditor_rules(run)
    action_codes(run)
    complaints(run)
    field_visits(run)
    settlements(run)
    masking(run)
    run.mark = now()
    logged = sum(len(run.history(name)) for name in ACCOUNTS)  # every event of this system
    eventually(system, lambda: consumed(run), lambda n: n >= logged)
    figures = eventually(system, lambda: read_figures(run), caught_up(run))
    check_figures(run, figures)
    check_scopes(run)
    rebuilds_reproduce_the_figures(run, figures)
    for client in run.clients.values():
        client.close()


def test_every_workflow_from_http_to_the_read_models_on_the_embedded_transport(
        embedded: System) -> None:
    run_operations(embedded, relay=False, transport="feed")


@pytest.mark.kafka
def test_every_workflow_from_http_to_the_read_models_through_kafka(on_kafka: System) -> None:
    run_operations(on_kafka, relay=True, transport="kafka")
