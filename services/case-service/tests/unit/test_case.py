"""The Case aggregate: commands check invariants, events alone decide the state.

Every test calls aggregate methods directly. Where it matters, the collected events are replayed
from scratch and the rebuilt case must equal the live one: status, outstanding and bucket follow
from the events alone.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from case_service.domain.case import Case, case_id_for
from case_service.domain.errors import (
    CaseClosed,
    CaseRecalled,
    DomainError,
    InvalidAmount,
    InvalidDate,
    InvalidTransition,
    PaymentReferenceConflict,
    UnknownPayment,
    UnknownPromise,
)
from case_service.domain.values import (
    CaseStatus,
    Channel,
    CloseReason,
    ContactFlag,
    ContactOutcome,
    Direction,
    DisputeOutcome,
    EscalationKind,
    Party,
    PaymentFlag,
    PaymentSource,
    PromiseState,
    RecallReason,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# The `case` fixture (conftest.py) is placed at T0 with 1020.50 CNY outstanding, term to TERM_END.
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
TERM_END = date(2026, 3, 3)
PLACED = Decimal("1020.50")
ACTOR = "agency:AG-A:k1"

Replay = Callable[[Sequence[Any]], Case]
StateOf = Callable[[Case], dict[str, Any]]


def at(days: int = 0, hours: int = 1) -> datetime:
    """A moment `days` days (and `hours` hours) after placement."""
    return T0 + timedelta(days=days, hours=hours)


def day(days: int) -> date:
    """The calendar date `days` days after placement."""
    return T0.date() + timedelta(days=days)


def contact(
    case: Case, contact_id: str, *, when: datetime | None = None,
    channel: Channel = Channel.PHONE, direction: Direction = Direction.OUTBOUND,
    party: Party = Party.DEBTOR, outcome: ContactOutcome = ContactOutcome.CONVERSATION,
) -> bool:
    return case.record_contact(
        contact_id=contact_id, channel=channel.value, direction=direction.value,
        party=party.value, outcome=outcome.value, action_code="PTP", agent_id="agent-7",
        recording_ref=f"rec-{contact_id}", contact_point=None, occurred_at=when or at(),
        note=None, actor=ACTOR,
    )


def pay(
    case: Case, reference: str, amount: str, *, when: datetime | None = None,
    currency: str = "CNY", source: PaymentSource = PaymentSource.AGENCY,
) -> bool:
    return case.receive_payment(
        reference=reference, amount=Decimal(amount), currency=currency, source=source.value,
        received_at=when or at(), method="bank_transfer", actor=ACTOR,
    )


def reverse(case: Case, reference: str, amount: str | None = None) -> bool:
    return case.reverse_payment(
        reference=reference, amount=None if amount is None else Decimal(amount),
        reason="chargeback", reversed_at=at(10), actor=ACTOR,
    )


def promise(case: Case, promise_id: str, amount: str, *, due: date | None = None,
            when: datetime | None = None) -> None:
    case.promise_to_pay(promise_id=promise_id, amount=Decimal(amount),
                        due_date=due or day(7), promised_at=when or at(), actor=ACTOR)


def plan(case: Case, installments: list[tuple[date, str]], *, plan_id: str = "plan-1",
         when: datetime | None = None) -> None:
    case.agree_repayment_plan(plan_id=plan_id,
                              installments=[(d, Decimal(a)) for d, a in installments],
                              agreed_at=when or at(), actor=ACTOR)


def recall(case: Case, reason: RecallReason = RecallReason.ROTATION) -> None:
    case.recall(reason=reason.value, recalled_at=at(20), actor="creditor:BANK1:k9")


def reassign(case: Case, to: str, *, term_end: date | None = None,
             when: datetime | None = None) -> None:
    case.reassign(to_agency_id=to, reason="second placement", term_end=term_end,
                  reassigned_at=when or at(21), actor="creditor:BANK1:k9")


def close(case: Case, reason: CloseReason, *, when: datetime | None = None) -> None:
    case.close(reason=reason.value, closed_at=when or at(30), note=None, actor=ACTOR)


def dispute(case: Case) -> None:
    case.dispute(reason="not my debt", disputed_at=at(2), actor=ACTOR)


def resolve(case: Case, outcome: DisputeOutcome = DisputeOutcome.REJECTED) -> None:
    case.resolve_dispute(outcome=outcome.value, note=None, resolved_at=at(5), actor=ACTOR)


def cease(case: Case) -> bool:
    return case.request_cease_contact(requested_at=at(1), channel="letter", note=None,
                                      actor=ACTOR)


def escalate(case: Case, kind: EscalationKind = EscalationKind.LEGAL) -> None:
    case.escalate(kind=kind.value, reason="no contact", escalated_at=at(3), actor=ACTOR)


def drain(case: Case) -> list[Any]:
    """Collect the pending events."""
    return list(case.collect_events())


def names(events: Sequence[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


def assert_replays(case: Case, events: Sequence[Any], replay: Replay, state_of: StateOf) -> Case:
    """The events alone rebuild the live case, attribute for attribute."""
    rebuilt = replay(events)
    assert state_of(rebuilt) == state_of(case)
    assert rebuilt.status == case.status
    assert rebuilt.outstanding == case.outstanding
    assert rebuilt.bucket == case.bucket
    assert rebuilt.version == case.version == len(events)
    return rebuilt


# ------------------------------------------------------------------------------ placement


def test_placing_derives_the_case_id_from_creditor_and_account(
        make_case: Callable[..., Case]) -> None:
    first = make_case(creditor_id="BANK1", account_ref="ACC-1")
    again = make_case(creditor_id="BANK1", account_ref="ACC-1", placement_ref="P-2")
    assert first.id == again.id == case_id_for("BANK1", "ACC-1") == Case.create_id(
        "BANK1", "ACC-1")
    assert first.id.version == 5


def test_different_accounts_or_creditors_get_different_case_ids(
        make_case: Callable[..., Case]) -> None:
    ids = {make_case(creditor_id=c, account_ref=a).id
           for c, a in [("BANK1", "ACC-1"), ("BANK1", "ACC-2"), ("BANK2", "ACC-1"),
                        ("BANK1A", "CC-1")]}
    assert len(ids) == 4


def test_a_placed_case_is_placed_with_outstanding_equal_to_the_sum_of_its_balances(
        make_case: Callable[..., Case]) -> None:
    case = make_case(balances={"principal": Decimal("800.10"), "interest": Decimal("50.05"),
                               "fees": Decimal("10"), "penalties": Decimal("0.85")})
    assert case.status is CaseStatus.PLACED
    assert case.placed_amount == Decimal("861.00")
    assert case.outstanding == Decimal("861.00")
    assert case.paid_total == 0


def test_placing_records_one_placed_event_at_version_one(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    events = drain(case)
    assert names(events) == ["Placed"]
    assert case.version == 1
    assert events[0].originator_id == case.id
    rebuilt = assert_replays(case, events, replay, state_of)
    assert rebuilt.status is CaseStatus.PLACED
    assert rebuilt.bucket == "M2"


def test_a_placed_case_is_assigned_to_its_agency(case: Case) -> None:
    assert case.assigned_agency_id == "AG-A"
    assert case.assigned_at == T0
    assert case.term_end == TERM_END


def test_the_placed_balances_are_copied_not_shared(make_case: Callable[..., Case]) -> None:
    balances = {"principal": Decimal("100")}
    case = make_case(balances=balances)
    balances["principal"] = Decimal("1")
    assert case.outstanding == Decimal("100")


# ------------------------------------------------------------------------------ contacts


def test_a_contact_makes_the_case_active(case: Case) -> None:
    assert contact(case, "c1") is True
    assert case.status is CaseStatus.ACTIVE
    assert case.contacts == 1
    assert case.right_party_contacts == 1
    assert case.last_contact_at == at()


def test_a_third_party_contact_is_not_a_right_party_contact(case: Case) -> None:
    contact(case, "c1", party=Party.THIRD_PARTY)
    contact(case, "c2", party=Party.NONE, outcome=ContactOutcome.NO_ANSWER)
    assert case.contacts == 2
    assert case.right_party_contacts == 0


def test_a_duplicate_contact_id_records_nothing(case: Case) -> None:
    contact(case, "c1")
    drain(case)
    assert contact(case, "c1", when=at(3)) is False
    assert drain(case) == []
    assert case.contacts == 1
    assert case.last_contact_at == at()


def test_last_contact_time_keeps_the_latest_even_when_contacts_arrive_out_of_order(
        case: Case) -> None:
    contact(case, "late", when=at(5))
    contact(case, "early", when=at(1))
    assert case.last_contact_at == at(5)


def test_a_contact_that_broke_no_rule_carries_no_flags(case: Case) -> None:
    drain(case)
    contact(case, "c1")
    [event] = drain(case)
    assert names([event]) == ["Contacted"]
    assert event.flags == []
    assert event.agency_id == "AG-A"


def test_an_outbound_call_after_cease_contact_is_recorded_with_a_flag(case: Case) -> None:
    cease(case)
    drain(case)
    assert contact(case, "c1") is True
    [event] = drain(case)
    assert event.flags == [ContactFlag.AFTER_CEASE_CONTACT]
    assert case.contacts == 1


@pytest.mark.parametrize(("channel", "direction"), [
    (Channel.LETTER, Direction.OUTBOUND),
    (Channel.PHONE, Direction.INBOUND),
])
def test_letters_and_inbound_contacts_after_cease_contact_are_not_flagged(
        case: Case, channel: Channel, direction: Direction) -> None:
    cease(case)
    drain(case)
    contact(case, "c1", channel=channel, direction=direction)
    [event] = drain(case)
    assert event.flags == []


def test_a_contact_on_a_recalled_case_is_recorded_with_a_flag(case: Case) -> None:
    recall(case)
    drain(case)
    assert contact(case, "c1") is True
    [event] = drain(case)
    assert event.flags == [ContactFlag.CASE_RECALLED]
    assert case.contacts == 1


def test_a_contact_on_a_closed_case_is_recorded_with_the_closed_flag_only(case: Case) -> None:
    recall(case)
    close(case, CloseReason.RECALLED)
    drain(case)
    assert contact(case, "c1") is True
    [event] = drain(case)
    assert event.flags == [ContactFlag.CASE_CLOSED]
    assert case.status is CaseStatus.CLOSED


def test_an_outbound_contact_during_a_dispute_is_recorded_with_a_hold_flag(case: Case) -> None:
    dispute(case)
    drain(case)
    assert contact(case, "c1") is True
    [event] = drain(case)
    assert event.flags == [ContactFlag.DISPUTE_HOLD]


def test_an_inbound_contact_during_a_dispute_is_not_flagged(case: Case) -> None:
    dispute(case)
    drain(case)
    contact(case, "c1", direction=Direction.INBOUND)
    [event] = drain(case)
    assert event.flags == []


def test_a_contact_can_break_several_rules_at_once(case: Case) -> None:
    cease(case)
    dispute(case)
    recall(case)
    drain(case)
    contact(case, "c1")
    [event] = drain(case)
    assert set(event.flags) == {ContactFlag.AFTER_CEASE_CONTACT, ContactFlag.CASE_RECALLED,
                                ContactFlag.DISPUTE_HOLD}


# ------------------------------------------------------------------------------ promises


def test_a_promise_makes_the_case_promised(case: Case) -> None:
    promise(case, "p1", "100.00")
    assert case.status is CaseStatus.PROMISED
    assert case.promises["p1"].state is PromiseState.OPEN
    assert case.promises["p1"].amount == Decimal("100.00")


def test_a_promise_on_a_closed_case_is_refused(case: Case) -> None:
    close(case, CloseReason.UNCOLLECTIBLE)
    with pytest.raises(CaseClosed):
        promise(case, "p1", "100.00")


def test_a_promise_on_a_recalled_case_is_refused(case: Case) -> None:
    recall(case)
    with pytest.raises(CaseRecalled):
        promise(case, "p1", "100.00")


@pytest.mark.parametrize("amount", ["0", "0.00", "-1.00"])
def test_a_promise_of_nothing_or_less_is_refused(case: Case, amount: str) -> None:
    with pytest.raises(InvalidAmount):
        promise(case, "p1", amount)
    assert case.promises == {}


def test_a_promise_of_more_than_the_outstanding_is_refused(case: Case) -> None:
    with pytest.raises(InvalidAmount):
        promise(case, "p1", "1020.51")


def test_a_promise_of_exactly_the_outstanding_is_accepted(case: Case) -> None:
    promise(case, "p1", "1020.50")
    assert case.status is CaseStatus.PROMISED


def test_a_promise_falling_due_before_it_was_made_is_refused(case: Case) -> None:
    with pytest.raises(InvalidDate):
        promise(case, "p1", "100.00", due=day(4), when=at(5))


def test_a_promise_due_the_same_day_it_was_made_is_accepted(case: Case) -> None:
    promise(case, "p1", "100.00", due=day(5), when=at(5))
    assert case.promises["p1"].due_date == day(5)


def test_a_promise_id_cannot_be_reused(case: Case) -> None:
    promise(case, "p1", "100.00")
    with pytest.raises(InvalidTransition):
        promise(case, "p1", "50.00")


def test_paying_in_full_by_the_due_date_keeps_the_promise(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    promise(case, "p1", "100.00", due=day(7))
    pay(case, "r1", "100.00", when=at(7, hours=6))  # 23:00 on the due day in Shanghai
    events = drain(case)
    assert names(events)[-2:] == ["PaymentReceived", "PromiseKept"]
    assert case.promises["p1"].state is PromiseState.KEPT
    assert case.status is CaseStatus.ACTIVE
    rebuilt = assert_replays(case, events, replay, state_of)
    assert rebuilt.promises["p1"].state is PromiseState.KEPT


def test_partial_payments_keep_the_promise_once_the_full_amount_is_paid(case: Case) -> None:
    promise(case, "p1", "100.00")
    pay(case, "r1", "40.00", when=at(1))
    assert case.promises["p1"].state is PromiseState.OPEN
    assert case.promises["p1"].paid == Decimal("40.00")
    assert case.status is CaseStatus.PROMISED
    pay(case, "r2", "60.00", when=at(2))
    assert case.promises["p1"].state is PromiseState.KEPT


def test_paying_after_the_due_date_does_not_keep_the_promise(case: Case) -> None:
    promise(case, "p1", "100.00", due=day(7))
    drain(case)
    pay(case, "r1", "100.00", when=at(8))
    assert names(drain(case)) == ["PaymentReceived"]
    assert case.promises["p1"].state is PromiseState.OPEN


def test_one_payment_covers_promises_in_due_date_order(case: Case) -> None:
    promise(case, "later", "100.00", due=day(14))
    promise(case, "sooner", "50.00", due=day(7))
    pay(case, "r1", "70.00", when=at(3))
    assert case.promises["sooner"].state is PromiseState.KEPT
    assert case.promises["later"].paid == Decimal("20.00")
    assert case.promises["later"].state is PromiseState.OPEN


@pytest.mark.parametrize("days_after_placement", [3, 7])
def test_breaking_a_promise_before_it_falls_due_is_refused(
        case: Case, days_after_placement: int) -> None:
    promise(case, "p1", "100.00", due=day(7))
    with pytest.raises(InvalidDate):
        case.break_promise(promise_id="p1", as_of=at(days_after_placement, hours=6),
                           actor=ACTOR)
    assert case.promises["p1"].state is PromiseState.OPEN


def test_a_promise_s_day_is_the_debtor_s_day(case: Case) -> None:
    # The debtor lives in Shanghai (UTC+8): the due day ends at 16:00 UTC.
    promise(case, "p1", "100.00", due=day(7))
    last_moment = datetime.combine(day(7), datetime.min.time(), UTC) + timedelta(hours=16)
    with pytest.raises(InvalidDate):
        case.break_promise(promise_id="p1", as_of=last_moment - timedelta(microseconds=1),
                           actor=ACTOR)
    [deadline] = [d for d in case.deadlines() if d.kind == "promise_due"]
    assert deadline.due_at == last_moment
    case.break_promise(promise_id="p1", as_of=last_moment, actor=ACTOR)
    assert case.promises["p1"].state is PromiseState.BROKEN


def test_money_received_late_on_the_due_day_in_utc_but_the_next_day_locally_is_late(
        case: Case) -> None:
    promise(case, "p1", "100.00", due=day(7))
    pay(case, "r1", "100.00", when=at(7, hours=8))  # 01:00 the next day in Shanghai
    assert case.promises["p1"].state is PromiseState.OPEN


def test_breaking_a_promise_after_it_fell_due_records_the_shortfall(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    promise(case, "p1", "100.00", due=day(7))
    pay(case, "r1", "30.00", when=at(2))
    case.break_promise(promise_id="p1", as_of=at(8), actor=ACTOR)
    events = drain(case)
    assert names(events)[-1] == "PromiseBroken"
    assert events[-1].shortfall == Decimal("70.00")
    assert case.promises["p1"].state is PromiseState.BROKEN
    assert case.status is CaseStatus.ACTIVE
    assert_replays(case, events, replay, state_of)


def test_breaking_an_unknown_promise_is_refused(case: Case) -> None:
    with pytest.raises(UnknownPromise):
        case.break_promise(promise_id="nope", as_of=at(30), actor=ACTOR)


def test_a_kept_promise_cannot_be_broken(case: Case) -> None:
    promise(case, "p1", "100.00")
    pay(case, "r1", "100.00")
    with pytest.raises(InvalidTransition):
        case.break_promise(promise_id="p1", as_of=at(30), actor=ACTOR)


def test_a_reversed_payment_no_longer_counts_towards_a_promise(case: Case) -> None:
    promise(case, "p1", "100.00", due=day(7))
    pay(case, "bounced", "60.00", when=at(1))
    reverse(case, "bounced")
    pay(case, "r2", "40.00", when=at(3))
    assert case.paid_total == Decimal("40.00")
    assert case.promises["p1"].state is PromiseState.OPEN  # only 40 of 100 really paid


def test_a_promise_kept_by_a_payment_that_bounced_is_open_again(case: Case) -> None:
    promise(case, "p1", "100.00", due=day(7))
    pay(case, "bounced", "100.00", when=at(1))
    assert case.promises["p1"].state is PromiseState.KEPT
    reverse(case, "bounced")
    assert case.promises["p1"].state is PromiseState.OPEN
    assert case.promises["p1"].paid == Decimal("0.00")
    case.break_promise(promise_id="p1", as_of=at(8), actor=ACTOR)
    assert case.promises["p1"].state is PromiseState.BROKEN


def test_a_reversal_that_reopens_a_kept_promise_records_it_as_a_fact(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    promise(case, "p1", "100.00", due=day(7))
    promise(case, "p2", "50.00", due=day(9))
    pay(case, "r1", "150.00", when=at(1))  # keeps both
    drain(case)
    reverse(case, "r1", "60.00")  # taken back from p2's 50 first, then 10 of p1's
    events = drain(case)
    assert names(events) == ["PaymentReversed", "PromiseReopened", "PromiseReopened"]
    reopened = {e.promise_id: e.shortfall for e in events[1:]}
    assert reopened == {"p1": Decimal("10.00"), "p2": Decimal("50.00")}
    assert {e.reference for e in events[1:]} == {"r1"}
    assert all(e.reopened_at == at(10) and e.agency_id == "AG-A" for e in events[1:])
    assert {p.promise_id: p.state for p in case.promises.values()} == {
        "p1": PromiseState.OPEN, "p2": PromiseState.OPEN}


def test_a_reversal_that_leaves_a_promise_paid_reopens_nothing(case: Case) -> None:
    promise(case, "p1", "100.00", due=day(7))
    pay(case, "r1", "100.00", when=at(1))
    pay(case, "r2", "30.00", when=at(2))  # beyond the promise
    drain(case)
    reverse(case, "r2")
    assert names(drain(case)) == ["PaymentReversed"]
    assert case.promises["p1"].state is PromiseState.KEPT


def test_a_history_recorded_before_promise_reopened_existed_replays_the_same(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    # Older logs have the reversal without the fact after it: the reversal's own handler
    # reopens the promise, so the case replays to the same state.
    promise(case, "p1", "100.00", due=day(7))
    pay(case, "r1", "100.00", when=at(1))
    reverse(case, "r1")
    events = [e for e in drain(case) if type(e).__name__ != "PromiseReopened"]
    for version, event in enumerate(events, 1):
        object.__setattr__(event, "originator_version", version)
    rebuilt = replay(events)
    assert rebuilt.promises["p1"].state is PromiseState.OPEN


def test_a_payment_is_credited_to_the_agency_that_held_the_case_when_it_was_received(
        case: Case) -> None:
    reassign(case, "AG-B", when=at(21))
    drain(case)
    pay(case, "late-report", "100.00", when=at(15))  # received while AG-A held it
    pay(case, "now", "100.00", when=at(25))
    early, later = drain(case)
    assert (early.agency_id, early.assignment, early.flags) == ("AG-A", 1, [])
    assert (later.agency_id, later.assignment) == ("AG-B", 2)
    assert [(s.agency_id, s.assigned_at, s.ended_at, s.end_reason) for s in case.stints] == [
        ("AG-A", T0, at(21), "reassigned"), ("AG-B", at(21), None, None)]


def test_money_received_before_the_placement_is_flagged_and_credited_to_no_stint_s_work(
        case: Case) -> None:
    drain(case)
    pay(case, "direct", "500.00", when=T0 - timedelta(days=3), source=PaymentSource.CREDITOR_DIRECT)
    [event] = drain(case)
    assert event.flags == [PaymentFlag.BEFORE_PLACEMENT]
    assert (event.agency_id, event.assignment) == ("AG-A", 1)


def test_money_received_after_a_recall_belongs_to_the_agency_whose_stint_ended(
        case: Case) -> None:
    recall(case)
    drain(case)
    pay(case, "tail", "100.00", when=at(22))
    [event] = drain(case)
    assert (event.agency_id, event.assignment) == ("AG-A", 1)
    assert PaymentFlag.AFTER_RECALL in event.flags


def test_a_reassignment_or_recall_dated_before_the_current_assignment_is_refused(
        case: Case) -> None:
    with pytest.raises(InvalidDate):
        case.reassign(to_agency_id="AG-B", reason="rotation", term_end=None,
                      reassigned_at=T0 - timedelta(hours=1), actor=ACTOR)
    with pytest.raises(InvalidDate):
        case.recall(reason="rotation", recalled_at=T0 - timedelta(hours=1), actor=ACTOR)


def test_a_broken_promise_shortfall_counts_reversed_money_as_unpaid(case: Case) -> None:
    promise(case, "p1", "100.00", due=day(7))
    pay(case, "bounced", "60.00", when=at(1))
    reverse(case, "bounced")
    case.break_promise(promise_id="p1", as_of=at(8), actor=ACTOR)
    [event] = drain(case)[-1:]
    assert event.shortfall == Decimal("100.00")


def test_a_broken_promise_cannot_be_broken_again(case: Case) -> None:
    promise(case, "p1", "100.00")
    case.break_promise(promise_id="p1", as_of=at(30), actor=ACTOR)
    with pytest.raises(InvalidTransition):
        case.break_promise(promise_id="p1", as_of=at(31), actor=ACTOR)


# ------------------------------------------------------------------------------ payments


def test_a_payment_reduces_the_outstanding_and_makes_the_case_active(case: Case) -> None:
    assert pay(case, "r1", "20.50") is True
    assert case.outstanding == Decimal("1000.00")
    assert case.paid_total == Decimal("20.50")
    assert case.status is CaseStatus.ACTIVE
    assert case.payments["r1"].flags == []


def test_a_payment_repeated_with_the_same_details_records_nothing(case: Case) -> None:
    pay(case, "r1", "100.00")
    drain(case)
    assert pay(case, "r1", "100.00", when=at(4)) is False
    assert drain(case) == []
    assert case.paid_total == Decimal("100.00")


def test_a_payment_reference_reused_with_another_amount_conflicts(case: Case) -> None:
    pay(case, "r1", "100.00")
    with pytest.raises(PaymentReferenceConflict):
        pay(case, "r1", "100.01")
    assert case.paid_total == Decimal("100.00")


def test_a_payment_reference_reused_with_another_source_conflicts(case: Case) -> None:
    pay(case, "r1", "100.00")
    with pytest.raises(PaymentReferenceConflict):
        pay(case, "r1", "100.00", source=PaymentSource.CREDITOR_DIRECT)


def test_a_payment_in_another_currency_is_refused(case: Case) -> None:
    with pytest.raises(InvalidAmount):
        pay(case, "r1", "100.00", currency="USD")
    assert case.payments == {}


@pytest.mark.parametrize("amount", ["0", "-5.00"])
def test_a_payment_of_nothing_or_less_is_refused(case: Case, amount: str) -> None:
    with pytest.raises(InvalidAmount):
        pay(case, "r1", amount)


def test_a_payment_after_recall_is_recorded_with_a_flag(case: Case) -> None:
    recall(case)
    assert pay(case, "r1", "100.00") is True
    assert case.payments["r1"].flags == [PaymentFlag.AFTER_RECALL]
    assert case.outstanding == Decimal("920.50")


def test_a_payment_after_close_is_recorded_with_a_flag(case: Case) -> None:
    close(case, CloseReason.UNCOLLECTIBLE)
    assert pay(case, "r1", "100.00") is True
    assert case.payments["r1"].flags == [PaymentFlag.AFTER_CLOSE]
    assert case.status is CaseStatus.CLOSED


def test_an_overpayment_is_recorded_with_a_flag(case: Case) -> None:
    assert pay(case, "r1", "1100.00") is True
    assert case.payments["r1"].flags == [PaymentFlag.OVERPAYMENT]
    assert case.outstanding == Decimal("-79.50")


def test_paying_exactly_the_outstanding_is_not_an_overpayment(case: Case) -> None:
    pay(case, "r1", "1020.50")
    assert case.payments["r1"].flags == []
    assert case.outstanding == 0


def test_a_creditor_direct_payment_counts_for_the_current_agency(case: Case) -> None:
    pay(case, "r1", "100.00", source=PaymentSource.CREDITOR_DIRECT)
    [event] = [e for e in drain(case) if names([e]) == ["PaymentReceived"]]
    assert event.agency_id == "AG-A"
    assert case.payments["r1"].source is PaymentSource.CREDITOR_DIRECT
    assert case.payments["r1"].agency_id == "AG-A"


# ------------------------------------------------------------------------------ reversals


def test_reversing_an_unknown_payment_is_refused(case: Case) -> None:
    with pytest.raises(UnknownPayment):
        reverse(case, "nope")


def test_a_partial_then_full_reversal_restores_the_outstanding(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    pay(case, "r1", "300.00")
    assert reverse(case, "r1", "100.00") is True
    assert case.outstanding == Decimal("820.50")
    assert case.payments["r1"].reversed == Decimal("100.00")
    assert reverse(case, "r1") is True  # the rest
    assert case.outstanding == PLACED
    assert case.paid_total == 0
    assert case.payments["r1"].reversed == Decimal("300.00")
    events = drain(case)
    assert names(events)[-2:] == ["PaymentReversed", "PaymentReversed"]
    assert [e.amount for e in events[-2:]] == [Decimal("100.00"), Decimal("200.00")]
    assert_replays(case, events, replay, state_of)


def test_reversing_a_fully_reversed_payment_again_records_nothing(case: Case) -> None:
    pay(case, "r1", "300.00")
    reverse(case, "r1")
    drain(case)
    assert reverse(case, "r1") is False
    assert drain(case) == []


def test_reversing_more_than_was_paid_is_refused(case: Case) -> None:
    pay(case, "r1", "300.00")
    reverse(case, "r1", "250.00")
    with pytest.raises(InvalidAmount):
        reverse(case, "r1", "50.01")
    assert case.paid_total == Decimal("50.00")


@pytest.mark.parametrize("amount", ["0", "-1"])
def test_reversing_nothing_or_less_is_refused(case: Case, amount: str) -> None:
    pay(case, "r1", "300.00")
    with pytest.raises(InvalidAmount):
        reverse(case, "r1", amount)


def test_a_reversal_names_the_agency_and_source_of_the_payment_for_clawback(case: Case) -> None:
    pay(case, "r1", "300.00", source=PaymentSource.CREDITOR_DIRECT)
    recall(case)
    reassign(case, "AG-B")
    drain(case)
    reverse(case, "r1", "100.00")
    [event] = drain(case)
    assert event.agency_id == "AG-A"
    assert event.source == PaymentSource.CREDITOR_DIRECT.value


def test_a_payment_can_be_reversed_on_a_closed_case(case: Case) -> None:
    pay(case, "r1", "1020.50")
    close(case, CloseReason.PAID_IN_FULL)
    assert reverse(case, "r1") is True
    assert case.outstanding == PLACED
    assert case.status is CaseStatus.CLOSED


# ------------------------------------------------------------------------------ repayment plans


def test_an_agreed_plan_puts_the_case_in_arrangement(case: Case) -> None:
    plan(case, [(day(10), "300.00"), (day(40), "300.00")])
    assert case.status is CaseStatus.ARRANGEMENT
    assert case.plan_id == "plan-1"
    assert [i.amount for i in case.plan or []] == [Decimal("300.00"), Decimal("300.00")]
    assert case.plan_target == Decimal("600.00")


@pytest.mark.parametrize("dates", [[10, 10], [40, 10], [10, 40, 30]])
def test_a_plan_whose_dates_do_not_strictly_increase_is_refused(
        case: Case, dates: list[int]) -> None:
    with pytest.raises(InvalidDate):
        plan(case, [(day(d), "100.00") for d in dates])
    assert case.plan is None


def test_a_plan_starting_before_it_was_agreed_is_refused(case: Case) -> None:
    with pytest.raises(InvalidDate):
        plan(case, [(day(4), "100.00"), (day(10), "100.00")], when=at(5))


def test_a_plan_for_more_than_the_outstanding_is_refused(case: Case) -> None:
    with pytest.raises(InvalidAmount):
        plan(case, [(day(10), "520.50"), (day(40), "500.01")])


def test_a_plan_for_exactly_the_outstanding_is_accepted(case: Case) -> None:
    plan(case, [(day(10), "520.50"), (day(40), "500.00")])
    assert case.status is CaseStatus.ARRANGEMENT


def test_a_plan_without_installments_is_refused(case: Case) -> None:
    with pytest.raises(InvalidTransition):
        plan(case, [])


@pytest.mark.parametrize("amount", ["0", "-10.00"])
def test_a_plan_with_an_empty_or_negative_installment_is_refused(
        case: Case, amount: str) -> None:
    with pytest.raises(InvalidAmount):
        plan(case, [(day(10), "100.00"), (day(40), amount)])


def test_a_plan_on_a_recalled_case_is_refused(case: Case) -> None:
    recall(case)
    with pytest.raises(CaseRecalled):
        plan(case, [(day(30), "100.00")])


def test_paying_the_plan_in_full_ends_the_arrangement(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    pay(case, "before", "20.50")
    plan(case, [(day(10), "300.00"), (day(40), "300.00")])
    assert case.plan_target == Decimal("620.50")
    pay(case, "i1", "300.00", when=at(10))
    assert case.status is CaseStatus.ARRANGEMENT
    pay(case, "i2", "300.00", when=at(40))
    assert case.plan is None
    assert case.status is CaseStatus.ACTIVE
    assert case.outstanding == Decimal("400.00")
    rebuilt = assert_replays(case, drain(case), replay, state_of)
    assert rebuilt.plan is None


# ------------------------------------------------------------------ dispute, hardship


def test_a_dispute_holds_the_case_until_resolved(case: Case) -> None:
    promise(case, "p1", "100.00")
    dispute(case)
    assert case.status is CaseStatus.DISPUTED
    resolve(case)
    assert case.dispute_open is False
    assert case.status is CaseStatus.PROMISED


def test_a_second_dispute_while_one_is_open_is_refused(case: Case) -> None:
    dispute(case)
    with pytest.raises(InvalidTransition):
        dispute(case)


def test_resolving_without_an_open_dispute_is_refused(case: Case) -> None:
    with pytest.raises(InvalidTransition):
        resolve(case)


def test_a_dispute_on_a_closed_case_is_refused(case: Case) -> None:
    close(case, CloseReason.SETTLED)
    with pytest.raises(CaseClosed):
        dispute(case)


def test_a_recalled_case_can_still_be_disputed_and_stays_recalled(case: Case) -> None:
    recall(case)
    dispute(case)
    assert case.dispute_open is True
    assert case.status is CaseStatus.RECALLED


def test_hardship_is_recorded(case: Case) -> None:
    case.flag_hardship(reason="lost job", flagged_at=at(2), actor=ACTOR)
    assert case.hardship is True
    assert names(drain(case))[-1] == "HardshipFlagged"


def test_hardship_on_a_closed_case_is_refused(case: Case) -> None:
    close(case, CloseReason.SETTLED)
    with pytest.raises(CaseClosed):
        case.flag_hardship(reason="lost job", flagged_at=at(40), actor=ACTOR)


# ------------------------------------------------------------------ cease contact, escalation


def test_cease_contact_is_recorded_once(case: Case) -> None:
    drain(case)
    assert cease(case) is True
    assert names(drain(case)) == ["CeaseContactRequested"]
    assert cease(case) is False
    assert drain(case) == []
    assert case.cease_contact is True


def test_an_escalation_is_recorded(case: Case) -> None:
    escalate(case, EscalationKind.SUPERVISOR)
    assert case.escalations == [{"kind": "supervisor", "reason": "no contact", "at": at(3)}]


def test_an_escalation_after_recall_is_refused(case: Case) -> None:
    recall(case)
    with pytest.raises(CaseRecalled):
        escalate(case)
    assert case.escalations == []


def test_an_escalation_on_a_closed_case_is_refused(case: Case) -> None:
    close(case, CloseReason.SETTLED)
    with pytest.raises(CaseClosed):
        escalate(case)


def test_a_field_visit_after_cease_contact_is_refused(case: Case) -> None:
    cease(case)
    with pytest.raises(InvalidTransition):
        escalate(case, EscalationKind.FIELD_VISIT)
    assert case.escalations == []


def test_legal_action_after_cease_contact_is_allowed(case: Case) -> None:
    cease(case)
    escalate(case, EscalationKind.LEGAL)
    assert [e["kind"] for e in case.escalations] == ["legal"]


# ------------------------------------------------------------------ recall, reassignment


def test_a_recalled_case_has_no_assigned_agency(case: Case) -> None:
    recall(case, RecallReason.COMPLAINT)
    assert case.status is CaseStatus.RECALLED
    assert case.assigned_agency_id is None
    assert case.agency_id == "AG-A"  # who had it, for attribution
    assert case.recall_reason == "complaint"


def test_recalling_twice_is_refused(case: Case) -> None:
    recall(case)
    with pytest.raises(InvalidTransition):
        recall(case)


def test_recalling_a_closed_case_is_refused(case: Case) -> None:
    close(case, CloseReason.SETTLED)
    with pytest.raises(CaseClosed):
        recall(case)


def test_reassigning_a_recalled_case_gives_it_to_the_new_agency(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    recall(case)
    reassign(case, "AG-B", term_end=date(2026, 9, 1))
    assert case.status is CaseStatus.PLACED
    assert case.assigned_agency_id == "AG-B"
    assert case.recall_reason is None
    assert case.term_end == date(2026, 9, 1)
    assert case.assigned_at == at(21)
    events = drain(case)
    assert events[-1].from_agency_id == "AG-A"
    assert events[-1].to_agency_id == "AG-B"
    assert_replays(case, events, replay, state_of)


def test_a_worked_case_is_active_again_after_reassignment(case: Case) -> None:
    contact(case, "c1")
    recall(case)
    reassign(case, "AG-B")
    assert case.status is CaseStatus.ACTIVE
    assert case.term_end == TERM_END  # no new term: the old one stands


def test_payments_after_reassignment_count_for_the_new_agency(case: Case) -> None:
    pay(case, "r1", "100.00")
    recall(case)
    reassign(case, "AG-B")
    pay(case, "r2", "100.00", when=at(22))
    assert case.payments["r1"].agency_id == "AG-A"
    assert case.payments["r2"].agency_id == "AG-B"
    assert case.payments["r2"].flags == []


def test_a_recalled_case_can_go_back_to_the_same_agency(case: Case) -> None:
    recall(case)
    reassign(case, "AG-A")
    assert case.assigned_agency_id == "AG-A"
    assert case.status is CaseStatus.PLACED


def test_reassigning_to_the_agency_that_already_has_the_case_is_refused(case: Case) -> None:
    with pytest.raises(InvalidTransition):
        reassign(case, "AG-A")


def test_a_case_can_be_rotated_to_another_agency_without_a_recall(case: Case) -> None:
    reassign(case, "AG-B")
    assert case.assigned_agency_id == "AG-B"


def test_reassigning_with_a_term_that_already_ended_is_refused(case: Case) -> None:
    recall(case)
    with pytest.raises(InvalidDate):
        reassign(case, "AG-B", term_end=day(10), when=at(21))
    assert case.status is CaseStatus.RECALLED


def test_reassigning_a_closed_case_is_refused(case: Case) -> None:
    close(case, CloseReason.SETTLED)
    with pytest.raises(CaseClosed):
        reassign(case, "AG-B")


# ------------------------------------------------------------------------------ closing


def test_closing_as_paid_in_full_with_money_outstanding_is_refused(case: Case) -> None:
    pay(case, "r1", "1020.49")
    with pytest.raises(InvalidTransition):
        close(case, CloseReason.PAID_IN_FULL)
    assert case.closed is False


def test_closing_as_paid_in_full_at_zero_outstanding_is_allowed(case: Case) -> None:
    pay(case, "r1", "1020.50")
    close(case, CloseReason.PAID_IN_FULL)
    assert case.status is CaseStatus.CLOSED
    assert case.close_reason == "paid_in_full"
    assert case.closed_at == at(30)
    [event] = drain(case)[-1:]
    assert event.outstanding == 0


def test_closing_as_recalled_needs_a_recall(case: Case) -> None:
    with pytest.raises(InvalidTransition):
        close(case, CloseReason.RECALLED)
    recall(case)
    close(case, CloseReason.RECALLED)
    assert case.status is CaseStatus.CLOSED


def test_closing_as_term_expired_before_the_term_ends_is_refused(case: Case) -> None:
    with pytest.raises(InvalidTransition):
        close(case, CloseReason.TERM_EXPIRED, when=datetime(2026, 3, 2, 23, 0, tzinfo=UTC))


def test_closing_as_term_expired_on_the_last_day_of_the_term_is_allowed(case: Case) -> None:
    close(case, CloseReason.TERM_EXPIRED, when=datetime(2026, 3, 3, 0, 0, tzinfo=UTC))
    assert case.status is CaseStatus.CLOSED


def test_closing_records_what_was_still_outstanding(case: Case) -> None:
    pay(case, "r1", "20.50")
    close(case, CloseReason.UNCOLLECTIBLE)
    [event] = drain(case)[-1:]
    assert names([event]) == ["Closed"]
    assert event.outstanding == Decimal("1000.00")
    assert event.agency_id == "AG-A"


INTENTS_AFTER_CLOSE: dict[str, Callable[[Case], object]] = {
    "promise": lambda c: promise(c, "p1", "10.00", when=at(40), due=day(45)),
    "plan": lambda c: plan(c, [(day(50), "10.00")], when=at(40)),
    "dispute": dispute,
    "hardship": lambda c: c.flag_hardship(reason="r", flagged_at=at(40), actor=ACTOR),
    "escalate": escalate,
    "recall": recall,
    "reassign": lambda c: reassign(c, "AG-B"),
    "close again": lambda c: close(c, CloseReason.SETTLED, when=at(40)),
}


@pytest.mark.parametrize("intent", INTENTS_AFTER_CLOSE.values(), ids=INTENTS_AFTER_CLOSE.keys())
def test_every_intent_after_close_is_refused(case: Case, intent: Callable[[Case], object]) -> None:
    close(case, CloseReason.UNCOLLECTIBLE)
    drain(case)
    version = case.version
    with pytest.raises(CaseClosed):
        intent(case)
    assert drain(case) == []
    assert case.version == version


def test_a_refused_intent_leaves_the_case_untouched(case: Case, state_of: StateOf) -> None:
    pay(case, "r1", "100.00")
    drain(case)
    before = copy.deepcopy(state_of(case))
    with pytest.raises(InvalidAmount):
        promise(case, "p1", "5000.00")
    with pytest.raises(PaymentReferenceConflict):
        pay(case, "r1", "99.00")
    with pytest.raises(InvalidAmount):
        reverse(case, "r1", "100.01")
    assert state_of(case) == before
    assert drain(case) == []


# ------------------------------------------------------------------------------ replay


def test_a_full_case_history_replays_to_the_same_case(
        case: Case, replay: Replay, state_of: StateOf) -> None:
    contact(case, "c1", party=Party.NONE, outcome=ContactOutcome.NO_ANSWER)
    contact(case, "c2")
    promise(case, "p1", "200.00", due=day(7))
    pay(case, "r1", "200.00", when=at(6))
    promise(case, "p2", "100.00", due=day(14))
    case.break_promise(promise_id="p2", as_of=at(15), actor=ACTOR)
    dispute(case)
    contact(case, "c3")
    resolve(case)
    case.flag_hardship(reason="illness", flagged_at=at(16), actor=ACTOR)
    plan(case, [(day(30), "300.00"), (day(60), "300.00")], when=at(16))
    pay(case, "r2", "300.00", when=at(30))
    reverse(case, "r2", "300.00")
    escalate(case, EscalationKind.FIELD_VISIT)
    cease(case)
    recall(case)
    pay(case, "r3", "50.00", source=PaymentSource.CREDITOR_DIRECT, when=at(20))
    reassign(case, "AG-B", term_end=date(2026, 12, 31))
    pay(case, "r4", "770.50", when=at(60))
    close(case, CloseReason.PAID_IN_FULL, when=at(61))
    events = drain(case)
    rebuilt = assert_replays(case, events, replay, state_of)
    assert rebuilt.status is CaseStatus.CLOSED
    assert rebuilt.outstanding == 0
    assert rebuilt.paid_total == PLACED
    assert rebuilt.agency_id == "AG-B"
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))


# ------------------------------------------------------------------------------ property


CENTS = st.integers(min_value=1, max_value=80_000).map(lambda c: Decimal(c).scaleb(-2))

COMMANDS = st.one_of(
    st.tuples(st.just("pay"), st.integers(0, 5), CENTS,
              st.sampled_from([PaymentSource.AGENCY, PaymentSource.CREDITOR_DIRECT]),
              st.integers(0, 60)),
    st.tuples(st.just("reverse"), st.integers(0, 6), st.none() | CENTS),
    st.tuples(st.just("contact"), st.integers(0, 8), st.sampled_from(list(Party)),
              st.sampled_from(list(Direction)), st.integers(0, 60)),
    st.tuples(st.just("promise"), st.integers(0, 3), CENTS, st.integers(0, 30),
              st.integers(-2, 20)),
    st.tuples(st.just("break"), st.integers(0, 3), st.integers(0, 60)),
    st.tuples(st.just("dispute")),
    st.tuples(st.just("resolve")),
    st.tuples(st.just("recall")),
    st.tuples(st.just("reassign"), st.sampled_from(["AG-A", "AG-B", "AG-C"])),
)


def attempt(intent: Callable[[], object]) -> None:
    """Run an intent that the case may refuse; refusals are checked by the caller."""
    with contextlib.suppress(DomainError):
        intent()


def run(case: Case, command: tuple[Any, ...], model: dict[str, list[Any]]) -> None:
    """Apply one command. The model predicts exactly which payments and reversals the case
    accepts, ignores or refuses; intents (promises, disputes...) may be refused for any reason.
    """
    kind = command[0]
    if kind == "pay":
        _, ref_no, amount, source, days = command
        ref = f"r{ref_no}"
        known = model.get(ref)
        if known is None:
            assert pay(case, ref, str(amount), source=source, when=at(days)) is True
            model[ref] = [amount, Decimal(0), source]
        elif known[0] == amount and known[2] == source:
            assert pay(case, ref, str(amount), source=source, when=at(days)) is False
        else:
            with pytest.raises(PaymentReferenceConflict):
                pay(case, ref, str(amount), source=source, when=at(days))
    elif kind == "reverse":
        _, ref_no, amount = command
        ref = f"r{ref_no}"
        known = model.get(ref)
        if known is None:
            with pytest.raises(UnknownPayment):
                reverse(case, ref, None if amount is None else str(amount))
            return
        remaining = known[0] - known[1]
        if amount is None and remaining == 0:
            assert reverse(case, ref) is False
        elif amount is not None and amount > remaining:
            with pytest.raises(InvalidAmount):
                reverse(case, ref, str(amount))
        else:
            assert reverse(case, ref, None if amount is None else str(amount)) is True
            known[1] += remaining if amount is None else amount
    elif kind == "contact":
        _, contact_no, party, direction, days = command
        contact(case, f"c{contact_no}", party=party, direction=direction, when=at(days))
    elif kind == "promise":
        _, promise_no, amount, made, due_in = command
        attempt(lambda: promise(case, f"p{promise_no}", str(amount), when=at(made),
                                due=day(made + due_in)))
    elif kind == "break":
        _, promise_no, days = command
        attempt(lambda: case.break_promise(promise_id=f"p{promise_no}", as_of=at(days),
                                           actor=ACTOR))
    elif kind == "dispute":
        attempt(lambda: dispute(case))
    elif kind == "resolve":
        attempt(lambda: resolve(case))
    elif kind == "recall":
        attempt(lambda: recall(case))
    elif kind == "reassign":
        attempt(lambda: reassign(case, command[1]))


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(commands=st.lists(COMMANDS, max_size=40))
def test_any_valid_history_replays_to_the_same_case_and_balances(
        make_case: Callable[..., Case], replay: Replay, state_of: StateOf,
        commands: list[tuple[Any, ...]]) -> None:
    case = make_case()
    model: dict[str, list[Any]] = {}
    collected = drain(case)
    for command in commands:
        version, before = case.version, copy.deepcopy(state_of(case))
        run(case, command, model)
        if case.version == version:
            # Refused or ignored: nothing recorded, nothing changed.
            assert state_of(case) == before
        new = drain(case)
        assert len(new) == case.version - version
        collected += new
        net_paid = sum((amount - reversed_ for amount, reversed_, _ in model.values()),
                       Decimal(0))
        assert case.paid_total == net_paid
        assert case.outstanding == case.placed_amount - net_paid == PLACED - net_paid
        assert case.outstanding == case.placed_amount - sum(
            (p.amount - p.reversed for p in case.payments.values()), Decimal(0))

    rebuilt = assert_replays(case, collected, replay, state_of)
    assert rebuilt.paid_total == case.paid_total
    assert [e.originator_version for e in collected] == list(range(1, case.version + 1))
    assert rebuilt.bucket == "M2"


# ---------------------------------------------------------------------- deadlines and days


def test_deadlines_are_the_open_promises_and_the_term_earliest_first(case: Case) -> None:
    promise(case, "p1", "100.00", due=day(9))
    promise(case, "p2", "50.00", due=day(3))
    found = [(d.kind, d.ref, d.due_at) for d in case.deadlines()]
    assert found == [
        ("promise_due", "p2", datetime.combine(day(3), datetime.min.time(), UTC)
         + timedelta(hours=16)),
        ("promise_due", "p1", datetime.combine(day(9), datetime.min.time(), UTC)
         + timedelta(hours=16)),
        # the term ends at the end of its last day in the creditor's zone (UTC here)
        ("term_end", "1", datetime.combine(TERM_END + timedelta(days=1), datetime.min.time(),
                                           UTC)),
    ]
    assert case.next_deadline_at == found[0][2]
    pay(case, "r1", "50.00", when=at(1))  # keeps p2 (applied to the earliest due first)
    assert [d.ref for d in case.deadlines()] == ["p1", "1"]


def test_a_recalled_or_closed_case_has_no_term_deadline(case: Case) -> None:
    recall(case)
    assert [d.kind for d in case.deadlines()] == []


def test_an_expired_term_brings_the_case_back_as_of_its_end(case: Case) -> None:
    end = datetime.combine(TERM_END + timedelta(days=1), datetime.min.time(), UTC)
    with pytest.raises(InvalidDate):
        case.expire_term(seq=1, as_of=end - timedelta(seconds=1), to_agency_id=None,
                         new_term_end=None, actor=ACTOR)
    drain(case)
    assert case.expire_term(seq=1, as_of=end, to_agency_id=None, new_term_end=None,
                            actor=ACTOR) is True
    [event] = drain(case)
    assert (names([event]), event.reason, event.recalled_at) == (["Recalled"], "term_ended", end)
    # A second worker, or a retry, records nothing.
    assert case.expire_term(seq=1, as_of=end, to_agency_id=None, new_term_end=None,
                            actor=ACTOR) is False
    assert drain(case) == []


def test_an_expired_term_can_move_the_case_on_for_a_new_term(case: Case) -> None:
    end = datetime.combine(TERM_END + timedelta(days=1), datetime.min.time(), UTC)
    drain(case)
    case.expire_term(seq=1, as_of=end, to_agency_id="AG-B", new_term_end=date(2027, 3, 3),
                     actor=ACTOR)
    [event] = drain(case)
    assert (names([event]), event.to_agency_id, event.reason, event.reassigned_at) == (
        ["Reassigned"], "AG-B", "term_ended", end)
    assert [d.ref for d in case.deadlines()] == ["2"]
    # The old term is not the current one any more.
    assert case.expire_term(seq=1, as_of=end, to_agency_id=None, new_term_end=None,
                            actor=ACTOR) is False


def test_dpd_ages_with_the_creditor_s_days_until_nothing_is_owed(case: Case) -> None:
    assert case.delinquent_since == T0.date() - timedelta(days=45)
    assert case.dpd_on(T0.date()) == 45
    assert case.dpd_on(T0.date() + timedelta(days=30)) == 75
    pay(case, "all", "1020.50")
    assert case.dpd_on(T0.date() + timedelta(days=30)) == 0


def test_a_placement_recorded_before_zones_were_recorded_replays_as_utc(
        case: Case, replay: Replay) -> None:
    [placed] = drain(case)
    for name in ("creditor_timezone", "delinquent_since"):
        placed.__dict__.pop(name)
    rebuilt = replay([placed])
    assert (rebuilt.creditor_timezone, rebuilt.delinquent_since) == (
        "UTC", T0.date() - timedelta(days=45))


def test_facts_dated_before_the_placement_are_recorded_and_flagged_alike(case: Case) -> None:
    drain(case)
    contact(case, "early", when=T0 - timedelta(hours=2))
    pay(case, "early-pay", "10.00", when=T0 - timedelta(hours=2))
    contacted, paid = drain(case)
    assert ContactFlag.BEFORE_PLACEMENT in contacted.flags
    assert PaymentFlag.BEFORE_PLACEMENT in paid.flags
    contact(case, "on-time", when=T0)
    [later] = drain(case)
    assert later.flags == []


def test_the_bucket_on_a_day_follows_the_days_and_the_money_as_of_that_day(case: Case) -> None:
    # Placed at 45 DPD (M2) on T0; the creditor's days are UTC here.
    start = T0.date()
    pay(case, "r1", "1020.50", when=at(10))
    case.reverse_payment(reference="r1", amount=None, reason="bounced",
                         reversed_at=at(20), actor=ACTOR)
    assert case.bucket_on(start) == "M2"
    assert [case.bucket_on(start + timedelta(days=d)) for d in (5, 10, 19, 20, 30, 50)] == [
        "M2", "paid", "paid", "M3", "M3", "M4+"]
    assert case.dpd_on(start + timedelta(days=15)) == 0  # nothing was owed that day
    assert case.dpd_on(start + timedelta(days=30)) == 75
