"""Every figure casetrail shows about an agency's work, defined once.

The contact service's KPIs, the billing service's performance reports and its invoices all
count from these functions, so the same history gives the same numbers in every service
(`tests/trust/test_one_truth.py` feeds one history to all of them). The facts they take are
the case log's own, as the consumers recorded them: who held a case from when to when
(`Placed`, `Reassigned`, `Recalled`, `Closed`), which agency a payment belongs to
(`PaymentReceived.agency_id`, decided by the case when it was recorded), and how each promise
stands (`PromiseKept`, `PromiseBroken`, `PromiseReopened`). Nothing here re-decides a fact.

Definitions (docs/figures.md says the same in prose):
- **cases assigned** to an agency in a window: the cases with any stint of that agency
  overlapping the window, that is held by it at some instant of [start, end);
- **placements received** by an agency in a window: its stints that began in the window
  (the cohort that recovery and liquidation follow);
- **handed-over balance** of a stint: the placed amount less the money received (net of
  reversals) before the stint began;
- **collected** by an agency: the money the case log credited to it, except money received
  before the case was placed (flag `before_placement`: nobody's recovery), received in the
  window, less the reversals in the window of such payments;
- **promise-kept rate**: kept / (kept + broken), over the agency's promises whose outcome,
  as it stands now, was recorded in the window (a kept promise reopened by a reversal is open
  again and counts in neither).

Windows are half-open [start, end) intervals of aware instants. Ratios are exact decimals
rounded half-up to 4 places, or None over a zero denominator (a rate of nothing is unknown,
not zero). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal

RATIO_PLACES = Decimal("0.0001")
KEPT, BROKEN, OPEN = "kept", "broken", "open"
BEFORE_PLACEMENT = "before_placement"


class InvalidWindow(ValueError):
    """A window that is not an aware, non-empty [start, end) interval."""


@dataclass(frozen=True)
class Window:
    """A half-open interval [start, end) of aware instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidWindow("window bounds must be timezone-aware")
        if self.start >= self.end:
            raise InvalidWindow("a window must start before it ends")

    @classmethod
    def of_days(cls, first: date, last: date, zone: tzinfo = UTC) -> Window:
        """The window of whole days `first`..`last` (both included) in a time zone."""
        end = (datetime.combine(last + timedelta(days=1), time(), zone) if last < date.max
               else datetime.max.replace(tzinfo=zone))
        return cls(datetime.combine(first, time(), zone), end)

    def contains(self, at: datetime) -> bool:
        """Whether an instant falls in the window (start included, end excluded)."""
        return self.start <= at < self.end


@dataclass(frozen=True)
class Stint:
    """A stretch of time one agency held a case (from `Placed` or `Reassigned` until a
    `Recalled`, `Reassigned` or `Closed`; open while it lasts)."""

    case_id: str
    seq: int
    agency_id: str
    assigned_at: datetime
    ended_at: datetime | None = None

    def holds(self, at: datetime) -> bool:
        """Whether the agency held the case at this instant."""
        return self.assigned_at <= at and (self.ended_at is None or at < self.ended_at)

    def overlaps(self, window: Window) -> bool:
        """Whether the agency held the case at some instant of the window."""
        return self.assigned_at < window.end and (
            self.ended_at is None or self.ended_at > window.start)


@dataclass(frozen=True)
class Payment:
    """Money received on a case, credited by the case log to an agency."""

    case_id: str
    reference: str
    amount: Decimal
    received_at: datetime
    agency_id: str | None
    before_placement: bool = False
    assignment: int | None = None  # the stint (seq) it was credited to; None: not recorded


@dataclass(frozen=True)
class Reversal:
    """A (partial) reversal of a payment."""

    case_id: str
    reference: str
    amount: Decimal
    reversed_at: datetime


@dataclass(frozen=True)
class PromiseOutcome:
    """A promise to pay as it stands now: open, kept or broken (and when it was settled)."""

    case_id: str
    promise_id: str
    agency_id: str
    promised_at: datetime
    state: str  # open | kept | broken
    settled_at: datetime | None


