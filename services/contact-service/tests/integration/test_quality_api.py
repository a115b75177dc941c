"""QA samples, reviews and agency contact KPIs over HTTP, on a SQLite contact database.

Case events are applied to the contact-log projection as envelopes, as a consumer would. The
month under test is October 2026 (Asia/Shanghai debtors, contacts at 10:00 local time unless a
test says otherwise). What the agency AG-A did then:

| case | creditor | assigned     | October contacts (r: recorded)      | money, promises     |
|------|----------|--------------|-------------------------------------|---------------------|
| A1   | BANK1    | 10-02        | c1 call debtor r; c2 call none r    | PAY-1 100; P1 kept  |
| A2   | BANK1    | 10-03        | c3 3rd-party call r; v1 visit debtor| PAY-2 100, reversed |
| A3   | BANK1    | 09-10        | c4 call debtor r                    | P3 broken 10-02     |
| A4   | BANK1    | 10-05        | c8 call none; v2 visit none         |                     |
| B1   | BANK2    | 10-02        | c5 call debtor r; c6 none 22:00 r   | PAY-4 30; P2 broken |
| B2   | BANK2    | 10-04        | c7 call debtor refused r; c9 sms    | P4 open             |
| B3   | BANK2    | 10-06        | v3 visit debtor                     |                     |
| B4   | BANK2    | 10-07        | none                                |                     |
| X1   | BANK1    | 10-02 (AG-B) | x1 call debtor r (by AG-B)          |                     |

A3 was paid (PAY-3) in September; PAY-4 was paid to BANK2 directly.
c10 (a recorded call on A1) is in November.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from casetrail.crypto import MasterKey
from casetrail.envelope import EventEnvelope, event_id_for
from casetrail.projections.store import Delivery
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from contact_service.bootstrap import ContactService, build
from contact_service.config import ContactSettings
from contact_service.domain.qa import (
    RECORDED_CALLS,
    REPAID_CASES,
    VISIT_RECORDS,
    derive_sample,
    population_digest,
)
from contact_service.entrypoints.app import create_app
from fastapi.testclient import TestClient

KEYS = {"admin": (Role.ADMIN, None), "auditor": (Role.AUDITOR, None),
        "bank1": (Role.CREDITOR, "BANK1"), "bank2": (Role.CREDITOR, "BANK2"),
        "agency_a": (Role.AGENCY, "AG-A"), "agency_b": (Role.AGENCY, "AG-B")}
CASE_NAMESPACE = uuid.UUID("0b5a3c1e-6d7f-4e21-9a8b-3c4d5e6f7a8b")
OCTOBER = "2026-10"


def at(month: int, day: int, hour: int = 2) -> datetime:
    """An instant in 2026, UTC (02:00 UTC is 10:00 in Shanghai)."""
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


class CaseLog:
    """Writes case events straight into the contact-log projection, one delivery at a time."""

    def __init__(self, service: ContactService):
        self.service = service
        self.position = 0
        self.versions: dict[uuid.UUID, int] = {}
        self.cases: dict[str, uuid.UUID] = {}
        self.contacts: dict[str, str] = {}  # contact name -> event id

    def emit(self, case_id: uuid.UUID, event_type: str, when: datetime, **payload: Any
             ) -> EventEnvelope:
        version = self.versions.get(case_id, 0) + 1
        self.versions[case_id] = version
        self.position += 1
        envelope = EventEnvelope(
            event_id=event_id_for(case_id, version), type=event_type, schema_version=1,
            case_id=case_id, version=version, position=self.position, occurred_at=when,
            recorded_at=when, payload={**payload, "actor": "test:*:feeder"})
        self.service.contact_log.apply("test", 0, [Delivery(self.position, envelope)])
        return envelope

    def place(self, name: str, creditor: str, agency: str, when: datetime) -> uuid.UUID:
        case_id = uuid.uuid5(CASE_NAMESPACE, f"{creditor}:{name}")
        self.cases[name] = case_id
        self.emit(case_id, "Placed", when, creditor_id=creditor, account_ref=name,
                  placement_ref="P-1", agency_id=agency, allocation={"method": "named"},
                  debtor_id=f"d-{uuid.uuid5(CASE_NAMESPACE, name).hex}",
                  debtor_timezone="Asia/Shanghai", contact_points=1, currency="CNY",
                  balances={"principal": "1000.00"}, dpd=45, bucket="M2", product=None,
                  placed_at=when.isoformat(), term_end="2027-10-01")
        return case_id

    def contact(self, name: str, case: str, when: datetime, *, channel: str = "phone",
                party: str = "debtor", outcome: str = "conversation", recorded: bool = True,
                agency: str = "AG-A") -> str:
        envelope = self.emit(
            self.cases[case], "Contacted", when, contact_id=f"dialer-{name}", channel=channel,
            direction="outbound", party=party, outcome=outcome, action_code="TALK",
            agent_id="agent-7", recording_ref=f"rec/{name}.wav" if recorded else None,
            contact_point_ref=None, contact_point_hint=None, occurred_at=when.isoformat(),
            agency_id=agency, note=None, flags=[])
        self.contacts[name] = str(envelope.event_id)
        return str(envelope.event_id)

    def pay(self, case: str, reference: str, amount: str, when: datetime,
            source: str = "agency") -> None:
        self.emit(self.cases[case], "PaymentReceived", when, reference=reference, amount=amount,
                  currency="CNY", source=source, received_at=when.isoformat(),
                  method="bank_transfer", agency_id="AG-A", flags=[])

    def reverse(self, case: str, reference: str, amount: str, when: datetime) -> None:
        self.emit(self.cases[case], "PaymentReversed", when, reference=reference, amount=amount,
                  reason="bounced", reversed_at=when.isoformat(), agency_id="AG-A",
                  source="agency")

    def promise(self, case: str, promise_id: str, when: datetime) -> None:
        self.emit(self.cases[case], "PromisedToPay", when, promise_id=promise_id,
                  amount="100.00", due_date=(when + timedelta(days=7)).date().isoformat(),
                  promised_at=when.isoformat(), agency_id="AG-A")

    def keep(self, case: str, promise_id: str, when: datetime) -> None:
        self.emit(self.cases[case], "PromiseKept", when, promise_id=promise_id,
                  kept_at=when.isoformat())

    def break_(self, case: str, promise_id: str, when: datetime) -> None:
        self.emit(self.cases[case], "PromiseBroken", when, promise_id=promise_id,
                  shortfall="100.00", broken_at=when.isoformat(), agency_id="AG-A")


def october(log: CaseLog) -> None:
    """The month in the module docstring."""
    for name, creditor, agency, day in [
            ("A1", "BANK1", "AG-A", 2), ("A2", "BANK1", "AG-A", 3), ("A4", "BANK1", "AG-A", 5),
            ("B1", "BANK2", "AG-A", 2), ("B2", "BANK2", "AG-A", 4), ("B3", "BANK2", "AG-A", 6),
            ("B4", "BANK2", "AG-A", 7), ("X1", "BANK1", "AG-B", 2)]:
        log.place(name, creditor, agency, at(10, day))
    log.place("A3", "BANK1", "AG-A", at(9, 10))
    log.promise("A3", "P3", at(9, 15))
    log.pay("A3", "PAY-3", "50.00", at(9, 20))
    log.break_("A3", "P3", at(10, 2))

    log.contact("c1", "A1", at(10, 3))
    log.contact("c2", "A1", at(10, 4), party="none", outcome="no_answer")
    log.contact("c3", "A2", at(10, 4), party="third_party")
    log.contact("c4", "A3", at(10, 5))
    log.contact("c5", "B1", at(10, 5))
    log.contact("c6", "B1", at(10, 6, hour=14), party="none", outcome="no_answer")  # 22:00 local
    log.contact("c7", "B2", at(10, 6), outcome="refused")
    log.contact("c8", "A4", at(10, 7), party="none", outcome="busy", recorded=False)
    log.contact("c9", "B2", at(10, 7), channel="sms", party="none", outcome="delivered",
                recorded=False)
    log.contact("v1", "A2", at(10, 8), channel="visit", outcome="debtor_met", recorded=False)
    log.contact("v2", "A4", at(10, 9), channel="visit", party="none",
                outcome="debtor_not_found", recorded=False)
    log.contact("v3", "B3", at(10, 10), channel="visit", outcome="debtor_met", recorded=False)
    log.contact("x1", "X1", at(10, 5), agency="AG-B")
    log.contact("c10", "A1", at(11, 2))

    log.promise("A1", "P1", at(10, 5))
    log.pay("A1", "PAY-1", "100.00", at(10, 10))
    log.keep("A1", "P1", at(10, 10))
    log.pay("A2", "PAY-2", "100.00", at(10, 11))
    log.reverse("A2", "PAY-2", "100.00", at(10, 20))
    log.promise("B1", "P2", at(10, 6))
    log.break_("B1", "P2", at(10, 20))
    log.pay("B1", "PAY-4", "30.00", at(10, 15), source="creditor_direct")
    log.promise("B2", "P4", at(10, 25))


class World:
    """The contact service with October's events, an HTTP client and keys."""

    def __init__(self, tmp_path: Path):
        self.keys = {name: generate_key(role) for name, (role, _) in KEYS.items()}
        common = CommonSettings(
            api_keys=json.dumps([KeyEntry(n, hash_key(self.keys[n]), r, t).to_json()
                                 for n, (r, t) in KEYS.items()]),
            master_key=MasterKey.generate_b64(), var_dir=tmp_path / "var")
        self.service = build(ContactSettings(database_url=f"sqlite:///{tmp_path}/contact.db"),
                             common=common)
        self.client = TestClient(create_app(common=common, service=self.service))
        self.log = CaseLog(self.service)
        october(self.log)

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params,
                               headers={"Authorization": f"Bearer {self.keys[who]}"})

    def post(self, who: str, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(path, json=body,
                                headers={"Authorization": f"Bearer {self.keys[who]}"})

    def sample(self, who: str = "agency_a", agency: str = "AG-A", month: str = OCTOBER,
               seed: str | None = "october-seed") -> Any:
        body: dict[str, Any] = {"agency_id": agency, "month": month}
        if seed is not None:
            body["seed"] = seed
        return self.post(who, "/v1/qa/samples", body)

    def ids(self, *names: str) -> set[str]:
        return {self.log.contacts[n] for n in names}

    def case_ids(self, *names: str) -> set[str]:
        return {str(self.log.cases[n]) for n in names}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.service.close()


def item_ids(sample: dict[str, Any], population: str) -> list[str]:
    return [i["item_id"] for i in sample["populations"][population]["items"]]


# ---------------------------------------------------------------------- samples

def test_an_agency_samples_its_month_with_the_minimum_share_of_each_population(
        world: World) -> None:
    response = world.sample()
    assert response.status_code == 201, response.text
    sample = response.json()
    counts = {name: (p["population_size"], p["required"], p["selected"])
              for name, p in sample["populations"].items()}
    assert counts == {RECORDED_CALLS: (7, 2, 2), VISIT_RECORDS: (3, 1, 1),
                      REPAID_CASES: (2, 1, 1)}
    assert set(item_ids(sample, RECORDED_CALLS)) <= world.ids(
        "c1", "c2", "c3", "c4", "c5", "c6", "c7")
    assert set(item_ids(sample, VISIT_RECORDS)) <= world.ids("v1", "v2", "v3")
    assert set(item_ids(sample, REPAID_CASES)) <= world.case_ids("A1", "B1")
    assert sample["creditor_id"] is None
    assert sample["rates"] == {RECORDED_CALLS: "0.15", VISIT_RECORDS: "0.30",
                               REPAID_CASES: "0.10"}
    assert sample["actor"] == "agency:AG-A:agency_a"
    assert sample["reviews"] == []


def test_sampled_calls_name_their_recording(world: World) -> None:
    sample = world.sample().json()
    for item in sample["populations"][RECORDED_CALLS]["items"]:
        assert item["contact"]["recording_ref"].startswith("rec/")
        assert item["contact"]["channel"] == "phone"


def test_an_auditor_re_derives_the_sample_from_its_seed_and_the_population(
        world: World) -> None:
    sample = world.sample().json()
    population = {
        RECORDED_CALLS: world.ids("c1", "c2", "c3", "c4", "c5", "c6", "c7"),
        VISIT_RECORDS: world.ids("v1", "v2", "v3"),
        REPAID_CASES: world.case_ids("A1", "B1"),
    }
    again = derive_sample(population, sample["seed"])
    for name, ids in population.items():
        assert tuple(item_ids(sample, name)) == again.populations[name].selected
        assert sample["populations"][name]["digest"] == population_digest(ids)


def test_the_same_request_returns_the_same_sample_with_200(world: World) -> None:
    first = world.sample()
    again = world.sample()
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["sample_id"] == first.json()["sample_id"]
    assert again.json()["populations"] == first.json()["populations"]


def test_a_sample_without_a_seed_records_a_random_one(world: World) -> None:
    first = world.sample(seed=None)
    second = world.sample(seed=None)
    assert (first.status_code, second.status_code) == (201, 201)
    seed = first.json()["seed"]
    assert len(seed) == 32
    assert int(seed, 16) >= 0
    assert second.json()["sample_id"] != first.json()["sample_id"]


def test_the_current_month_may_be_sampled(world: World) -> None:
    response = world.sample(month="2026-11")
    assert response.status_code == 201, response.text
    assert item_ids(response.json(), RECORDED_CALLS) == [world.log.contacts["c10"]]


@pytest.mark.parametrize("month", ["2999-01", "2026-13", "October", "2026-1"])
def test_a_month_that_is_malformed_or_not_begun_is_refused_with_its_field_path(
        world: World, month: str) -> None:
    response = world.sample(month=month)
    assert response.status_code == 422
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["body.month"]


def test_a_creditor_samples_only_its_own_cases_at_an_agency(world: World) -> None:
    response = world.sample(who="bank1")
    assert response.status_code == 201, response.text
    sample = response.json()
    assert sample["creditor_id"] == "BANK1"
    sizes = {n: p["population_size"] for n, p in sample["populations"].items()}
    assert sizes == {RECORDED_CALLS: 4, VISIT_RECORDS: 2, REPAID_CASES: 1}
    cases = {i["case_id"] for p in sample["populations"].values() for i in p["items"]}
    assert cases <= world.case_ids("A1", "A2", "A3", "A4")
    assert world.get("agency_a", f"/v1/qa/samples/{sample['sample_id']}").status_code == 200
    assert world.get("bank2", f"/v1/qa/samples/{sample['sample_id']}").status_code == 404


def test_a_creditors_sample_is_not_the_agencys_sample_for_the_same_seed(world: World) -> None:
    by_agency = world.sample().json()
    by_creditor = world.sample(who="bank1").json()
    assert by_agency["sample_id"] != by_creditor["sample_id"]


def test_a_creditor_cannot_sample_an_agency_that_never_had_its_cases(world: World) -> None:
    assert world.sample(who="bank2", agency="AG-B").status_code == 403


def test_an_agency_neither_samples_nor_sees_another_agencys_work(world: World) -> None:
    assert world.sample(who="agency_b").status_code == 403
    sample_id = world.sample().json()["sample_id"]
    assert world.get("agency_b", f"/v1/qa/samples/{sample_id}").status_code == 404
    assert world.get("bank1", f"/v1/qa/samples/{sample_id}").status_code == 404


def test_auditors_read_samples_but_cannot_draw_them(world: World) -> None:
    assert world.sample(who="auditor").status_code == 403
    sample_id = world.sample(who="admin").json()["sample_id"]
    assert world.get("auditor", f"/v1/qa/samples/{sample_id}").status_code == 200


def test_an_unknown_sample_is_not_found(world: World) -> None:
    response = world.get("admin", f"/v1/qa/samples/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "sample_not_found"


# ---------------------------------------------------------------------- verification

def test_an_untouched_sample_verifies_against_the_current_populations(world: World) -> None:
    sample_id = world.sample().json()["sample_id"]
    verification = world.get("auditor", f"/v1/qa/samples/{sample_id}").json()["verification"]
    assert verification["matches"] is True
    assert all(p["population_unchanged"] and p["selection_matches"]
               for p in verification["populations"].values())


def test_a_call_reported_late_shows_as_a_changed_population(world: World) -> None:
    sample_id = world.sample().json()["sample_id"]
    world.log.contact("late", "A4", at(10, 30))
    verification = world.get("auditor", f"/v1/qa/samples/{sample_id}").json()["verification"]
    assert verification["matches"] is False
    calls = verification["populations"][RECORDED_CALLS]
    assert (calls["recorded_size"], calls["current_size"]) == (7, 8)
    assert calls["population_unchanged"] is False
    assert verification["populations"][VISIT_RECORDS]["population_unchanged"] is True


def test_a_payment_reversed_after_sampling_changes_the_repaid_population(world: World) -> None:
    sample_id = world.sample().json()["sample_id"]
    world.log.reverse("A1", "PAY-1", "100.00", at(11, 3))
    verification = world.get("admin", f"/v1/qa/samples/{sample_id}").json()["verification"]
    repaid = verification["populations"][REPAID_CASES]
    assert (repaid["recorded_size"], repaid["current_size"]) == (2, 1)
    assert verification["matches"] is False


# ---------------------------------------------------------------------- reviews

def review(world: World, sample_id: str, who: str = "agency_a", **body: Any) -> Any:
    return world.post(who, f"/v1/qa/samples/{sample_id}/reviews",
                      {"score": 80, "findings": "greeting and disclosure complete",
                       "serious": False, **body})


def test_a_review_of_a_sampled_call_is_recorded_and_listed_with_the_sample(
        world: World) -> None:
    sample = world.sample().json()
    item = item_ids(sample, RECORDED_CALLS)[0]
    response = review(world, sample["sample_id"], item_id=item)
    assert response.status_code == 201, response.text
    recorded = response.json()
    assert recorded["population"] == RECORDED_CALLS
    assert recorded["reviewer"] == "agency:AG-A:agency_a"
    assert recorded["escalate_by"] is None
    listed = world.get("auditor", f"/v1/qa/samples/{sample['sample_id']}").json()["reviews"]
    assert [r["review_id"] for r in listed] == [recorded["review_id"]]


def test_a_serious_finding_must_be_escalated_within_24_hours(world: World) -> None:
    sample = world.sample().json()
    item = item_ids(sample, VISIT_RECORDS)[0]
    recorded = review(world, sample["sample_id"], item_id=item, score=20, serious=True,
                      findings="collector threatened the debtor's family").json()
    reviewed_at = datetime.fromisoformat(recorded["reviewed_at"])
    assert datetime.fromisoformat(recorded["escalate_by"]) - reviewed_at == timedelta(hours=24)


def test_an_item_outside_the_sample_is_refused_with_its_field_path(world: World) -> None:
    sample = world.sample().json()
    outside = next(iter(world.ids("c1", "c2", "c3", "c4", "c5", "c6", "c7")
                        - set(item_ids(sample, RECORDED_CALLS))))
    response = review(world, sample["sample_id"], item_id=outside)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "item_not_in_sample"
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["body.item_id"]


@pytest.mark.parametrize("score", [-1, 101, "80", 79.5])
def test_a_score_must_be_a_whole_number_from_0_to_100(world: World, score: Any) -> None:
    sample = world.sample().json()
    response = review(world, sample["sample_id"], item_id=item_ids(sample, REPAID_CASES)[0],
                      score=score)
    assert response.status_code == 422
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["body.score"]


def test_a_retried_review_is_recorded_once_and_a_reused_id_is_a_conflict(world: World) -> None:
    sample = world.sample().json()
    item = item_ids(sample, REPAID_CASES)[0]
    first = review(world, sample["sample_id"], item_id=item, review_id="rv-1")
    again = review(world, sample["sample_id"], item_id=item, review_id="rv-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    other = review(world, sample["sample_id"], item_id=item, review_id="rv-1", score=10)
    assert other.status_code == 409
    listed = world.get("admin", f"/v1/qa/samples/{sample['sample_id']}").json()["reviews"]
    assert len(listed) == 1


def test_the_agency_does_not_review_a_creditors_sample(world: World) -> None:
    sample = world.sample(who="bank1").json()
    item = item_ids(sample, RECORDED_CALLS)[0]
    assert review(world, sample["sample_id"], item_id=item).status_code == 403
    assert review(world, sample["sample_id"], who="bank1", item_id=item).status_code == 201


def test_auditors_do_not_review(world: World) -> None:
    sample = world.sample().json()
    item = item_ids(sample, RECORDED_CALLS)[0]
    assert review(world, sample["sample_id"], who="auditor", item_id=item).status_code == 403


def test_a_repeated_sample_request_returns_its_reviews(world: World) -> None:
    sample = world.sample().json()
    review(world, sample["sample_id"], item_id=item_ids(sample, RECORDED_CALLS)[0])
    assert len(world.sample().json()["reviews"]) == 1


# ---------------------------------------------------------------------- KPIs

def kpis(world: World, who: str, agency: str = "AG-A", start: str = "2026-10-01T00:00:00Z",
         end: str = "2026-11-01T00:00:00Z") -> Any:
    return world.get(who, f"/v1/agencies/{agency}/contact-kpis", **{"from": start, "to": end})


def shown(response: Any) -> dict[str, tuple[str | None, int, int]]:
    assert response.status_code == 200, response.text
    return {name: (k["value"], k["numerator"], k["denominator"])
            for name, k in response.json()["kpis"].items()}


def test_an_agencys_october_kpis_show_their_numerators_and_denominators(world: World) -> None:
    assert shown(kpis(world, "agency_a")) == {
        # Cases assigned: every case AG-A held in October, A3 too (assigned in September).
        "contact_rate": ("0.8750", 7, 8),  # B4 never contacted
        "right_party_contact_rate": ("0.7500", 6, 8),  # A1 A2 A3 B1 B2 B3
        "promise_rate": ("0.5000", 3, 6),  # P1 P2 P4 per c1 c4 c5 c7 v1 v3
        "promise_kept_rate": ("0.3333", 1, 3),  # P1 kept; P2, P3 broken
        "violations_per_1000_contacts": ("83.3333", 1, 12),  # c6 at 22:00
        "complaints_per_1000_cases": ("0.0000", 0, 8),  # no complaint in this story
    }


def test_a_creditor_gets_kpis_over_its_own_cases_only(world: World) -> None:
    response = kpis(world, "bank1")
    assert response.json()["creditor_id"] == "BANK1"
    assert shown(response) == {
        "contact_rate": ("1.0000", 4, 4),  # A1 A2 A3 A4
        "right_party_contact_rate": ("0.7500", 3, 4),  # A1 A2 A3
        "promise_rate": ("0.3333", 1, 3),
        "promise_kept_rate": ("0.5000", 1, 2),
        "violations_per_1000_contacts": ("0.0000", 0, 7),
        "complaints_per_1000_cases": ("0.0000", 0, 4),
    }


def test_kpis_over_no_activity_are_null_not_zero(world: World) -> None:
    values = shown(kpis(world, "bank2", agency="AG-B"))
    assert all(value is None and denominator == 0
               for value, _, denominator in values.values()
               if denominator == 0)
    assert values["contact_rate"] == (None, 0, 0)


def test_each_kpi_states_its_definition(world: World) -> None:
    body = kpis(world, "admin").json()
    assert body["from"].startswith("2026-10-01T00:00:00")
    assert all(k["definition"] for k in body["kpis"].values())


def test_an_agency_sees_only_its_own_kpis(world: World) -> None:
    assert kpis(world, "agency_b").status_code == 403
    assert kpis(world, "agency_b", agency="AG-B").status_code == 200


def test_a_period_that_ends_before_it_starts_is_refused_with_its_field_path(
        world: World) -> None:
    response = kpis(world, "admin", start="2026-11-01T00:00:00Z", end="2026-10-01T00:00:00Z")
    assert response.status_code == 422
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["query.to"]


def test_a_period_needs_timezone_aware_bounds(world: World) -> None:
    response = kpis(world, "admin", start="2026-10-01T00:00:00")
    assert response.status_code == 422
