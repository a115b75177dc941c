"""The facts timeliness is measured on (`domain/timeliness.py`): an agency's contacts,
performed visits and received complaints in a period, each with when it occurred and when
it reached the case log (the envelope's recorded_at)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from contact_service.adapters.contact_log import complaints, contacts, visits
from contact_service.adapters.service_levels import parse_instant
from contact_service.domain.timeliness import Entry


class TimelinessReader:
    """An agency's entries with their lags, optionally confined to one creditor's cases."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def entries(self, agency_id: str, start: datetime, end: datetime,
                creditor_id: str | None = None) -> list[Entry]:
        """The agency's contacts (by agent), performed visits (by visitor) and received
        complaints that occurred in [start, end). Contacts applied before the log kept
        their entry time are left out."""
        since, until = start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat()
        c, v, k = contacts, visits, complaints
        made = sa.select(c.c.case_id, c.c.contact_id, c.c.agent_id, c.c.occurred_at,
                         c.c.recorded_at).where(
            c.c.agency_id == agency_id, c.c.occurred_at >= since, c.c.occurred_at < until,
            c.c.recorded_at.is_not(None))
        visited = sa.select(v.c.case_id, v.c.visit_id, v.c.visitor_id, v.c.performed_at,
                            v.c.performed_recorded_at).where(
            v.c.agency_id == agency_id, v.c.performed_at >= since, v.c.performed_at < until,
            v.c.performed_recorded_at.is_not(None))
        received = sa.select(k.c.case_id, k.c.complaint_id, k.c.received_at,
                             k.c.received_recorded_at).where(
            k.c.agency_id == agency_id, k.c.received_at >= since, k.c.received_at < until)
        if creditor_id is not None:
            made = made.where(c.c.creditor_id == creditor_id)
            visited = visited.where(v.c.creditor_id == creditor_id)
            received = received.where(k.c.creditor_id == creditor_id)
        with self.engine.connect() as conn:
            found = [Entry("contact", r[0], r[1], r[2], parse_instant(r[3]), parse_instant(r[4]))
                     for r in conn.execute(made)]
            found += [Entry("visit_performed", r[0], r[1], r[2], parse_instant(r[3]),
                            parse_instant(r[4])) for r in conn.execute(visited)]
            found += [Entry("complaint_received", r[0], r[1], None, parse_instant(r[2]),
                            parse_instant(r[3])) for r in conn.execute(received)]
        return found
