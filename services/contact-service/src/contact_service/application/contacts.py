"""The contact log: every contact attempt, filtered and paged, scoped to the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casetrail.security import Principal

from contact_service.adapters.queries import ContactQueries


class Contacts:
    """Reads of the contact log."""

    def __init__(self, queries: ContactQueries):
        self.queries = queries

    def contact_log(self, caller: Principal, *, filters: dict[str, str | None],
                    since: datetime | None, until: datetime | None, after: int, limit: int
                    ) -> dict[str, Any]:
        """A page of contacts in the order they were recorded (`filters`: column -> value,
        None for any; occurred in [since, until)), each with its flags as a list, and the
        cursor of the next page (`next_after`, None at the end). Creditors see their own
        cases, agencies their own contacts, auditors and admins everything."""
        rows, next_after = self.queries.list_contacts(
            tenant=caller.tenant_scope(), filters=filters, since=since, until=until,
            after=after, limit=limit)
        for row in rows:
            row["flags"] = [f for f in row["flags"].split(",") if f]
        return {"contacts": rows, "next_after": next_after}
