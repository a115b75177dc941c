"""Issue 21 from the contact service's side, over HTTP, on SQLite and PostgreSQL: complaints,
their contact hold, field visits and their service levels, KPIs by action code and the
complaint rate, and timeliness of entry.

The events are hand-built envelopes shaped as the case service's contract for issue 21 says
(docs/contact-operations.md), applied the way a consumer would, so every instant (and every
`recorded_at`) is chosen by the test. Agencies' days are Shanghai days (the service's default
zone here). The story, October 2026, agency AG-A of BANK1 unless said otherwise:

- c1: reached by agent-1 at once (action PTP, a promise taken on that call); a call by agent-2
  at 23:30 Shanghai entered at 00:10 the next day (late_entry); complaint CP1 (holds contact)
  received on the 3rd and entered 45 minutes later (late_report), acknowledged, a deadline
  missed, resolved upheld on the 10th;
- c2: visit V1 requested, approved, performed and reported the same day (all on time); visit
  V2 performed after its visit_by without approval (entered 2 hours late), reported the next
  day; urgent visit V3 never performed;
- c3: BANK2's case with AG-B, complaint CP2 (no hold), still open;
- c4: complaint CP4 received, then the creditor recalled the case over it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest
import sqlalchemy as sa
from casetrail.clock import ManualClock
from casetrail.crypto import MasterKey
from casetrail.envelope import EventEnvelope, LogPage, event_id_for
from casetrail.projections.rebuild import compare, rebuild
from casetrail.projections.store import LOG_SOURCE, Delivery, ProjectionStore, make_engine
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, fresh_database
from contact_service.adapters.contact_log import complaints, visits
from contact_service.bootstrap import ContactService, build, contact_log_projection
from contact_service.config import ContactSettings
from contact_service.entrypoints.app import create_app
from fastapi.testclient import TestClient

KEYS = {"bank1": (Role.CREDITOR, "BANK1"), "bank2": (Role.CREDITOR, "BANK2"),
        "agency_a": (Role.AGENCY, "AG-A"), "agency_b": (Role.AGENCY, "AG-B"),
        "auditor": (Role.AUDITOR, None), "admin": (Role.ADMIN, None)}
T0 = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
OCTOBER = {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
AS_OF = "2026-10-31T00:00:00Z"
H, D = timedelta(hours=1), timedelta(days=1)


def iso(instant: datetime) -> str:
    return instant.isoformat()


class CaseLog:
    """Envelopes with per-case versions and a global position; each event is entered when it
    happens unless `recorded` says otherwise."""

    def __init__(self) -> None:
        self.position = 0
        self.versions: dict[UUID, int] = {}
        self.events: list[EventEnvelope] = []
        self.ids: dict[str, str] = {}
        self.contacts = 0

    def event(self, name: str, type_: str, at: datetime, payload: dict[str, Any],
              recorded: datetime | None = None) -> None:
        case_id = uuid5(NAMESPACE_URL, f"case21:{name}")
        self.ids[name] = str(case_id)
        version = self.versions.get(case_id, 0) + 1
        self.versions[case_id] = version
        self.position += 1
        self.events.append(EventEnvelope(
            event_id=event_id_for(case_id, version), type=type_, schema_version=1,
            case_id=case_id, version=version, position=self.position, occurred_at=at,
            recorded_at=recorded or at, payload={**payload, "actor": "test:*:fixture"}))

    def placed(self, name: str, at: datetime, creditor: str = "BANK1", agency: str = "AG-A"
               ) -> None:
        self.event(name, "Placed", at, {
            "creditor_id": creditor, "account_ref": f"ACC-{name}", "placement_ref": "P-1",
            "agency_id": agency, "allocation": {"method": "named"},
            "debtor_id": f"d-{name}", "debtor_timezone": "Asia/Shanghai",
            "contact_points": 1, "currency": "CNY", "balances": {"principal": "9000.00"},
            "dpd": 45, "bucket": "M2", "product": None, "placed_at": iso(at),
            "term_end": "2027-10-01"})

    def contacted(self, name: str, at: datetime, *, agent: str, code: str, party: str,
                  outcome: str, recorded: datetime | None = None, agency: str = "AG-A"
                  ) -> None:
        self.contacts += 1
        self.event(name, "Contacted", at, {
            "contact_id": f"K-{self.contacts}", "channel": "phone", "direction": "outbound",
            "party": party, "outcome": outcome, "action_code": code, "agent_id": agent,
            "recording_ref": None, "contact_point_ref": "phone:1", "contact_point_hint": None,
            "occurred_at": iso(at), "agency_id": agency, "note": None, "flags": [],
            "catalogue_version": 1}, recorded)

    def promised(self, name: str, at: datetime, promise_id: str) -> None:
        self.event(name, "PromisedToPay", at, {
            "promise_id": promise_id, "amount": "1500.00", "due_date": "2026-10-20",
            "promised_at": iso(at), "agency_id": "AG-A"})

    def complaint(self, name: str, complaint_id: str, at: datetime, *, hold: bool,
                  agency: str | None = "AG-A", recorded: datetime | None = None) -> None:
        self.event(name, "ComplaintReceived", at, {
            "complaint_id": complaint_id, "channel": "phone", "category": "conduct",
            "received_at": iso(at), "agency_id": agency, "contact_hold": hold,
            "acknowledge_by": iso(at + 2 * D), "investigate_by": iso(at + 5 * D),
            "resolve_by": iso(at + 15 * D), "note": None}, recorded)

    def complaint_step(self, name: str, type_: str, complaint_id: str, at: datetime,
                       **payload: Any) -> None:
        field = {"ComplaintAcknowledged": "acknowledged_at",
                 "ComplaintInvestigated": "investigated_at",
                 "ComplaintResolved": "resolved_at", "ComplaintDeadlineMissed": "due_at"}[type_]
        self.event(name, type_, at, {"complaint_id": complaint_id, field: iso(at),
                                     "agency_id": "AG-A", **payload})

    def visit(self, name: str, type_: str, visit_id: str, at: datetime,
              recorded: datetime | None = None, **payload: Any) -> None:
        field = {"VisitRequested": "requested_at", "VisitApproved": "approved_at",
                 "VisitRejected": "rejected_at", "VisitPerformed": "performed_at",
                 "VisitReported": "reported_at"}[type_]
        self.event(name, type_, at, {"visit_id": visit_id, field: iso(at),
                                     "agency_id": "AG-A", **payload}, recorded)

    def requested(self, name: str, visit_id: str, at: datetime, urgent: bool = False) -> None:
        self.visit(name, "VisitRequested", visit_id, at, reason="no number reaches the debtor",
                   urgent=urgent, visit_by=iso(at + 7 * D))

    def performed(self, name: str, visit_id: str, at: datetime, *, late: bool,
                  recorded: datetime | None = None) -> None:
        self.visit(name, "VisitPerformed", visit_id, at, recorded, outcome="found",
                   visitor_id="visitor-1", late=late, evidence=[
                       {"kind": "photo", "sha256": "ab" * 32, "ref": f"s3://v/{visit_id}"}])

    def page(self, after: int, limit: int, _: frozenset[str] | None) -> LogPage:
        """The log as a rebuild reads it."""
        events = [e for e in self.events if e.position > after][:limit]
        return LogPage(events, events[-1].position if events else 0, len(events))


def story(log: CaseLog) -> None:
    log.placed("c1", T0)
    log.contacted("c1", T0 + H, agent="agent-1", code="PTP", party="debtor",
                  outcome="conversation")
    log.promised("c1", T0 + H, "P1")
    late_call = datetime(2026, 10, 2, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    log.contacted("c1", late_call, agent="agent-2", code="NOANS", party="none",
                  outcome="no_answer", recorded=late_call + 40 * timedelta(minutes=1))
    received = datetime(2026, 10, 3, 2, 0, tzinfo=UTC)
    log.complaint("c1", "CP1", received, hold=True, recorded=received + 45 * timedelta(
        minutes=1))
    log.complaint_step("c1", "ComplaintAcknowledged", "CP1", received + D, late=False)
    log.complaint_step("c1", "ComplaintDeadlineMissed", "CP1", received + 5 * D,
                       step="investigate")
    log.complaint_step("c1", "ComplaintInvestigated", "CP1", received + 6 * D, late=True,
                       finding="the collector was rude")
    log.complaint_step("c1", "ComplaintResolved", "CP1", datetime(2026, 10, 10, 2, tzinfo=UTC),
                       late=False, outcome="upheld", note="apology sent")

    log.placed("c2", T0)
    log.requested("c2", "V1", datetime(2026, 10, 2, 2, tzinfo=UTC))
    log.visit("c2", "VisitApproved", "V1", datetime(2026, 10, 3, 2, tzinfo=UTC),
              after_the_fact=False)
    v1 = datetime(2026, 10, 5, 3, tzinfo=UTC)
    log.performed("c2", "V1", v1, late=False, recorded=v1 + 10 * timedelta(minutes=1))
    log.visit("c2", "VisitReported", "V1", v1 + 7 * H, summary="debtor met, will pay")
    log.requested("c2", "V2", datetime(2026, 10, 4, 2, tzinfo=UTC))
    v2 = datetime(2026, 10, 12, 3, tzinfo=UTC)
    log.performed("c2", "V2", v2, late=True, recorded=v2 + 2 * H)
    log.visit("c2", "VisitReported", "V2", datetime(2026, 10, 13, 5, tzinfo=UTC),
              summary="nobody home")
    log.requested("c2", "V3", datetime(2026, 10, 20, 2, tzinfo=UTC), urgent=True)

    log.placed("c3", T0, creditor="BANK2", agency="AG-B")
    log.complaint("c3", "CP2", datetime(2026, 10, 6, 2, tzinfo=UTC), hold=False, agency="AG-B")

    log.placed("c4", T0)
    log.complaint("c4", "CP4", datetime(2026, 10, 7, 2, tzinfo=UTC), hold=True)
    log.event("c4", "Recalled", datetime(2026, 10, 8, 2, tzinfo=UTC), {
        "reason": "complaint", "recalled_at": "2026-10-08T02:00:00+00:00",
        "agency_id": "AG-A", "complaint_id": "CP4", "note": None})


class World:
    """The contact service on one database, with the story applied and keys."""

    def __init__(self, tmp_path: Path, url: str):
        self.url = url
        self.keys = {name: generate_key(role) for name, (role, _) in KEYS.items()}
        common = CommonSettings(
            api_keys=json.dumps([KeyEntry(n, hash_key(self.keys[n]), r, t).to_json()
                                 for n, (r, t) in KEYS.items()]),
            master_key=MasterKey.generate_b64(), var_dir=tmp_path / "var",
            default_timezone="Asia/Shanghai")
        self.service: ContactService = build(
            ContactSettings(database_url=url, create_schema=True), common=common,
            clock=ManualClock(datetime(2026, 10, 31, tzinfo=UTC)))
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
        return response.json()

    def name(self, case_id: str) -> str:
        return {v: k for k, v in self.log.ids.items()}[case_id]


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with fresh_database(request.param, tmp_path, "contact") as url:
        built = World(tmp_path, url)
        try:
            yield built
        finally:
            built.client.close()
            built.service.close()


# ---------------------------------------------------------------------- the projection

def test_complaints_and_visits_are_applied_as_the_case_recorded_them(world: World) -> None:
    with world.service.engine.connect() as conn:
        rows = {r["complaint_id"]: dict(r) for r in conn.execute(
            sa.select(complaints)).mappings()}
        visit_rows = {r["visit_id"]: dict(r) for r in conn.execute(
            sa.select(visits)).mappings()}
    cp1 = rows["CP1"]
    assert (cp1["contact_hold"], cp1["outcome"], cp1["resolved_late"], cp1["missed_steps"],
            cp1["first_missed_at"]) == (True, "upheld", False, "investigate",
                                        "2026-10-08T02:00:00+00:00")
    assert (cp1["investigated_late"], cp1["finding"]) == (True, "the collector was rude")
    assert cp1["received_recorded_at"] == "2026-10-03T02:45:00+00:00"
    assert rows["CP4"]["recalled_at"] == "2026-10-08T02:00:00+00:00"  # Recalled.complaint_id
    assert rows["CP2"]["recalled_at"] is None
    v1 = visit_rows["V1"]
    assert (v1["approved_at"], v1["performed_at"], v1["visitor_id"], v1["late"]) == (
        "2026-10-03T02:00:00+00:00", "2026-10-05T03:00:00+00:00", "visitor-1", False)
    assert json.loads(v1["evidence"])[0]["kind"] == "photo"
    assert visit_rows["V3"]["urgent"] is True
    assert visit_rows["V3"]["performed_at"] is None


def test_a_rebuild_from_the_log_equals_the_live_copy(world: World) -> None:
    live = world.service.contact_log
    shadow = asyncio.run(rebuild(live, world.url, log=world.log.page))
    try:
        assert compare(live, shadow) == []
        with shadow.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(visits)).scalar() == 3
    finally:
        shadow.engine.dispose()


def test_applying_event_by_event_equals_applying_in_one_batch(
        world: World, tmp_path: Path) -> None:
    single = ProjectionStore(make_engine(f"sqlite:///{tmp_path}/single.db"),
                             contact_log_projection())
    single.create_schema()
    try:
        for e in world.log.events:
            single.apply(LOG_SOURCE, 0, [Delivery(e.position, e)])
        assert compare(world.service.contact_log, single) == []
    finally:
        single.engine.dispose()


# ---------------------------------------------------------------------- the contact hold

def permission(world: World, case: str, at: datetime, channel: str = "phone") -> Any:
    return world.ok("agency_a", f"/v1/cases/{world.log.ids[case]}/contact-permission",
                    channel=channel, at=iso(at))


def test_an_open_complaint_that_holds_contact_refuses_calls_with_its_code(world: World
                                                                          ) -> None:
    answer = permission(world, "c1", datetime(2026, 10, 4, 3, tzinfo=UTC))  # 11:00 Shanghai
    assert answer["allowed"] is False
    [denial] = [d for d in answer["denials"] if d["kind"] == "complaint_hold"]
    assert denial["rule_id"] == "complaint_hold"
    assert "CP1" in denial["reason"]
    assert answer["earliest_allowed_at"] is None


def test_a_letter_is_not_held_by_a_complaint(world: World) -> None:
    answer = permission(world, "c1", datetime(2026, 10, 4, 3, tzinfo=UTC), channel="letter")
    assert "complaint_hold" not in [d["kind"] for d in answer["denials"]]


def test_the_hold_ends_when_the_complaint_is_resolved(world: World) -> None:
    before = permission(world, "c1", datetime(2026, 10, 3, 1, tzinfo=UTC))  # not yet received
    after = permission(world, "c1", datetime(2026, 10, 12, 3, tzinfo=UTC))
    for answer in (before, after):
        assert "complaint_hold" not in [d["kind"] for d in answer["denials"]]


def test_a_complaint_without_hold_refuses_nothing(world: World) -> None:
    answer = world.ok("agency_b", f"/v1/cases/{world.log.ids['c3']}/contact-permission",
                      channel="phone", at="2026-10-07T03:00:00Z")
    assert "complaint_hold" not in [d["kind"] for d in answer["denials"]]


# ---------------------------------------------------------------------- GET /v1/complaints

def listed(world: World, who: str, **params: Any) -> list[str]:
    return [c["complaint_id"] for c in world.ok(who, "/v1/complaints", **params)["complaints"]]


def test_each_tenant_sees_its_own_complaints(world: World) -> None:
    assert listed(world, "admin") == ["CP1", "CP2", "CP4"]
    assert listed(world, "auditor") == ["CP1", "CP2", "CP4"]
    assert listed(world, "agency_a") == ["CP1", "CP4"]
    assert listed(world, "agency_b") == ["CP2"]
    assert listed(world, "bank1") == ["CP1", "CP4"]
    assert listed(world, "bank2") == ["CP2"]


def test_complaints_filter_by_status_and_overdue(world: World) -> None:
    assert listed(world, "admin", status="open") == ["CP2", "CP4"]
    assert listed(world, "admin", status="resolved") == ["CP1"]
    assert listed(world, "admin", overdue="true") == ["CP1"]
    assert listed(world, "admin", overdue="false") == ["CP2", "CP4"]
    [cp1] = world.ok("admin", "/v1/complaints", overdue="true")["complaints"]
    assert (cp1["status"], cp1["overdue"], cp1["missed_steps"]) == (
        "resolved", True, ["investigate"])


def test_complaints_are_paged_by_position(world: World) -> None:
    first = world.ok("admin", "/v1/complaints", limit=2)
    assert [c["complaint_id"] for c in first["complaints"]] == ["CP1", "CP2"]
    rest = world.ok("admin", "/v1/complaints", limit=2, after=first["next_after"])
    assert ([c["complaint_id"] for c in rest["complaints"]], rest["next_after"]) == (
        ["CP4"], None)


@pytest.mark.parametrize(("params", "path"), [
    ({"status": "closed"}, "query.status"), ({"overdue": "maybe"}, "query.overdue"),
    ({"limit": "0"}, "query.limit"), ({"from": "2026-10-01T00:00:00"}, "query.from"),
    ({"after": "-1"}, "query.after")])
def test_bad_complaint_filters_are_422_with_their_field(
        world: World, params: dict[str, str], path: str) -> None:
    response = world.get("admin", "/v1/complaints", **params)
    assert response.status_code == 422
    assert path in [f["path"] for f in response.json()["error"]["fields"]]


def test_complaints_need_a_key(world: World) -> None:
    assert world.client.get("/v1/complaints").status_code == 401


# ---------------------------------------------------------------------- visits in /v1/sla

def visit_levels(world: World, who: str = "auditor") -> dict[str, list[tuple[str, Any]]]:
    report = world.ok(who, "/v1/sla", as_of=AS_OF)
    [case] = [c for c in report["cases"] if world.name(c["case_id"]) == "c2"]
    found: dict[str, list[tuple[str, Any]]] = {}
    for s in case["service_levels"]:
        if s["service_level"].startswith("visit_"):
            found.setdefault(s["service_level"], []).append((s["status"], s["reason"]))
    return found


def test_each_requested_visit_is_judged_with_reason_codes(world: World) -> None:
    assert visit_levels(world) == {
        # V1 on time; V2 after its visit_by (the case said late); V3 never performed.
        "visit_performed": [("met", None), ("breached", "visit_late"),
                            ("breached", "visit_late")],
        # V1 approved first; V2 performed without approval; V3 urgent.
        "visit_approval": [("met", None), ("breached", "visit_not_approved"),
                           ("not_applicable", None)],
        # V1 reported the same Shanghai day; V2 the next day.
        "visit_report": [("met", None), ("breached", "report_late")],
    }


def test_visit_breaches_are_listed_in_the_report_with_their_codes(world: World) -> None:
    report = world.ok("admin", "/v1/sla", as_of=AS_OF)
    codes = sorted(b["reason"] for b in report["breaches"] if world.name(b["case_id"]) == "c2"
                   and b["service_level"].startswith("visit_"))
    assert codes == ["report_late", "visit_late", "visit_late", "visit_not_approved"]
    assert report["totals"]["visit_report"] == {"met": 1, "breached": 1, "pending": 0,
                                                "not_applicable": 3}


def test_the_same_day_of_a_report_is_the_agencys_day(world: World) -> None:
    report = world.ok("admin", "/v1/sla", as_of=AS_OF)
    [case] = [c for c in report["cases"] if world.name(c["case_id"]) == "c2"]
    reports = [s for s in case["service_levels"] if s["service_level"] == "visit_report"]
    # V2 at 11:00 on the 12th in Shanghai: due by the start of the 13th there.
    assert reports[1]["due_at"] == "2026-10-12T16:00:00Z"
    assert case["timezone"] == "Asia/Shanghai"


def test_major_events_reported_late_and_late_entries_are_breaches_with_codes(
        world: World) -> None:
    report = world.ok("admin", "/v1/sla", as_of=AS_OF)
    got = {(world.name(c["case_id"]), s["service_level"]): (s["status"], s["reason"])
           for c in report["cases"] for s in c["service_levels"]
           if s["service_level"] in ("event_report", "progress_entry")}
    assert got == {
        ("c1", "event_report"): ("breached", "late_report"),  # CP1 entered after 45 minutes
        ("c1", "progress_entry"): ("breached", "late_entry"),  # K-2 entered the next day
        ("c2", "event_report"): ("breached", "late_report"),  # V2 entered after 2 hours
        ("c2", "progress_entry"): ("not_applicable", None),
        ("c3", "event_report"): ("met", None), ("c3", "progress_entry"): ("not_applicable", None),
        ("c4", "event_report"): ("met", None), ("c4", "progress_entry"): ("not_applicable", None),
    }


# ---------------------------------------------------------------------- KPIs

def test_the_kpis_show_the_complaint_rate_per_1000_cases_and_the_counts(world: World) -> None:
    body = world.ok("agency_a", "/v1/agencies/AG-A/contact-kpis", **OCTOBER)
    rate = body["kpis"]["complaints_per_1000_cases"]
    # CP1 and CP4 on AG-A's 3 cases (c1, c2, c4): 2 x 1000 / 3.
    assert (rate["value"], rate["numerator"], rate["denominator"]) == ("666.6667", 2, 3)
    assert body["complaints"] == {"received": 2, "resolved": 1, "overdue": 1, "upheld": 1,
                                  "partially_upheld": 0}
    other = world.ok("agency_b", "/v1/agencies/AG-B/contact-kpis", **OCTOBER)
    assert other["kpis"]["complaints_per_1000_cases"]["value"] == "1000.0000"  # CP2 on c3


def test_the_kpis_break_contacts_down_by_action_code(world: World) -> None:
    body = world.ok("admin", "/v1/agencies/AG-A/contact-kpis", **OCTOBER)
    assert body["action_codes"] == [
        {"action_code": "NOANS", "contacts": 1, "right_party_contacts": 0, "promises": 0},
        {"action_code": "PTP", "contacts": 1, "right_party_contacts": 1, "promises": 1}]


def test_a_creditor_sees_complaints_on_its_own_cases_only(world: World) -> None:
    body = world.ok("bank2", "/v1/agencies/AG-A/contact-kpis", **OCTOBER)
    assert body["complaints"]["received"] == 0
    assert body["action_codes"] == []


# ---------------------------------------------------------------------- timeliness

def timeliness(world: World, who: str = "agency_a", agency: str = "AG-A", **params: Any
               ) -> Any:
    return world.get(who, f"/v1/agencies/{agency}/timeliness", **{**OCTOBER, **params})


def test_timeliness_per_collector_with_late_entries_and_reports(world: World) -> None:
    response = timeliness(world)
    assert response.status_code == 200, response.text
    body = response.json()
    by = {c["collector_id"]: c for c in body["collectors"]}
    assert list(by) == ["agent-1", "agent-2", "visitor-1", None]
    assert (by["agent-1"]["count"], by["agent-1"]["max_lag_seconds"],
            by["agent-1"]["late_entries"]) == (1, 0, 0)
    assert (by["agent-2"]["p50_lag_seconds"], by["agent-2"]["late_entries"]) == (2400, 1)
    assert (by["visitor-1"]["count"], by["visitor-1"]["p50_lag_seconds"],
            by["visitor-1"]["p95_lag_seconds"], by["visitor-1"]["late_reports"]) == (
        2, 600, 7200, 1)
    assert (by[None]["count"], by[None]["late_reports"]) == (2, 1)  # CP1 late, CP4 on time
    assert (body["agency"]["count"], body["agency"]["late_entries"],
            body["agency"]["late_reports"]) == (6, 1, 2)
    assert [(x["kind"], x["ref"], x["reason"]) for x in body["late"]] == [
        ("contact", "K-2", "late_entry"), ("complaint_received", "CP1", "late_report"),
        ("visit_performed", "V2", "late_report")]
    assert body["timezone"] == "Asia/Shanghai"


def test_timeliness_is_scoped_like_the_kpis(world: World) -> None:
    assert timeliness(world, "agency_b").status_code == 403
    assert timeliness(world, "agency_b", agency="AG-B").status_code == 200
    body = timeliness(world, "bank2").json()
    assert body["creditor_id"] == "BANK2"
    assert body["agency"]["count"] == 0
    assert world.client.get("/v1/agencies/AG-A/timeliness", params=OCTOBER).status_code == 401


@pytest.mark.parametrize(("params", "path"), [
    ({"from": "2026-11-01T00:00:00Z", "to": "2026-10-01T00:00:00Z"}, "query.to"),
    ({"from": "2026-10-01T00:00:00"}, "query.from"), ({"to": "soon"}, "query.to")])
def test_bad_timeliness_periods_are_422_with_their_field(
        world: World, params: dict[str, str], path: str) -> None:
    response = timeliness(world, "admin", **params)
    assert response.status_code == 422, response.text
    assert path in [f["path"] for f in response.json()["error"]["fields"]]
