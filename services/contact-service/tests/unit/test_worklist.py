"""The worklist: what is listed, what never is, and in which order.

Most tests here are of an agency and debtors in UTC (`utc_worklist`), where the agency's day and
the debtor's day coincide with the UTC date; the tests at the end are of other zones."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from contact_service.domain.local_time import ZoneHistory
from contact_service.domain.service_levels import (
    CaseFacts,
    ServiceLevelStatus,
    evaluate_service_levels,
)
from contact_service.domain.worklist import CaseWork, PromiseFact, WorkItem, build_worklist

DAY = date(2026, 3, 10)
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def sl(name: str, status: str, due: datetime | None, *, outstanding: bool | None = None,
       completed: datetime | None = None) -> ServiceLevelStatus:
    if outstanding is None:
        outstanding = status in {"pending", "breached"} and completed is None
    return ServiceLevelStatus(service_level=name, status=status, due_at=due,
                              explanation=f"{name} is {status}", outstanding=outstanding,
                              completed_at=completed)


def promise(pid: str, due: date, state: str = "open", settled: datetime | None = None,
            amount: str = "500.00") -> PromiseFact:
    return PromiseFact(promise_id=pid, amount=Decimal(amount), due_date=due,
                       state=state, settled_at=settled)


def case(case_id: str, *levels: ServiceLevelStatus, promises: tuple[PromiseFact, ...] = (),
         last_contact: datetime | None = None, debtor_timezone: str = "UTC",
         **holds: Any) -> CaseWork:
    return CaseWork(case_id=case_id, debtor_timezone=debtor_timezone, service_levels=levels,
                    promises=promises, last_contact_at=last_contact, **holds)


def utc_worklist(cases: list[CaseWork], day: date) -> list[WorkItem]:
    """The worklist of an agency whose days are UTC days, judged at the day's start."""
    return build_worklist(cases, day, zone="UTC")


def kinds(items: list[WorkItem]) -> list[tuple[str, str]]:
    return [(i.case_id, i.kind) for i in items]


# --- what is listed ----------------------------------------------------------------------------

def test_an_outstanding_breach_is_listed_as_overdue_with_the_action_to_take() -> None:
    items = utc_worklist([case("C1", sl("field_visit_request", "breached", NOON - timedelta(
        days=1)))], DAY)
    assert kinds(items) == [("C1", "service_level_overdue")]
    item = items[0]
    assert item.priority == 1
    assert item.service_level == "field_visit_request"
    assert item.due_at == NOON - timedelta(days=1)
    assert item.reason.startswith("Overdue since 2026-03-09 12:00 UTC: raise a field-visit "
                                  "request.")


def test_a_breach_done_late_is_not_listed() -> None:
    late = sl("first_action", "breached", NOON - timedelta(days=2),
              completed=NOON - timedelta(days=1))
    assert utc_worklist([case("C1", late)], DAY) == []


def test_a_moot_breach_is_not_listed() -> None:
    moot = sl("field_visit_request", "breached", NOON - timedelta(days=2), outstanding=False)
    assert utc_worklist([case("C1", moot)], DAY) == []


def test_a_service_level_due_later_today_is_listed_as_due() -> None:
    items = utc_worklist([case("C1", sl("first_action", "pending", NOON + timedelta(hours=2)))],
                           DAY)
    assert kinds(items) == [("C1", "service_level_due")]
    assert items[0].priority == 2
    assert items[0].reason.startswith("Due today, by 2026-03-10 14:00 UTC: make the first contact")


def test_service_levels_due_on_a_later_day_are_not_listed_unless_they_are_visits() -> None:
    tomorrow = NOON + timedelta(days=1)
    items = utc_worklist([case("C1", sl("initial_calls", "pending", tomorrow),
                                 sl("field_visit", "pending", tomorrow + timedelta(days=3)))],
                           DAY)
    assert [(i.kind, i.service_level, i.priority) for i in items] == [
        ("visit_due", "field_visit", 5)]
    assert items[0].reason.startswith("Visit due by 2026-03-14 12:00 UTC: visit the debtor.")


