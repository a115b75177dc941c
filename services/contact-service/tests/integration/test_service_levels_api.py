"""Service levels and the worklist over HTTP, from case events applied to a SQLite contact log.

The events are hand-built envelopes (the public contract in docs/events.md), applied the way a
consumer would, so every instant is chosen by the test; each contact is entered in the log when
it happens. The service's default zone is UTC here (CASETRAIL_DEFAULT_TIMEZONE=UTC, and no
agency sets its own), so every day below is a UTC day and explanations read "... UTC"; the
agency-zone behaviour is in test_time.py. The story, agency AG-A of BANK1 unless said
otherwise (assignments in March 2026, the worklist day is 2026-03-20, judged at 00:00 UTC):

- good:    called within the hour, reached on day 1; a promise falls due on the worklist day;
- late:    first call after 5 h, then 2 more failed calls: unreachable, no field-visit request;
- visit:   the only number is invalid; visit requested at once and made, debtor not found, no
           revisit since;
- broken:  reached, promised, promise broken, nobody has called since;
- fv:      3 failed calls, a late field-visit request, the visit still due in 3 days;
- new:     assigned an hour before the day starts, nobody has called yet;
- closed / ceased / disputed: on hold, never on a worklist;
- other:   BANK2's case with agency AG-B.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest
from casetrail.crypto import MasterKey
from casetrail.envelope import EventEnvelope, event_id_for
from casetrail.projections.store import Delivery
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from contact_service.bootstrap import ContactService
from contact_service.config import ContactSettings
from contact_service.entrypoints.app import create_app
from fastapi.testclient import TestClient

KEYS = {"bank1": (Role.CREDITOR, "BANK1"), "bank2": (Role.CREDITOR, "BANK2"),
        "agency_a": (Role.AGENCY, "AG-A"), "agency_b": (Role.AGENCY, "AG-B"),
        "auditor": (Role.AUDITOR, None), "admin": (Role.ADMIN, None)}
MARCH_1 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
DAY = "2026-03-20"
DAY_START = datetime(2026, 3, 20, tzinfo=UTC)


def iso(instant: datetime) -> str:
    return instant.isoformat()


class CaseLog:
    """Builds envelopes with per-case versions and a global position, and applies them."""

    def __init__(self, service: ContactService):
        self.service = service
        self.position = 0
        self.versions: dict[UUID, int] = {}
        self.pending: list[Delivery] = []
        self.ids: dict[str, str] = {}
        self.contacts = 0

    def _event(self, name: str, type_: str, at: datetime, payload: dict[str, Any]) -> None:
        case_id = uuid5(NAMESPACE_URL, f"case:{name}")
        self.ids[name] = str(case_id)
        version = self.versions.get(case_id, 0) + 1
        self.versions[case_id] = version
        self.position += 1
        self.pending.append(Delivery(self.position, EventEnvelope(
            event_id=event_id_for(case_id, version), type=type_, schema_version=1,
            case_id=case_id, version=version, position=self.position, occurred_at=at,
            recorded_at=at, payload={**payload, "actor": "test:*:fixture"})))

    def placed(self, name: str, at: datetime, creditor: str = "BANK1", agency: str = "AG-A"
               ) -> None:
        self._event(name, "Placed", at, {
            "creditor_id": creditor, "account_ref": f"ACC-{name}", "placement_ref": "P-1",
            "agency_id": agency, "allocation": {"method": "named"},
            "debtor_id": f"d-{name:0>32}"[:34], "debtor_timezone": "Asia/Shanghai",
            "contact_points": 1, "currency": "CNY", "balances": {"principal": "9000.00"},
            "dpd": 45, "bucket": "M2", "product": None, "placed_at": iso(at),
            "term_end": "2027-03-01"})

    def contacted(self, name: str, at: datetime, outcome: str = "no_answer", *,
                  channel: str = "phone", party: str | None = None, agent: str | None = "agent-1",
                  agency: str = "AG-A") -> None:
        self.contacts += 1
        if party is None:
            party = "debtor" if outcome in {"conversation", "debtor_met"} else "none"
        point = "phone:1" if channel == "phone" else None
        self._event(name, "Contacted", at, {
            "contact_id": f"K-{self.contacts}", "channel": channel, "direction": "outbound",
            "party": party, "outcome": outcome, "action_code": outcome.upper()[:8],
            "agent_id": agent, "recording_ref": None, "contact_point": point,
            "contact_point_ref": point, "contact_point_hint": None, "occurred_at": iso(at),
            "agency_id": agency, "note": None, "flags": []})

    def escalated(self, name: str, at: datetime, kind: str = "field_visit") -> None:
        self._event(name, "Escalated", at, {"kind": kind, "reason": "no number reaches the debtor",
                                            "escalated_at": iso(at), "agency_id": "AG-A"})

    def promised(self, name: str, at: datetime, promise_id: str, due: str) -> None:
        self._event(name, "PromisedToPay", at, {
            "promise_id": promise_id, "amount": "1500.00", "due_date": due,
            "promised_at": iso(at), "agency_id": "AG-A"})

    def broken(self, name: str, at: datetime, promise_id: str) -> None:
        self._event(name, "PromiseBroken", at, {
            "promise_id": promise_id, "shortfall": "1500.00", "broken_at": iso(at),
            "agency_id": "AG-A"})

    def closed(self, name: str, at: datetime) -> None:
        self._event(name, "Closed", at, {"reason": "paid_in_full", "closed_at": iso(at),
                                         "outstanding": "0.00", "agency_id": "AG-A",
                                         "note": None})

    def ceased(self, name: str, at: datetime) -> None:
        self._event(name, "CeaseContactRequested", at, {"requested_at": iso(at),
                                                        "channel": "written", "note": None})

    def disputed(self, name: str, at: datetime) -> None:
        self._event(name, "Disputed", at, {"reason": "not my debt", "disputed_at": iso(at)})

    def apply(self) -> None:
        result = self.service.contact_log.apply("test", 0, self.pending)
        assert result.applied == len(self.pending)
        self.pending = []


def story(log: CaseLog) -> None:
    h, d = timedelta(hours=1), timedelta(days=1)
    t = MARCH_1
    log.placed("good", t)
    log.contacted("good", t + 0.5 * h)
    log.contacted("good", t + d, "conversation")
    log.promised("good", t + d, "P-good", DAY)
    log.contacted("good", t + 3 * d)

    log.placed("late", t)
    for when in (t + 5 * h, t + 2 * d, t + 4 * d):
        log.contacted("late", when, agent="agent-2")

    v = datetime(2026, 3, 5, 1, tzinfo=UTC)
    log.placed("visit", v)
    log.contacted("visit", v + 0.5 * h, "invalid_number")
    log.escalated("visit", v + 3 * h)
    log.contacted("visit", v + 3 * d, "debtor_not_found", channel="visit")

    log.placed("broken", t)
    log.contacted("broken", t + h, "conversation", agent="agent-2")
    log.promised("broken", t + h, "P-broken", "2026-03-10")
    log.contacted("broken", t + d, agent="agent-2")
    log.contacted("broken", t + 2 * d, agent="agent-2")
    log.broken("broken", datetime(2026, 3, 11, 0, 5, tzinfo=UTC), "P-broken")

    f = datetime(2026, 3, 10, 1, tzinfo=UTC)
    log.placed("fv", f)
    for when in (f + h, f + d, f + 2 * d):
        log.contacted("fv", when, agent="agent-3")
    log.escalated("fv", datetime(2026, 3, 16, 2, tzinfo=UTC))

    log.placed("new", DAY_START - h)

    log.placed("closed", t)
    log.closed("closed", t + 2 * h)
    log.placed("ceased", t)
    log.contacted("ceased", t + h)
    log.ceased("ceased", t + d)
    log.placed("disputed", datetime(2026, 3, 18, tzinfo=UTC))
    log.disputed("disputed", datetime(2026, 3, 18, 6, tzinfo=UTC))

    log.placed("other", t, creditor="BANK2", agency="AG-B")
    log.apply()


class Api:
    """The contact service app with the service-level routes, its log, and keys."""

    def __init__(self, tmp_path: Path):
        self.keys = {name: generate_key(role) for name, (role, _) in KEYS.items()}
        common = CommonSettings(
            api_keys=json.dumps([KeyEntry(n, hash_key(self.keys[n]), r, t).to_json()
                                 for n, (r, t) in KEYS.items()]),
            master_key=MasterKey.generate_b64(), var_dir=tmp_path / "var",
            default_timezone="UTC")
        app = create_app(ContactSettings(database_url=f"sqlite:///{tmp_path}/contact.db"),
                         common)
        self.service: ContactService = app.state.service
        self.client = TestClient(app)
        self.log = CaseLog(self.service)

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params,
                               headers={"Authorization": f"Bearer {self.keys[who]}"})

    def sla(self, who: str = "auditor", **params: Any) -> dict[str, Any]:
        response = self.get(who, "/v1/sla", **{"as_of": iso(DAY_START), **params})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def worklist(self, who: str = "agency_a", **params: Any) -> dict[str, Any]:
        response = self.get(who, "/v1/worklist", **{"date": DAY, **params})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def name(self, case_id: str) -> str:
        return {v: k for k, v in self.log.ids.items()}[case_id]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    built = Api(tmp_path)
    story(built.log)
    yield built
    built.service.close()


# The field-visit service levels of a case without VisitRequested (test_visits_api.py has them).
NO_VISITS = {"visit_performed": ["not_applicable"], "visit_approval": ["not_applicable"],
             "visit_report": ["not_applicable"], "event_report": ["not_applicable"]}


def statuses(report: dict[str, Any], api: Api) -> dict[str, dict[str, list[str]]]:
    """case name -> service level -> statuses (a level can appear more than once)."""
    found: dict[str, dict[str, list[str]]] = {}
    for case in report["cases"]:
        levels = found.setdefault(api.name(case["case_id"]), {})
        for s in case["service_levels"]:
            levels.setdefault(s["service_level"], []).append(s["status"])
    return found


# --- /v1/sla -----------------------------------------------------------------------------------

def test_the_report_judges_each_case_from_its_events(api: Api) -> None:
    got = statuses(api.sla(), api)
    assert got["good"] == {"first_action": ["met"], "initial_calls": ["met"],
                           "follow_up_calls": ["not_applicable"],
                           "field_visit_request": ["not_applicable"],
                           "field_visit": ["not_applicable"], "revisit": ["not_applicable"],
                           "progress_entry": ["met"], **NO_VISITS}
    assert got["late"] == {"first_action": ["breached"], "initial_calls": ["met"],
                           "follow_up_calls": ["pending"], "field_visit_request": ["breached"],
                           "field_visit": ["not_applicable"], "revisit": ["not_applicable"],
                           "progress_entry": ["met"], **NO_VISITS}
    assert got["visit"]["field_visit_request"] == ["met"]
    assert got["visit"]["field_visit"] == ["met"]
    assert got["visit"]["revisit"] == ["breached"]
    assert got["fv"]["field_visit_request"] == ["breached"]
    assert got["fv"]["field_visit"] == ["pending"]
    assert got["new"]["first_action"] == ["pending"]


def test_every_breach_is_listed_with_its_due_time_and_explanation(api: Api) -> None:
    report = api.sla()
    late = [b for b in report["breaches"] if api.name(b["case_id"]) == "late"]
    assert [b["service_level"] for b in late] == ["first_action", "field_visit_request"]
    first, request = late
    assert first["due_at"] == "2026-03-01T03:00:00Z"
    assert "came only at 2026-03-01 06:00 UTC, 3 hours late" in first["explanation"]
    assert request["due_at"] == "2026-03-06T01:00:00Z"
    assert "3 phone attempts in a row failed to reach the debtor" in request["explanation"]
    assert "no field-visit request yet, overdue by 13 days 23 hours" in request["explanation"]


def test_totals_count_each_service_level_by_status(api: Api) -> None:
    totals = api.sla()["totals"]
    assert set(totals) == {"first_action", "initial_calls", "follow_up_calls",
                           "field_visit_request", "field_visit", "revisit", "progress_entry",
                           "visit_performed", "visit_approval", "visit_report",
                           "event_report"}
    # good, visit, broken, fv, ceased met it; late breached it; new pending; `other` (never
    # contacted, no hold) breached it; `disputed` breached it too: its first action was due at
    # 02:00 and the dispute began only at 06:00; `closed` was closed when it fell due.
    assert totals["first_action"] == {"met": 5, "breached": 3, "pending": 1,
                                      "not_applicable": 1}
    assert sum(totals["revisit"].values()) == 10
    # Every contact was entered when it happened; the four cases never contacted have none.
    assert totals["progress_entry"] == {"met": 6, "breached": 0, "pending": 0,
                                        "not_applicable": 4}


def test_holds_before_the_due_time_take_service_levels_away_and_are_shown(api: Api) -> None:
    report = api.sla()
    by_name = {api.name(c["case_id"]): c for c in report["cases"]}
    closed = by_name["closed"]
    assert closed["holds"] == [{"kind": "closed", "since": "2026-03-01T03:00:00Z"}]
    assert {s["status"] for s in closed["service_levels"]} == {"not_applicable"}
    ceased = by_name["ceased"]
    assert ceased["holds"] == [{"kind": "cease_contact", "since": "2026-03-02T01:00:00Z"}]
    levels = {s["service_level"]: s for s in ceased["service_levels"]}
    assert levels["first_action"]["status"] == "met"
    assert levels["initial_calls"]["status"] == "not_applicable"
    assert "the debtor asked to cease contact at 2026-03-02 01:00 UTC" in \
        levels["initial_calls"]["explanation"]


def test_each_tenant_sees_only_its_own_cases(api: Api) -> None:
    everyone = {api.name(c["case_id"]) for c in api.sla()["cases"]}
    assert len(everyone) == 10
    agency_a = {api.name(c["case_id"]) for c in api.sla("agency_a")["cases"]}
    assert agency_a == everyone - {"other"}
    assert {api.name(c["case_id"]) for c in api.sla("bank2")["cases"]} == {"other"}
    assert {api.name(c["case_id"]) for c in api.sla("agency_b")["cases"]} == {"other"}
    assert api.sla("agency_b", agency_id="AG-A")["cases"] == []
    assert {api.name(c["case_id"]) for c in api.sla("admin", agency_id="AG-B")["cases"]} == {
        "other"}


def test_pages_follow_the_cursor_and_cover_every_case_once(api: Api) -> None:
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = api.sla(limit=3, **({"after": after} if after else {}))
        seen += [c["case_id"] for c in page["cases"]]
        assert sum(page["totals"]["first_action"].values()) == len(page["cases"])
        pages += 1
        after = page["next_after"]
        if after is None:
            break
    assert pages == 4
    assert seen == sorted(api.log.ids.values())


def test_from_and_to_select_cases_by_assignment_time(api: Api) -> None:
    march_10_on = api.sla(**{"from": "2026-03-10T00:00:00Z"})
    assert {api.name(c["case_id"]) for c in march_10_on["cases"]} == {"fv", "new", "disputed"}
    before_5th = api.sla(**{"from": "2026-03-01T00:00:00Z", "to": "2026-03-05T00:00:00Z"})
    assert "visit" not in {api.name(c["case_id"]) for c in before_5th["cases"]}
    backwards = api.get("auditor", "/v1/sla", **{"from": "2026-03-05T00:00:00Z",
                                                  "to": "2026-03-01T00:00:00Z"})
    assert backwards.status_code == 422


def test_as_of_judges_the_past_and_leaves_out_cases_not_yet_assigned(api: Api) -> None:
    early = api.sla(as_of="2026-03-01T02:00:00Z")
    got = statuses(early, api)
    assert got["late"]["first_action"] == ["pending"]
    assert got["good"]["first_action"] == ["met"]
    assert {"visit", "fv", "new", "disputed"}.isdisjoint(got)


def test_a_naive_as_of_is_refused(api: Api) -> None:
    response = api.get("auditor", "/v1/sla", as_of="2026-03-01T02:00:00")
    assert response.status_code == 422


# --- /v1/worklist ------------------------------------------------------------------------------

def test_the_worklist_lists_the_day_s_work_in_priority_order_with_reasons(api: Api) -> None:
    body = api.worklist()
    assert (body["agency_id"], body["date"], body["as_of"]) == ("AG-A", DAY,
                                                              "2026-03-20T00:00:00Z")
    assert (body["timezone"], body["day_starts_at"], body["day_ends_at"]) == (
        "UTC", "2026-03-20T00:00:00Z", "2026-03-21T00:00:00Z")
    items = [(i["priority"], api.name(i["case_id"]), i["kind"],
              i["service_level"] or i["promise_id"]) for i in body["items"]]
    assert items == [
        (1, "late", "service_level_overdue", "field_visit_request"),
        (1, "visit", "service_level_overdue", "initial_calls"),
        (1, "visit", "service_level_overdue", "revisit"),
        (2, "new", "service_level_due", "first_action"),
        (3, "good", "promise_due", "P-good"),
        (4, "broken", "promise_follow_up", "P-broken"),
        (5, "fv", "visit_due", "field_visit"),
    ]
    reasons = {(api.name(i["case_id"]), i["kind"]): i["reason"] for i in body["items"]}
    assert reasons[("late", "service_level_overdue")].startswith(
        "Overdue since 2026-03-06 01:00 UTC: raise a field-visit request.")
    assert reasons[("good", "promise_due")] == (
        "Promise P-good of 1500.00 falls due today (2026-03-20): remind the debtor.")
    assert (body["total"], body["truncated"]) == (7, False)


def test_cases_on_hold_never_appear_on_a_worklist(api: Api) -> None:
    listed = {api.name(i["case_id"]) for i in api.worklist("admin", agency_id="AG-A")["items"]}
    assert listed.isdisjoint({"closed", "ceased", "disputed"})


def test_agent_id_keeps_the_cases_whose_latest_contact_was_that_agent_s(api: Api) -> None:
    mine = {api.name(i["case_id"]) for i in api.worklist(agent_id="agent-2")["items"]}
    assert mine == {"late", "broken"}
    theirs = {api.name(i["case_id"]) for i in api.worklist(agent_id="agent-1")["items"]}
    assert theirs == {"good", "visit"}


def test_limit_truncates_the_worklist_but_reports_the_total(api: Api) -> None:
    body = api.worklist(limit=2)
    assert [i["priority"] for i in body["items"]] == [1, 1]
    assert (body["total"], body["truncated"]) == (7, True)


def test_a_worklist_is_one_agency_s_and_keys_see_only_their_own(api: Api) -> None:
    missing = api.get("auditor", "/v1/worklist", date=DAY)
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "agency_id_required"
    assert api.worklist("agency_b", agency_id="AG-A")["items"] == []
    assert api.worklist("bank2", agency_id="AG-A")["items"] == []
    assert len(api.worklist("bank1", agency_id="AG-A")["items"]) == 7
    assert api.client.get("/v1/worklist").status_code == 401
