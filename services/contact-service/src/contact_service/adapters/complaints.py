"""Complaints as the contact log holds them (`contact_log.complaints`): the facts contact
permission and the KPIs read, and the complaint list the API pages through."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from contact_service.adapters.contact_log import complaints
from contact_service.adapters.service_levels import parse_instant
from contact_service.domain.complaints import ComplaintFact


def complaint_fact(row: Any) -> ComplaintFact:
    """A `complaints` row as the domain reads it."""
    return ComplaintFact(
        case_id=row["case_id"], complaint_id=row["complaint_id"], agency_id=row["agency_id"],
        received_at=parse_instant(row["received_at"]), contact_hold=bool(row["contact_hold"]),
        resolved_at=parse_instant(row["resolved_at"]) if row["resolved_at"] else None,
        outcome=row["outcome"],
        first_missed_at=(parse_instant(row["first_missed_at"])
                         if row["first_missed_at"] else None))


def case_complaints(conn: Connection, case_id: str) -> list[ComplaintFact]:
    """Every complaint about one case."""
    return [complaint_fact(r) for r in conn.execute(
        sa.select(complaints).where(complaints.c.case_id == case_id)).mappings()]


class ComplaintQueries:
    """The complaint list, scoped to the caller's tenant."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def list_complaints(self, *, tenant: dict[str, str], filters: dict[str, str | None],
                        status: str | None, overdue: bool | None, since: datetime | None,
                        until: datetime | None, after: int, limit: int
                        ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of complaints in the order they were received in the log (received in
        [since, until) when given; `status` open|resolved; `overdue` true: a deadline was
        missed, false: none was), and the cursor of the next page (None at the end)."""
        t = complaints
        where: list[Any] = [t.c.position > after]
        where += [t.c[column] == value for column, value in tenant.items()]
        where += [t.c[column] == value for column, value in filters.items()
                  if value is not None]
        if status == "open":
            where.append(t.c.resolved_at.is_(None))
        elif status == "resolved":
            where.append(t.c.resolved_at.is_not(None))
        if overdue is not None:
            where.append(t.c.first_missed_at.is_not(None) if overdue
                         else t.c.first_missed_at.is_(None))
        if since is not None:
            where.append(t.c.received_at >= since.astimezone(UTC).isoformat())
        if until is not None:
            where.append(t.c.received_at < until.astimezone(UTC).isoformat())
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(
                sa.select(t).where(*where).order_by(t.c.position, t.c.case_id,
                                                    t.c.complaint_id)
                .limit(limit + 1)).mappings()]
        page = rows[:limit]
        # One event receives one complaint: a position never spans two rows.
        return page, (page[-1]["position"] if len(rows) > limit else None)
