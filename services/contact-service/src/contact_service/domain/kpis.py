"""An agency's contact KPIs over a period, each with its numerator and denominator.

Every KPI is computed from facts already confined to one agency (and, for a creditor, to its
own cases); this module applies the period and the definitions. The cases assigned and the
promise-kept rate are the shared definitions of `casetrail.figures` (docs/figures.md), which
billing's performance reports use too:

- the period is half-open, [start, end), in UTC;
- *cases assigned* are the cases the agency held at some instant of the period (any of its
  assignments overlapping it: a case reassigned away during the period still counts);
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
from decimal import Decimal

from casetrail import figures
from casetrail.figures import InvalidWindow, PromiseOutcome, Stint, Window

DEFINITIONS: dict[str, str] = {
    "contact_rate": "cases assigned to the agency in the period (held at some instant of it) "
                    "with at least one contact by the agency in the period / cases assigned",
    "right_party_contact_rate": "cases assigned to the agency in the period with at least one "
                                "contact with the debtor (party debtor) in the period / cases "
                                "assigned",
    "promise_rate": "promises to pay made in the period / right-party contacts (party debtor) "
                    "in the period, over all the agency's cases",
    "promise_kept_rate": "promises kept / promises kept or broken, among the agency's promises "
                         "whose outcome, as it stands now, was recorded in the period (a "
                         "promise reopened by a reversal counts in neither)",
    "violations_per_1000_contacts": "rule violations (one per rule a contact broke) by contacts "
                                    "in the period x 1000 / contacts in the period",
}

InvalidPeriod = InvalidWindow  # a period that is not an aware, non-empty [start, end)
Period = Window  # a half-open interval [start, end) of aware instants
CaseAssignment = Stint  # a stretch of time the agency held a case
PromiseFact = PromiseOutcome  # a promise the agency took, and how it stands


@dataclass(frozen=True)
class ContactFact:
    """One contact attempt by the agency."""

    event_id: str
    case_id: str
    party: str
    occurred_at: datetime


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
    """numerator x per / denominator, rounded half-up to 4 places; None over a 0 denominator
    (`casetrail.figures.ratio`)."""
    return Ratio(numerator, denominator, figures.ratio(numerator, denominator, per).value)


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


def contact_kpis(agency_id: str, period: Period, assignments: Iterable[CaseAssignment],
                 contacts: Iterable[ContactFact], promises: Iterable[PromiseFact],
                 violations: Iterable[ViolationFact]) -> ContactKpis:
    """The KPIs of one agency for a period, from its facts (facts outside the period, and
    other agencies' stints and promises, are ignored)."""
    assigned = figures.cases_assigned(assignments, agency_id, period)
    in_period = {c.event_id: c for c in contacts if period.contains(c.occurred_at)}.values()
    contacted = {c.case_id for c in in_period} & assigned
    reached = {c.case_id for c in in_period if c.party == "debtor"} & assigned
    right_party_contacts = sum(1 for c in in_period if c.party == "debtor")

    distinct_promises = {(p.case_id, p.promise_id): p for p in promises
                         if p.agency_id == agency_id}.values()
    made = sum(1 for p in distinct_promises if period.contains(p.promised_at))
    settled = figures.promises_settled(distinct_promises, agency_id, period)

    broken_rules = {(v.event_id, v.rule_id) for v in violations if period.contains(v.occurred_at)}

    return ContactKpis(
        contact_rate=ratio(len(contacted), len(assigned)),
        right_party_contact_rate=ratio(len(reached), len(assigned)),
        promise_rate=ratio(made, right_party_contacts),
        promise_kept_rate=ratio(settled.kept, settled.kept + settled.broken),
        violations_per_1000_contacts=ratio(len(broken_rules), len(in_period), per=1000),
    )