def test_a_visit_due_today_is_a_service_level_due_not_a_visit_due() -> None:
    items = utc_worklist([case("C1", sl("revisit", "pending", NOON + timedelta(hours=1)))], DAY)
    assert kinds(items) == [("C1", "service_level_due")]


def test_met_and_not_applicable_service_levels_are_not_listed() -> None:
    items = utc_worklist([case("C1", sl("first_action", "met", NOON, outstanding=False),
                                 sl("revisit", "not_applicable", None))], DAY)
    assert items == []


def test_promises_falling_due_today_or_tomorrow_are_listed_and_later_ones_are_not() -> None:
    items = utc_worklist([case("C1", promises=(
        promise("P-today", DAY), promise("P-tomorrow", DAY + timedelta(days=1)),
        promise("P-later", DAY + timedelta(days=2))))], DAY)
    assert [(i.promise_id, i.kind, i.priority) for i in items] == [
        ("P-today", "promise_due", 3), ("P-tomorrow", "promise_due", 3)]
    assert items[0].reason == ("Promise P-today of 500.00 falls due today (2026-03-10): "
                               "remind the debtor.")
    assert "falls due tomorrow (2026-03-11)" in items[1].reason


def test_kept_promises_are_not_listed() -> None:
    kept = promise("P1", DAY, "kept", settled=NOON - timedelta(days=1))
    assert utc_worklist([case("C1", promises=(kept,))], DAY) == []


def test_a_broken_promise_needs_follow_up_until_the_case_is_contacted_again() -> None:
    broken_at = datetime(2026, 3, 6, 0, 5, tzinfo=UTC)
    broken = promise("P1", date(2026, 3, 5), "broken", settled=broken_at)
    items = utc_worklist([case("C1", promises=(broken,),
                                 last_contact=broken_at - timedelta(days=2))], DAY)
    assert [(i.kind, i.priority, i.due_at) for i in items] == [
        ("promise_follow_up", 4, broken_at)]
    assert "was broken at 2026-03-06 00:05 UTC" in items[0].reason
    followed_up = case("C1", promises=(broken,), last_contact=broken_at + timedelta(days=1))
    assert utc_worklist([followed_up], DAY) == []


def test_an_open_promise_past_its_due_date_without_contact_since_needs_follow_up() -> None:
    overdue = promise("P1", date(2026, 3, 8))
    items = utc_worklist([case("C1", promises=(overdue,))], DAY)
    assert [(i.kind, i.promise_id) for i in items] == [("promise_follow_up", "P1")]
    assert "is not recorded as kept" in items[0].reason
    contacted = case("C1", promises=(overdue,), last_contact=datetime(2026, 3, 9, 8, tzinfo=UTC))
    assert utc_worklist([contacted], DAY) == []


# --- what is never listed ----------------------------------------------------------------------

@pytest.mark.parametrize("hold", ["cease_contact", "dispute_open", "recalled", "closed"])
def test_a_case_on_hold_is_never_listed(hold: str) -> None:
    busy = case("C1", sl("first_action", "breached", NOON - timedelta(days=1)),
                sl("field_visit", "pending", NOON + timedelta(hours=1)),
                promises=(promise("P1", DAY), promise("P2", DAY - timedelta(days=3), "broken",
                                                     settled=NOON - timedelta(days=2))),
                **{hold: True})
    assert utc_worklist([busy], DAY) == []


# --- order -------------------------------------------------------------------------------------

def test_items_come_in_priority_order_whatever_the_input_order() -> None:
    cases = [
        case("visit", sl("field_visit", "pending", NOON + timedelta(days=3))),
        case("broken", promises=(promise("P1", DAY - timedelta(days=2), "broken",
                                         settled=NOON - timedelta(days=1)),)),
        case("promise", promises=(promise("P2", DAY + timedelta(days=1)),)),
        case("due", sl("initial_calls", "pending", NOON + timedelta(hours=6))),
        case("overdue", sl("first_action", "breached", NOON - timedelta(hours=1))),
    ]
    expected = [("overdue", 1), ("due", 2), ("promise", 3), ("broken", 4), ("visit", 5)]
    for seed in range(5):
        random.Random(seed).shuffle(cases)
        assert [(i.case_id, i.priority) for i in utc_worklist(cases, DAY)] == expected


