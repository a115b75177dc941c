"""Read queries over the contact service's tables, always scoped to the caller's tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from contact_service.adapters.contact_log import contact_cases, contacts

CONTACT_FILTERS = ("case_id", "debtor_id", "agency_id", "agent_id", "channel", "action_code",
                   "party", "outcome", "contact_point")


class ContactQueries:
    """The contact log as the API lists it."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def list_contacts(self, *, tenant: dict[str, str], filters: dict[str, str | None],
                      since: datetime | None, until: datetime | None, after: int, limit: int
                      ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of contacts in log order, and the cursor of the next page (None at the end)."""
        t = contacts
        where = [t.c.position > after]
        where += [t.c[column] == value for column, value in tenant.items()]
        where += [t.c[column] == value for column, value in filters.items()
                  if value is not None]
        if since is not None:
            where.append(t.c.occurred_at >= since.isoformat())
        if until is not None:
            where.append(t.c.occurred_at < until.isoformat())
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(*where).order_by(t.c.position)
                                .limit(limit + 1)).mappings().all()
        page = [dict(r) for r in rows[:limit]]
        return page, (page[-1]["position"] if len(rows) > limit else None)

    def case(self, case_id: str) -> dict[str, Any] | None:
        """The contact facts of one case."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(contact_cases).where(
                contact_cases.c.case_id == case_id)).mappings().first()
        return dict(row) if row else None
