"""Reports to the creditor (委托方催收报告, issue 21 item 8): the periods of the agency reports,
the "three calls failed" rule, and the reports' CSV form.

Periods. A daily report covers one calendar day, a weekly one the ISO week (Monday to
Sunday) holding the given day, a monthly one the calendar month holding it; each as local
days [first, end) read in a stated zone (the agency's, as its service levels are).

Three calls failed (seed 003: "a report after the first three calls fail"). It is the
moment the follow-up calls become owed (`domain/service_levels.py`, `follow_up_calls`), read
with the same terms (`DEFAULT_TERMS`):

- only contacts of the case's current assignment count (at or after `assigned_at`);
- a *call attempt* is an outbound phone contact, whatever its outcome;
- the debtor is *reached* by a phone contact in either direction with party `debtor` and an
  outcome in `terms.reached_outcomes` (`conversation`);
- the report is triggered when the assignment's first `terms.initial_calls` (3) call
  attempts have been made and the debtor was not reached by phone at or before the last of
  them; it becomes due at that attempt. Every outcome other than reaching the debtor is a
  failure (no answer, busy, voicemail, a wrong or invalid number, a third party, a refusal:
  the debtor was not reached).

Pure domain: no I/O.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from contact_service.domain.service_levels import DEFAULT_TERMS, ServiceLevelTerms

ReportPeriod = Literal["daily", "weekly", "monthly"]
REPORT_PERIODS: tuple[ReportPeriod, ...] = ("daily", "weekly", "monthly")
ReportFormat = Literal["json", "csv", "pdf"]
CSV_HEADER = ("section", "item", "detail", "value")
THREE_CALLS_CSV_HEADER = ("case_id", "creditor_id", "agency_id", "assigned_at", "due_at",
                          "attempt", "occurred_at", "channel", "direction", "party", "outcome",
                          "action_code", "contact_id", "agent_id")


def period_days(period: ReportPeriod, day: date) -> tuple[date, date]:
    """The local days [first, end) of the period holding `day`."""
    if period == "daily":
        return day, day + timedelta(days=1)
    if period == "weekly":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=7)
    first = day.replace(day=1)
    end = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, end


def period_label(period: ReportPeriod, first: date) -> str:
    """The period's name: 2026-10-05, 2026-W41, 2026-10."""
    if period == "daily":
        return first.isoformat()
    if period == "weekly":
        year, week, _ = first.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{first:%Y-%m}"


# ---------------------------------------------------------------------- three calls failed

@dataclass(frozen=True)
class PhoneContact:
    """One contact of a case, as much of it as the rule and the report need."""

    occurred_at: datetime
    position: int
    channel: str
    direction: str
    party: str
    outcome: str
    action_code: str = ""
    contact_id: str = ""
    agent_id: str | None = None


def is_call_attempt(contact: PhoneContact) -> bool:
    """An outbound phone contact, whatever its outcome."""
    return contact.channel == "phone" and contact.direction == "outbound"


def reaches_debtor(contact: PhoneContact, terms: ServiceLevelTerms = DEFAULT_TERMS) -> bool:
    """A phone contact (either direction) with the debtor that reached them."""
    return (contact.channel == "phone" and contact.party == "debtor"
            and contact.outcome in terms.reached_outcomes)


@dataclass(frozen=True)
class ThreeCallsFailed:
    """The first call attempts of an assignment, none of which reached the debtor."""

    attempts: tuple[PhoneContact, ...]

    @property
    def due_at(self) -> datetime:
        """When the report became due: the last of the failed attempts."""
        return self.attempts[-1].occurred_at


def three_calls_failed(contacts: Iterable[PhoneContact], assigned_at: datetime,
                       terms: ServiceLevelTerms = DEFAULT_TERMS) -> ThreeCallsFailed | None:
    """The failed first call attempts of the assignment that began at `assigned_at`, once
    there are `terms.initial_calls` of them and none (nor any phone contact at or before the
    last of them) reached the debtor; None otherwise."""
    ordered = sorted((c for c in contacts if c.occurred_at >= assigned_at),
                     key=lambda c: (c.occurred_at, c.position))
    attempts = [c for c in ordered if is_call_attempt(c)][:terms.initial_calls]
    if len(attempts) < terms.initial_calls:
        return None
    last = attempts[-1].occurred_at
    if any(reaches_debtor(c, terms) for c in ordered if c.occurred_at <= last):
        return None
    return ThreeCallsFailed(tuple(attempts))


# ---------------------------------------------------------------------- CSV

def report_csv(report: dict[str, Any]) -> str:
    """An agency report as CSV rows (section, item, detail, value): scalars of the header,
    then every figure, one per row, in the report's order (no BOM: the caller adds it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in _flatten(report):
        writer.writerow(row)
    return out.getvalue()


def _flatten(report: dict[str, Any]) -> Iterable[tuple[str, str, str, str]]:
    for key, value in report.items():
        if isinstance(value, dict):
            for item, inner in value.items():
                yield from _rows(key, item, inner)
        elif isinstance(value, list):
            for i, inner in enumerate(value):
                yield from _rows(key, str(i), inner)
        else:
            yield "report", key, "", _text(value)


def _rows(section: str, item: str, value: Any) -> Iterable[tuple[str, str, str, str]]:
    if isinstance(value, dict):
        for detail, inner in value.items():
            if isinstance(inner, dict):
                for sub, leaf in inner.items():
                    yield section, item, f"{detail}.{sub}", _text(leaf)
            else:
                yield section, item, str(detail), _text(inner)
    else:
        yield section, item, "", _text(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def three_calls_csv(reports: Sequence[dict[str, Any]]) -> str:
    """Three-calls-failed reports as CSV: one row per failed attempt."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(THREE_CALLS_CSV_HEADER)
    for r in reports:
        for i, a in enumerate(r["attempts"], start=1):
            writer.writerow([r["case_id"], r["creditor_id"], r["agency_id"], r["assigned_at"],
                             r["due_at"], i, a["occurred_at"], a["channel"], a["direction"],
                             a["party"], a["outcome"], a["action_code"], a["contact_id"],
                             _text(a["agent_id"])])
    return out.getvalue()
