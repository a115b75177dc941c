"""Service levels: each one met, breached and pending, the conditional ones, and the holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from contact_service.domain.local_time import ZoneHistory
from contact_service.domain.service_levels import (
    SERVICE_LEVELS,
    CaseFacts,
    ContactFact,
    EscalationFact,
    Hold,
    ServiceLevelStatus,
    ServiceLevelTerms,
    duration,
    evaluate_service_levels,
)

ASSIGNED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
# Unless a test says otherwise the agency's days are UTC days (explanations read "... UTC").
UTC_AGENCY = ZoneHistory.constant("UTC")
NUMBER_A = "phone:1"
NUMBER_B = "phone:2"


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    """An instant relative to the assignment."""
    return ASSIGNED + timedelta(days=days, hours=hours, minutes=minutes)


def call(when: datetime, outcome: str = "no_answer", *, party: str | None = None,
         direction: str = "outbound", number: str | None = NUMBER_A) -> ContactFact:
    if party is None:
        party = "debtor" if outcome in {"conversation", "refused"} else "none"
    return ContactFact(occurred_at=when, channel="phone", direction=direction,
                       party=party, outcome=outcome, contact_point=number)


def visit(when: datetime, outcome: str = "debtor_met") -> ContactFact:
    party = "debtor" if outcome == "debtor_met" else "none"
    return ContactFact(occurred_at=when, channel="visit", direction="outbound",
                       party=party, outcome=outcome)


def sms(when: datetime) -> ContactFact:
    return ContactFact(occurred_at=when, channel="sms", direction="outbound", party="none",
                       outcome="delivered")


def request(when: datetime, kind: str = "field_visit") -> EscalationFact:
    return EscalationFact(kind=kind, escalated_at=when)


def evaluate(as_of: datetime, *contacts: ContactFact, escalations: tuple[EscalationFact, ...] = (),
             holds: tuple[Hold, ...] = (), terms: ServiceLevelTerms | None = None,
             assigned: datetime = ASSIGNED, zones: ZoneHistory = UTC_AGENCY
             ) -> list[ServiceLevelStatus]:
    facts = CaseFacts(case_id="C1", assigned_at=assigned, contacts=contacts,
                      escalations=escalations, holds=holds)
    kw: dict[str, Any] = {"terms": terms} if terms is not None else {}
    return evaluate_service_levels(facts, as_of, zones=zones, **kw)


def level(statuses: list[ServiceLevelStatus], name: str) -> ServiceLevelStatus:
    found = [s for s in statuses if s.service_level == name]
    assert len(found) == 1, found
    return found[0]


def levels(statuses: list[ServiceLevelStatus], name: str) -> list[ServiceLevelStatus]:
    return [s for s in statuses if s.service_level == name]


def three_failed_calls() -> tuple[ContactFact, ...]:
    return (call(at(hours=1)), call(at(days=2)), call(at(days=4)))


# --- first_action ------------------------------------------------------------------------------

def test_an_outbound_contact_within_two_hours_meets_first_action() -> None:
    s = level(evaluate(at(days=1), call(at(hours=1, minutes=30))), "first_action")
    assert (s.status, s.met_at, s.due_at) == ("met", at(hours=1, minutes=30), at(hours=2))
    assert not s.outstanding
    assert "met by the first outbound contact (phone)" in s.explanation


def test_a_first_call_after_two_hours_breaches_first_action() -> None:
    s = level(evaluate(at(days=1), call(at(hours=3))), "first_action")
    assert s.status == "breached"
    assert s.met_at is None
    assert s.completed_at == at(hours=3)
    assert not s.outstanding  # done, if late: nothing left to do
    assert "1 hour late" in s.explanation


def test_first_action_is_pending_until_two_hours_have_passed() -> None:
    s = level(evaluate(at(minutes=30)), "first_action")
    assert (s.status, s.due_at, s.outstanding) == ("pending", at(hours=2), True)
    assert "no outbound contact yet, 1 hour 30 minutes left" in s.explanation


def test_no_contact_at_all_after_two_hours_is_an_outstanding_breach() -> None:
    s = level(evaluate(at(hours=5)), "first_action")
    assert (s.status, s.outstanding, s.completed_at) == ("breached", True, None)
    assert "overdue by 3 hours" in s.explanation


def test_a_contact_exactly_at_the_deadline_meets_first_action() -> None:
    assert level(evaluate(at(days=1), call(at(hours=2))), "first_action").status == "met"


def test_any_outbound_channel_is_a_first_action() -> None:
    assert level(evaluate(at(days=1), sms(at(minutes=10))), "first_action").status == "met"


def test_an_inbound_call_from_the_debtor_is_not_a_first_action() -> None:
    inbound = call(at(minutes=10), "conversation", direction="inbound")
    assert level(evaluate(at(hours=3), inbound), "first_action").status == "breached"


def test_contacts_before_the_current_assignment_do_not_count() -> None:
    reassigned = at(days=30)
    old_agency_call = call(at(days=29, hours=23))
    s = level(evaluate(reassigned + timedelta(hours=3), old_agency_call, assigned=reassigned),
              "first_action")
    assert s.status == "breached"
    assert s.completed_at is None


def test_contacts_after_as_of_are_not_known_yet() -> None:
    s = level(evaluate(at(hours=1), call(at(hours=1, minutes=30))), "first_action")
    assert s.status == "pending"


# --- initial_calls -----------------------------------------------------------------------------

def test_three_calls_within_seven_days_meet_initial_calls() -> None:
    s = level(evaluate(at(days=10), *three_failed_calls()), "initial_calls")
    assert (s.status, s.met_at, s.due_at) == ("met", at(days=4), at(days=7))
    assert "met by the 3rd attempt" in s.explanation


def test_two_calls_in_seven_days_breach_initial_calls() -> None:
    s = level(evaluate(at(days=8), call(at(hours=1)), call(at(days=2))), "initial_calls")
    assert (s.status, s.outstanding) == ("breached", True)
    assert "2 of 3 so far, overdue by 1 day" in s.explanation


def test_initial_calls_are_pending_with_progress_during_the_first_week() -> None:
    s = level(evaluate(at(days=3), call(at(hours=1))), "initial_calls")
    assert (s.status, s.due_at) == ("pending", at(days=7))
    assert "1 of 3 so far, 4 days left" in s.explanation


def test_a_third_call_on_day_nine_completes_initial_calls_late() -> None:
    s = level(evaluate(at(days=10), call(at(hours=1)), call(at(days=2)), call(at(days=9))),
              "initial_calls")
    assert (s.status, s.completed_at, s.outstanding) == ("breached", at(days=9), False)
    assert "2 days late" in s.explanation


def test_texts_visits_and_inbound_calls_are_not_initial_calls() -> None:
    s = level(evaluate(at(days=8), call(at(hours=1)), sms(at(hours=2)), visit(at(days=1)),
                       call(at(days=2), "conversation", direction="inbound")), "initial_calls")
    assert s.status == "breached"


def test_reaching_the_debtor_does_not_waive_initial_calls_by_default() -> None:
    s = level(evaluate(at(days=8), call(at(hours=1), "conversation")), "initial_calls")
    assert s.status == "breached"


def test_a_contract_can_let_reaching_the_debtor_satisfy_initial_calls() -> None:
    terms = ServiceLevelTerms(reach_satisfies_initial_calls=True)
    s = level(evaluate(at(days=8), call(at(hours=1), "conversation"), terms=terms),
              "initial_calls")
    assert (s.status, s.met_at) == ("met", at(hours=1))
    assert "reaching the debtor by phone" in s.explanation


# --- follow_up_calls ---------------------------------------------------------------------------

def test_follow_up_calls_do_not_apply_when_an_initial_call_reached_the_debtor() -> None:
    s = level(evaluate(at(days=30), call(at(hours=1)), call(at(days=1), "conversation")),
              "follow_up_calls")
    assert s.status == "not_applicable"
    assert "reached by phone" in s.explanation


def test_two_more_calls_in_the_next_fifteen_days_meet_follow_up_calls() -> None:
    s = level(evaluate(at(days=30), *three_failed_calls(), call(at(days=10)), call(at(days=20))),
              "follow_up_calls")
    assert (s.status, s.met_at, s.due_at) == ("met", at(days=20), at(days=22))
    assert s.triggered_at == at(days=7)


def test_one_follow_up_call_by_day_22_breaches_follow_up_calls() -> None:
    s = level(evaluate(at(days=23), *three_failed_calls(), call(at(days=10))), "follow_up_calls")
    assert (s.status, s.outstanding) == ("breached", True)
    assert "1 of 2 so far" in s.explanation


def test_follow_up_calls_are_pending_during_their_window() -> None:
    s = level(evaluate(at(days=12), *three_failed_calls(), call(at(days=10))), "follow_up_calls")
    assert (s.status, s.due_at) == ("pending", at(days=22))
    assert "1 of 2 so far, 10 days left" in s.explanation


def test_follow_up_calls_are_pending_while_the_first_attempts_are_undecided() -> None:
    s = level(evaluate(at(days=1), call(at(hours=1))), "follow_up_calls")
    assert (s.status, s.due_at) == ("pending", at(days=22))
    assert "will be owed if" in s.explanation


def test_calls_in_the_first_week_do_not_count_as_follow_up_calls() -> None:
    first_week = [call(at(days=d)) for d in (0.1, 1, 2, 3, 4)]
    s = level(evaluate(at(days=23), *first_week), "follow_up_calls")
    assert s.status == "breached"


def test_a_conversation_before_the_third_attempt_waives_follow_up_calls_even_inbound() -> None:
    s = level(evaluate(at(days=30), call(at(hours=1)),
                       call(at(days=1), "conversation", direction="inbound"),
                       call(at(days=2)), call(at(days=3))), "follow_up_calls")
    assert s.status == "not_applicable"


def test_reaching_the_debtor_after_three_failed_attempts_still_leaves_follow_up_calls() -> None:
    s = level(evaluate(at(days=23), *three_failed_calls(), call(at(days=5), "conversation")),
              "follow_up_calls")
    assert s.status == "breached"


def test_a_refusal_is_not_reaching_the_debtor_unless_the_contract_says_so() -> None:
    calls = (call(at(hours=1), "refused"), call(at(days=1)), call(at(days=2)))
    assert level(evaluate(at(days=23), *calls), "follow_up_calls").status == "breached"
    terms = ServiceLevelTerms(reached_outcomes=frozenset({"conversation", "refused"}))
    s = level(evaluate(at(days=23), *calls, terms=terms), "follow_up_calls")
    assert s.status == "not_applicable"


# --- field_visit_request -----------------------------------------------------------------------

def test_three_failed_calls_in_a_row_need_a_field_visit_request_within_a_day() -> None:
    s = level(evaluate(at(days=6), *three_failed_calls(), escalations=(request(at(days=4.5)),)),
              "field_visit_request")
    assert (s.status, s.triggered_at, s.due_at) == ("met", at(days=4), at(days=5))
    assert "3 phone attempts in a row failed to reach the debtor" in s.explanation


def test_a_field_visit_request_two_days_after_unreachability_breaches() -> None:
    s = level(evaluate(at(days=8), *three_failed_calls(), escalations=(request(at(days=6)),)),
              "field_visit_request")
    assert (s.status, s.completed_at, s.outstanding) == ("breached", at(days=6), False)


def test_no_field_visit_request_a_day_after_unreachability_is_an_outstanding_breach() -> None:
    s = level(evaluate(at(days=6), *three_failed_calls()), "field_visit_request")
    assert (s.status, s.outstanding) == ("breached", True)
    assert "no field-visit request yet" in s.explanation


def test_a_field_visit_request_is_pending_for_a_day_after_unreachability() -> None:
    s = level(evaluate(at(days=4, hours=6), *three_failed_calls()), "field_visit_request")
    assert (s.status, s.due_at) == ("pending", at(days=5))


def test_every_number_tried_being_invalid_makes_the_debtor_unreachable_at_once() -> None:
    s = level(evaluate(at(days=2), call(at(hours=1), "invalid_number")), "field_visit_request")
    assert (s.status, s.triggered_at) == ("breached", at(hours=1))
    assert "every number tried (1 number) is invalid" in s.explanation


def test_one_invalid_number_among_numbers_tried_does_not_make_the_debtor_unreachable() -> None:
    s = level(evaluate(at(days=3), call(at(hours=1), "no_answer", number=NUMBER_B),
                       call(at(hours=2), "wrong_number")), "field_visit_request")
    assert s.status == "not_applicable"


def test_field_visit_request_does_not_apply_while_the_debtor_answers() -> None:
    s = level(evaluate(at(days=10), call(at(hours=1)), call(at(days=1)),
                       call(at(days=2), "conversation"), call(at(days=3)), call(at(days=4))),
              "field_visit_request")
    assert s.status == "not_applicable"
    assert "has not been unreachable" in s.explanation


def test_reaching_the_debtor_before_the_request_is_due_makes_that_episode_moot() -> None:
    s = level(evaluate(at(days=10), *three_failed_calls(),
                       call(at(days=4, hours=3), "conversation", direction="inbound")),
              "field_visit_request")
    assert s.status == "not_applicable"
    assert "reached again by phone" in s.explanation


def test_reaching_the_debtor_after_a_missed_request_keeps_the_breach_but_nothing_is_owed() -> None:
    s = level(evaluate(at(days=10), *three_failed_calls(), call(at(days=6), "conversation")),
              "field_visit_request")
    assert (s.status, s.outstanding) == ("breached", False)
    assert "moot since" in s.explanation


def test_a_request_raised_before_the_debtor_became_unreachable_meets_it() -> None:
    s = level(evaluate(at(days=6), *three_failed_calls(), escalations=(request(at(days=1)),)),
              "field_visit_request")
    assert (s.status, s.met_at) == ("met", at(days=1))
    assert "an earlier field-visit request" in s.explanation


def test_a_legal_escalation_is_not_a_field_visit_request() -> None:
    s = level(evaluate(at(days=6), *three_failed_calls(),
                       escalations=(request(at(days=4.5), "legal"),)), "field_visit_request")
    assert s.status == "breached"


# --- field_visit -------------------------------------------------------------------------------

def test_a_visit_within_seven_days_of_the_request_meets_field_visit() -> None:
    s = level(evaluate(at(days=20), visit(at(days=9)), escalations=(request(at(days=5)),)),
              "field_visit")
    assert (s.status, s.triggered_at, s.due_at, s.met_at) == (
        "met", at(days=5), at(days=12), at(days=9))


def test_no_visit_eight_days_after_the_request_breaches_field_visit() -> None:
    s = level(evaluate(at(days=13), escalations=(request(at(days=5)),)), "field_visit")
    assert (s.status, s.outstanding) == ("breached", True)
    assert "overdue by 1 day" in s.explanation


def test_a_field_visit_is_pending_during_the_week_after_the_request() -> None:
    s = level(evaluate(at(days=6), escalations=(request(at(days=5)),)), "field_visit")
    assert (s.status, s.due_at) == ("pending", at(days=12))


def test_a_visit_before_the_request_does_not_count_as_the_field_visit() -> None:
    s = level(evaluate(at(days=13), visit(at(days=4)), escalations=(request(at(days=5)),)),
              "field_visit")
    assert s.status == "breached"


def test_field_visit_does_not_apply_without_a_request() -> None:
    assert level(evaluate(at(days=30)), "field_visit").status == "not_applicable"


def test_each_field_visit_request_needs_its_own_visit() -> None:
    statuses = levels(evaluate(at(days=40), visit(at(days=6)),
                               escalations=(request(at(days=5)), request(at(days=30)))),
                      "field_visit")
    assert [s.status for s in statuses] == ["met", "breached"]


# --- revisit -----------------------------------------------------------------------------------

def test_a_visit_that_did_not_find_the_debtor_needs_another_within_seven_days() -> None:
    s = level(evaluate(at(days=30), visit(at(days=6), "debtor_not_found"), visit(at(days=10))),
              "revisit")
    assert (s.status, s.triggered_at, s.met_at) == ("met", at(days=6), at(days=10))


def test_no_revisit_within_seven_days_of_a_not_found_visit_breaches_revisit() -> None:
    s = level(evaluate(at(days=14), visit(at(days=6), "debtor_not_found")), "revisit")
    assert (s.status, s.outstanding) == ("breached", True)


def test_a_revisit_is_pending_in_the_week_after_a_not_found_visit() -> None:
    s = level(evaluate(at(days=8), visit(at(days=6), "debtor_not_found")), "revisit")
    assert (s.status, s.due_at) == ("pending", at(days=13))


def test_each_not_found_visit_needs_a_revisit_until_the_debtor_is_met() -> None:
    statuses = levels(evaluate(at(days=40), visit(at(days=6), "debtor_not_found"),
                               visit(at(days=12), "debtor_not_found"),
                               visit(at(days=25), "debtor_met")), "revisit")
    assert [(s.triggered_at, s.status) for s in statuses] == [
        (at(days=6), "met"), (at(days=12), "breached")]
    assert statuses[1].completed_at == at(days=25)


def test_revisit_does_not_apply_when_every_visit_found_the_debtor() -> None:
    assert level(evaluate(at(days=30), visit(at(days=6))), "revisit").status == "not_applicable"


# --- holds -------------------------------------------------------------------------------------

def test_cease_contact_before_the_due_time_makes_an_unmet_service_level_not_applicable() -> None:
    s = level(evaluate(at(days=10), call(at(hours=1)),
                       holds=(Hold("cease_contact", at(days=3)),)), "initial_calls")
    assert (s.status, s.outstanding) == ("not_applicable", False)
    assert "no longer applies; the debtor asked to cease contact at 2026-03-05 01:00 UTC" \
        in s.explanation
    assert s.explanation.startswith("3 outbound phone attempts within 7 days")


def test_a_breach_before_cease_contact_stays_a_breach() -> None:
    s = level(evaluate(at(days=10), call(at(hours=5)),
                       holds=(Hold("cease_contact", at(days=3)),)), "first_action")
    assert s.status == "breached"


def test_an_unmet_pending_service_level_stops_applying_under_a_hold() -> None:
    s = level(evaluate(at(days=4), call(at(hours=1)), holds=(Hold("cease_contact", at(days=3)),)),
              "initial_calls")
    assert s.status == "not_applicable"


def test_met_service_levels_stay_met_under_a_hold() -> None:
    s = level(evaluate(at(days=10), call(at(hours=1)), holds=(Hold("closed"),)), "first_action")
    assert s.status == "met"


@pytest.mark.parametrize("kind", ["dispute", "recalled", "closed"])
def test_a_hold_whose_start_is_unknown_counts_as_before_every_due_time(kind: str) -> None:
    statuses = evaluate(at(days=60), call(at(hours=5)), holds=(Hold(kind),))
    assert {s.status for s in statuses} == {"not_applicable"}
    assert "(when is not recorded)" in level(statuses, "first_action").explanation


def test_a_hold_that_began_after_as_of_is_ignored() -> None:
    s = level(evaluate(at(days=2), call(at(hours=1)), holds=(Hold("cease_contact", at(days=5)),)),
              "initial_calls")
    assert s.status == "pending"


# --- terms and shape ---------------------------------------------------------------------------

def test_every_case_lists_each_service_level_in_a_fixed_order() -> None:
    assert [s.service_level for s in evaluate(at(days=1))] == list(SERVICE_LEVELS)


def test_a_contract_can_change_the_numbers() -> None:
    terms = ServiceLevelTerms(first_action_within=timedelta(hours=4), initial_calls=1)
    statuses = evaluate(at(days=8), call(at(hours=3)), terms=terms)
    assert level(statuses, "first_action").status == "met"
    assert level(statuses, "initial_calls").status == "met"


def test_terms_refuse_non_positive_limits() -> None:
    with pytest.raises(ValueError, match="positive"):
        ServiceLevelTerms(revisit_within=timedelta(0))
    with pytest.raises(ValueError, match="at least 1"):
        ServiceLevelTerms(initial_calls=0)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CaseFacts(case_id="C1", assigned_at=datetime(2026, 3, 2))
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(datetime(2026, 3, 3))


def test_durations_read_as_words() -> None:
    assert duration(timedelta(days=2, hours=3, minutes=5)) == "2 days 3 hours"
    assert duration(timedelta(minutes=45)) == "45 minutes"
    assert duration(timedelta(hours=1)) == "1 hour"
    assert duration(timedelta(0)) == "0 minutes"


# --- progress entered the same day, in the agency's zone ------------------------------------

SHANGHAI = ZoneHistory.constant("Asia/Shanghai")


def entered(when: datetime, recorded: datetime, outcome: str = "no_answer") -> ContactFact:
    """A call made at `when` and entered in the log at `recorded`."""
    return replace(call(when, outcome), recorded_at=recorded)


def test_a_contact_entered_before_the_agency_s_midnight_meets_progress_entry() -> None:
    # 23:30 in Shanghai (15:30 UTC) entered at 23:50 there.
    made = datetime(2026, 3, 3, 15, 30, tzinfo=UTC)
    status = level(evaluate(at(days=5), entered(made, made + timedelta(minutes=20)),
                            zones=SHANGHAI), "progress_entry")
    assert (status.status, status.due_at) == ("met", datetime(2026, 3, 3, 16, tzinfo=UTC))
    assert "every contact of this assignment so far (1) entered the same day" in \
        status.explanation


def test_a_contact_entered_after_the_agency_s_midnight_breaches_it_wherever_utc_is() -> None:
    made = datetime(2026, 3, 3, 15, 30, tzinfo=UTC)
    late = entered(made, made + timedelta(minutes=40))  # 00:10 in Shanghai, 16:10 UTC
    in_shanghai = level(evaluate(at(days=5), late, zones=SHANGHAI), "progress_entry")
    assert (in_shanghai.status, in_shanghai.outstanding) == ("breached", False)
    assert in_shanghai.completed_at == made + timedelta(minutes=40)
    assert "its entry came only at 2026-03-04 00:10 Asia/Shanghai, 10 minutes late" in \
        in_shanghai.explanation
    assert "[1 of 1 contact of this assignment entered late]" in in_shanghai.explanation
    assert level(evaluate(at(days=5), late), "progress_entry").status == "met"  # UTC days


def test_a_contact_not_yet_entered_is_pending_until_its_day_ends_then_breached() -> None:
    made = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    contact = entered(made, made + timedelta(days=2))
    during = level(evaluate(made + timedelta(hours=1), contact, zones=SHANGHAI),
                   "progress_entry")
    assert (during.status, during.outstanding) == ("pending", True)
    after_midnight = level(evaluate(datetime(2026, 3, 3, 16, 30, tzinfo=UTC), contact,
                                    zones=SHANGHAI), "progress_entry")
    assert (after_midnight.status, after_midnight.outstanding) == ("breached", True)
    assert "not entered yet, overdue by 30 minutes" in after_midnight.explanation


def test_a_hold_does_not_waive_entering_the_work_done() -> None:
    made = datetime(2026, 3, 3, 15, 30, tzinfo=UTC)
    statuses = evaluate(at(days=5), entered(made, made + timedelta(hours=2)), zones=SHANGHAI,
                        holds=(Hold("cease_contact", made + timedelta(minutes=5)),))
    assert level(statuses, "progress_entry").status == "breached"
    assert level(statuses, "initial_calls").status == "not_applicable"


def test_contacts_whose_entry_time_is_unknown_are_not_judged() -> None:
    assert level(evaluate(at(days=1), call(at(hours=1))), "progress_entry").status == \
        "not_applicable"


def test_deadlines_started_before_a_zone_change_keep_the_zone_they_started_in() -> None:
    # A New York agency from before the assignment moves to Shanghai on 5 March.
    zones = ZoneHistory.of("UTC", [(ASSIGNED - timedelta(days=30), "America/New_York"),
                                   (datetime(2026, 3, 5, tzinfo=UTC), "Asia/Shanghai")])
    before, after = (evaluate(at(days=2), zones=zones), evaluate(at(days=10), zones=zones))
    # Assigned at 20:00 on 1 March in New York, due at 20:00 there 7 days later: New York
    # moved to daylight time on 8 March, so 167 hours later, whatever the zone is now.
    due = {level(s, "initial_calls").due_at for s in (before, after)}
    assert due == {ASSIGNED + timedelta(days=7, hours=-1)}
    # Explanations are written on the wall clock of the zone in force at as_of.
    assert "(due 2026-03-08 20:00 America/New_York)" in level(before, "initial_calls").explanation
    assert "(due 2026-03-09 08:00 Asia/Shanghai)" in level(after, "initial_calls").explanation
