"""Complaints about a case (投诉), as the contact service reads them: open or resolved,
overdue, and whether one holds outbound contact.

Every fact here is the case's: the case aggregate decides whether a complaint holds contact
(`ComplaintReceived.contact_hold`, from the creditor's rules), whether a step was late, and
when a deadline was missed (`ComplaintDeadlineMissed`, recorded by the deadline worker). This
module only reads them at an instant.

- A complaint is *open* from `received_at` until `resolved_at` (ComplaintResolved ends it,
  and with it any contact hold of that complaint).
- It is *overdue* once any of its step deadlines was missed (a ComplaintDeadlineMissed was
  recorded for it), resolved or not.
- The *complaint hold*: while a complaint with contact_hold is open, outbound contact on any
  channel but `letter` (the written notices a complaint process still sends) is refused.

Pure domain: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from contact_service.domain.policy import Denial

ComplaintStatus = Literal["open", "resolved"]
COMPLAINT_STATUSES: tuple[ComplaintStatus, ...] = ("open", "resolved")
COMPLAINT_HOLD = "complaint_hold"  # the denial's rule id and kind, and the contact flag
HOLD_EXEMPT_CHANNELS = frozenset({"letter"})
UPHELD_OUTCOMES = frozenset({"upheld", "partially_upheld"})


@dataclass(frozen=True)
class ComplaintFact:
    """One complaint as the case recorded it, as much as holds and figures need."""

    case_id: str
    complaint_id: str
    agency_id: str | None  # who held the case when it was received (None: recalled)
    received_at: datetime
    contact_hold: bool = False
    resolved_at: datetime | None = None
    outcome: str | None = None
    first_missed_at: datetime | None = None  # due time of the first deadline it missed

    def is_open(self, at: datetime) -> bool:
        """Received at or before `at` and not resolved by then."""
        return self.received_at <= at and (self.resolved_at is None or at < self.resolved_at)

    def status(self, at: datetime) -> ComplaintStatus:
        """`resolved` once resolved at or before `at`, else `open`."""
        return "resolved" if self.resolved_at is not None and self.resolved_at <= at \
            else "open"


def complaint_hold(complaints: Iterable[ComplaintFact], channel: str, at: datetime
                   ) -> Denial | None:
    """The denial of an outbound contact on `channel` at `at` while a complaint that holds
    contact is open on the case; None when no such complaint is open, or for a letter."""
    if channel in HOLD_EXEMPT_CHANNELS:
        return None
    holding = sorted((c for c in complaints if c.contact_hold and c.is_open(at)),
                     key=lambda c: (c.received_at, c.complaint_id))
    if not holding:
        return None
    named = ", ".join(f"{c.complaint_id} (received "
                      f"{c.received_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC)" for c in holding)
    return Denial(rule_id=COMPLAINT_HOLD, kind=COMPLAINT_HOLD, reason=(
        f"an open complaint holds outbound contact until it is resolved: {named}; only "
        f"{'/'.join(sorted(HOLD_EXEMPT_CHANNELS))} may be sent"))


@dataclass(frozen=True)
class ComplaintCounts:
    """An agency's complaints in a period."""

    received: int
    resolved: int
    overdue: int
    upheld: int
    partially_upheld: int


def complaint_counts(complaints: Sequence[ComplaintFact], agency_id: str, start: datetime,
                     end: datetime) -> ComplaintCounts:
    """Among the complaints received while the agency held the case: those received, resolved,
    that first missed a deadline, and resolved upheld / partially upheld in [start, end)."""
    own = {(c.case_id, c.complaint_id): c for c in complaints
           if c.agency_id == agency_id}.values()

    def within(at: datetime | None) -> bool:
        return at is not None and start <= at < end

    resolved = [c for c in own if within(c.resolved_at)]
    return ComplaintCounts(
        received=sum(1 for c in own if within(c.received_at)),
        resolved=len(resolved),
        overdue=sum(1 for c in own if within(c.first_missed_at)),
        upheld=sum(1 for c in resolved if c.outcome == "upheld"),
        partially_upheld=sum(1 for c in resolved if c.outcome == "partially_upheld"))