@dataclass(frozen=True)
class Ratio:
    """A rate with the counts or sums it comes from."""

    numerator: Decimal
    denominator: Decimal
    value: Decimal | None


def ratio(numerator: Decimal | int, denominator: Decimal | int, per: int = 1) -> Ratio:
    """numerator x per / denominator rounded half-up to 4 places; None over a 0 denominator."""
    top, bottom = Decimal(numerator), Decimal(denominator)
    if bottom == 0:
        return Ratio(top, bottom, None)
    return Ratio(top, bottom, (top * per / bottom).quantize(RATIO_PLACES,
                                                             rounding=ROUND_HALF_UP))


def rate_text(value: Decimal | None) -> str | None:
    """A ratio's value as the APIs print it."""
    return None if value is None else str(value)


# ---------------------------------------------------------------------- cases


def cases_assigned(stints: Iterable[Stint], agency_id: str, window: Window) -> set[str]:
    """The cases the agency held at some instant of the window."""
    return {s.case_id for s in stints if s.agency_id == agency_id and s.overlaps(window)}


def placements_received(stints: Iterable[Stint], agency_id: str, window: Window
                        ) -> list[Stint]:
    """The agency's stints that began in the window: the placements it received then."""
    return [s for s in stints if s.agency_id == agency_id and window.contains(s.assigned_at)]


# ---------------------------------------------------------------------- money


def handed_over(placed_amount: Decimal, payments: Iterable[Payment],
                reversals: Iterable[Reversal], at: datetime) -> Decimal:
    """The balance a stint beginning at `at` was given: the placed amount less the money
    received (net of reversals) before then; never below zero."""
    paid = sum((p.amount for p in payments if p.received_at < at), Decimal(0))
    taken_back = sum((r.amount for r in reversals if r.reversed_at < at), Decimal(0))
    return max(placed_amount - paid + taken_back, Decimal(0))


@dataclass(frozen=True)
class Collected:
    """Money an agency collected: received, the part reversed, and the net."""

    received: Decimal
    reversed: Decimal

    @property
    def net(self) -> Decimal:
        """Received less reversed."""
        return self.received - self.reversed


def credited(payments: Iterable[Payment], agency_id: str, assignment: int | None = None
             ) -> list[Payment]:
    """The payments that count as the agency's collections (of one of its stints if
    `assignment` is given): credited to it, and not received before the case was placed."""
    return [p for p in payments if p.agency_id == agency_id and not p.before_placement
            and (assignment is None or p.assignment == assignment)]


def collected(payments: Iterable[Payment], reversals: Iterable[Reversal], agency_id: str,
              window: Window | None = None, assignment: int | None = None) -> Collected:
    """What the agency collected in the window (all time if None): its credited payments
    received in it, less the reversals in it of any of its credited payments."""
    own = credited(payments, agency_id, assignment)
    keys = {(p.case_id, p.reference) for p in own}
    received = sum((p.amount for p in own
                    if window is None or window.contains(p.received_at)), Decimal(0))
    taken_back = sum((r.amount for r in reversals if (r.case_id, r.reference) in keys
                      and (window is None or window.contains(r.reversed_at))), Decimal(0))
    return Collected(received, taken_back)


# ---------------------------------------------------------------------- promises


@dataclass(frozen=True)
class PromiseCounts:
    """The agency's promises settled in a window, by outcome, and the promise-kept rate."""

    kept: int
    broken: int

    @property
    def kept_rate(self) -> Ratio:
        """kept / (kept + broken)."""
        return ratio(self.kept, self.kept + self.broken)


def promises_settled(promises: Iterable[PromiseOutcome], agency_id: str, window: Window
                     ) -> PromiseCounts:
    """The agency's promises whose outcome (as it stands now) was recorded in the window."""
    distinct = {(p.case_id, p.promise_id): p for p in promises if p.agency_id == agency_id}
    settled = [p for p in distinct.values() if p.state in (KEPT, BROKEN)
               and p.settled_at is not None and window.contains(p.settled_at)]
    return PromiseCounts(kept=sum(1 for p in settled if p.state == KEPT),
                         broken=sum(1 for p in settled if p.state == BROKEN))