def test_within_a_rank_the_longest_overdue_comes_first() -> None:
    items = utc_worklist([
        case("C-recent", sl("first_action", "breached", NOON - timedelta(hours=1))),
        case("C-old", sl("initial_calls", "breached", NOON - timedelta(days=5))),
        case("C-mid", sl("field_visit", "breached", NOON - timedelta(days=1))),
    ], DAY)
    assert [i.case_id for i in items] == ["C-old", "C-mid", "C-recent"]


def test_one_case_can_have_several_items_each_at_its_own_rank() -> None:
    items = utc_worklist([case(
        "C1", sl("first_action", "breached", NOON - timedelta(hours=3)),
        sl("field_visit", "pending", NOON + timedelta(days=2)),
        promises=(promise("P1", DAY),))], DAY)
    assert [(i.kind, i.priority) for i in items] == [
        ("service_level_overdue", 1), ("promise_due", 3), ("visit_due", 5)]


# --- with real service levels ------------------------------------------------------------------

def test_a_new_case_nobody_has_called_is_first_in_line() -> None:
    assigned = NOON - timedelta(hours=5)
    statuses = evaluate_service_levels(CaseFacts(case_id="C-new", assigned_at=assigned), NOON,
                                       zones=ZoneHistory.constant("UTC"))
    items = utc_worklist([case("C-new", *statuses),
                            case("C-other", promises=(promise("P1", DAY),))], DAY)
    assert [(i.case_id, i.kind, i.service_level) for i in items] == [
        ("C-new", "service_level_overdue", "first_action"),
        ("C-other", "promise_due", None)]
    assert "no outbound contact yet, overdue by 3 hours" in items[0].reason


# --- the agency's day and the debtor's ---------------------------------------------------------

def test_a_service_level_is_due_today_on_the_agency_s_calendar() -> None:
    # Due at 00:30 UTC on 11 March: 08:30 on 11 March in Shanghai, 20:30 on 10 March in New
    # York.
    due = datetime(2026, 3, 11, 0, 30, tzinfo=UTC)
    work = [case("C1", sl("first_action", "pending", due))]
    assert utc_worklist(work, DAY) == []
    assert build_worklist(work, DAY, zone="Asia/Shanghai") == []
    items = build_worklist(work, date(2026, 3, 11), zone="Asia/Shanghai")
    assert items[0].reason.startswith("Due today, by 2026-03-11 08:30 Asia/Shanghai")
    items = build_worklist(work, DAY, zone="America/New_York")
    assert items[0].reason.startswith("Due today, by 2026-03-10 20:30 America/New_York")


def test_promise_days_are_the_debtor_s() -> None:
    # 23:00 UTC on 9 March is already 10 March in Shanghai, still 9 March in New York.
    judged = datetime(2026, 3, 9, 23, 0, tzinfo=UTC)
    due = promise("P1", DAY)
    shanghai = case("C1", promises=(due,), debtor_timezone="Asia/Shanghai")
    new_york = case("C2", promises=(due,), debtor_timezone="America/New_York")
    items = build_worklist([shanghai, new_york], DAY, zone="UTC", as_of=judged)
    reasons = {i.case_id: i.reason for i in items}
    assert "falls due today (2026-03-10)" in reasons["C1"]
    assert "falls due tomorrow (2026-03-10)" in reasons["C2"]
    # Due until the end of 10 March where the debtor lives: 16:00 UTC for Shanghai.
    assert {i.case_id: i.due_at for i in items}["C1"] == datetime(2026, 3, 10, 16, tzinfo=UTC)
    # At 17:00 UTC on 10 March the Shanghai debtor's promise is overdue, the other is not.
    later = build_worklist([shanghai, new_york], DAY, zone="UTC",
                           as_of=datetime(2026, 3, 10, 17, tzinfo=UTC))
    assert {(i.case_id, i.kind) for i in later} == {("C1", "promise_follow_up"),
                                                    ("C2", "promise_due")}
