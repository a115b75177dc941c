"""The agency registry's rules (domain/agencies.py) and the legal hand-off on the case: no I/O."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from case_service.domain.agencies import (
    AgencyNotQualified,
    ChecklistItem,
    Collector,
    CollectorNotQualified,
    Qualification,
    Training,
    UnknownCollector,
    check_collector,
    check_qualified,
)
from case_service.domain.case import Case
from case_service.domain.errors import InvalidTransition

DAY = date(2026, 12, 7)
LATER = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def collector(status: str = "active", until: date = DAY) -> Collector:
    return Collector("李四", status, (Training("合规培训", date(2026, 1, 5)),), until)


def test_a_collector_works_while_active_and_qualified() -> None:
    registry = {"C1": collector(), "C2": collector(until=DAY - timedelta(days=1)),
                "C3": collector(status="suspended", until=DAY + timedelta(days=9))}
    check_collector(registry, "C1", DAY, "AG-A")
    check_collector({}, None, DAY, "AG-A")  # none registered: not checked
    with pytest.raises(UnknownCollector):
        check_collector(registry, "C9", DAY, "AG-A")
    with pytest.raises(UnknownCollector):
        check_collector(registry, None, DAY, "AG-A")
    with pytest.raises(CollectorNotQualified, match="qualified until"):
        check_collector(registry, "C2", DAY, "AG-A")
    with pytest.raises(CollectorNotQualified, match="suspended"):
        check_collector(registry, "C3", DAY, "AG-A")
    assert Collector.from_json(collector().to_json()) == collector()


def test_a_qualification_is_valid_from_its_approval_to_its_expiry() -> None:
    q = Qualification((ChecklistItem("营业执照", True),), Decimal("80"), "approved",
                      date(2026, 1, 1), DAY)
    assert q.valid_on(DAY)
    assert not q.valid_on(DAY + timedelta(days=1))
    assert not q.valid_on(date(2025, 12, 31))
    assert Qualification.from_json(q.to_json()) == q
    check_qualified(q, "AG-A", DAY)
    with pytest.raises(AgencyNotQualified):
        check_qualified(q, "AG-A", DAY + timedelta(days=1))
    with pytest.raises(AgencyNotQualified, match="no qualification"):
        check_qualified(None, "AG-A", DAY)
    suspended = Qualification((), Decimal("80"), "suspended", date(2026, 1, 1), DAY)
    assert not suspended.valid_on(DAY)
    broken = Qualification((), Decimal("120"), "approved", DAY, date(2026, 1, 1))
    assert [f for f, _ in broken.problems()] == ["score", "expires_on"]
    assert [f for f, _ in Qualification((), Decimal(1), "approved").problems()] == [
        "approved_on", "expires_on"]


def test_the_lawsuit_is_recorded_in_order_by_the_law_firm_holding_the_case(
        case: Case, replay: Callable[[Sequence[Any]], Case]) -> None:
    with pytest.raises(InvalidTransition, match="law firm"):
        case.record_litigation_stage(stage_ref="s0", stage="filed", occurred_at=LATER,
                                     court=None, docket_no=None, note=None, actor="x")
    case.reassign(to_agency_id="LF-1", reason="诉讼", term_end=None, reassigned_at=LATER,
                  actor="creditor", to_law_firm=True)
    assert case.with_law_firm
    at = LATER + timedelta(days=1)
    with pytest.raises(InvalidTransition, match="filed stage first"):
        case.record_litigation_stage(stage_ref="s1", stage="hearing", occurred_at=at,
                                     court=None, docket_no=None, note=None, actor="lf")
    assert case.record_litigation_stage(stage_ref="s1", stage="filed", occurred_at=at,
                                        court="法院", docket_no="1", note=None, actor="lf")
    assert not case.record_litigation_stage(stage_ref="s1", stage="filed", occurred_at=at,
                                            court="法院", docket_no="1", note=None,
                                            actor="lf")
    with pytest.raises(InvalidTransition, match="recorded otherwise"):
        case.record_litigation_stage(stage_ref="s1", stage="filed", occurred_at=at,
                                     court="别的法院", docket_no="1", note=None, actor="lf")
    with pytest.raises(InvalidTransition, match="already recorded"):
        case.record_litigation_stage(stage_ref="s2", stage="filed", occurred_at=at,
                                     court=None, docket_no=None, note=None, actor="lf")
    with pytest.raises(InvalidTransition, match="judgment stage first"):
        case.record_litigation_stage(stage_ref="s3", stage="enforcement", occurred_at=at,
                                     court=None, docket_no=None, note=None, actor="lf")
    for ref, stage in (("s4", "hearing"), ("s5", "hearing"), ("s6", "judgment"),
                       ("s7", "enforcement")):
        assert case.record_litigation_stage(stage_ref=ref, stage=stage, occurred_at=at,
                                            court=None, docket_no=None, note=None,
                                            actor="lf")
    assert case.reference_legal_document(document_id="d1", kind="judgment",
                                         sha256="AB" * 32, referenced_at=at, note=None,
                                         actor="lf")
    assert not case.reference_legal_document(document_id="d1", kind="judgment",
                                             sha256="ab" * 32, referenced_at=at, note=None,
                                             actor="creditor")
    with pytest.raises(InvalidTransition):
        case.reference_legal_document(document_id="d1", kind="summons", sha256="ab" * 32,
                                      referenced_at=at, note=None, actor="lf")
    rebuilt = replay(case.collect_events())
    assert rebuilt.litigation == case.litigation
    assert rebuilt.legal_documents == case.legal_documents
    assert [s.stage for s in rebuilt.litigation.values()] == [
        "filed", "hearing", "hearing", "judgment", "enforcement"]


def test_a_plain_reassignment_is_no_hand_off(case: Case) -> None:
    case.reassign(to_agency_id="AG-B", reason="rotation", term_end=None,
                  reassigned_at=LATER, actor="creditor")
    assert case.law_firm_id is None
    with pytest.raises(InvalidTransition, match="handed to a law firm"):
        case.reference_legal_document(document_id="d1", kind="judgment", sha256="ab" * 32,
                                      referenced_at=LATER, note=None, actor="x")
