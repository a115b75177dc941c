"""Per-collector figures (issue 21 item 6: QA results tied to collector pay, collector KPIs).

A *collector* is whoever the case's events name for the work: `Contacted.agent_id` for a
contact (calls, visits recorded as contacts, letters...), `VisitPerformed.visitor_id` for a
field visit the case approved. Work no event names a collector for (a contact without
`agent_id`, a repaid case) is grouped under the collector `None` (`null` in JSON).

QA scores. Each QA review scores one sampled item; the review keeps the collector of that
item as it stood when the review was recorded (`qa_reviews.collector_id`), so a later change
elsewhere never moves a past score. A month's scores per collector are computed from the
reviews of the samples drawn for that month (a month of the agency's work):

- `reviews`: the number of reviews (an item reviewed twice counts twice);
- `average_score`: the mean of their scores, a Decimal rounded half-up to 2 places;
- `min_score`: the lowest score;
- `serious_findings`: the reviews with a serious finding;
- `review_ids`: the reviews counted, sorted.

The agency's total applies the same definitions to every review of the month.

Collector KPIs over [start, end): per collector, the contacts made (every `Contacted`
naming it, any channel, direction or outcome), the right-party contacts among them (party
`debtor`, the definition of the agency contact KPIs, `domain/kpis.py`), the field visits
performed (`VisitPerformed` in the period, by `visitor_id`), and the contacts and right-party
contacts per action code. Promises are not attributed to collectors: `PromisedToPay` names no
agent, and the contact service does not re-derive a fact the case did not record.

Pure domain: no I/O.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

SCORE_PLACES = Decimal("0.01")
SCORES_CSV_HEADER = ("collector_id", "reviews", "average_score", "min_score",
                     "serious_findings", "review_ids")


@dataclass(frozen=True)
class ReviewFact:
    """One QA review, with the collector of the item it scored."""

    review_id: str
    collector_id: str | None
    score: int
    serious: bool


@dataclass(frozen=True)
class CollectorScore:
    """A collector's (or the agency's) QA reviews of a month."""

    collector_id: str | None
    reviews: int
    average_score: Decimal | None  # None: no reviews
    min_score: int | None
    serious_findings: int
    review_ids: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON form: the average as a Decimal string."""
        return {"collector_id": self.collector_id, "reviews": self.reviews,
                "average_score": None if self.average_score is None
                else str(self.average_score),
                "min_score": self.min_score, "serious_findings": self.serious_findings,
                "review_ids": list(self.review_ids)}


def average(scores: Iterable[int]) -> Decimal | None:
    """The mean of whole-number scores, rounded half-up to 2 places; None of none."""
    values = list(scores)
    if not values:
        return None
    mean = Decimal(sum(values)) / Decimal(len(values))
    return mean.quantize(SCORE_PLACES, rounding=ROUND_HALF_UP)


def score(collector_id: str | None, reviews: Iterable[ReviewFact]) -> CollectorScore:
    """The figures of a set of reviews."""
    chosen = list(reviews)
    scores = [r.score for r in chosen]
    return CollectorScore(
        collector_id=collector_id, reviews=len(chosen), average_score=average(scores),
        min_score=min(scores) if scores else None,
        serious_findings=sum(1 for r in chosen if r.serious),
        review_ids=tuple(sorted(r.review_id for r in chosen)))


def _collector_order(collector_id: str | None) -> tuple[bool, str]:
    return collector_id is None, collector_id or ""  # named collectors first, by id


def collector_scores(reviews: Iterable[ReviewFact]
                     ) -> tuple[list[CollectorScore], CollectorScore]:
    """Per collector (sorted by id, `None` last) and in total."""
    every = list(reviews)
    grouped: dict[str | None, list[ReviewFact]] = {}
    for r in every:
        grouped.setdefault(r.collector_id, []).append(r)
    per = [score(c, grouped[c]) for c in sorted(grouped, key=_collector_order)]
    return per, score(None, every)


def scores_csv(answer: dict[str, Any]) -> str:
    """The collector scores as CSV (no BOM: the caller adds it): one row per collector, then
    the total (collector_id `total`); review ids separated by spaces."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SCORES_CSV_HEADER)
    for row in [*answer["collectors"], {**answer["total"], "collector_id": "total"}]:
        writer.writerow([row["collector_id"] or "", row["reviews"],
                         row["average_score"] or "", "" if row["min_score"] is None
                         else row["min_score"], row["serious_findings"],
                         " ".join(row["review_ids"])])
    return out.getvalue()


# ---------------------------------------------------------------------- collector KPIs

@dataclass(frozen=True)
class CollectorContact:
    """One contact of the period, as much as the collector KPIs need."""

    event_id: str
    agent_id: str | None
    party: str
    action_code: str


@dataclass(frozen=True)
class CollectorVisit:
    """One field visit performed in the period."""

    visit_id: str
    visitor_id: str | None


RIGHT_PARTY = "debtor"  # a right-party contact: party `debtor` (domain/kpis.py)


@dataclass
class _Counts:
    contacts: int = 0
    right_party_contacts: int = 0
    visits_performed: int = 0


def collector_kpis(contacts: Iterable[CollectorContact], visits: Iterable[CollectorVisit]
                   ) -> dict[str, Any]:
    """Per collector (sorted by id, `None` last) and in total: contacts, right-party
    contacts, visits performed, and contacts per action code (sorted)."""
    per: dict[str | None, _Counts] = {}
    codes: dict[str | None, dict[str, _Counts]] = {}
    total = _Counts()
    total_codes: dict[str, _Counts] = {}
    for c in {c.event_id: c for c in contacts}.values():
        right = c.party == RIGHT_PARTY
        for counts in (per.setdefault(c.agent_id, _Counts()),
                       codes.setdefault(c.agent_id, {}).setdefault(c.action_code, _Counts()),
                       total, total_codes.setdefault(c.action_code, _Counts())):
            counts.contacts += 1
            counts.right_party_contacts += right
    for v in {v.visit_id: v for v in visits}.values():
        per.setdefault(v.visitor_id, _Counts()).visits_performed += 1
        total.visits_performed += 1

    def figures(counts: _Counts, by_code: dict[str, _Counts]) -> dict[str, Any]:
        return {"contacts": counts.contacts,
                "right_party_contacts": counts.right_party_contacts,
                "visits_performed": counts.visits_performed,
                "action_codes": [{"action_code": code, "contacts": by_code[code].contacts,
                                  "right_party_contacts": by_code[code].right_party_contacts}
                                 for code in sorted(by_code)]}

    return {"collectors": [{"collector_id": c, **figures(per[c], codes.get(c, {}))}
                           for c in sorted(per, key=_collector_order)],
            "total": figures(total, total_codes)}
