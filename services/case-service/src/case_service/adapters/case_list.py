"""The case list (`case_summaries`): a row per case, and the projection that rebuilds it, so
`casetrail projections rebuild case-summaries [--verify] [--swap]` can prove it is what the
log implies.

The case service writes a case's row in the transaction that stores its events
(eventstore/recorders.py), so the list is never consumed from a transport. It is rebuilt from
the event store instead, case by case: each case replayed from its stored events by the
aggregate's own handlers, then summarized as the live write path summarizes it (`summarize`).
The replay is the application's (application/replay.py); the projection is given it when the
service builds it (`bootstrap.case_summaries_projection`). The table is the one the migrations
make (tables.py), so the live copy and the shadow compare row for row.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from casetrail.envelope import EventEnvelope
from casetrail.projections.base import Projection, StoreRows
from sqlalchemy.engine import Connection

from case_service.adapters.tables import case_list_metadata, case_summaries
from case_service.domain.case import Case, day_end
from case_service.domain.values import CaseStatus


@dataclass(frozen=True)
class CaseSummary:
    """One row of the case list: what filters and pages need, no PII."""

    case_id: str
    creditor_id: str
    account_ref: str
    placement_ref: str
    agency_id: str
    assigned_agency_id: str | None
    status: str
    bucket: str
    dpd: int
    currency: str
    placed_amount: str
    outstanding: str
    version: int
    placed_at: str
    term_end: str
    updated_at: str
    delinquent_since: str | None = None  # the creditor's day DPD counts from (ISO date)
    next_deadline_at: str | None = None  # UTC ISO instant; None: nothing pending


SUMMARY_COLUMNS = [
    "case_id", "creditor_id", "account_ref", "placement_ref", "agency_id", "assigned_agency_id",
    "status", "bucket", "dpd", "currency", "placed_amount", "outstanding", "version",
    "placed_at", "term_end", "updated_at", "delinquent_since", "next_deadline_at",
]
ROW_COLUMNS = (*SUMMARY_COLUMNS, "placed_position")
summary_values = operator.attrgetter(*SUMMARY_COLUMNS)  # a summary's values in column order


def summary_row(summary: CaseSummary, placed_position: int) -> dict[str, Any]:
    """The table row of a summary, with the position of the case's opening event."""
    return dict(zip(ROW_COLUMNS, (*summary_values(summary), placed_position), strict=True))


def summarize(case: Case) -> CaseSummary:
    """The list row of a case."""
    return CaseSummary(
        case_id=str(case.id), creditor_id=case.creditor_id, account_ref=case.account_ref,
        placement_ref=case.placement_ref, agency_id=case.agency_id,
        assigned_agency_id=case.assigned_agency_id, status=case.status.value,
        bucket=case.bucket, dpd=case.dpd, currency=case.currency,
        placed_amount=str(case.placed_amount), outstanding=str(case.outstanding),
        version=case.version, placed_at=case.placed_at.isoformat(),
        term_end=case.term_end.isoformat(), updated_at=case.modified_on.isoformat(),
        delinquent_since=case.delinquent_since.isoformat(),
        next_deadline_at=_utc_text(case.next_deadline_at),
    )


def summarize_opening(case_id: str, facts: dict[str, Any], opened_at: datetime) -> CaseSummary:
    """The list row of a case just opened with these Placed facts: what `summarize` gives for
    `Case(**facts)` (tested), without building the aggregate."""
    placed_amount = str(sum(facts["balances"].values(), _ZERO))
    return CaseSummary(
        case_id, facts["creditor_id"], facts["account_ref"], facts["placement_ref"],
        facts["agency_id"], facts["agency_id"], _PLACED, facts["bucket"], facts["dpd"],
        facts["currency"], placed_amount, placed_amount, 1, _iso(facts["placed_at"]),
        _iso(facts["term_end"]), _iso(opened_at), _iso(facts["delinquent_since"]),
        _term_deadline(facts["term_end"], facts["creditor_timezone"]))


_ZERO = Decimal(0)
_PLACED = CaseStatus.PLACED.value


def _utc_text(at: datetime | None) -> str | None:
    """An instant as UTC ISO text (sortable), or None."""
    return None if at is None else at.astimezone(UTC).isoformat()


@lru_cache(maxsize=4096)
def _term_deadline(term_end: date, zone: str) -> str:
    """When a new case's only deadline, the end of its term, falls due (a batch shares a
    handful of terms)."""
    return day_end(term_end, zone).isoformat()


@lru_cache(maxsize=4096)
def _iso(moment: date) -> str:
    """ISO text of a date or time; a batch shares a handful of them."""
    return moment.isoformat()


# The case list as the log implies it, as of a position, in parts by case id: per page,
# (events read, [(summary, position of the case's opening event)]). Given the service's
# application (what the rebuild opened), `through` and `part` = (i, n).
SummariesFromLog = Callable[..., Iterator[tuple[int, list[tuple[CaseSummary, int]]]]]


class CaseSummaries(Projection):
    """The case list, derived case by case from the event store."""

    name = "case-summaries"
    metadata = case_list_metadata
    database_env = "CASE_DATABASE_URL"  # (or DATABASE_URL) the case service's database
    default_database_url = "sqlite:///var/case.db"
    replay_indexes = frozenset()  # nothing reads the shadow while it loads
    rebuilt_from_store = True

    def __init__(self, summaries_from_log: SummariesFromLog | None = None,
                 url: str | None = None):
        self.summaries_from_log = summaries_from_log
        self.url = url

    def handle(self, conn: Connection, event: EventEnvelope) -> None:
        """Never called: a summary is the state of the whole case, which one event does not
        give. The case service writes summaries with the events; rebuilds replay each case."""
        raise TypeError("case-summaries is written by the case service with its events and "
                        "rebuilt from the event store (`casetrail projections rebuild "
                        "case-summaries`), not consumed")

    def rows_from_store(self, application: Any, *, through: int, part: tuple[int, int]
                        ) -> Iterator[StoreRows]:
        """The case list the log implies as of position `through`, in parts by case id: per
        page, (events read, {table: rows})."""
        if self.summaries_from_log is None:
            raise TypeError("this case-summaries projection was built without the replay "
                            "(use case_service.bootstrap.case_summaries_projection)")
        for read, summaries in self.summaries_from_log(application, through=through,
                                                       part=part):
            yield read, {case_summaries: [summary_row(s, opened) for s, opened in summaries]}
