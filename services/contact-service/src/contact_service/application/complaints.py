"""Complaints about cases: the list, scoped to the caller (an agency sees the complaints
received while it held the case, a creditor those about its cases, auditors and admins all).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casetrail.security import Principal

from contact_service.adapters.complaints import ComplaintQueries


class Complaints:
    """Reads of the complaints the case log recorded."""

    def __init__(self, queries: ComplaintQueries):
        self.queries = queries

    def complaint_list(self, caller: Principal, *, filters: dict[str, str | None],
                       status: str | None, overdue: bool | None, since: datetime | None,
                       until: datetime | None, after: int, limit: int) -> dict[str, Any]:
        """A page of complaints in the order they were received in the log, each with its
        status, whether it is overdue and the deadlines it missed, and the cursor of the next
        page (`next_after`, None at the end)."""
        rows, next_after = self.queries.list_complaints(
            tenant=caller.tenant_scope(), filters=filters, status=status, overdue=overdue,
            since=since, until=until, after=after, limit=limit)
        for row in rows:
            row["status"] = "resolved" if row["resolved_at"] else "open"
            row["missed_steps"] = [s for s in row["missed_steps"].split(",") if s]
            row["overdue"] = row["first_missed_at"] is not None
        return {"complaints": rows, "next_after": next_after}
