"""The field-visit service levels (issue 21): performed within the week, approved before it
is performed unless urgent, and reported the same agency day; each breach with its code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contact_service.domain.local_time import ZoneHistory
from contact_service.domain.service_levels import (
    CaseFacts,
    Hold,
    ReportedEvent,
    ServiceLevelStatus,
    VisitFact,
    evaluate_service_levels,
)

ASSIGNED = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
REQUESTED = datetime(2026, 10, 2, 2, 0, tzinfo=UTC)
SHANGHAI = ZoneHistory.constant("Asia/Shanghai")
D, H = timedelta(days=1), timedelta(hours=1)


def visit(visit_id: str = "V1", *, urgent: bool = False, requested: datetime = REQUESTED,
          approved: datetime | None = None, rejected: datetime | None = None,
          performed: datetime | None = None, late: bool | None = None,
          reported: datetime | None = None) -> VisitFact:
    if performed is not None and late is None:
        late = performed > requested + 7 * D
    return VisitFact(visit_id=visit_id, urgent=urgent, requested_at=requested,
                     visit_by=requested + 7 * D, approved_at=approved, rejected_at=rejected,
                     performed_at=performed, late=late, reported_at=reported)


def levels(as_of: datetime, *visits: VisitFact, holds: tuple[Hold, ...] = ()
           ) -> dict[str, list[ServiceLevelStatus]]:
    found: dict[str, list[ServiceLevelStatus]] = {}
    for s in evaluate_service_levels(CaseFacts("C1", ASSIGNED, visits=visits, holds=holds),
                                     as_of, zones=SHANGHAI):
        if s.service_level.startswith("visit_"):
            found.setdefault(s.service_level, []).append(s)
    return found


def shown(as_of: datetime, *visits: VisitFact, holds: tuple[Hold, ...] = ()
          ) -> dict[str, list[tuple[str, str | None]]]:
    return {level: [(s.status, s.reason) for s in statuses]
            for level, statuses in levels(as_of, *visits, holds=holds).items()}


def test_without_visits_every_visit_level_is_not_applicable() -> None:
    assert shown(REQUESTED) == {"visit_performed": [("not_applicable", None)],
                                "visit_approval": [("not_applicable", None)],
                                "visit_report": [("not_applicable", None)]}


def test_an_approved_visit_performed_and_reported_the_same_day_meets_all_three() -> None:
    performed = REQUESTED + 3 * D
    assert shown(REQUESTED + 10 * D, visit(approved=REQUESTED + H, performed=performed,
                                           reported=performed + 5 * H)) == {
        "visit_performed": [("met", None)], "visit_approval": [("met", None)],
        "visit_report": [("met", None)]}


def test_a_requested_visit_is_pending_until_its_week_ends_then_late() -> None:
    pending = shown(REQUESTED + 6 * D, visit(approved=REQUESTED + H))
    assert pending["visit_performed"] == [("pending", None)]
    overdue = levels(REQUESTED + 8 * D, visit(approved=REQUESTED + H))["visit_performed"][0]
    assert (overdue.status, overdue.reason, overdue.outstanding) == ("breached", "visit_late",
                                                                     True)
    assert overdue.due_at == REQUESTED + 7 * D


def test_the_cases_late_flag_decides_a_performed_visit() -> None:
    # Performed within the week, but the case recorded it as late: the case's fact stands.
    status = levels(REQUESTED + 10 * D, visit(approved=REQUESTED + H,
                                              performed=REQUESTED + D, late=True))
    assert (status["visit_performed"][0].status,
            status["visit_performed"][0].reason) == ("breached", "visit_late")


def test_a_non_urgent_visit_performed_before_approval_breaches_approval() -> None:
    got = shown(REQUESTED + 10 * D, visit(performed=REQUESTED + D,
                                          approved=REQUESTED + 2 * D))
    assert got["visit_approval"] == [("breached", "visit_not_approved")]
    never = levels(REQUESTED + 10 * D, visit(performed=REQUESTED + D))["visit_approval"][0]
    assert "never approved" in never.explanation


def test_an_urgent_visit_may_be_approved_after_the_fact() -> None:
    got = shown(REQUESTED + 10 * D, visit(urgent=True, performed=REQUESTED + H,
                                          approved=REQUESTED + D))
    assert got["visit_approval"] == [("not_applicable", None)]


def test_an_unapproved_visit_waits_for_approval() -> None:
    status = levels(REQUESTED + D, visit())["visit_approval"][0]
    assert (status.status, status.outstanding) == ("pending", True)


def test_a_rejected_visit_owes_nothing() -> None:
    got = shown(REQUESTED + 10 * D, visit(rejected=REQUESTED + H))
    assert got["visit_performed"] == [("not_applicable", None)]
    assert got["visit_approval"] == [("not_applicable", None)]


def test_a_report_entered_the_next_agency_day_is_late() -> None:
    performed = datetime(2026, 10, 5, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    late = levels(REQUESTED + 10 * D, visit(approved=REQUESTED + H, performed=performed,
                                            reported=performed + 2 * H))["visit_report"][0]
    assert (late.status, late.reason) == ("breached", "report_late")
    assert late.due_at == datetime(2026, 10, 5, 16, 0, tzinfo=UTC)  # midnight in Shanghai
    on_time = levels(REQUESTED + 10 * D, visit(approved=REQUESTED + H, performed=performed,
                                               reported=performed + 0.5 * H))["visit_report"]
    assert on_time[0].status == "met"


def test_a_report_not_yet_entered_is_pending_until_the_day_ends() -> None:
    performed = datetime(2026, 10, 5, 3, 0, tzinfo=UTC)
    got = levels(performed + H, visit(approved=REQUESTED + H, performed=performed))
    assert got["visit_report"][0].status == "pending"


def test_facts_after_as_of_are_not_yet_known() -> None:
    performed = REQUESTED + 3 * D
    got = shown(REQUESTED + 2 * D, visit(approved=REQUESTED + H, performed=performed,
                                         reported=performed + H))
    assert got["visit_performed"] == [("pending", None)]
    assert got["visit_report"] == [("not_applicable", None)]


def test_a_hold_waives_the_visit_but_never_its_report() -> None:
    performed = datetime(2026, 10, 5, 15, 0, tzinfo=UTC)
    recall = Hold("recalled", REQUESTED + 4 * D)
    got = shown(REQUESTED + 10 * D, visit(approved=REQUESTED + H, performed=performed,
                                          reported=performed + 2 * H),
                visit("V2", requested=REQUESTED + D), holds=(recall,))
    assert got["visit_performed"] == [("met", None), ("not_applicable", None)]
    assert got["visit_report"] == [("breached", "report_late")]


def test_each_visit_is_judged_on_its_own() -> None:
    got = shown(REQUESTED + 20 * D, visit("V1", approved=REQUESTED + H,
                                          performed=REQUESTED + D, reported=REQUESTED + D),
                visit("V2", requested=REQUESTED + 2 * D))
    assert got["visit_performed"] == [("met", None), ("breached", "visit_late")]


def test_visits_before_the_assignment_belong_to_an_earlier_agency() -> None:
    earlier = visit(requested=ASSIGNED - 10 * D)
    assert shown(REQUESTED, earlier)["visit_performed"] == [("not_applicable", None)]


# ---------------------------------------------------------------------- major events

def reported(kind: str, at: datetime, lag: timedelta, ref: str = "X") -> ReportedEvent:
    return ReportedEvent(kind=kind, ref=ref, occurred_at=at, recorded_at=at + lag)


def event_report(as_of: datetime, *events: ReportedEvent, holds: tuple[Hold, ...] = ()
                 ) -> ServiceLevelStatus:
    [status] = [s for s in evaluate_service_levels(
        CaseFacts("C1", ASSIGNED, major_events=events, holds=holds), as_of, zones=SHANGHAI)
        if s.service_level == "event_report"]
    return status


def test_major_events_reported_within_30_minutes_meet_the_level() -> None:
    status = event_report(REQUESTED + D, reported("complaint_received", REQUESTED,
                                                  timedelta(minutes=30)))
    assert (status.status, status.reason) == ("met", None)


def test_a_major_event_reported_later_breaches_it_with_late_report() -> None:
    status = event_report(REQUESTED + D,
                          reported("visit_performed", REQUESTED, timedelta(minutes=5), "V1"),
                          reported("complaint_received", REQUESTED + H, timedelta(minutes=31),
                                   "CP1"),
                          holds=(Hold("dispute", REQUESTED),))  # holds never waive it
    assert (status.status, status.reason) == ("breached", "late_report")
    assert "complaint received CP1" in status.explanation
    assert "1 of 2 major events entered late" in status.explanation


def test_without_major_events_the_level_does_not_apply() -> None:
    assert event_report(REQUESTED).status == "not_applicable"
    future = reported("visit_performed", REQUESTED, timedelta(hours=2))
    assert event_report(REQUESTED + H, future).status == "not_applicable"  # not in the log yet
