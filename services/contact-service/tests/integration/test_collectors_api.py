"""Per-collector figures over HTTP, on SQLite and PostgreSQL: an agency's monthly QA scores
per collector and its KPIs per collector.

Hand-built case events, Shanghai days, the clock at 2026-11-02. AG-A in October 2026:

| case | creditor | contacts (r: recorded)                                | visits, money        |
|------|----------|-------------------------------------------------------|----------------------|
| A1   | BANK1    | c1 call debtor PTP r (agent-1); c2 no answer (agent-1)|                      |
| A2   | BANK1    | v1 visit contact debtor VISIT (agent-2)               | V1 by agent-2        |
| B1   | BANK2    | c3 call debtor TALK (no agent)                        | V2 by agent-3; PAY-1 |
| A1   | BANK1    | c4 in November (agent-1)                              |                      |

So each October sample draws every item: the call c1, the visit contact v1 and (of AG-A's
whole work) the repaid case B1.
"""

from __future__ import annotations

import csv
import io
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
from casetrail.envelope import EventEnvelope, event_id_for
from casetrail.projections.store import LOG_SOURCE, Delivery
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, fresh_database
from contact_service.adapters.contact_log import contacts
from contact_service.bootstrap import ContactService, build
from contact_service.config import ContactSettings
from contact_service.domain.qa import RECORDED_CALLS, REPAID_CASES, VISIT_RECORDS
from contact_service.entrypoints.app import create_app
from contact_service.entrypoints.routes.quality import CollectorKpisOut, CollectorScoresOut
from fastapi.testclient import TestClient

KEYS = {"bank1": (Role.CREDITOR, "BANK1"), "bank2": (Role.CREDITOR, "BANK2"),
        "agency_a": (Role.AGENCY, "AG-A"), "agency_b": (Role.AGENCY, "AG-B"),
        "auditor": (Role.AUDITOR, None), "admin": (Role.ADMIN, None)}
