"""Reports to the creditor over HTTP, on SQLite and PostgreSQL: an agency's daily, weekly
and monthly report and the "three calls failed" report, as JSON, CSV and PDF, reproducible
to the byte, scoped to the caller.

Hand-built case events (every instant chosen here), Shanghai days (the service's default
zone), the clock at 2026-11-02. October 2026:

- c1 (BANK1, AG-A): three failed calls on the 1st (no answer, busy, voicemail): report due at
  the third; complaint CP1 received and resolved on the 1st;
- c2 (BANK1, AG-A): no answer, then the debtor reached (PTP, promise P1 on that call), then
  no answer: no report; a payment of CNY 500.00 on the 1st, 120.50 of it reversed on the
  3rd; P1 kept on the 5th; P2 made on the 6th, broken on the 10th; CNY 300.00 paid on the
  12th;
- c3 (BANK2, AG-A): a wrong number, a third party, the debtor refusing on the 2nd: report
  due; complaint CP3 received on the 2nd, still open;
- c4 (BANK1, AG-B): three unanswered calls on the 1st: AG-B's report.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import pypdfium2
import pytest
from casetrail.clock import ManualClock
from casetrail.crypto import MasterKey
from casetrail.envelope import EventEnvelope, event_id_for
from casetrail.projections.store import LOG_SOURCE, Delivery
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, fresh_database
from contact_service.bootstrap import ContactService, build
from contact_service.config import ContactSettings
from contact_service.entrypoints.app import create_app
from contact_service.entrypoints.routes.reports import (
    AgencyReportOut,
    ThreeCallsListOut,
    ThreeCallsReportOut,
)
from fastapi.testclient import TestClient

KEYS = {"bank1": (Role.CREDITOR, "BANK1"), "bank2": (Role.CREDITOR, "BANK2"),
        "agency_a": (Role.AGENCY, "AG-A"), "agency_b": (Role.AGENCY, "AG-B"),
        "auditor": (Role.AUDITOR, None), "admin": (Role.ADMIN, None)}
T0 = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
H, D = timedelta(hours=1), timedelta(days=1)


def iso(instant: datetime) -> str:
    return instant.isoformat()


class CaseLog:
    """Envelopes with per-case versions and a global position."""

    def __init__(self) -> None:
        self.position = 0
        self.versions: dict[UUID, int] = {}
        self.events: list[EventEnvelope] = []
        self.ids: dict[str, str] = {}
        self.contacts = 0

    def event(self, name: str, type_: str, at: datetime, payload: dict[str, Any]) -> None:
        case_id = uuid5(NAMESPACE_URL, f"reports:{name}")
        self.ids[name] = str(case_id)
        version = self.versions.get(case_id, 0) + 1
        self.versions[case_id] = version
        self.position += 1
        self.events.append(EventEnvelope(
            event_id=event_id_for(case_id, version), type=type_, schema_version=1,
            case_id=case_id, version=version, position=self.position, occurred_at=at,
            recorded_at=at, payload={**payload, "actor": "test:*:fixture"}))

    def placed(self, name: str, creditor: str, agency: str) -> None:
        self.event(name, "Placed", T0, {
            "creditor_id": creditor, "account_ref": f"ACC-{name}", "placement_ref": "P-1",
            "agency_id": agency, "allocation": {"method": "named"},
            "debtor_id": f"d-{name}", "debtor_timezone": "Asia/Shanghai",
            "contact_points": 1, "currency": "CNY", "balances": {"principal": "9000.00"},
            "dpd": 45, "bucket": "M2", "product": None, "placed_at": iso(T0),
            "term_end": "2027-10-01"})

    def called(self, name: str, at: datetime, outcome: str, *, party: str = "none",
               code: str = "NOANS", agency: str = "AG-A") -> None:
        self.contacts += 1
        self.event(name, "Contacted", at, {
            "contact_id": f"K-{self.contacts}", "channel": "phone", "direction": "outbound",
            "party": party, "outcome": outcome, "action_code": code, "agent_id": "agent-1",
            "recording_ref": None, "contact_point_ref": "phone:1", "contact_point_hint": None,
            "occurred_at": iso(at), "agency_id": agency, "note": None, "flags": [],
            "catalogue_version": 1})

    def complaint(self, name: str, complaint_id: str, at: datetime) -> None:
        self.event(name, "ComplaintReceived", at, {
            "complaint_id": complaint_id, "channel": "phone", "category": "conduct",
            "received_at": iso(at), "agency_id": "AG-A", "contact_hold": False,
            "acknowledge_by": iso(at + 2 * D), "investigate_by": iso(at + 5 * D),
            "resolve_by": iso(at + 15 * D), "note": None})


def story(log: CaseLog) -> None:
    log.placed("c1", "BANK1", "AG-A")
    for i, outcome in enumerate(("no_answer", "busy", "voicemail"), start=1):
        log.called("c1", T0 + i * H, outcome)
    log.complaint("c1", "CP1", T0 + 2 * H)
    log.event("c1", "ComplaintResolved", T0 + 4 * H, {
        "complaint_id": "CP1", "resolved_at": iso(T0 + 4 * H), "late": False,
        "outcome": "upheld", "note": None, "agency_id": "AG-A"})

    log.placed("c2", "BANK1", "AG-A")
    log.called("c2", T0 + H, "no_answer")
    log.called("c2", T0 + 2 * H, "conversation", party="debtor", code="PTP")
    log.event("c2", "PromisedToPay", T0 + 2 * H, {
        "promise_id": "P1", "amount": "1500.00", "due_date": "2026-10-05",
        "promised_at": iso(T0 + 2 * H), "agency_id": "AG-A"})
    log.called("c2", T0 + 3 * H, "no_answer")
    log.event("c2", "PaymentReceived", T0 + 5 * H, {
        "reference": "PAY-1", "amount": "500.00", "currency": "CNY", "source": "agency",
        "received_at": iso(T0 + 5 * H), "method": "bank_transfer", "agency_id": "AG-A",
        "flags": []})
    log.event("c2", "PaymentReversed", T0 + 2 * D, {
        "reference": "PAY-1", "amount": "120.50", "reason": "chargeback",
        "reversed_at": iso(T0 + 2 * D), "agency_id": "AG-A", "source": "agency"})
    log.event("c2", "PromiseKept", T0 + 4 * D, {"promise_id": "P1",
                                                "kept_at": iso(T0 + 4 * D)})
    log.event("c2", "PromisedToPay", T0 + 5 * D, {
        "promise_id": "P2", "amount": "700.00", "due_date": "2026-10-09",
        "promised_at": iso(T0 + 5 * D), "agency_id": "AG-A"})
    log.event("c2", "PromiseBroken", T0 + 9 * D, {"promise_id": "P2",
                                                  "broken_at": iso(T0 + 9 * D)})
    log.event("c2", "PaymentReceived", T0 + 11 * D, {
        "reference": "PAY-2", "amount": "300.00", "currency": "CNY", "source": "creditor_direct",
        "received_at": iso(T0 + 11 * D), "method": None, "agency_id": "AG-A", "flags": []})

    log.placed("c3", "BANK2", "AG-A")
    log.called("c3", T0 + D, "wrong_number")
    log.called("c3", T0 + D + H, "conversation", party="third_party", code="TP")
    log.called("c3", T0 + D + 2 * H, "refused", party="debtor", code="RTP")
    log.complaint("c3", "CP3", T0 + D + 3 * H)

    log.placed("c4", "BANK1", "AG-B")
    for i in range(1, 4):
        log.called("c4", T0 + i * H, "no_answer", agency="AG-B")


class World:
    """The contact service on one database, with the story applied and keys."""

    def __init__(self, tmp_path: Path, url: str):
        self.keys = {name: generate_key(role) for name, (role, _) in KEYS.items()}
        common = CommonSettings(
            api_keys=json.dumps([KeyEntry(n, hash_key(self.keys[n]), r, t).to_json()
                                 for n, (r, t) in KEYS.items()]),
            master_key=MasterKey.generate_b64(), var_dir=tmp_path / "var",
            default_timezone="Asia/Shanghai")
        self.service: ContactService = build(
            ContactSettings(database_url=url, create_schema=True), common=common,
            clock=ManualClock(datetime(2026, 11, 2, tzinfo=UTC)))
        self.client = TestClient(create_app(common=common, service=self.service))
        self.log = CaseLog()
        story(self.log)
        deliveries = [Delivery(e.position, e) for e in self.log.events]
        assert self.service.contact_log.apply(LOG_SOURCE, 0, deliveries).applied == len(
            deliveries)

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params,
                               headers={"Authorization": f"Bearer {self.keys[who]}"})

    def ok(self, who: str, path: str, **params: Any) -> Any:
        response = self.get(who, path, **params)
        assert response.status_code == 200, response.text
        return response


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with fresh_database(request.param, tmp_path, "contact") as url:
        built = World(tmp_path, url)
        try:
            yield built
        finally:
            built.client.close()
            built.service.close()


DAILY = "/v1/agencies/AG-A/reports/daily"


# ---------------------------------------------------------------------- agency reports

def test_the_daily_report_holds_the_day_s_figures(world: World) -> None:
    report = world.ok("agency_a", DAILY, day="2026-10-01").json()
    assert (report["label"], report["timezone"], report["from"], report["to"]) == (
        "2026-10-01", "Asia/Shanghai", "2026-09-30T16:00:00+00:00", "2026-10-01T16:00:00+00:00")
    assert report["generated_from"] == [{"source": LOG_SOURCE, "partition": 0,
                                         "position": world.log.position,
                                         "log_position": world.log.position}]
    assert report["cases_worked"] == 2
    contacts = report["contacts"]
    assert contacts["total"] == 6
    assert contacts["by_outcome"] == {"busy": 1, "conversation": 1, "no_answer": 3,
                                      "voicemail": 1}
    assert contacts["by_channel"] == {"phone": 6}
    assert contacts["by_action_code"] == {
        "NOANS": {"contacts": 5, "right_party_contacts": 0, "promises": 0},
        "PTP": {"contacts": 1, "right_party_contacts": 1, "promises": 1}}
    assert report["promises"] == {"made": 1, "kept": 0, "broken": 0}
    # PAY-1, and its reversal on the 3rd: reversals count with the payment they reverse
    assert report["payments"] == {
        "received": 1, "amounts_received": {"CNY": "500.00"},
        "amounts_reversed": {"CNY": "120.50"}, "amounts_collected": {"CNY": "379.50"}}
    assert report["complaints"] == {
        "received": 1, "resolved": 1, "open": 0, "overdue": 0,
        "per_1000_cases": {"value": "333.3333", "numerator": 1, "denominator": 3}}
    levels = report["service_levels"]
    assert (levels["as_of"], levels["cases_judged"]) == ("2026-10-01T16:00:00+00:00", 3)
    # c1 and c2 called within 2 hours of assignment, c3 not on the 1st at all
    assert levels["levels"]["first_action"] == {"met": 2, "breached": 1, "pending": 0}
    assert levels["levels"]["initial_calls"] == {"met": 0, "breached": 0, "pending": 1}


def test_weekly_and_monthly_reports_cover_the_week_and_the_month(world: World) -> None:
    weekly = world.ok("auditor", "/v1/agencies/AG-A/reports/weekly", day="2026-10-03").json()
    assert (weekly["label"], weekly["first_day"], weekly["last_day"]) == (
        "2026-W40", "2026-09-28", "2026-10-04")
    assert (weekly["cases_worked"], weekly["contacts"]["total"]) == (3, 9)
    assert weekly["complaints"]["open"] == 1  # CP3
    monthly = world.ok("admin", "/v1/agencies/AG-A/reports/monthly", day="2026-10-17").json()
    assert (monthly["label"], monthly["from"], monthly["to"]) == (
        "2026-10", "2026-09-30T16:00:00+00:00", "2026-10-31T16:00:00+00:00")
    assert monthly["contacts"]["total"] == 9
    assert monthly["promises"] == {"made": 2, "kept": 1, "broken": 1}
    assert monthly["payments"] == {
        "received": 2, "amounts_received": {"CNY": "800.00"},
        "amounts_reversed": {"CNY": "120.50"}, "amounts_collected": {"CNY": "679.50"}}
    bank2 = world.ok("bank2", "/v1/agencies/AG-A/reports/monthly", day="2026-10-17").json()
    assert bank2["payments"] == {"received": 0, "amounts_received": {},
                                 "amounts_reversed": {}, "amounts_collected": {}}
    assert (monthly["complaints"]["received"], monthly["complaints"]["resolved"],
            monthly["complaints"]["open"]) == (2, 1, 1)


def test_a_report_is_the_same_bytes_every_time_in_every_format(world: World) -> None:
    for fmt, media in (("json", "application/json"), ("csv", "text/csv; charset=utf-8"),
                       ("pdf", "application/pdf")):
        first = world.ok("agency_a", "/v1/agencies/AG-A/reports/weekly", day="2026-09-30",
                         format=fmt)
        again = world.ok("agency_a", "/v1/agencies/AG-A/reports/weekly", day="2026-10-04",
                         format=fmt)
        assert first.headers["content-type"] == media
        assert first.content == again.content
        digest = hashlib.sha256(first.content).hexdigest()
        assert first.headers["x-content-sha256"] == digest
        assert first.headers["etag"] == f'"{digest}"'
    pdf = world.ok("agency_a", DAILY, day="2026-10-01", format="pdf").content
    assert pdf.startswith(b"%PDF")
    text = world.ok("agency_a", DAILY, day="2026-10-01", format="csv").content.decode()
    assert text.startswith("\ufeffsection,item,detail,value\r\n")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert ["contacts", "total", "", "6"] in rows
    assert ["complaints", "per_1000_cases", "value", "333.3333"] in rows
    assert ["service_levels", "levels", "first_action.breached", "1"] in rows
    assert ["payments", "amounts_collected", "CNY", "379.50"] in rows


def test_a_creditor_reads_its_own_cases_only(world: World) -> None:
    bank1 = world.ok("bank1", DAILY, day="2026-10-01").json()
    assert (bank1["creditor_id"], bank1["contacts"]["total"]) == ("BANK1", 6)
    assert bank1["complaints"]["per_1000_cases"]["denominator"] == 2
    bank2 = world.ok("bank2", "/v1/agencies/AG-A/reports/weekly", day="2026-10-01").json()
    assert (bank2["cases_worked"], bank2["contacts"]["total"]) == (1, 3)
    assert bank2["promises"] == {"made": 0, "kept": 0, "broken": 0}
    assert bank2["service_levels"]["cases_judged"] == 1
    other = world.get("bank2", DAILY, day="2026-10-01", creditor_id="BANK1")
    assert other.status_code == 403
    filtered = world.ok("auditor", DAILY, day="2026-10-01", creditor_id="BANK2").json()
    assert (filtered["creditor_id"], filtered["contacts"]["total"]) == ("BANK2", 0)


def test_an_agency_reads_its_own_agency_only(world: World) -> None:
    response = world.get("agency_b", DAILY, day="2026-10-01")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    own = world.ok("agency_b", "/v1/agencies/AG-B/reports/daily", day="2026-10-01").json()
    assert (own["cases_worked"], own["contacts"]["total"]) == (1, 3)


def test_a_stated_zone_moves_the_days(world: World) -> None:
    utc = world.ok("agency_a", DAILY, day="2026-10-01", timezone="UTC").json()
    assert (utc["timezone"], utc["from"]) == ("UTC", "2026-10-01T00:00:00+00:00")
    assert utc["contacts"]["total"] == 6


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/v1/agencies/AG-A/reports/yearly", {"day": "2026-10-01"}, "path.period"),
    (DAILY, {"day": "2026-13-01"}, "query.day"),
    (DAILY, {}, "query.day"),
    (DAILY, {"day": "2026-10-01", "format": "xml"}, "query.format"),
    (DAILY, {"day": "2026-10-01", "timezone": "Mars/Base"}, "query.timezone"),
    (DAILY, {"day": "2026-11-02"}, "query.day"),  # today: not over yet
    ("/v1/agencies/AG-A/reports/monthly", {"day": "2026-11-01"}, "query.day"),
    ("/v1/agencies/AG-A/reports/three-calls-failed", {"format": "xml"}, "query.format"),
])
def test_bad_requests_name_the_field(world: World, path: str, params: dict[str, str],
                                     field: str) -> None:
    response = world.get("agency_a", path, **params)
    assert response.status_code == 422, response.text
    assert field in [f["path"] for f in response.json()["error"]["fields"]]


# ---------------------------------------------------------------------- three calls failed

def case_path(world: World, name: str) -> str:
    return f"/v1/cases/{world.log.ids[name]}/reports/three-calls-failed"


def test_the_case_report_names_the_three_failed_attempts(world: World) -> None:
    report = world.ok("bank1", case_path(world, "c1")).json()
    assert (report["case_id"], report["agency_id"], report["creditor_id"]) == (
        world.log.ids["c1"], "AG-A", "BANK1")
    assert report["due_at"] == "2026-10-01T04:00:00+00:00"
    assert report["due_at_local"] == "2026-10-01 12:00 Asia/Shanghai"
    assert [(a["channel"], a["outcome"], a["action_code"]) for a in report["attempts"]] == [
        ("phone", "no_answer", "NOANS"), ("phone", "busy", "NOANS"),
        ("phone", "voicemail", "NOANS")]
    c3 = world.ok("agency_a", case_path(world, "c3")).json()
    assert [a["outcome"] for a in c3["attempts"]] == ["wrong_number", "conversation", "refused"]


def test_the_case_report_in_every_format_is_reproducible(world: World) -> None:
    for fmt in ("json", "csv", "pdf"):
        first = world.ok("agency_a", case_path(world, "c1"), format=fmt)
        again = world.ok("agency_a", case_path(world, "c1"), format=fmt)
        assert first.content == again.content
        assert first.headers["x-content-sha256"] == hashlib.sha256(first.content).hexdigest()
    text = world.ok("agency_a", case_path(world, "c1"), format="csv").content.decode()
    assert text.startswith("\ufeffcase_id,")
    assert len(text.strip().splitlines()) == 4


def test_no_report_before_three_calls_failed(world: World) -> None:
    response = world.get("agency_a", case_path(world, "c2"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "report_not_due"


def test_the_case_report_is_scoped_to_who_sees_the_case(world: World) -> None:
    for who in ("agency_b", "bank2"):
        response = world.get(who, case_path(world, "c1"))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "case_not_found"
    assert world.get("auditor", case_path(world, "c1")).status_code == 200


def test_the_agency_list_names_the_cases_whose_report_is_due(world: World) -> None:
    path = "/v1/agencies/AG-A/reports/three-calls-failed"
    listed = world.ok("agency_a", path).json()
    assert [(c["case_id"], c["due_at"]) for c in listed["cases"]] == [
        (world.log.ids["c1"], "2026-10-01T04:00:00+00:00"),
        (world.log.ids["c3"], "2026-10-02T03:00:00+00:00")]
    bank1 = world.ok("bank1", path).json()
    assert [c["case_id"] for c in bank1["cases"]] == [world.log.ids["c1"]]
    assert world.get("agency_b", path).status_code == 403
    agency_b = world.ok("agency_b", "/v1/agencies/AG-B/reports/three-calls-failed").json()
    assert [c["case_id"] for c in agency_b["cases"]] == [world.log.ids["c4"]]
    csv_body = world.ok("agency_a", path, format="csv")
    assert csv_body.headers["content-type"] == "text/csv; charset=utf-8"
    assert len(csv_body.content.decode().strip().splitlines()) == 7  # header + 2 x 3
    assert csv_body.content == world.ok("agency_a", path, format="csv").content
    pdf = world.ok("agency_a", path, format="pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == world.ok("agency_a", path, format="pdf").content
    assert pdf.headers["x-content-sha256"] == hashlib.sha256(pdf.content).hexdigest()
    document = pypdfium2.PdfDocument(pdf.content)
    text = "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert "三次电话未接通案件清单" in text
    for name in ("c1", "c3"):
        assert world.log.ids[name][:8] in text.replace("\r", "").replace("\n", "")
    assert world.log.ids["c4"][:8] not in text  # AG-B's


def test_the_json_answers_match_their_documented_schemas(world: World) -> None:
    report = world.ok("agency_a", DAILY, day="2026-10-01").json()
    assert AgencyReportOut.model_validate(report).model_dump(by_alias=True) == report
    case = world.ok("agency_a", case_path(world, "c1")).json()
    assert ThreeCallsReportOut.model_validate(case).model_dump() == case
    listed = world.ok("agency_a", "/v1/agencies/AG-A/reports/three-calls-failed").json()
    assert ThreeCallsListOut.model_validate(listed).model_dump() == listed


def test_the_same_events_give_the_same_bytes_on_another_database(world: World,
                                                                 tmp_path: Path) -> None:
    folder = tmp_path / "other"
    folder.mkdir()
    other = World(folder, f"sqlite:///{folder}/contact.db")  # SQLite beside either backend
    try:
        for path, params in (("/v1/agencies/AG-A/reports/weekly", {"day": "2026-10-01"}),
                             (case_path(world, "c3"), {})):
            for fmt in ("json", "csv", "pdf"):
                here = world.ok("bank2", path, format=fmt, **params)
                there = other.ok("bank2", path, format=fmt, **params)
                assert here.headers["x-content-sha256"] == there.headers["x-content-sha256"]
    finally:
        other.client.close()
        other.service.close()
