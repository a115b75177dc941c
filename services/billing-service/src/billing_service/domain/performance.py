"""Agency performance over placement vintages: recovery, liquidation curves, fees, promises.

Every figure counts with the definitions of `casetrail.figures` (docs/figures.md), the same
ones the contact service's KPIs and the invoices use.

A report covers the *placements* an agency received in a period (its stints that began on a
day of the period: cases placed with it, or reassigned to it), each with the balance handed
over. Money counts for a placement if the case log credited it to that stint (received while
the agency held the case, or in its tail; never money received before the case was placed),
on or before the `as_of` day; reversals of that money count against it.

- recovery rate = (received - reversed) / placed
- reversal rate = reversed / received
- average fee rate = commission / commissionable recovered (net of clawbacks), from the
  same commission ledger billing uses
- cases assigned = cases the agency held at some instant of the period (up to `as_of`)
- promise-kept rate = kept / (kept + broken) over the agency's promises settled in the
  period (up to `as_of`), as they stand now
- liquidation curve of a vintage (month placed): cumulative recovered / placed at the end of
  each calendar month since placement (month 0 is the month of placement)

Days (the period's, `as_of`, the month a vintage was placed in, the months of a liquidation
curve) are days in the report's stated time zone; a day's money is the money of the instants
from its midnight to the next there.

Ratios are rounded half-up to 4 decimal places; money is summed exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from casetrail import figures
from casetrail.figures import OPEN, PromiseOutcome, Window

from billing_service.domain.contracts import ContractVersion
from billing_service.domain.invoice import Period
from billing_service.domain.ledger import (
    PAYMENT,
    REVERSAL,
    Assignment,
    CaseFacts,
    case_ledger,
    credited,
    local_day,
    money,
)

PromiseFact = PromiseOutcome  # a promise as the billing ledger recorded it


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
    return figures.rate_text(figures.ratio(numerator, denominator).value)


def month_index(day: date) -> int:
    """Months since year 0, to count calendar months between two days."""
    return day.year * 12 + day.month - 1


def stints(case: CaseFacts) -> list[figures.Stint]:
    """A case's assignments as the shared definitions take them."""
    return [figures.Stint(case.case_id, a.seq, a.agency_id, a.assigned_at, a.ended_at)
            for a in case.assignments]


def money_facts(case: CaseFacts) -> tuple[list[figures.Payment], list[figures.Reversal]]:
    """A case's payments and reversals as the shared definitions take them."""
    paid = [credited(case.assignments, p) for p in case.payments]
    return ([figures.Payment(case.case_id, p.reference, p.amount, p.received_at, p.agency_id,
                             p.before_placement, p.assignment) for p in paid],
            [figures.Reversal(case.case_id, r.reference, r.amount, r.reversed_at)
             for r in case.reversals])


def handed_over(case: CaseFacts, assignment: Assignment) -> Decimal:
    """The balance the agency was given (`casetrail.figures.handed_over`)."""
    paid, reversed_ = money_facts(case)
    return figures.handed_over(case.placed_amount, paid, reversed_, assignment.assigned_at)


def report_window(period: Period, as_of: date, zone: tzinfo) -> Window | None:
    """The instants a report counts: the period's days in `zone`, up to the `as_of` day
    (None: the period has not begun by then)."""
    last = min(period.end, as_of)
    return Window.of_days(period.start, last, zone) if last >= period.start else None


def agency_performance(*, agency_id: str, cases: Iterable[CaseFacts],
                       promises: Iterable[PromiseFact], period: Period, as_of: date,
                       zone: tzinfo, contracts: Mapping[str, Sequence[ContractVersion]],
                       currency: str) -> dict[str, Any]:
    """One agency's figures over the placements it received in `period`, as of a day; the
    period's days and `as_of` are days in `zone`. `cases` may hold other cases too (those it
    only held during the period count as assigned, not as placements)."""
    overall = Figures()
    by_bucket: dict[str, Figures] = defaultdict(Figures)
    by_vintage: dict[str, Figures] = defaultdict(Figures)
    commission = commissionable = Decimal(0)
    window = period.window(zone)
    counted = report_window(period, as_of, zone)
    until = Window.of_days(as_of, as_of, zone).end  # money counts up to the end of as_of
    assigned: set[str] = set()
    for case in cases:
        held = stints(case)
        if counted is not None:
            assigned |= figures.cases_assigned(held, agency_id, counted)
        cohort = {s.seq for s in figures.placements_received(held, agency_id, window)}
        if not cohort:
            continue
        paid, _ = money_facts(case)
        owned: set[str] = set()
        for assignment in (a for a in case.assignments if a.seq in cohort):
            vintage = local_day(assignment.assigned_at, zone)
            groups = (overall, by_bucket[case.bucket], by_vintage[vintage.strftime("%Y-%m")])
            placed = handed_over(case, assignment)
            for group in groups:
                group.placements += 1
                group.placed += placed
            refs = {p.reference for p in figures.credited(paid, agency_id, assignment.seq)
                    if p.received_at < until}
            owned |= refs
            flows = [(p.amount, local_day(p.received_at, zone)) for p in case.payments
                     if p.reference in refs]
            flows += [(-r.amount, local_day(r.reversed_at, zone)) for r in case.reversals
                      if r.reference in refs and r.reversed_at < until]
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
                    and line.reference in owned and line.occurred_at is not None
                    and datetime.fromisoformat(line.occurred_at) < until):
                commission += line.commission
                commissionable += line.amount
    promises = list(promises)
    settled = (figures.promises_settled(promises, agency_id, counted) if counted is not None
               else figures.PromiseCounts(0, 0))
    open_ = sum(1 for p in {(p.case_id, p.promise_id): p for p in promises}.values()
                if p.agency_id == agency_id and p.state == OPEN and counted is not None
                and counted.contains(p.promised_at))
    kept, broken = settled.kept, settled.broken
    return {
        "agency_id": agency_id,
        "currency": currency,
        "cases_assigned": len(assigned),
        **overall.to_json(currency),
        "commission": money(commission, currency),
        "commissionable_recovered": money(commissionable, currency),
        "average_fee_rate": ratio(commission, commissionable),
        "promises": {"kept": kept, "broken": broken, "open": open_},
        "promise_kept_rate": ratio(Decimal(kept), Decimal(kept + broken)),
        "by_bucket": [{"bucket": bucket, **group.to_json(currency)}
                      for bucket, group in sorted(by_bucket.items())],
        "by_vintage": [{"vintage": vintage, **group.to_json(currency),
                        "liquidation_curve": _curve(group, vintage, as_of, currency)}
                       for vintage, group in sorted(by_vintage.items())],
    }


def _curve(group: Figures, vintage: str, as_of: date, currency: str
           ) -> list[dict[str, Any]]:
    year, month = (int(part) for part in vintage.split("-"))
    last = month_index(as_of) - (year * 12 + month - 1)
    points, cumulative = [], Decimal(0)
    for months in range(0, last + 1):
        cumulative += group.by_month.get(months, Decimal(0))
        points.append({"months_since_placement": months,
                       "recovered_amount": money(cumulative, currency),
                       "liquidation_rate": ratio(cumulative, group.placed)})
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