T0 = datetime(2026, 10, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
D = timedelta(days=1)
SCORES = "/v1/agencies/AG-A/collector-scores"
KPIS = "/v1/agencies/AG-A/collector-kpis"
OCTOBER = {"from": "2026-10-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00"}


class CaseLog:
    """Envelopes with per-case versions and a global position."""

    def __init__(self) -> None:
        self.position = 0
        self.versions: dict[UUID, int] = {}
        self.events: list[EventEnvelope] = []
        self.contacts: dict[str, str] = {}  # contact name -> event id
        self.cases: dict[str, str] = {}

    def event(self, name: str, type_: str, at: datetime, payload: dict[str, Any]
              ) -> EventEnvelope:
        case_id = uuid5(NAMESPACE_URL, f"collectors:{name}")
        self.cases[name] = str(case_id)
        version = self.versions.get(case_id, 0) + 1
        self.versions[case_id] = version
        self.position += 1
        envelope = EventEnvelope(
            event_id=event_id_for(case_id, version), type=type_, schema_version=1,
            case_id=case_id, version=version, position=self.position, occurred_at=at,
            recorded_at=at, payload={**payload, "actor": "test:*:fixture"})
        self.events.append(envelope)
        return envelope

    def placed(self, name: str, creditor: str) -> None:
        self.event(name, "Placed", T0, {
            "creditor_id": creditor, "account_ref": f"ACC-{name}", "placement_ref": "P-1",
            "agency_id": "AG-A", "allocation": {"method": "named"},
            "debtor_id": f"d-{name}", "debtor_timezone": "Asia/Shanghai",
            "contact_points": 1, "currency": "CNY", "balances": {"principal": "9000.00"},
            "dpd": 45, "bucket": "M2", "product": None, "placed_at": T0.isoformat(),
            "term_end": "2027-10-01"})

    def contact(self, contact: str, name: str, at: datetime, *, agent: str | None,
                party: str = "debtor", outcome: str = "conversation", code: str = "TALK",
                channel: str = "phone", recorded: bool = False) -> None:
        envelope = self.event(name, "Contacted", at, {
            "contact_id": f"K-{contact}", "channel": channel, "direction": "outbound",
            "party": party, "outcome": outcome, "action_code": code, "agent_id": agent,
            "recording_ref": f"rec/{contact}.wav" if recorded else None,
            "contact_point_ref": None, "contact_point_hint": None,
            "occurred_at": at.isoformat(), "agency_id": "AG-A", "note": None, "flags": []})
        self.contacts[contact] = str(envelope.event_id)

    def visit(self, name: str, visit_id: str, at: datetime, visitor: str) -> None:
        self.event(name, "VisitRequested", at - D, {
            "visit_id": visit_id, "agency_id": "AG-A", "reason": "no phone contact",
            "urgent": False, "requested_at": (at - D).isoformat(),
            "visit_by": (at + 5 * D).isoformat()})
        self.event(name, "VisitPerformed", at, {
            "visit_id": visit_id, "performed_at": at.isoformat(), "outcome": "debtor_met",
            "visitor_id": visitor, "evidence": [], "late": False, "agency_id": "AG-A"})


def october(log: CaseLog) -> None:
    """The month in the module docstring."""
    for name, creditor in (("A1", "BANK1"), ("A2", "BANK1"), ("B1", "BANK2")):
        log.placed(name, creditor)
    log.contact("c1", "A1", T0 + D, agent="agent-1", code="PTP", recorded=True)
    log.contact("c2", "A1", T0 + 2 * D, agent="agent-1", party="none", outcome="no_answer",
                code="NOANS")
    log.contact("v1", "A2", T0 + 3 * D, agent="agent-2", outcome="debtor_met", code="VISIT",
                channel="visit")
    log.visit("A2", "V1", T0 + 3 * D, "agent-2")
    log.contact("c3", "B1", T0 + 4 * D, agent=None)
    log.visit("B1", "V2", T0 + 6 * D, "agent-3")
    log.event("B1", "PaymentReceived", T0 + 5 * D, {
        "reference": "PAY-1", "amount": "100.00", "currency": "CNY", "source": "agency",
        "received_at": (T0 + 5 * D).isoformat(), "method": None, "agency_id": "AG-A",
        "flags": []})
    log.contact("c4", "A1", T0 + 30 * D, agent="agent-1")  # 11-01


class World:
    """The contact service on one database, with October applied and keys."""

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
        october(self.log)
        deliveries = [Delivery(e.position, e) for e in self.log.events]
        assert self.service.contact_log.apply(LOG_SOURCE, 0, deliveries).applied == len(
            deliveries)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.headers(who))

    def ok(self, who: str, path: str, **params: Any) -> Any:
        response = self.get(who, path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def sample(self, who: str, seed: str) -> dict[str, Any]:
        response = self.client.post("/v1/qa/samples", headers=self.headers(who), json={
            "agency_id": "AG-A", "month": "2026-10", "seed": seed})
        assert response.status_code == 201, response.text
        sample: dict[str, Any] = response.json()
        return sample

    def review(self, who: str, sample: dict[str, Any], population: str, score: int,
               serious: bool = False) -> dict[str, Any]:
        [item] = [i["item_id"] for i in sample["populations"][population]["items"]]
        response = self.client.post(
            f"/v1/qa/samples/{sample['sample_id']}/reviews", headers=self.headers(who),
            json={"item_id": item, "score": score, "findings": "checked", "serious": serious})
        assert response.status_code == 201, response.text
        review: dict[str, Any] = response.json()
        return review


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with fresh_database(request.param, tmp_path, "contact") as url:
        built = World(tmp_path, url)
        try:
            yield built
        finally:
            built.client.close()
            built.service.close()


def reviewed(world: World) -> dict[str, Any]:
    """Two samples of AG-A's whole month and one of BANK1's cases, reviewed:
    agent-1's call 90, 81 and (BANK1) 70; agent-2's visit 65 with a serious finding; the
    repaid case B1 100."""
    s1, s2 = world.sample("agency_a", "s1"), world.sample("agency_a", "s2")
    s3 = world.sample("bank1", "s1")
    ids = {
        "call-1": world.review("agency_a", s1, RECORDED_CALLS, 90),
        "visit": world.review("agency_a", s1, VISIT_RECORDS, 65, serious=True),
        "repaid": world.review("agency_a", s1, REPAID_CASES, 100),
        "call-2": world.review("agency_a", s2, RECORDED_CALLS, 81),
        "call-3": world.review("bank1", s3, RECORDED_CALLS, 70),
    }
    return {"samples": sorted(s["sample_id"] for s in (s1, s2, s3)), "reviews": ids,
            "bank1": s3["sample_id"]}


# ---------------------------------------------------------------------- QA scores

def test_each_review_keeps_the_collector_of_the_item_it_scored(world: World) -> None:
    done = reviewed(world)["reviews"]
    assert {name: r["collector_id"] for name, r in done.items()} == {
        "call-1": "agent-1", "visit": "agent-2", "repaid": None, "call-2": "agent-1",
        "call-3": "agent-1"}


def test_the_monthly_scores_per_collector_and_in_total(world: World) -> None:
    done = reviewed(world)
    rid = {name: r["review_id"] for name, r in done["reviews"].items()}
    scores = world.ok("admin", SCORES, month="2026-10")
    assert CollectorScoresOut.model_validate(scores).model_dump() == scores
    assert (scores["agency_id"], scores["month"], scores["creditor_id"]) == (
        "AG-A", "2026-10", None)
    assert scores["samples"] == done["samples"]
    assert scores["collectors"] == [
        {"collector_id": "agent-1", "reviews": 3, "average_score": "80.33", "min_score": 70,
         "serious_findings": 0,
         "review_ids": sorted([rid["call-1"], rid["call-2"], rid["call-3"]])},
        {"collector_id": "agent-2", "reviews": 1, "average_score": "65.00", "min_score": 65,
         "serious_findings": 1, "review_ids": [rid["visit"]]},
        {"collector_id": None, "reviews": 1, "average_score": "100.00", "min_score": 100,
         "serious_findings": 0, "review_ids": [rid["repaid"]]}]
    assert scores["total"] == {"reviews": 5, "average_score": "81.20", "min_score": 65,
                               "serious_findings": 1, "review_ids": sorted(rid.values())}
    assert world.ok("auditor", SCORES, month="2026-10") == scores
    assert world.ok("agency_a", SCORES, month="2026-10") == scores  # its samples, all


def test_a_creditor_sees_the_scores_of_its_own_samples_only(world: World) -> None:
    done = reviewed(world)
    bank1 = world.ok("bank1", SCORES, month="2026-10")
    assert (bank1["creditor_id"], bank1["samples"]) == ("BANK1", [done["bank1"]])
    assert bank1["collectors"] == [
        {"collector_id": "agent-1", "reviews": 1, "average_score": "70.00", "min_score": 70,
         "serious_findings": 0, "review_ids": [done["reviews"]["call-3"]["review_id"]]}]
    bank2 = world.ok("bank2", SCORES, month="2026-10")
    assert (bank2["samples"], bank2["collectors"]) == ([], [])
    assert bank2["total"] == {"reviews": 0, "average_score": None, "min_score": None,
                              "serious_findings": 0, "review_ids": []}
    assert world.get("agency_b", SCORES, month="2026-10").status_code == 403


def test_past_scores_do_not_move_when_the_log_changes_later(world: World) -> None:
    reviewed(world)
    before = world.ok("admin", SCORES, month="2026-10")
    with world.service.engine.begin() as conn:  # the contact row changed behind the reviews
        conn.execute(sa.update(contacts).values(agent_id="someone-else"))
    assert world.ok("admin", SCORES, month="2026-10") == before


def test_the_scores_as_csv_are_reproducible(world: World) -> None:
    done = reviewed(world)
    first = world.get("admin", SCORES, month="2026-10", format="csv")
    again = world.get("admin", SCORES, month="2026-10", format="csv")
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "text/csv; charset=utf-8"
    assert first.content == again.content
    rows = list(csv.reader(io.StringIO(first.content.decode().lstrip("\ufeff"))))
    assert rows[0] == ["collector_id", "reviews", "average_score", "min_score",
                       "serious_findings", "review_ids"]
    assert rows[1][:5] == ["agent-1", "3", "80.33", "70", "0"]
    assert rows[3] == ["", "1", "100.00", "100", "0", done["reviews"]["repaid"]["review_id"]]
    assert rows[4][:5] == ["total", "5", "81.20", "65", "1"]


@pytest.mark.parametrize("month", ["2026-13", "October", "2026-1"])
def test_a_bad_month_names_the_field(world: World, month: str) -> None:
    response = world.get("admin", SCORES, month=month)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_month"
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["query.month"]


# ---------------------------------------------------------------------- collector KPIs

def test_the_collector_kpis_of_the_month(world: World) -> None:
    kpis = world.ok("admin", KPIS, **OCTOBER)
    assert CollectorKpisOut.model_validate(kpis).model_dump(by_alias=True, mode="json") == kpis
    assert (kpis["from"], kpis["to"]) == ("2026-09-30T16:00:00Z", "2026-10-31T16:00:00Z")
    assert kpis["collectors"] == [
        {"collector_id": "agent-1", "contacts": 2, "right_party_contacts": 1,
         "visits_performed": 0, "action_codes": [
             {"action_code": "NOANS", "contacts": 1, "right_party_contacts": 0},
             {"action_code": "PTP", "contacts": 1, "right_party_contacts": 1}]},
        {"collector_id": "agent-2", "contacts": 1, "right_party_contacts": 1,
         "visits_performed": 1, "action_codes": [
             {"action_code": "VISIT", "contacts": 1, "right_party_contacts": 1}]},
        {"collector_id": "agent-3", "contacts": 0, "right_party_contacts": 0,
         "visits_performed": 1, "action_codes": []},
        {"collector_id": None, "contacts": 1, "right_party_contacts": 1,
         "visits_performed": 0, "action_codes": [
             {"action_code": "TALK", "contacts": 1, "right_party_contacts": 1}]}]
    assert kpis["total"] == {
        "contacts": 4, "right_party_contacts": 3, "visits_performed": 2, "action_codes": [
            {"action_code": "NOANS", "contacts": 1, "right_party_contacts": 0},
            {"action_code": "PTP", "contacts": 1, "right_party_contacts": 1},
            {"action_code": "TALK", "contacts": 1, "right_party_contacts": 1},
            {"action_code": "VISIT", "contacts": 1, "right_party_contacts": 1}]}
    # the same contacts as the agency's contact KPIs count
    agency = world.ok("admin", "/v1/agencies/AG-A/contact-kpis", **OCTOBER)
    assert sum(a["contacts"] for a in agency["action_codes"]) == kpis["total"]["contacts"]
    assert sum(a["right_party_contacts"] for a in agency["action_codes"]) == \
        kpis["total"]["right_party_contacts"]


def test_the_collector_kpis_are_scoped_like_the_contact_kpis(world: World) -> None:
    bank1 = world.ok("bank1", KPIS, **OCTOBER)
    assert bank1["creditor_id"] == "BANK1"
    assert [(c["collector_id"], c["contacts"], c["visits_performed"])
            for c in bank1["collectors"]] == [("agent-1", 2, 0), ("agent-2", 1, 1)]
    assert world.ok("agency_a", KPIS, **OCTOBER) == world.ok("auditor", KPIS, **OCTOBER)
    assert world.get("agency_b", KPIS, **OCTOBER).status_code == 403
    november = world.ok("admin", KPIS, **{"from": "2026-11-01T00:00:00+08:00",
                                          "to": "2026-11-02T00:00:00+08:00"})
    assert [(c["collector_id"], c["contacts"]) for c in november["collectors"]] == [
        ("agent-1", 1)]


def test_a_period_out_of_order_names_the_field(world: World) -> None:
    response = world.get("admin", KPIS, **{"from": OCTOBER["to"], "to": OCTOBER["from"]})
    assert response.status_code == 422
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["query.to"]
