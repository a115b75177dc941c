"""Agency performance over placement vintages: recovery, liquidation curves, fees, promises.

A report covers the *placements* an agency received in a period (cases placed with it, or
reassigned to it, on a day of the period), each with the balance handed over. Money counts
for a placement if it was received while the placement held the case (or in its tail), on or
before the `as_of` day; reversals of that money count against it.

- recovery rate = (received - reversed) / placed
- reversal rate = reversed / received
- average fee rate = commission / commissionable recovered (net of clawbacks), from the
  same commission ledger billing uses
- promise-kept rate = kept / (kept + broken), promises made during the placement
- liquidation curve of a vintage (month placed): cumulative recovered / placed at the end of
  each calendar month since placement (month 0 is the month of placement)

Ratios are rounded half-up to 4 decimal places; money is summed exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billing_service.domain.contracts import ContractVersion
from billing_service.domain.invoice import Period
from billing_service.domain.ledger import (
    PAYMENT,
    REVERSAL,
    Assignment,
    CaseFacts,
    case_ledger,
    money,
    responsible_assignment,
    utc_day,
)

RATIO_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class PromiseFact:
    """A promise to pay as the log recorded it, and how it ended (if it has)."""

    case_id: str
    promise_id: str
    agency_id: str
    promised_at: datetime
    state: str  # open | kept | broken
    settled_at: datetime | None


@dataclass
class Figures:
    """Sums for one group of placements (all, a bucket, a vintage)."""

    placements: int = 0
    placed: Decimal = Decimal(0)
    received: Decimal = Decimal(0)
    reversed: Decimal = Decimal(0)
    by_month: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    @property
    def recovered(self) -> Decimal:
        """Money received net of reversals."""
        return self.received - self.reversed

    def to_json(self, currency: str) -> dict[str, Any]:
        """The API form."""
        return {"placements": self.placements, "placed_amount": money(self.placed, currency),
                "received_amount": money(self.received, currency),
                "reversed_amount": money(self.reversed, currency),
                "recovered_amount": money(self.recovered, currency),
                "recovery_rate": ratio(self.recovered, self.placed),
                "reversal_rate": ratio(self.reversed, self.received)}


def ratio(numerator: Decimal, denominator: Decimal) -> str | None:
    """A ratio rounded half-up to 4 places, or None when there is nothing to divide by."""
    if denominator == 0:
        return None
    return str((numerator / denominator).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP))


def month_index(day: date) -> int:
    """Months since year 0, to count calendar months between two days."""
    return day.year * 12 + day.month - 1


def handed_over(case: CaseFacts, assignment: Assignment) -> Decimal:
    """The balance the agency was given: placed amount less money received (net of
    reversals) before the assignment began."""
    before = sum((p.amount for p in case.payments if p.received_at < assignment.assigned_at),
                 Decimal(0))
    reversed_before = sum((r.amount for r in case.reversals
                           if r.reversed_at < assignment.assigned_at), Decimal(0))
    return max(case.placed_amount - before + reversed_before, Decimal(0))


def agency_performance(*, agency_id: str, cases: Iterable[CaseFacts],
                       promises: Iterable[PromiseFact], period: Period, as_of: date,
                       contracts: Mapping[str, Sequence[ContractVersion]], currency: str
                       ) -> dict[str, Any]:
    """One agency's figures over the placements it received in `period`, as of a day."""
    overall = Figures()
    by_bucket: dict[str, Figures] = defaultdict(Figures)
    by_vintage: dict[str, Figures] = defaultdict(Figures)
    commission = commissionable = Decimal(0)
    promise_windows: dict[str, list[Assignment]] = defaultdict(list)
    for case in cases:
        cohort = [a for a in case.assignments if a.agency_id == agency_id
                  and period.start <= utc_day(a.assigned_at) <= period.end]
        if not cohort:
            continue
        promise_windows[case.case_id].extend(cohort)
        owned: set[str] = set()
        for assignment in cohort:
            vintage = utc_day(assignment.assigned_at)
            groups = (overall, by_bucket[case.bucket], by_vintage[vintage.strftime("%Y-%m")])
            placed = handed_over(case, assignment)
            for group in groups:
                group.placements += 1
                group.placed += placed
            refs = {p.reference for p in case.payments
                    if utc_day(p.received_at) <= as_of
                    and responsible_assignment(case.assignments, p.received_at) == assignment}
            owned |= refs
            flows = [(p.amount, utc_day(p.received_at)) for p in case.payments
                     if p.reference in refs]
            flows += [(-r.amount, utc_day(r.reversed_at)) for r in case.reversals
                      if r.reference in refs and utc_day(r.reversed_at) <= as_of]
            for amount, day in flows:
                months = month_index(day) - month_index(vintage)
                for group in groups:
                    if amount > 0:
                        group.received += amount
                    else:
                        group.reversed -= amount
                    group.by_month[max(months, 0)] += amount
        for line in case_ledger(case, agency_id, contracts.get(case.creditor_id, ())):
            if (line.commissionable and line.kind in (PAYMENT, REVERSAL)
                    and line.reference in owned and line.occurred_on is not None
                    and line.occurred_on <= as_of):
                commission += line.commission
                commissionable += line.amount
    kept = broken = open_ = 0
    for promise in promises:
        windows = promise_windows.get(promise.case_id, [])
        if promise.agency_id != agency_id or utc_day(promise.promised_at) > as_of or not any(
                a.holds(promise.promised_at) for a in windows):
            continue
        settled = promise.settled_at is not None and utc_day(promise.settled_at) <= as_of
        if settled and promise.state == "kept":
            kept += 1
        elif settled and promise.state == "broken":
            broken += 1
        else:
            open_ += 1
    return {
        "agency_id": agency_id,
        "currency": currency,
        **overall.to_json(currency),
        "commission": money(commission, currency),
        "commissionable_recovered": money(commissionable, currency),
        "average_fee_rate": ratio(commission, commissionable),
        "promises": {"kept": kept, "broken": broken, "open": open_},
        "promise_kept_rate": ratio(Decimal(kept), Decimal(kept + broken)),
        "by_bucket": [{"bucket": bucket, **figures.to_json(currency)}
                      for bucket, figures in sorted(by_bucket.items())],
        "by_vintage": [{"vintage": vintage, **figures.to_json(currency),
                        "liquidation_curve": _curve(figures, vintage, as_of, currency)}
                       for vintage, figures in sorted(by_vintage.items())],
    }


def _curve(figures: Figures, vintage: str, as_of: date, currency: str
           ) -> list[dict[str, Any]]:
    year, month = (int(part) for part in vintage.split("-"))
    last = month_index(as_of) - (year * 12 + month - 1)
    points, cumulative = [], Decimal(0)
    for months in range(0, last + 1):
        cumulative += figures.by_month.get(months, Decimal(0))
        points.append({"months_since_placement": months,
                       "recovered_amount": money(cumulative, currency),
                       "liquidation_rate": ratio(cumulative, figures.placed)})
    return points


def champion(reports: Sequence[dict[str, Any]]) -> str | None:
    """The agency with the best recovery rate (ties: lower fee rate, then id); None if no
    agency has a recovery rate yet."""
    rated = [r for r in reports if r["recovery_rate"] is not None]
    if not rated:
        return None
    best = min(rated, key=lambda r: (-Decimal(r["recovery_rate"]),
                                     Decimal(r["average_fee_rate"] or "0"), r["agency_id"]))
    agency: str = best["agency_id"]
    return agency
