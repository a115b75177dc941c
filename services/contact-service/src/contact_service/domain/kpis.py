"""An agency's contact KPIs over a period, each with its numerator and denominator.

Every KPI is computed from facts already confined to one agency (and, for a creditor, to its
own cases); this module applies the period and the definitions:

- the period is half-open, [start, end), in UTC;
- *cases assigned* are the cases whose assignment to the agency (placement, or reassignment to
  it) happened in the period: the cohort the agency received then;
- a *contact* is any recorded contact attempt (`Contacted` event) by the agency, whatever its
  channel, direction or outcome; a *right-party contact* is one whose party is `debtor`.

Ratios are exact Decimals rounded half-up to 4 places, or None when the denominator is 0 (a
rate of nothing is unknown, not zero).

Pure domain: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

PLACES = Decimal("0.0001")

DEFINITIONS: dict[str, str] = {
    "contact_rate": "cases assigned in the period with at least one contact by the agency in "
                    "the period / cases assigned to the agency in the period",
    "right_party_contact_rate": "cases assigned in the period with at least one contact with "
                                "the debtor (party debtor) in the period / cases assigned to "
                                "the agency in the period",
    "promise_rate": "promises to pay made in the period / right-party contacts (party debtor) "
                    "in the period, over all the agency's cases",
    "promise_kept_rate": "promises kept / promises kept or broken, among promises settled "
                         "(kept or broken) in the period",
    "violations_per_1000_contacts": "rule violations (one per rule a contact broke) by contacts "
                                    "in the period x 1000 / contacts in the period",
}


class InvalidPeriod(ValueError):
    """A period that is not an aware, non-empty [start, end) interval."""


@dataclass(frozen=True)
class Period:
    """A half-open interval [start, end) of aware instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidPeriod("period bounds must be timezone-aware")
        if self.start >= self.end:
            raise InvalidPeriod("a period must start before it ends")

    def contains(self, at: datetime) -> bool:
        """Whether an instant falls in the period (start included, end excluded)."""
        return self.start <= at < self.end


@dataclass(frozen=True)
class CaseAssignment:
    """A case's current assignment to the agency and when it was made."""

    case_id: str
    assigned_at: datetime


@dataclass(frozen=True)
class ContactFact:
    """One contact attempt by the agency."""

    event_id: str
    case_id: str
    party: str
    occurred_at: datetime


@dataclass(frozen=True)
class PromiseFact:
    """One promise to pay taken by the agency, and how it was settled (if it was)."""

    case_id: str
    promise_id: str
    promised_at: datetime
    state: str  # open | kept | broken
    settled_at: datetime | None


@dataclass(frozen=True)
class ViolationFact:
    """One rule a contact by the agency broke."""

    event_id: str
    rule_id: str
    occurred_at: datetime


@dataclass(frozen=True)
class Ratio:
    """A KPI value with the counts it comes from."""

    numerator: int
    denominator: int
    value: Decimal | None


def ratio(numerator: int, denominator: int, per: int = 1) -> Ratio:
    """numerator x per / denominator, rounded half-up to 4 places; None over a 0 denominator."""
    if denominator == 0:
        return Ratio(numerator, denominator, None)
    value = (Decimal(numerator) * per / Decimal(denominator)).quantize(
        PLACES, rounding=ROUND_HALF_UP)
    return Ratio(numerator, denominator, value)


@dataclass(frozen=True)
class ContactKpis:
    """The agency's contact KPIs for a period (definitions in `DEFINITIONS`)."""

    contact_rate: Ratio
    right_party_contact_rate: Ratio
    promise_rate: Ratio
    promise_kept_rate: Ratio
    violations_per_1000_contacts: Ratio

    def as_dict(self) -> dict[str, Ratio]:
        """KPI name -> ratio, in the order of `DEFINITIONS`."""
        return {name: getattr(self, name) for name in DEFINITIONS}


def contact_kpis(period: Period, assignments: Iterable[CaseAssignment],
                 contacts: Iterable[ContactFact], promises: Iterable[PromiseFact],
                 violations: Iterable[ViolationFact]) -> ContactKpis:
    """The KPIs of one agency for a period, from its facts (facts outside the period are ignored).
    """
    assigned = {a.case_id for a in assignments if period.contains(a.assigned_at)}
    in_period = {c.event_id: c for c in contacts if period.contains(c.occurred_at)}.values()
    contacted = {c.case_id for c in in_period} & assigned
    reached = {c.case_id for c in in_period if c.party == "debtor"} & assigned
    right_party_contacts = sum(1 for c in in_period if c.party == "debtor")

    distinct_promises = {(p.case_id, p.promise_id): p for p in promises}.values()
    made = sum(1 for p in distinct_promises if period.contains(p.promised_at))
    settled = [p for p in distinct_promises if p.state in ("kept", "broken")
               and p.settled_at is not None and period.contains(p.settled_at)]
    kept = sum(1 for p in settled if p.state == "kept")

    broken_rules = {(v.event_id, v.rule_id) for v in violations if period.contains(v.occurred_at)}

    return ContactKpis(
        contact_rate=ratio(len(contacted), len(assigned)),
        right_party_contact_rate=ratio(len(reached), len(assigned)),
        promise_rate=ratio(made, right_party_contacts),
        promise_kept_rate=ratio(kept, len(settled)),
        violations_per_1000_contacts=ratio(len(broken_rules), len(in_period), per=1000),
    )
