"""Agency contact KPIs: each definition, the period, and rounding."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from contact_service.domain.complaints import ComplaintFact
from contact_service.domain.kpis import (
    DEFINITIONS,
    ActionCodeCounts,
    CaseAssignment,
    ContactFact,
    ContactKpis,
    InvalidPeriod,
    Period,
    PromiseFact,
    Ratio,
    ViolationFact,
    contact_kpis,
    ratio,
)
from hypothesis import given, settings
from hypothesis import strategies as st

OCTOBER = Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
IN_OCTOBER = datetime(2026, 10, 15, 2, 0, tzinfo=UTC)
IN_SEPTEMBER = datetime(2026, 9, 15, 2, 0, tzinfo=UTC)
IN_NOVEMBER = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)

_events = itertools.count(1)


AGENCY = "AG"


def assigned(case_id: str, at: datetime = IN_OCTOBER, until: datetime | None = None,
             agency_id: str = AGENCY) -> CaseAssignment:
    return CaseAssignment(case_id=case_id, seq=1, agency_id=agency_id, assigned_at=at,
                          ended_at=until)


def contact(case_id: str, party: str = "debtor", at: datetime = IN_OCTOBER) -> ContactFact:
    return ContactFact(event_id=f"e{next(_events)}", case_id=case_id, party=party,
                       occurred_at=at)


def promise(case_id: str, promise_id: str, at: datetime = IN_OCTOBER, state: str = "open",
            settled_at: datetime | None = None, agency_id: str = AGENCY) -> PromiseFact:
    return PromiseFact(case_id=case_id, promise_id=promise_id, agency_id=agency_id,
                       promised_at=at, state=state, settled_at=settled_at)


def kpis(assignments: Iterable[CaseAssignment] = (), contacts: Iterable[ContactFact] = (),
         promises: Iterable[PromiseFact] = (), violations: Iterable[ViolationFact] = (),
         period: Period = OCTOBER) -> ContactKpis:
    return contact_kpis(AGENCY, period, assignments, contacts, promises, violations)


def test_contact_rate_is_assigned_cases_with_any_contact_over_assigned_cases() -> None:
    result = kpis([assigned("A"), assigned("B"), assigned("C")],
                  [contact("A", "none"), contact("A", "debtor"), contact("B", "third_party")])
    assert result.contact_rate == Ratio(2, 3, Decimal("0.6667"))


def test_right_party_contact_rate_counts_only_cases_where_the_debtor_was_reached() -> None:
    result = kpis([assigned("A"), assigned("B"), assigned("C"), assigned("D")],
                  [contact("A", "debtor"), contact("A", "debtor"), contact("B", "third_party"),
                   contact("C", "none")])
    assert result.right_party_contact_rate == Ratio(1, 4, Decimal("0.2500"))


def test_cases_not_held_during_the_period_are_not_in_the_denominator() -> None:
    result = kpis([assigned("A"), assigned("GONE", IN_SEPTEMBER, until=IN_SEPTEMBER.replace(
        day=20)), assigned("NEW", IN_NOVEMBER), assigned("OTHER", agency_id="AG-OTHER")],
        [contact("A"), contact("GONE")])
    assert result.contact_rate == Ratio(1, 1, Decimal("1.0000"))


def test_a_case_held_during_the_period_counts_however_it_came_or_went() -> None:
    # The defect of issue 16: a case reassigned away during the period dropped out of the
    # denominator because cases were selected by their current agency.
    result = kpis([assigned("KEPT", IN_SEPTEMBER), assigned("MOVED", IN_SEPTEMBER,
                                                            until=IN_OCTOBER),
                   assigned("NEW", IN_OCTOBER)],
                  [contact("KEPT"), contact("MOVED", at=IN_OCTOBER.replace(hour=1)),
                   contact("NEW")])
    assert result.contact_rate == Ratio(3, 3, Decimal("1.0000"))


def test_contacts_outside_the_period_do_not_count() -> None:
    result = kpis([assigned("A"), assigned("B")],
                  [contact("A", at=IN_SEPTEMBER), contact("B", at=IN_NOVEMBER)])
    assert result.contact_rate == Ratio(0, 2, Decimal("0.0000"))


def test_the_period_includes_its_start_and_excludes_its_end() -> None:
    result = kpis([assigned("A", OCTOBER.start), assigned("B", OCTOBER.end),
                   assigned("C", IN_SEPTEMBER, until=OCTOBER.start)],
                  [contact("A", at=OCTOBER.start), contact("B", at=OCTOBER.end)])
    assert result.contact_rate == Ratio(1, 1, Decimal("1.0000"))


def test_promise_rate_is_promises_made_per_right_party_contact() -> None:
    result = kpis(contacts=[contact("A"), contact("B"), contact("C"), contact("D", "none")],
                  promises=[promise("A", "P1"), promise("B", "P2"),
                            promise("C", "P0", at=IN_SEPTEMBER)])
    assert result.promise_rate == Ratio(2, 3, Decimal("0.6667"))


def test_promise_rate_counts_contacts_on_cases_assigned_before_the_period() -> None:
    result = kpis([assigned("OLD", IN_SEPTEMBER)], [contact("OLD")], [promise("OLD", "P1")])
    assert result.promise_rate == Ratio(1, 1, Decimal("1.0000"))


def test_promise_kept_rate_is_kept_over_settled_among_promises_settled_in_the_period() -> None:
    result = kpis(promises=[
        promise("A", "P1", state="kept", settled_at=IN_OCTOBER),
        promise("B", "P2", state="broken", settled_at=IN_OCTOBER),
        promise("C", "P3", at=IN_SEPTEMBER, state="broken", settled_at=IN_OCTOBER),
        promise("D", "P4", at=IN_SEPTEMBER, state="kept", settled_at=IN_SEPTEMBER),
        promise("E", "P5", state="kept", settled_at=IN_NOVEMBER),
        promise("F", "P6"),
        promise("G", "P7", state="broken", settled_at=IN_OCTOBER, agency_id="AG-OTHER"),
    ])
    assert result.promise_kept_rate == Ratio(1, 3, Decimal("0.3333"))


def test_a_kept_promise_reopened_by_a_reversal_counts_in_neither() -> None:
    # PromiseReopened sets it back to open: it is no longer kept, and not yet broken.
    result = kpis(promises=[promise("A", "P1", state="open"),
                            promise("B", "P2", state="kept", settled_at=IN_OCTOBER)])
    assert result.promise_kept_rate == Ratio(1, 1, Decimal("1.0000"))


def test_violations_count_each_broken_rule_per_thousand_contacts() -> None:
    contacts = [contact("A") for _ in range(3)]
    broke = [ViolationFact(contacts[0].event_id, "contact-hours", IN_OCTOBER),
             ViolationFact(contacts[0].event_id, "case-hold", IN_OCTOBER),
             ViolationFact("e-september", "contact-hours", IN_SEPTEMBER)]
    result = kpis(contacts=contacts, violations=broke)
    assert result.violations_per_1000_contacts == Ratio(2, 3, Decimal("666.6667"))


def test_rates_over_nothing_are_unknown_not_zero() -> None:
    result = kpis()
    assert all(r.value is None and r.denominator == 0 for r in result.as_dict().values())


def test_the_same_fact_given_twice_counts_once() -> None:
    once = contact("A")
    kept = promise("A", "P1", state="kept", settled_at=IN_OCTOBER)
    result = kpis([assigned("A"), assigned("A")], [once, once], [kept, kept])
    assert result.contact_rate == Ratio(1, 1, Decimal("1.0000"))
    assert result.promise_rate == Ratio(1, 1, Decimal("1.0000"))
    assert result.promise_kept_rate == Ratio(1, 1, Decimal("1.0000"))


@pytest.mark.parametrize(("numerator", "denominator", "per", "expected"), [
    (1, 3, 1, "0.3333"), (2, 3, 1, "0.6667"), (1, 8, 1, "0.1250"),
    (1, 20000, 1, "0.0001"),  # 0.00005 rounds half-up, not to even
    (1, 12, 1000, "83.3333"),
])
def test_ratios_round_half_up_to_four_places(numerator: int, denominator: int, per: int,
                                             expected: str) -> None:
    assert ratio(numerator, denominator, per).value == Decimal(expected)


def test_a_period_must_be_timezone_aware_and_not_empty() -> None:
    with pytest.raises(InvalidPeriod):
        Period(datetime(2026, 10, 1), datetime(2026, 11, 1))  # naive on purpose
    with pytest.raises(InvalidPeriod):
        Period(OCTOBER.end, OCTOBER.start)


def test_every_kpi_has_a_definition() -> None:
    assert set(kpis().as_dict()) == set(DEFINITIONS)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["debtor", "third_party", "none"]),
                          st.integers(-40, 70)), max_size=60),
       st.lists(st.tuples(st.integers(0, 9), st.integers(-40, 70)), max_size=15))
def test_case_rates_never_exceed_one(contacts: list[tuple[int, str, int]],
                                     assignments: list[tuple[int, int]]) -> None:
    start = OCTOBER.start
    result = kpis([assigned(f"C{c}", start + timedelta(days=d)) for c, d in assignments],
                  [contact(f"C{c}", party, start + timedelta(days=d)) for c, party, d in contacts])
    for rate in (result.contact_rate, result.right_party_contact_rate):
        assert rate.value is None or Decimal(0) <= rate.value <= Decimal(1)
    assert result.right_party_contact_rate.numerator <= result.contact_rate.numerator


# ---------------------------------------------------------------------- issue 21

def test_the_complaint_rate_is_complaints_received_per_1000_cases_assigned() -> None:
    received = [ComplaintFact(case_id=c, complaint_id=f"CP-{c}", agency_id=AGENCY,
                              received_at=IN_OCTOBER) for c in ("A", "B")]
    other = ComplaintFact(case_id="C", complaint_id="CP-X", agency_id="OTHER",
                          received_at=IN_OCTOBER)
    result = contact_kpis(AGENCY, OCTOBER, [assigned(c) for c in "ABC"], [], [], [],
                          [*received, other])
    assert result.complaints_per_1000_cases == Ratio(2, 3, Decimal("666.6667"))
    assert result.complaints.received == 2


def test_no_cases_assigned_gives_no_complaint_rate() -> None:
    assert kpis().complaints_per_1000_cases == Ratio(0, 0, None)


def test_contacts_are_broken_down_by_action_code_sorted_by_code() -> None:
    ptp = ContactFact(event_id="e-ptp", case_id="A", party="debtor", occurred_at=IN_OCTOBER,
                      action_code="PTP")
    noans = [ContactFact(event_id=f"e-n{i}", case_id="A", party="none",
                         occurred_at=IN_OCTOBER + timedelta(hours=i), action_code="NOANS")
             for i in (1, 2)]
    result = kpis([assigned("A")], [ptp, *noans], [promise("A", "P1", at=IN_OCTOBER),
                                                   promise("A", "P2", at=IN_NOVEMBER)])
    assert result.action_codes == [ActionCodeCounts("NOANS", 2, 0, 0),
                                   ActionCodeCounts("PTP", 1, 1, 1)]


def test_action_codes_come_from_contacts_in_the_period_only() -> None:
    late = ContactFact(event_id="e-late", case_id="A", party="debtor", occurred_at=IN_NOVEMBER,
                       action_code="PTP")
    assert kpis([assigned("A")], [late]).action_codes == []
