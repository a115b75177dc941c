"""Read queries over the contact service's tables, always scoped to the caller's tenant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from contact_service.adapters.contact_log import contact_cases, contacts, violations

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
        return self._page(contacts, tenant, filters, since, until, after, limit)

    def list_violations(self, *, tenant: dict[str, str], filters: dict[str, str | None],
                        since: datetime | None, until: datetime | None, after: int, limit: int
                        ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of violations in log order, and the cursor of the next page."""
        return self._page(violations, tenant, filters, since, until, after, limit)

    def _page(self, t: sa.Table, tenant: dict[str, str], filters: dict[str, str | None],
              since: datetime | None, until: datetime | None, after: int, limit: int
              ) -> tuple[list[dict[str, Any]], int | None]:
        where = [t.c.position > after]
        where += [t.c[column] == value for column, value in tenant.items()]
        where += [t.c[column] == value for column, value in filters.items()
                  if value is not None]
        if since is not None:
            where.append(t.c.occurred_at >= since.astimezone(UTC).isoformat())
        if until is not None:
            where.append(t.c.occurred_at < until.astimezone(UTC).isoformat())
        order = [t.c.position, *(c for c in t.primary_key.columns if c.name != "position")]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(*where).order_by(*order)
                                .limit(limit + 1)).mappings().all()
            page = [dict(r) for r in rows[:limit]]
            if len(rows) <= limit:
                return page, None
            # A page ends on a whole position: one contact can break several rules.
            boundary = rows[limit]["position"]
            if page[-1]["position"] == boundary:
                complete = [r for r in page if r["position"] != boundary]
                if complete:
                    page = complete
                else:  # one position fills the page: return all of it
                    page = [dict(r) for r in conn.execute(sa.select(t).where(
                        *where, t.c.position == boundary).order_by(*order)).mappings()]
        return page, page[-1]["position"]

    def case(self, case_id: str) -> dict[str, Any] | None:
        """The contact facts of one case."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(contact_cases).where(
                contact_cases.c.case_id == case_id)).mappings().first()
        return dict(row) if row else None

    def creditor_works_with_agency(self, creditor_id: str, agency_id: str) -> bool:
        """Whether the agency holds, or has contacted on, any of the creditor's cases."""
        with self.engine.connect() as conn:
            holds = conn.execute(sa.select(contact_cases.c.case_id).where(
                contact_cases.c.creditor_id == creditor_id,
                contact_cases.c.agency_id == agency_id).limit(1)).first()
            if holds is not None:
                return True
            worked = conn.execute(sa.select(contacts.c.event_id).where(
                contacts.c.creditor_id == creditor_id,
                contacts.c.agency_id == agency_id).limit(1)).first()
        return worked is not None

    def ping(self) -> None:
        """Raise when the database does not answer (readiness)."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
