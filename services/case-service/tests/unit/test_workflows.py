"""The collection workflows on the Case aggregate: complaints, field visits, settlements and
the action-code catalogue. Each test replays the collected events and checks the rebuilt
case equals the live one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from case_service.domain.allocation import AllocationRules
from case_service.domain.case import COMPLAINT_STEP, SETTLEMENT_DUE, Case
from case_service.domain.errors import (
    BeyondApprovalLimit,
    InvalidAmount,
    InvalidDate,
    InvalidTransition,
    UnknownActionCode,
    UnknownWorkflowItem,
)
from case_service.domain.values import CaseStatus, CloseReason, ContactFlag
from case_service.domain.workflows import (
    ComplaintRules,
    SettlementLimits,
    SettlementState,
    discount_pct,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # the `case` fixture's placement
ACTOR = "agency:AG-A:k1"
RULES = ComplaintRules()
LIMITS = SettlementLimits(max_discount_pct=Decimal("30"), max_deferral_days=60)
Replay = Callable[[Sequence[Any]], Case]
StateOf = Callable[[Case], dict[str, Any]]


def at(days: float = 0, hours: float = 1) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def drain(case: Case) -> list[Any]:
    return list(case.collect_events())


def replays(case: Case, events: Sequence[Any], replay: Replay, state_of: StateOf) -> Case:
    rebuilt = replay(events)
    assert state_of(rebuilt) == state_of(case)
    return rebuilt


def types(events: Sequence[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


def contact(case: Case, contact_id: str, *, when: datetime, code: str = "NOANS",
            catalogue: tuple[int, tuple[str, ...]] | None = None) -> bool:
    return case.record_contact(
        contact_id=contact_id, channel="phone", direction="outbound", party="none",
        outcome="no_answer", action_code=code, agent_id="A-1", recording_ref=None,
        contact_point=None, occurred_at=when, note=None, actor=ACTOR, catalogue=catalogue)


def complaint(case: Case, cid: str = "CMP-1", *, category: str = "frequency",
              when: datetime | None = None) -> bool:
    return case.receive_complaint(complaint_id=cid, channel="phone", category=category,
                                  received_at=when or at(1), note=None, rules=RULES,
                                  actor=ACTOR)


def pay(case: Case, ref: str, amount: str, when: datetime) -> bool:
    return case.receive_payment(reference=ref, amount=Decimal(amount), currency="CNY",
                                source="agency", received_at=when, method=None, actor=ACTOR)


# ------------------------------------------------------------------------------ complaints


def test_a_complaint_goes_through_its_steps_with_deadlines_and_holds_contact(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    events = drain(case)
    assert complaint(case) is True
    assert complaint(case) is False  # a retry records nothing
    held = case.complaints["CMP-1"]
    assert held.contact_hold is True  # frequency complaints hold contact by default
    assert held.due == {"acknowledge": at(2), "investigate": at(8), "resolve": at(16)}
    contact(case, "c1", when=at(1, 2))
    assert ContactFlag.COMPLAINT_HOLD in case._pending_events[-1].flags
    with pytest.raises(InvalidTransition, match="acknowledged first"):
        case.investigate_complaint(complaint_id="CMP-1", finding="x", investigated_at=at(2),
                                   actor=ACTOR)
    assert case.acknowledge_complaint(complaint_id="CMP-1", acknowledged_at=at(1, 5),
                                      actor=ACTOR) is True
    assert case.acknowledge_complaint(complaint_id="CMP-1", acknowledged_at=at(1, 6),
                                      actor=ACTOR) is False
    assert case.investigate_complaint(complaint_id="CMP-1", finding="three calls in an hour",
                                      investigated_at=at(9), actor=ACTOR) is True
    assert case._pending_events[-1].late is True  # due at day 8
    with pytest.raises(InvalidTransition, match="another finding"):
        case.investigate_complaint(complaint_id="CMP-1", finding="other",
                                   investigated_at=at(9), actor=ACTOR)
    assert case.resolve_complaint(complaint_id="CMP-1", outcome="upheld", note=None,
                                  resolved_at=at(10), actor=ACTOR) is True
    assert case.resolve_complaint(complaint_id="CMP-1", outcome="upheld", note=None,
                                  resolved_at=at(11), actor=ACTOR) is False
    contact(case, "c2", when=at(10, 2))
    assert ContactFlag.COMPLAINT_HOLD not in case._pending_events[-1].flags  # hold ended
    events += drain(case)
    assert types(events)[1:] == [
        "ComplaintReceived", "Contacted", "ComplaintAcknowledged", "ComplaintInvestigated",
        "ComplaintResolved", "Contacted"]
    rebuilt = replays(case, events, replay, state_of)
    assert not rebuilt.complaints["CMP-1"].open


def test_complaint_categories_outside_the_rules_hold_nothing(case: Case) -> None:
    complaint(case, category="amount")
    assert case.complaints["CMP-1"].contact_hold is False
    with pytest.raises(InvalidTransition, match="other details"):
        complaint(case, category="privacy")
    with pytest.raises(UnknownWorkflowItem):
        case.acknowledge_complaint(complaint_id="nope", acknowledged_at=at(2), actor=ACTOR)
    with pytest.raises(InvalidDate):
        complaint(case, "early", when=T0 - timedelta(days=1))


def test_missed_complaint_steps_are_deadlines_recorded_once(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    events = drain(case)
    complaint(case)
    steps = [d for d in case.deadlines() if d.kind == COMPLAINT_STEP]
    assert [(d.ref, d.due_at) for d in steps] == [
        ("CMP-1:acknowledge", at(2)), ("CMP-1:investigate", at(8)), ("CMP-1:resolve", at(16))]
    with pytest.raises(InvalidDate):
        case.miss_complaint_deadline(complaint_id="CMP-1", step="acknowledge", as_of=at(1),
                                     actor=ACTOR)
    assert case.miss_complaint_deadline(complaint_id="CMP-1", step="acknowledge",
                                        as_of=at(2), actor=ACTOR) is True
    assert case.miss_complaint_deadline(complaint_id="CMP-1", step="acknowledge",
                                        as_of=at(3), actor=ACTOR) is False
    assert [d.ref for d in case.deadlines() if d.kind == COMPLAINT_STEP] == [
        "CMP-1:investigate", "CMP-1:resolve"]
    # a withdrawn complaint ends without the other steps, and leaves no deadline
    case.resolve_complaint(complaint_id="CMP-1", outcome="withdrawn", note="by phone",
                           resolved_at=at(3), actor=ACTOR)
    assert not [d for d in case.deadlines() if d.kind == COMPLAINT_STEP]
    events += drain(case)
    replays(case, events, replay, state_of)


def test_a_recall_may_name_the_complaint_that_caused_it(case: Case) -> None:
    complaint(case)
    with pytest.raises(UnknownWorkflowItem):
        case.recall(reason="complaint", recalled_at=at(2), actor=ACTOR, complaint_id="nope")
    with pytest.raises(InvalidTransition):
        case.recall(reason="rotation", recalled_at=at(2), actor=ACTOR, complaint_id="CMP-1")
    case.recall(reason="complaint", recalled_at=at(2), actor=ACTOR, complaint_id="CMP-1")
    assert case._pending_events[-1].complaint_id == "CMP-1"


# ------------------------------------------------------------------------------ visits


def test_a_visit_is_approved_made_with_evidence_and_reported(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    events = drain(case)
    assert case.request_visit(visit_id="V1", reason="no number reaches the debtor",
                              urgent=False, requested_at=at(1), actor=ACTOR) is True
    assert case.request_visit(visit_id="V1", reason="no number reaches the debtor",
                              urgent=False, requested_at=at(1), actor=ACTOR) is False
    evidence = [{"kind": "photo", "sha256": "ab" * 32, "ref": "s3://visits/v1.jpg"}]
    with pytest.raises(InvalidTransition, match="approval first"):
        case.perform_visit(visit_id="V1", performed_at=at(2), outcome="found",
                           visitor_id="COL-1", evidence=evidence, actor=ACTOR)
    with pytest.raises(InvalidTransition, match="not been made"):
        case.report_visit(visit_id="V1", summary="x", reported_at=at(2), actor=ACTOR)
    assert case.approve_visit(visit_id="V1", approved_at=at(1, 3), actor="sup") is True
    assert case.perform_visit(visit_id="V1", performed_at=at(9), outcome="not_found",
                              visitor_id="COL-1", evidence=evidence, actor=ACTOR) is True
    assert case._pending_events[-1].late is True  # due within 7 days of the request
    assert case.report_visit(visit_id="V1", summary="neighbours say moved", reported_at=at(9),
                             actor=ACTOR) is True
    events += drain(case)
    rebuilt = replays(case, events, replay, state_of)
    assert rebuilt.visits["V1"].state.value == "reported"
    with pytest.raises(InvalidTransition):
        case.reject_visit(visit_id="V1", reason="x", rejected_at=at(10), actor="sup")


def test_an_urgent_visit_is_made_first_and_approved_afterwards(case: Case) -> None:
    case.request_visit(visit_id="V1", reason="debtor about to move", urgent=True,
                       requested_at=at(1), actor=ACTOR)
    case.perform_visit(visit_id="V1", performed_at=at(1, 3), outcome="found",
                       visitor_id="COL-1", evidence=[], actor=ACTOR)
    case.approve_visit(visit_id="V1", approved_at=at(1, 5), actor="sup")
    assert case._pending_events[-1].after_the_fact is True


def test_visits_are_refused_after_cease_contact_and_rejected_ones_cannot_be_made(
        case: Case) -> None:
    case.request_visit(visit_id="V1", reason="r", urgent=False, requested_at=at(1),
                       actor=ACTOR)
    case.reject_visit(visit_id="V1", reason="phone first", rejected_at=at(1, 2), actor="sup")
    with pytest.raises(InvalidTransition, match="rejected"):
        case.perform_visit(visit_id="V1", performed_at=at(2), outcome="found",
                           visitor_id="COL-1", evidence=[], actor=ACTOR)
    case.request_cease_contact(requested_at=at(2), channel="written", note=None, actor=ACTOR)
    with pytest.raises(InvalidTransition, match="cease contact"):
        case.request_visit(visit_id="V2", reason="r", urgent=False, requested_at=at(3),
                           actor=ACTOR)


# ------------------------------------------------------------------------------ settlements


def test_an_approved_settlement_paid_in_full_closes_the_case_as_settled(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    events = drain(case)  # 1020.50 outstanding
    pay(case, "r0", "20.50", at(1))
    assert case.propose_settlement(settlement_id="S1", kind="settlement",
                                   amount=Decimal("800.00"), due_date=date(2025, 3, 31),
                                   proposed_at=at(2), actor=ACTOR) is True
    proposed = case.settlements["S1"]
    assert (proposed.outstanding, proposed.discount) == (Decimal("1000.00"), Decimal("200.00"))
    with pytest.raises(InvalidTransition, match="one at a time"):
        case.propose_settlement(settlement_id="S2", kind="deferral", amount=Decimal("1"),
                                due_date=date(2025, 4, 30), proposed_at=at(2), actor=ACTOR)
    with pytest.raises(BeyondApprovalLimit, match=r"20\.00%"):
        case.approve_settlement(settlement_id="S1", approved_at=at(3),
                                limits=SettlementLimits(Decimal("10")), actor="creditor")
    assert case.approve_settlement(settlement_id="S1", approved_at=at(3), limits=LIMITS,
                                   actor="creditor") is True
    assert case.approve_settlement(settlement_id="S1", approved_at=at(3), limits=LIMITS,
                                   actor="creditor") is False
    assert next(d.kind for d in case.deadlines()) == SETTLEMENT_DUE
    pay(case, "r1", "500.00", at(4))
    assert not case.closed
    pay(case, "r2", "300.00", at(5))
    assert case.closed
    assert case.close_reason == CloseReason.SETTLED
    assert (case.paid_total, case.waived_total, case.outstanding) == (
        Decimal("820.50"), Decimal("200.00"), Decimal("0.00"))
    events += drain(case)
    assert types(events)[-3:] == ["PaymentReceived", "SettlementFulfilled", "Closed"]
    rebuilt = replays(case, events, replay, state_of)
    assert rebuilt.status is CaseStatus.CLOSED
    assert rebuilt.outstanding_at(at(4, 23)) == Decimal("500.00")  # before the waiver
    assert rebuilt.outstanding_at(at(6)) == 0


def test_a_reduction_is_waived_on_approval_and_a_rejected_proposal_frees_the_way(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    events = drain(case)
    case.propose_settlement(settlement_id="S1", kind="reduction", amount=Decimal("20.50"),
                            due_date=None, proposed_at=at(1), actor=ACTOR)
    case.reject_settlement(settlement_id="S1", reason="no", rejected_at=at(2), actor="cr")
    assert case.reject_settlement(settlement_id="S1", reason="no", rejected_at=at(2),
                                  actor="cr") is False
    with pytest.raises(InvalidTransition):
        case.approve_settlement(settlement_id="S1", approved_at=at(3), limits=LIMITS,
                                actor="cr")
    case.propose_settlement(settlement_id="S2", kind="reduction", amount=Decimal("20.50"),
                            due_date=None, proposed_at=at(3), actor=ACTOR)
    case.approve_settlement(settlement_id="S2", approved_at=at(4), limits=LIMITS, actor="cr")
    assert case.outstanding == Decimal("1000.00")
    assert case.settlements["S2"].state is SettlementState.FULFILLED
    events += drain(case)
    replays(case, events, replay, state_of)
    with pytest.raises(InvalidAmount):
        case.propose_settlement(settlement_id="S3", kind="reduction",
                                amount=Decimal("1000.00"), due_date=None, proposed_at=at(5),
                                actor=ACTOR)


def test_a_deferral_beyond_the_limit_is_refused_and_an_unpaid_one_defaults(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    events = drain(case)
    case.propose_settlement(settlement_id="D1", kind="deferral", amount=Decimal("300"),
                            due_date=date(2025, 6, 30), proposed_at=at(1), actor=ACTOR)
    with pytest.raises(BeyondApprovalLimit, match="days"):
        case.approve_settlement(settlement_id="D1", approved_at=at(1), limits=LIMITS,
                                actor="cr")
    case.approve_settlement(settlement_id="D1", approved_at=at(1), actor="cr",
                            limits=SettlementLimits(Decimal(0), 180))
    due = next(d for d in case.deadlines() if d.kind == SETTLEMENT_DUE)
    assert due.due_at == datetime(2025, 6, 30, 16, 0, tzinfo=UTC)  # end of day, Shanghai
    with pytest.raises(InvalidDate):
        case.default_settlement(settlement_id="D1", as_of=at(2), actor="system")
    pay(case, "r1", "100", at(10))
    assert case.default_settlement(settlement_id="D1", as_of=due.due_at, actor="system")
    assert case._pending_events[-1].shortfall == Decimal("200")
    assert case.default_settlement(settlement_id="D1", as_of=due.due_at, actor="system") \
        is False
    events += drain(case)
    replays(case, events, replay, state_of)
    assert not case.closed


def test_discount_percentages_round_up_so_a_limit_is_never_passed_by_rounding() -> None:
    assert discount_pct(Decimal("200"), Decimal("1000")) == Decimal("20.00")
    assert discount_pct(Decimal("1"), Decimal("3")) == Decimal("33.34")
    assert discount_pct(Decimal("1"), Decimal("0")) == 0


# ------------------------------------------------------------------------------ action codes


def test_contacts_must_use_a_code_of_the_creditors_catalogue(case: Case) -> None:
    catalogue = (3, ("NOANS", "PTP"))
    with pytest.raises(UnknownActionCode) as refused:
        contact(case, "c1", when=at(1), code="XYZ", catalogue=catalogue)
    assert refused.value.valid_codes == ["NOANS", "PTP"]
    assert contact(case, "c1", when=at(1), code="PTP", catalogue=catalogue)
    assert case._pending_events[-1].catalogue_version == 3
    assert contact(case, "c2", when=at(1), code="ANY", catalogue=(0, ()))  # no catalogue
    assert case._pending_events[-1].catalogue_version is None


def test_the_rules_carry_the_catalogue_limits_and_rates_through_their_stored_form() -> None:
    rules = AllocationRules.from_json({
        "version": 4, "action_codes": [{"code": "PTP", "label": "承诺还款"}],
        "settlement_limits": {"max_discount_pct": "25.5", "max_deferral_days": 30},
        "complaints": {"acknowledge_hours": 12, "investigate_days": 5, "resolve_days": 10,
                       "hold_categories": ["conduct"]},
        "provision_rates": {"M1": "0.05"}})
    again = AllocationRules.from_json(rules.to_json())
    assert again == rules
    assert rules.action_code_known("PTP")
    assert not rules.action_code_known("NOANS")
    assert AllocationRules(version=1).action_code_known("ANYTHING")
    assert rules.complaints.deadlines(T0)["acknowledge"] == T0 + timedelta(hours=12)
