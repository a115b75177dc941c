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

Amounts collected. The payments credited to the agency (`PaymentReceived.agency_id`, the
case's decision) and received in the period count in `payments.received`; their amounts are
summed per currency (`PaymentReceived.currency`), leaving out money received before the case
was placed (nobody's collection, docs/figures.md). The contact log keeps, per payment, the
sum of its reversals (`PaymentReversed.amount`) but not when each was made, so a payment's
reversals count in the period the payment was *received* in, as the log holds them when the
report is made (`generated_from`): `amounts_collected` = `amounts_received` -
`amounts_reversed`. A payment applied before the log kept currencies counts under `unknown`.

Pure domain: no I/O.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from contact_service.domain.kpis import ContactKpis
from contact_service.domain.local_time import LocalWindow
from contact_service.domain.service_levels import (
    DEFAULT_TERMS,
    SERVICE_LEVELS,
    ServiceLevelStatus,
    ServiceLevelTerms,
)

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


# ---------------------------------------------------------------------- the agency report

RESULT_STATUSES = ("met", "breached", "pending")


@dataclass(frozen=True)
class ContactCounts:
    """An agency's contacts in a period that the KPIs do not break down."""

    total: int
    cases_worked: int  # distinct cases with a contact
    by_outcome: dict[str, int]
    by_channel: dict[str, int]


UNKNOWN_CURRENCY = "unknown"  # the key of amounts whose currency the log does not hold


@dataclass(frozen=True)
class Payment:
    """One payment credited to the agency and received in a period, as the log holds it."""

    amount: Decimal
    reversed: Decimal  # the sum of its reversals recorded in the log so far
    currency: str | None  # None: applied before the log kept currencies
    before_placement: bool = False  # received before the case was placed: nobody's


@dataclass(frozen=True)
class PaymentTotals:
    """The payments of a period: how many were received, and per currency the amounts
    received, reversed and collected (received minus reversed), of those that count as a
    collection (not received before the case was placed)."""

    received: int
    amounts_received: dict[str, Decimal]
    amounts_reversed: dict[str, Decimal]
    amounts_collected: dict[str, Decimal]

    def as_dict(self) -> dict[str, Any]:
        """Counts as ints, amounts as Decimal strings by currency (sorted)."""
        return {"received": self.received,
                "amounts_received": _amounts(self.amounts_received),
                "amounts_reversed": _amounts(self.amounts_reversed),
                "amounts_collected": _amounts(self.amounts_collected)}


def _amounts(by_currency: dict[str, Decimal]) -> dict[str, str]:
    return {currency: str(by_currency[currency]) for currency in sorted(by_currency)}


def payment_totals(payments: Iterable[Payment]) -> PaymentTotals:
    """Sum a period's payments per currency (`UNKNOWN_CURRENCY` when the log has none):
    every payment counts in `received`; the amounts leave out money received before the
    case was placed; collected = received - reversed."""
    count = 0
    received: dict[str, Decimal] = {}
    reversed_: dict[str, Decimal] = {}
    for p in payments:
        count += 1
        if p.before_placement:
            continue
        currency = p.currency or UNKNOWN_CURRENCY
        received[currency] = received.get(currency, Decimal(0)) + p.amount
        reversed_[currency] = reversed_.get(currency, Decimal(0)) + p.reversed
    collected = {c: received[c] - reversed_[c] for c in received}
    return PaymentTotals(count, received, reversed_, collected)


@dataclass
class ServiceLevelResults:
    """Service levels judged as of a period's end, added up case by case: per level, met and
    breached among those that fell due in the period [start, end), pending at its end."""

    start: datetime
    end: datetime
    cases_judged: int = 0
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, statuses: Iterable[ServiceLevelStatus]) -> None:
        """Count one case's statuses (as evaluated at `end`)."""
        self.cases_judged += 1
        for s in statuses:
            if s.status == "pending" or (s.status in ("met", "breached") and s.due_at is not None
                                         and self.start <= s.due_at < self.end):
                key = (s.service_level, s.status)
                self.counts[key] = self.counts.get(key, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        """Every level of SERVICE_LEVELS with its met, breached and pending."""
        return {"as_of": self.end.isoformat(), "cases_judged": self.cases_judged, "levels": {
            level: {status: self.counts.get((level, status), 0) for status in RESULT_STATUSES}
            for level in SERVICE_LEVELS}}


def assemble_agency_report(*, agency_id: str, creditor_id: str | None, period: ReportPeriod,
                  window: LocalWindow, generated_from: Any, kpis: ContactKpis,
                  counts: ContactCounts, payments: PaymentTotals, complaints_open: int,
                  service_levels: ServiceLevelResults) -> dict[str, Any]:
    """An agency's report for a period (its JSON form), from the period's contact KPIs and
    the counts the KPIs do not hold; instants in UTC ISO form."""
    per_1000 = kpis.complaints_per_1000_cases
    kept = kpis.promise_kept_rate
    return {
        "report": f"agency_{period}", "agency_id": agency_id, "creditor_id": creditor_id,
        "period": period, "label": period_label(period, window.first),
        "first_day": window.first.isoformat(),
        "last_day": (window.end - timedelta(days=1)).isoformat(),
        "timezone": window.timezone, "from": window.start.isoformat(),
        "to": window.stop.isoformat(), "generated_from": generated_from,
        "cases_worked": counts.cases_worked,
        "contacts": {
            "total": counts.total, "by_outcome": counts.by_outcome,
            "by_channel": counts.by_channel,
            "by_action_code": {a.action_code: {
                "contacts": a.contacts, "right_party_contacts": a.right_party_contacts,
                "promises": a.promises} for a in kpis.action_codes}},
        "promises": {"made": kpis.promise_rate.numerator, "kept": kept.numerator,
                     "broken": kept.denominator - kept.numerator},
        "payments": payments.as_dict(),
        "complaints": {
            "received": kpis.complaints.received, "resolved": kpis.complaints.resolved,
            "open": complaints_open, "overdue": kpis.complaints.overdue,
            "per_1000_cases": {
                "value": None if per_1000.value is None else str(per_1000.value),
                "numerator": per_1000.numerator, "denominator": per_1000.denominator}},
        "service_levels": service_levels.as_dict(),
    }


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
