"""Timeliness of entry: lags, the late entry and late report rules, per collector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from contact_service.domain.local_time import ZoneHistory
from contact_service.domain.timeliness import (
    Entry,
    EntryKind,
    lateness,
    nearest_rank,
    timeliness,
)

SHANGHAI = ZoneHistory.constant("Asia/Shanghai")
START, END = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
AT = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
_refs = iter(range(1, 10_000))


def entry(lag: timedelta, *, kind: EntryKind = "contact", collector: str | None = "agent-1",
          at: datetime = AT) -> Entry:
    return Entry(kind=kind, case_id="C1", ref=f"R{next(_refs)}", collector_id=collector,
                 occurred_at=at, recorded_at=at + lag)


def test_a_contact_entered_the_same_local_day_is_on_time() -> None:
    late_evening = datetime(2026, 10, 5, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    assert lateness(entry(timedelta(minutes=59), at=late_evening), SHANGHAI) is None


def test_a_contact_entered_after_local_midnight_is_a_late_entry() -> None:
    late_evening = datetime(2026, 10, 5, 15, 0, tzinfo=UTC)
    assert lateness(entry(timedelta(hours=1), at=late_evening), SHANGHAI) == "late_entry"


def test_the_day_is_the_agencys_not_utcs() -> None:
    # 07:30 UTC on the 5th is 15:30 in Shanghai; entered at 16:30 UTC (00:30 on the 6th there).
    at = datetime(2026, 10, 5, 7, 30, tzinfo=UTC)
    assert lateness(entry(timedelta(hours=9), at=at), SHANGHAI) == "late_entry"
    assert lateness(entry(timedelta(hours=9), at=at), ZoneHistory.constant("UTC")) is None


@pytest.mark.parametrize("kind", ["complaint_received", "visit_performed"])
def test_a_major_event_is_reported_within_30_minutes(kind: EntryKind) -> None:
    assert lateness(entry(timedelta(minutes=30), kind=kind), SHANGHAI) is None
    assert lateness(entry(timedelta(minutes=31), kind=kind), SHANGHAI) == "late_report"


def test_a_lag_is_never_negative() -> None:
    assert entry(-timedelta(minutes=5)).lag_seconds == 0


def test_nearest_rank_percentiles() -> None:
    values = list(range(1, 21))
    assert (nearest_rank(values, 50), nearest_rank(values, 95), nearest_rank(values, 100)) \
        == (10, 19, 20)
    assert nearest_rank([7], 95) == 7
    assert nearest_rank([], 50) is None


def test_the_report_groups_by_collector_with_the_unnamed_last() -> None:
    entries = [entry(timedelta(seconds=s), collector="b") for s in (10, 20, 30)]
    entries += [entry(timedelta(days=1), collector="a")]
    entries += [entry(timedelta(hours=1), kind="complaint_received", collector=None)]
    report = timeliness(entries, SHANGHAI, START, END)
    assert [c.collector_id for c in report.collectors] == ["a", "b", None]
    a, b, unnamed = report.collectors
    assert (b.count, b.p50_lag_seconds, b.p95_lag_seconds, b.max_lag_seconds) == (3, 20, 30, 30)
    assert (a.late_entries, a.late_reports) == (1, 0)
    assert (unnamed.late_entries, unnamed.late_reports) == (0, 1)
    assert (report.agency.count, report.agency.late_entries, report.agency.late_reports) == (
        5, 1, 1)
    # Oldest first, then by kind: both happened at the same instant.
    assert [(x.entry.kind, x.reason) for x in report.late] == [
        ("complaint_received", "late_report"), ("contact", "late_entry")]


def test_only_entries_that_occurred_in_the_period_count() -> None:
    before = entry(timedelta(days=3), at=START - timedelta(seconds=1))
    report = timeliness([before, entry(timedelta(0), at=START)], SHANGHAI, START, END)
    assert (report.agency.count, report.agency.late_entries, report.late) == (1, 0, [])


def test_no_entries_give_no_lags() -> None:
    report = timeliness([], SHANGHAI, START, END)
    assert report.collectors == []
    assert (report.agency.count, report.agency.p50_lag_seconds,
            report.agency.max_lag_seconds) == (0, None, None)
