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

Complaints count for the agency that held the case when the complaint was received
(`ComplaintReceived.agency_id`, the case's fact); the complaint rate is per 1,000 cases
assigned (the same cases assigned as every other KPI). Contacts are also broken down by
action code; a promise counts for a code when it was made on the same case at the very
instant of a contact with that code (the promise taken on that contact).

Pure domain: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from casetrail import figures
from casetrail.figures import InvalidWindow, PromiseOutcome, Stint, Window

from contact_service.domain.complaints import ComplaintCounts, ComplaintFact, complaint_counts

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
    "complaints_per_1000_cases": "complaints received in the period on cases the agency held "
                                 "when each was received x 1000 / cases assigned to the agency "
                                 "in the period",
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
    action_code: str = ""


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
    complaints_per_1000_cases: Ratio
    complaints: ComplaintCounts
    action_codes: list[ActionCodeCounts]

    def as_dict(self) -> dict[str, Ratio]:
        """KPI name -> ratio, in the order of `DEFINITIONS`."""
        return {name: getattr(self, name) for name in DEFINITIONS}


@dataclass(frozen=True)
class ActionCodeCounts:
    """The agency's contacts in the period with one action code."""

    action_code: str
    contacts: int
    right_party_contacts: int
    promises: int


def action_code_counts(contacts: Iterable[ContactFact], promises: Iterable[PromiseFact]
                       ) -> list[ActionCodeCounts]:
    """Contacts, right-party contacts and promises taken on them, per action code, sorted by
    code (the contacts and promises given: already the agency's, in the period)."""
    promised_at: dict[tuple[str, datetime], int] = {}
    for p in promises:
        key = (p.case_id, p.promised_at)
        promised_at[key] = promised_at.get(key, 0) + 1
    counted: dict[str, list[int]] = {}
    seen: set[tuple[str, str, datetime]] = set()
    for c in contacts:
        counts = counted.setdefault(c.action_code, [0, 0, 0])
        counts[0] += 1
        counts[1] += c.party == "debtor"
        if (c.action_code, c.case_id, c.occurred_at) not in seen:  # a promise counts once
            seen.add((c.action_code, c.case_id, c.occurred_at))
            counts[2] += promised_at.get((c.case_id, c.occurred_at), 0)
    return [ActionCodeCounts(code, *counted[code]) for code in sorted(counted)]


def contact_kpis(agency_id: str, period: Period, assignments: Iterable[CaseAssignment],
                 contacts: Iterable[ContactFact], promises: Iterable[PromiseFact],
                 violations: Iterable[ViolationFact],
                 complaints: Sequence[ComplaintFact] = ()) -> ContactKpis:
    """The KPIs of one agency for a period, from its facts (facts outside the period, and
    other agencies' stints, promises and complaints, are ignored)."""
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
    counts = complaint_counts(complaints, agency_id, period.start, period.end)

    return ContactKpis(
        contact_rate=ratio(len(contacted), len(assigned)),
        right_party_contact_rate=ratio(len(reached), len(assigned)),
        promise_rate=ratio(made, right_party_contacts),
        promise_kept_rate=ratio(settled.kept, settled.kept + settled.broken),
        violations_per_1000_contacts=ratio(len(broken_rules), len(in_period), per=1000),
        complaints_per_1000_cases=ratio(counts.received, len(assigned), per=1000),
        complaints=counts,
        action_codes=action_code_counts(
            in_period, [p for p in distinct_promises if period.contains(p.promised_at)]),
    )

