"""The reports to the creditor, pure parts: periods, the "three calls failed" rule, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from contact_service.domain.reports import (
    PhoneContact,
    is_call_attempt,
    period_days,
    period_label,
    reaches_debtor,
    report_csv,
    three_calls_csv,
    three_calls_failed,
)
from contact_service.domain.service_levels import ServiceLevelTerms

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
