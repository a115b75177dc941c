"""Contact permission, violations and policy assignment, end to end inside one process.

Events come from a real case application (SQLite); the contact service's database is SQLite or
PostgreSQL. `sync()` applies the case log to the contact-log projection as a consumer would.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from case_service.application import (
    AccountInput,
    CaseApplication,
    DebtorInput,
    PlacementBatch,
    pii,
    placement,
)
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from casetrail.crypto import MasterKey
from casetrail.projections.store import Delivery
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, fresh_database
from contact_service.adapters.contact_log import contact_cases
from contact_service.bootstrap import ContactService, build
from contact_service.config import ContactSettings
from contact_service.entrypoints.app import create_app
from fastapi.testclient import TestClient

KEYS = {"bank": (Role.CREDITOR, "BANK"), "agency": (Role.AGENCY, "AG-A"),
        "other": (Role.AGENCY, "AG-B"), "auditor": (Role.AUDITOR, None),
        "admin": (Role.ADMIN, None)}
SHANGHAI_2300 = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0) - \
    timedelta(days=2)  # 23:00 in Shanghai, two days ago


@pytest.fixture(params=BACKENDS)
def contact_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path, "contact") as url:
        yield url


class World:
    """A case application, a contact service, and keys."""

    def __init__(self, tmp_path: Path, contact_url: str):
        self.keys = {name: generate_key(role) for name, (role, _) in KEYS.items()}
        common = CommonSettings(
            api_keys=json.dumps([KeyEntry(n, hash_key(self.keys[n]), r, t).to_json()
                                 for n, (r, t) in KEYS.items()]),
            master_key=MasterKey.generate_b64())
        self.cases: CaseApplication = build_application(
            CaseSettings(database_url=f"sqlite:///{tmp_path}/case.db"), common)
        self.service: ContactService = build(ContactSettings(
            database_url=contact_url, default_policy_pack="cn-gbt-45251-2025"), common=common)
        self.client = TestClient(create_app(common=common, service=self.service))
        self.n = 0

    def place(self, timezone: str = "Asia/Shanghai", agency: str = "AG-A") -> UUID:
        self.n += 1
        receipt, _ = placement.place(self.cases, PlacementBatch(
            creditor_id="BANK", placement_ref=f"P{self.n}",
            received_at=SHANGHAI_2300 - timedelta(days=5), request_sha256=f"s{self.n}",
            accounts=[AccountInput(
                index=0, account_ref=f"A{self.n}", currency="CNY",
                balances={"principal": Decimal("900.00")}, dpd=40, agency_id=agency,
                debtor=DebtorInput(name="Wang Fang", national_id=f"ID-{self.n}",
                                   phones=("+8613911112222",), address=None, email=None,
                                   timezone=timezone))]), actor="test")
        return UUID(receipt["accepted"][0]["case_id"])

    def call(self, case_id: UUID, at: datetime, outcome: str = "conversation",
             party: str = "debtor") -> None:
        self.n += 1
        self.cases.execute(case_id, lambda c: c.record_contact(
            contact_id=f"call-{self.n}", channel="phone", direction="outbound", party=party,
            outcome=outcome, action_code="TALK", agent_id="agent-9", recording_ref=None,
            contact_point=pii.contact_point(self.cases, c, "+8613911112222"), occurred_at=at,
            note=None, actor="test"),
            expected_version=None, authorize=lambda _: None)

    def sync(self) -> None:
        """Apply everything new in the case log to the contact projection."""
        after = max(0, self.service.contact_log.position("feed"))
        while batch := self.cases.events_after(after, 500):
            self.service.contact_log.apply("feed", 0, [Delivery(e.position, e) for e in batch])
            after = batch[-1].position

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params,
                               headers={"Authorization": f"Bearer {self.keys[who]}"})

    def post(self, who: str, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(path, json=body,
                                headers={"Authorization": f"Bearer {self.keys[who]}"})


@pytest.fixture
def world(tmp_path: Path, contact_db: str) -> Iterator[World]:
    w = World(tmp_path, contact_db)
    yield w
    w.service.close()
    w.cases.close()


def permission(world: World, case_id: UUID, at: datetime, who: str = "agency",
               **params: Any) -> Any:
    return world.get(who, f"/v1/cases/{case_id}/contact-permission",
                     channel=params.pop("channel", "phone"), at=at.isoformat(), **params)


def test_a_call_at_2230_in_shanghai_is_denied_until_0800_there(world: World) -> None:
    case_id = world.place()
    world.sync()
    late = SHANGHAI_2300 - timedelta(minutes=30)
    answer = permission(world, case_id, late).json()
    assert answer["allowed"] is False
    assert [d["kind"] for d in answer["denials"]] == ["contact_window"]
    assert "22:00" in answer["denials"][0]["reason"]
    next_morning = (late + timedelta(days=1)).replace(hour=0, minute=0)  # 08:00 Shanghai
    assert answer["earliest_allowed_at"] == next_morning.isoformat().replace("+00:00", "Z")
    assert answer["pack_id"] == "cn-gbt-45251-2025"
    assert permission(world, case_id, late - timedelta(hours=10)).json()["allowed"] is True


def test_a_fourth_conversation_in_a_day_is_denied_by_the_daily_cap(world: World) -> None:
    case_id = world.place()
    morning = SHANGHAI_2300 - timedelta(hours=13)  # 10:00 Shanghai
    for i in range(3):
        world.call(case_id, morning + timedelta(hours=i))
    world.sync()
    answer = permission(world, case_id, morning + timedelta(hours=4)).json()
    assert answer["allowed"] is False
    assert "daily_cap" in [d["kind"] for d in answer["denials"]]
    assert answer["data_as_of"]["case_version"] == 4


def test_a_contact_outside_the_window_is_flagged_with_its_rule_and_pack_version(
        world: World) -> None:
    case_id = world.place()
    world.call(case_id, SHANGHAI_2300)
    world.call(case_id, SHANGHAI_2300 - timedelta(hours=12))  # 11:00 Shanghai: lawful
    world.sync()
    found = world.get("auditor", "/v1/compliance/violations").json()["violations"]
    assert [(v["case_id"], v["kind"], v["pack_id"], v["pack_version"]) for v in found] == [
        (str(case_id), "contact_window", "cn-gbt-45251-2025", 1)]
    assert world.get("agency", "/v1/compliance/violations", kind="contact_window"
                     ).json()["violations"][0]["agent_id"] == "agent-9"
    assert world.get("other", "/v1/compliance/violations").json()["violations"] == []


def test_violations_are_the_same_after_a_rebuild_from_the_log(world: World) -> None:
    case_id = world.place()
    for hour in (15, 16, 17, 18):  # 23:00 ... 02:00 Shanghai, plus daily caps
        world.call(case_id, SHANGHAI_2300.replace(hour=hour))
    world.sync()
    before = world.get("auditor", "/v1/compliance/violations").json()
    world.service.contact_log.reset()
    world.sync()
    assert world.get("auditor", "/v1/compliance/violations").json() == before
    assert len(before["violations"]) >= 4


def test_a_policy_assignment_applies_from_its_time_and_never_retroactively(
        world: World) -> None:
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    refused = world.post("bank", "/v1/creditors/BANK/policy",
                         {"pack_id": "us-reg-f", "effective_from": past})
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["path"] == "body.effective_from"
    unknown = world.post("bank", "/v1/creditors/BANK/policy", {"pack_id": "nope"})
    assert unknown.status_code == 422
    assert world.post("bank", "/v1/creditors/OTHER/policy",
                      {"pack_id": "us-reg-f"}).status_code == 403
    assert world.post("bank", "/v1/creditors/BANK/policy",
                      {"pack_id": "us-reg-f"}).status_code == 201
    policy = world.get("bank", "/v1/creditors/BANK/policy").json()
    assert policy["in_force"] == {"pack_id": "us-reg-f", "version": 1}
    # A contact from before the assignment is still judged by the pack in force then.
    case_id = world.place()
    world.call(case_id, SHANGHAI_2300 - timedelta(minutes=90))  # 21:30: breaks only the US
    world.sync()
    assert world.get("auditor", "/v1/compliance/violations").json()["violations"] == []
    now_local_late = permission(world, case_id, datetime.now(UTC)).json()
    assert now_local_late["pack_id"] == "us-reg-f"


def test_permission_waits_for_the_projection_when_asked_to_read_its_own_write(
        world: World) -> None:
    case_id = world.place()
    world.sync()
    world.call(case_id, SHANGHAI_2300 - timedelta(hours=12))
    behind = permission(world, case_id, SHANGHAI_2300 - timedelta(hours=11), min_version=2)
    assert behind.status_code == 503
    assert behind.json()["error"]["code"] == "projection_behind"
    world.sync()
    assert permission(world, case_id, SHANGHAI_2300 - timedelta(hours=11),
                      min_version=2).status_code == 200


def test_permission_for_a_case_of_another_agency_is_404_and_bad_input_is_422(
        world: World) -> None:
    case_id = world.place()
    world.sync()
    assert permission(world, case_id, SHANGHAI_2300, who="other").status_code == 404
    assert permission(world, uuid.uuid4(), SHANGHAI_2300).status_code == 404
    bad = permission(world, case_id, SHANGHAI_2300, channel="pigeon")
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["path"] == "query.channel"


def test_held_cases_are_denied_with_no_time_that_would_do(world: World) -> None:
    case_id = world.place()
    world.cases.execute(case_id, lambda c: c.dispute(
        reason="not mine", disputed_at=SHANGHAI_2300 - timedelta(days=1), actor="t"),
        expected_version=None, authorize=lambda _: None)
    world.sync()
    with world.service.engine.connect() as conn:
        assert conn.execute(contact_cases.select()).mappings().one()["dispute_open"] is True
    answer = permission(world, case_id, SHANGHAI_2300 - timedelta(hours=12)).json()
    assert answer["allowed"] is False
    assert answer["earliest_allowed_at"] is None



def test_a_contact_breaking_one_rule_for_two_reasons_is_one_violation_with_both(
        world: World) -> None:
    case_id = world.place()
    for command in (lambda c: c.dispute(reason="not mine", actor="t",
                                        disputed_at=SHANGHAI_2300 - timedelta(days=1)),
                    lambda c: c.recall(reason="rotation", actor="t",
                                       recalled_at=SHANGHAI_2300 - timedelta(hours=20))):
        world.cases.execute(case_id, command, expected_version=None, authorize=lambda _: None)
    world.call(case_id, SHANGHAI_2300 - timedelta(hours=12))  # lawful hour, held case
    world.sync()
    [held] = world.get("auditor", "/v1/compliance/violations").json()["violations"]
    assert held["kind"] == "case_hold"
    assert "; " in held["reason"]  # both the dispute and the recall are named


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_assignments_from_now_on_a_clock_that_did_not_move_are_both_kept(
        backend: str, tmp_path: Path) -> None:
    from casetrail.clock import ManualClock
    from casetrail.security import Principal

    clock = ManualClock(datetime(2026, 6, 1, tzinfo=UTC))
    admin = Principal("t", Role.ADMIN)
    with fresh_database(backend, tmp_path, "contact") as url:
        service = build(ContactSettings(database_url=url), clock=clock)
        try:
            first, _ = service.compliance.assign_policy(admin, "BANK", "us-reg-f", None)
            second, _ = service.compliance.assign_policy(admin, "BANK", "cn-gbt-45251-2025",
                                                         None)
            # The later one takes effect from the next microsecond (it used to recurse for
            # ever, a 500): contacts at that instant are judged by the first, later by it.
            assert (first["effective_from"], second["effective_from"]) == (
                "2026-06-01T00:00:00+00:00", "2026-06-01T00:00:00.000001+00:00")
            assert [a["pack_id"] for a in service.compliance.creditor_policy(
                admin, "BANK")["assignments"]] == ["us-reg-f", "cn-gbt-45251-2025"]
        finally:
            service.close()
