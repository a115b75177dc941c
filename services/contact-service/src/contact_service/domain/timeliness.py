"""Timeliness of entry (issue 21 item 9): how long after the fact each fact reached the log.

The tender (DOMAIN.md; seeds 003: "工作日当日的案件进展在本工作日之内录入催收系统", "重大事项应当在
半小时内向公司汇报") asks two things, read here as:

- *late_entry*: a contact must be entered the same working day it happened. It is late when
  its entry (the envelope's `recorded_at`) falls on a later calendar day of the agency (its
  zone in force when the contact happened) than the contact itself. Weekends and holidays
  are not modelled: the working day is the calendar day, as for the `progress_entry`
  service level.
- *late_report*: a major event must be reported within 30 minutes. Major events are
  `ComplaintReceived` (a complaint about the agency's work, 投诉) and `VisitPerformed` (the
  outcome of a field visit, which the visitor reports from the road, 外访). A flagged
  `PaymentReceived` (after recall or close, an overpayment) is not counted: its flags are
  decided by the case when it is recorded, and money is often reported by the creditor, not
  the agency, so its lag says nothing about the agency's reporting. It is late when recorded
  more than 30 minutes after it occurred.

The lag of an entry is `recorded_at - occurred_at` in whole seconds (0 when it was recorded
before the instant it names). Percentiles are nearest-rank over the entries' lags.

Pure domain: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from contact_service.domain.local_time import ZoneHistory, local_day

EntryKind = Literal["contact", "complaint_received", "visit_performed"]
Lateness = Literal["late_entry", "late_report"]
MAJOR_EVENTS: frozenset[EntryKind] = frozenset({"complaint_received", "visit_performed"})
REPORT_WITHIN = timedelta(minutes=30)


@dataclass(frozen=True)
class Entry:
    """One fact and when it reached the log."""

    kind: EntryKind
    case_id: str
    ref: str  # the contact, complaint or visit id
    collector_id: str | None  # the agent of a contact, the visitor of a visit; else None
    occurred_at: datetime
    recorded_at: datetime

    @property
    def major(self) -> bool:
        """A major event, reported within 30 minutes."""
        return self.kind in MAJOR_EVENTS

    @property
    def lag_seconds(self) -> int:
        """Whole seconds from the fact to its entry (never below 0)."""
        return max(0, math.floor((self.recorded_at - self.occurred_at).total_seconds()))


def lateness(entry: Entry, zones: ZoneHistory) -> Lateness | None:
    """`late_report` for a major event recorded more than 30 minutes after it occurred,
    `late_entry` for a contact recorded on a later day of the agency than it happened; None
    when on time."""
    if entry.major:
        return "late_report" if entry.recorded_at - entry.occurred_at > REPORT_WITHIN else None
    zone = zones.at(entry.occurred_at)
    if local_day(entry.recorded_at, zone) > local_day(entry.occurred_at, zone):
        return "late_entry"
    return None


def nearest_rank(sorted_values: Sequence[int], percent: int) -> int | None:
    """The nearest-rank percentile of sorted values (None for none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(percent * len(sorted_values) / 100))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class CollectorTimeliness:
    """One collector's entries in a period (collector None: facts no collector is named on)."""

    collector_id: str | None
    count: int
    p50_lag_seconds: int | None
    p95_lag_seconds: int | None
    max_lag_seconds: int | None
    late_entries: int
    late_reports: int


@dataclass(frozen=True)
class LateEntry:
    """An entry that came late, and which rule says so."""

    entry: Entry
    reason: Lateness


@dataclass(frozen=True)
class TimelinessReport:
    """Per collector, the whole agency, and each late entry (oldest first)."""

    collectors: list[CollectorTimeliness]
    agency: CollectorTimeliness
    late: list[LateEntry]


def _summary(collector_id: str | None, entries: Sequence[Entry],
             late: Sequence[LateEntry]) -> CollectorTimeliness:
    lags = sorted(e.lag_seconds for e in entries)
    return CollectorTimeliness(
        collector_id=collector_id, count=len(entries), p50_lag_seconds=nearest_rank(lags, 50),
        p95_lag_seconds=nearest_rank(lags, 95), max_lag_seconds=lags[-1] if lags else None,
        late_entries=sum(1 for x in late if x.reason == "late_entry"),
        late_reports=sum(1 for x in late if x.reason == "late_report"))


def timeliness(entries: Iterable[Entry], zones: ZoneHistory, start: datetime, end: datetime
               ) -> TimelinessReport:
    """The timeliness of the entries that occurred in [start, end), per collector (sorted
    by id, the unnamed last) and for the whole agency."""
    chosen = sorted({(e.kind, e.case_id, e.ref): e for e in entries
                     if start <= e.occurred_at < end}.values(),
                    key=lambda e: (e.occurred_at, e.kind, e.case_id, e.ref))
    late = [LateEntry(e, reason) for e in chosen
            if (reason := lateness(e, zones)) is not None]
    by_collector: dict[str | None, list[Entry]] = {}
    for e in chosen:
        by_collector.setdefault(e.collector_id, []).append(e)
    order = sorted(by_collector, key=lambda c: (c is None, c or ""))
    return TimelinessReport(
        collectors=[_summary(c, by_collector[c], [x for x in late if x.entry.collector_id == c])
                    for c in order],
        agency=_summary(None, chosen, late), late=late)
