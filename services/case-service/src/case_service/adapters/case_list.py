"""The case list (`case_summaries`) as a projection, so `casetrail projections rebuild
case-summaries [--verify] [--swap]` can prove it is what the log implies.

The case service writes a case's summary in the transaction that stores its events (see
recorders.py), so the list is never consumed from a transport. It is rebuilt from the event
store instead, case by case: each case replayed from its stored events by the aggregate's own
handlers (`CaseApplication.summaries_from_log`), then summarized as the live write path does.
The table is the one `CaseStore.create_schema` makes (`case_store.case_summaries`: its DDL
is compiled from that definition), so the live copy and the shadow compare row for row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from casetrail.envelope import EventEnvelope
from casetrail.projections.base import Projection, StoreRows
from sqlalchemy.engine import Connection

from case_service.adapters.case_store import SUMMARY_COLUMNS, case_summaries, summary_values

if TYPE_CHECKING:
    from case_service.application import CaseApplication

metadata = case_summaries.metadata
ROW_COLUMNS = (*SUMMARY_COLUMNS, "placed_position")


class CaseSummaries(Projection):
    """The case list, derived case by case from the event store."""

    name = "case-summaries"
    metadata = metadata
    database_env = "CASE_DATABASE_URL"  # (or DATABASE_URL) the case service's database
    default_database_url = "sqlite:///var/case.db"
    replay_indexes = frozenset()  # nothing reads the shadow while it loads
    rebuilt_from_store = True

    def database_url(self) -> str:
        """The case service's database, as the service itself reads its settings."""
        from case_service.config import CaseSettings

        return CaseSettings().database_url

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
        app: CaseApplication = application
        for read, summaries in app.summaries_from_log(through=through, part=part):
            yield read, {case_summaries: [dict(zip(ROW_COLUMNS, (*summary_values(s), opened),
                                                   strict=True))
                                          for s, opened in summaries]}
