"""The case service's own issue-21 events (complaints, field visits, a recall over a
complaint), as its log gives them, reach the contact log: applied live on SQLite and
PostgreSQL, and a rebuild from the case log equals the live copy.

test_complaints_visits_api.py judges hand-built envelopes of the same contract in detail;
this test keeps the contact log honest about what the case service really sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from case_service.application import (
    AccountInput,
    CaseApplication,
    DebtorInput,
    PlacementBatch,
    placement,
)
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from case_service.domain.workflows import ComplaintRules
from casetrail.crypto import MasterKey
from casetrail.projections.rebuild import compare, rebuild
from casetrail.projections.store import LOG_SOURCE, Delivery, ProjectionStore, make_engine
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, fresh_database
from contact_service.adapters.contact_log import complaints, visits
from contact_service.bootstrap import contact_log_projection

AT = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
H, D = timedelta(hours=1), timedelta(days=1)


@pytest.fixture
def cases(tmp_path: Path) -> Iterator[CaseApplication]:
    app = build_application(CaseSettings(database_url=f"sqlite:///{tmp_path}/case.db"),
                            CommonSettings(master_key=MasterKey.generate_b64(),
                                           var_dir=tmp_path / "var"))
    yield app
    app.close()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ProjectionStore,
                                                                             str]]:
    with fresh_database(request.param, tmp_path, "contact") as url:
        projection_store = ProjectionStore(make_engine(url), contact_log_projection())
        projection_store.create_schema()
        yield projection_store, url
        projection_store.engine.dispose()


def place(cases: CaseApplication, n: int) -> list[UUID]:
    receipt, _ = placement.place(cases, PlacementBatch(
        creditor_id="BANK", placement_ref="W", received_at=AT, request_sha256="W",
        accounts=[AccountInput(index=i, account_ref=f"W-{i}", currency="CNY", dpd=40,
                               agency_id="AG", balances={"principal": Decimal("100.00")},
                               debtor=DebtorInput(name="n", national_id=f"N{i}",
                                                  phones=("+8613800000000",), address=None,
                                                  email=None, timezone="Asia/Shanghai"))
                  for i in range(n)]), actor="t")
    return [UUID(r["case_id"]) for r in receipt["accepted"]]


def run(cases: CaseApplication, case_id: UUID, command: Any) -> None:
    cases.execute(case_id, command, expected_version=None, authorize=lambda _: None)


def workflows(cases: CaseApplication) -> None:
    first, second = place(cases, 2)
    received = AT + D
    run(cases, first, lambda case: case.receive_complaint(
        complaint_id="CP1", channel="phone", category="conduct", received_at=received,
        note=None, rules=ComplaintRules(), actor="t"))
    run(cases, first, lambda case: case.acknowledge_complaint(
        complaint_id="CP1", acknowledged_at=received + H, actor="t"))
    run(cases, first, lambda case: case.investigate_complaint(
        complaint_id="CP1", finding="rude", investigated_at=received + D, actor="t"))
    run(cases, first, lambda case: case.resolve_complaint(
        complaint_id="CP1", outcome="upheld", note="apology", resolved_at=received + 3 * D,
        actor="t"))
    requested = AT + 5 * D
    run(cases, first, lambda case: case.request_visit(
        visit_id="V1", reason="unreachable", urgent=False, requested_at=requested, actor="t"))
    run(cases, first, lambda case: case.approve_visit(
        visit_id="V1", approved_at=requested + H, actor="t"))
    run(cases, first, lambda case: case.perform_visit(
        visit_id="V1", performed_at=requested + D, outcome="found", visitor_id="visitor-1",
        evidence=[{"kind": "photo", "sha256": "cd" * 32, "ref": "s3://v/1"}], actor="t"))
    run(cases, first, lambda case: case.report_visit(
        visit_id="V1", summary="met the debtor", reported_at=requested + D + 2 * H, actor="t"))
    run(cases, second, lambda case: case.receive_complaint(
        complaint_id="CP2", channel="regulator", category="privacy", received_at=received,
        note=None, rules=ComplaintRules(), actor="t"))
    run(cases, second, lambda case: case.recall(
        reason="complaint", recalled_at=received + D, actor="t", complaint_id="CP2"))


def test_the_case_services_workflow_events_reach_the_contact_log_and_rebuild_equal(
        cases: CaseApplication, store: tuple[ProjectionStore, str]) -> None:
    live, url = store
    workflows(cases)
    events = cases.events_after(0, 1000)
    assert {"ComplaintReceived", "ComplaintResolved", "VisitPerformed", "VisitReported",
            "Recalled"} <= {e.type for e in events}
    for e in events:  # one by one, as a consumer that follows the feed closely
        live.apply(LOG_SOURCE, 0, [Delivery(e.position, e)])
    with live.engine.connect() as conn:
        rows = {r["complaint_id"]: dict(r) for r in conn.execute(
            sa.select(complaints)).mappings()}
        [visit] = conn.execute(sa.select(visits)).mappings().all()
    assert (rows["CP1"]["contact_hold"], rows["CP1"]["outcome"],
            rows["CP1"]["acknowledged_late"]) == (True, "upheld", False)
    assert rows["CP1"]["received_at"] == "2026-10-02T01:00:00+00:00"
    assert rows["CP2"]["recalled_at"] == "2026-10-03T01:00:00+00:00"
    assert (visit["visitor_id"], visit["late"], visit["outcome"]) == ("visitor-1", False,
                                                                      "found")
    shadow = asyncio.run(rebuild(live, url, log=cases.log_page))
    try:
        assert compare(live, shadow) == []
    finally:
        shadow.engine.dispose()
