"""The reports to the creditor, pure parts: periods, the "three calls failed" rule, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from casetrail.figures import Stint
from contact_service.domain.complaints import ComplaintFact
from contact_service.domain.kpis import ContactFact, Period, PromiseFact, contact_kpis
from contact_service.domain.local_time import ZoneHistory
from contact_service.domain.reports import (
    ContactCounts,
    Payment,
    PhoneContact,
    ServiceLevelResults,
    assemble_agency_report,
    is_call_attempt,
    payment_totals,
    period_days,
    period_label,
    reaches_debtor,
    report_csv,
    three_calls_csv,
    three_calls_failed,
)
from contact_service.domain.service_levels import ServiceLevelStatus, ServiceLevelTerms

T0 = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)


def call(at: datetime, outcome: str = "no_answer", *, party: str = "none",
         direction: str = "outbound", channel: str = "phone", position: int = 0,
         code: str = "NOANS") -> PhoneContact:
    return PhoneContact(occurred_at=at, position=position, channel=channel,
                        direction=direction, party=party, outcome=outcome, action_code=code,
                        contact_id=f"K-{at:%H%M}")


# ---------------------------------------------------------------------- periods

@pytest.mark.parametrize(("period", "day", "first", "end", "label"), [
    ("daily", date(2026, 10, 1), date(2026, 10, 1), date(2026, 10, 2), "2026-10-01"),
    ("weekly", date(2026, 10, 1), date(2026, 9, 28), date(2026, 10, 5), "2026-W40"),
    ("weekly", date(2026, 9, 28), date(2026, 9, 28), date(2026, 10, 5), "2026-W40"),
    ("weekly", date(2027, 1, 2), date(2026, 12, 28), date(2027, 1, 4), "2026-W53"),
    ("monthly", date(2026, 10, 17), date(2026, 10, 1), date(2026, 11, 1), "2026-10"),
    ("monthly", date(2026, 12, 31), date(2026, 12, 1), date(2027, 1, 1), "2026-12"),
])
def test_a_period_is_the_local_days_holding_the_day(period: str, day: date, first: date,
                                                    end: date, label: str) -> None:
    assert period_days(period, day) == (first, end)  # type: ignore[arg-type]
    assert period_label(period, first) == label  # type: ignore[arg-type]


# ---------------------------------------------------------------------- three calls failed

def test_three_failed_outbound_calls_trigger_the_report_at_the_third() -> None:
    calls = [call(T0 + H, "no_answer"), call(T0 + 2 * H, "busy"),
             call(T0 + 3 * H, "voicemail"), call(T0 + 4 * H, "no_answer")]
    found = three_calls_failed(calls, T0)
    assert found is not None
    assert [c.outcome for c in found.attempts] == ["no_answer", "busy", "voicemail"]
    assert found.due_at == T0 + 3 * H


def test_invalid_numbers_third_parties_and_refusals_are_failures() -> None:
    calls = [call(T0 + H, "wrong_number"), call(T0 + 2 * H, "conversation", party="third_party"),
             call(T0 + 3 * H, "refused", party="debtor")]
    found = three_calls_failed(calls, T0)
    assert found is not None
    assert found.due_at == T0 + 3 * H


def test_reaching_the_debtor_at_or_before_the_third_attempt_means_no_report() -> None:
    reached = [call(T0 + H), call(T0 + 2 * H, "conversation", party="debtor"), call(T0 + 3 * H)]
    assert three_calls_failed(reached, T0) is None
    inbound = [call(T0 + H), call(T0 + 90 * timedelta(minutes=1), "conversation",
                                  party="debtor", direction="inbound"),
               call(T0 + 2 * H), call(T0 + 3 * H)]
    assert three_calls_failed(inbound, T0) is None
    same_instant = [call(T0 + H), call(T0 + 2 * H), call(T0 + 3 * H, position=1),
                    call(T0 + 3 * H, "conversation", party="debtor", direction="inbound",
                         position=2)]
    assert three_calls_failed(same_instant, T0) is None


def test_a_reach_after_the_third_attempt_does_not_withdraw_it() -> None:
    calls = [call(T0 + H), call(T0 + 2 * H), call(T0 + 3 * H),
             call(T0 + 4 * H, "conversation", party="debtor")]
    assert three_calls_failed(calls, T0) is not None


def test_fewer_than_three_attempts_and_other_channels_are_not_enough() -> None:
    assert three_calls_failed([call(T0 + H), call(T0 + 2 * H)], T0) is None
    mixed = [call(T0 + H), call(T0 + 2 * H, "undeliverable", channel="sms"),
             call(T0 + 3 * H, direction="inbound"), call(T0 + 4 * H)]
    assert three_calls_failed(mixed, T0) is None
    assert not is_call_attempt(mixed[1])
    assert not is_call_attempt(mixed[2])


def test_only_the_current_assignment_counts() -> None:
    earlier = [call(T0 - 3 * H), call(T0 - 2 * H), call(T0 - H)]
    assert three_calls_failed(earlier, T0) is None
    found = three_calls_failed([*earlier, call(T0 + H), call(T0 + 2 * H), call(T0 + 3 * H)], T0)
    assert found is not None
    assert found.attempts[0].occurred_at == T0 + H


def test_attempts_are_taken_in_time_then_log_order() -> None:
    calls = [call(T0 + 3 * H, "busy", position=9), call(T0 + H, position=5),
             call(T0 + 2 * H, "voicemail", position=1)]
    found = three_calls_failed(calls, T0)
    assert found is not None
    assert [c.outcome for c in found.attempts] == ["no_answer", "voicemail", "busy"]


def test_the_contract_s_terms_apply() -> None:
    terms = ServiceLevelTerms(reached_outcomes=frozenset({"conversation", "refused"}))
    refused = [call(T0 + H), call(T0 + 2 * H, "refused", party="debtor"), call(T0 + 3 * H)]
    assert three_calls_failed(refused, T0, terms) is None
    assert reaches_debtor(refused[1], terms)
    assert not reaches_debtor(refused[1])


# ---------------------------------------------------------------------- CSV

def test_report_csv_has_one_row_per_figure() -> None:
    report = {"agency_id": "AG-A", "creditor_id": None, "cases_worked": 2,
              "generated_from": [{"source": "feed", "partition": 0, "position": 7}],
              "contacts": {"total": 6, "by_outcome": {"busy": 1, "no_answer": 5},
                           "by_action_code": {"PTP": {"contacts": 1, "promises": 1}}}}
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    assert rows[0] == ["section", "item", "detail", "value"]
    assert ["report", "creditor_id", "", ""] in rows
    assert ["report", "cases_worked", "", "2"] in rows
    assert ["generated_from", "0", "position", "7"] in rows
    assert ["contacts", "total", "", "6"] in rows
    assert ["contacts", "by_outcome", "no_answer", "5"] in rows
    assert ["contacts", "by_action_code", "PTP.promises", "1"] in rows


def test_three_calls_csv_has_one_row_per_attempt() -> None:
    attempt = {"occurred_at": "2026-10-01T02:00:00+00:00", "channel": "phone",
               "direction": "outbound", "party": "none", "outcome": "no_answer",
               "action_code": "NOANS", "contact_id": "K-1", "agent_id": None}
    report = {"case_id": "c1", "creditor_id": "B", "agency_id": "A", "assigned_at": "x",
              "due_at": "y", "attempts": [attempt, attempt, attempt]}
    rows = list(csv.reader(io.StringIO(three_calls_csv([report]))))
    assert len(rows) == 4
    assert rows[3][5:7] == ["3", "2026-10-01T02:00:00+00:00"]


# ---------------------------------------------------------------------- report assembly

DAY = ZoneHistory.constant("Asia/Shanghai").day(date(2026, 10, 1))  # 16:00Z to 16:00Z


def status(level: str, state: str, due: datetime | None) -> ServiceLevelStatus:
    return ServiceLevelStatus(service_level=level, status=state, due_at=due,  # type: ignore[arg-type]
                              explanation="")


def test_service_level_results_count_what_fell_due_in_the_period_and_what_is_pending() -> None:
    results = ServiceLevelResults(DAY.start, DAY.stop)
    results.add([status("first_action", "met", T0 + H), status("initial_calls", "met",
                                                               T0 + 7 * 24 * H),
                 status("follow_up_calls", "pending", T0 + 20 * 24 * H)])
    results.add([status("first_action", "breached", T0 + H),
                 status("initial_calls", "breached", DAY.start - H),  # fell due before
                 status("field_visit", "not_applicable", None),
                 status("visit_approval", "pending", None)])
    shown = results.as_dict()
    assert (shown["as_of"], shown["cases_judged"]) == ("2026-10-01T16:00:00+00:00", 2)
    assert shown["levels"]["first_action"] == {"met": 1, "breached": 1, "pending": 0}
    assert shown["levels"]["initial_calls"] == {"met": 0, "breached": 0, "pending": 0}
    assert shown["levels"]["follow_up_calls"]["pending"] == 1
    assert shown["levels"]["visit_approval"]["pending"] == 1
    assert shown["levels"]["field_visit"] == {"met": 0, "breached": 0, "pending": 0}
    assert next(iter(shown["levels"])) == "first_action"


def test_the_agency_report_takes_every_figure_from_the_kpis_and_the_counts() -> None:
    period = Period(DAY.start, DAY.stop)
    stints = [Stint(case_id=c, seq=1, agency_id="AG-A", assigned_at=T0 - 24 * H, ended_at=None)
              for c in ("c1", "c2", "c3", "c4")]
    contacts = [ContactFact("e1", "c1", "debtor", T0 + H, "PTP"),
                ContactFact("e2", "c2", "none", T0 + 2 * H, "NOANS")]
    promises = [PromiseFact(case_id="c1", promise_id="P1", agency_id="AG-A",
                            promised_at=T0 + H, state="open", settled_at=None),
                PromiseFact(case_id="c3", promise_id="P0", agency_id="AG-A",
                            promised_at=T0 - 48 * H, state="broken", settled_at=T0 + 3 * H)]
    complaints = [ComplaintFact("c2", "K1", "AG-A", T0 + 4 * H)]
    kpis = contact_kpis("AG-A", period, stints, contacts, promises, [], complaints)
    results = ServiceLevelResults(DAY.start, DAY.stop)
    report = assemble_agency_report(
        agency_id="AG-A", creditor_id=None, period="daily", window=DAY,
        generated_from=[{"source": "feed", "partition": 0, "position": 9, "log_position": 9}],
        kpis=kpis, counts=ContactCounts(2, 2, {"conversation": 1, "no_answer": 1},
                                        {"phone": 2}),
        payments=payment_totals([
            Payment(Decimal("100.00"), Decimal("0"), "CNY"),
            Payment(Decimal("250.50"), Decimal("50.25"), "CNY"),
            Payment(Decimal("40.00"), Decimal("40.00"), "USD"),
            Payment(Decimal("10.00"), Decimal("0"), None),
            Payment(Decimal("999.00"), Decimal("0"), "CNY", before_placement=True)]),
        complaints_open=1, service_levels=results)
    assert (report["report"], report["label"], report["first_day"], report["last_day"]) == (
        "agency_daily", "2026-10-01", "2026-10-01", "2026-10-01")
    assert (report["from"], report["to"]) == ("2026-09-30T16:00:00+00:00",
                                              "2026-10-01T16:00:00+00:00")
    assert report["cases_worked"] == 2
    assert report["contacts"]["by_action_code"] == {
        "NOANS": {"contacts": 1, "right_party_contacts": 0, "promises": 0},
        "PTP": {"contacts": 1, "right_party_contacts": 1, "promises": 1}}
    assert report["promises"] == {"made": 1, "kept": 0, "broken": 1}
    assert report["payments"] == {
        "received": 5,
        "amounts_received": {"CNY": "350.50", "USD": "40.00", "unknown": "10.00"},
        "amounts_reversed": {"CNY": "50.25", "USD": "40.00", "unknown": "0"},
        "amounts_collected": {"CNY": "300.25", "USD": "0.00", "unknown": "10.00"}}
    assert report["complaints"] == {
        "received": 1, "resolved": 0, "open": 1, "overdue": 0,
        "per_1000_cases": {"value": "250.0000", "numerator": 1, "denominator": 4}}
    assert report["service_levels"]["cases_judged"] == 0
    assert list(report) == ["report", "agency_id", "creditor_id", "period", "label",
                            "first_day", "last_day", "timezone", "from", "to",
                            "generated_from", "cases_worked", "contacts", "promises",
                            "payments", "complaints", "service_levels"]
