"""What the reports to the creditor read from the contact log beyond the KPI facts
(`qa_store.load_kpi_facts`) and the service-level records (`service_levels.ServiceLevelReader`):
contacts per outcome and channel, cases worked, complaints open at an instant, payments
received (with their amounts per currency), the phone contacts of cases (three calls
failed), and the projection's position.

Every query is confined to one agency and, when given, one creditor's cases.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from casetrail.figures import BEFORE_PLACEMENT
from casetrail.projections.store import positions_table
from sqlalchemy.engine import Engine

from contact_service.adapters.contact_log import (
    ContactLog,
    complaints,
    contact_cases,
    contacts,
    payments,
)
from contact_service.adapters.qa_store import KpiFacts, load_kpi_facts
from contact_service.adapters.service_levels import parse_instant
from contact_service.domain.reports import (
    ContactCounts,
    Payment,
    PaymentTotals,
    PhoneContact,
    payment_totals,
)


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


class ReportReader:
    """Reads for the agency reports and the three-calls-failed reports."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def generated_from(self) -> list[dict[str, int | str]]:
        """The contact log's applied positions (source, partition, position, log position):
        what a report was computed from."""
        t = positions_table
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.source, t.c.partition, t.c.position,
                                          t.c.log_position)
                                .where(t.c.projection == ContactLog.name)
                                .order_by(t.c.source, t.c.partition)).all()
        return [{"source": r.source, "partition": int(r.partition), "position": int(r.position),
                 "log_position": int(r.log_position)} for r in rows]

    def kpi_facts(self, agency_id: str, start: datetime, end: datetime,
                  creditor_id: str | None) -> KpiFacts:
        """The facts the contact KPIs are computed from (the same query as the KPIs)."""
        return load_kpi_facts(self.engine, agency_id, start, end, creditor_id)

    def contact_counts(self, agency_id: str, start: datetime, end: datetime,
                       creditor_id: str | None) -> ContactCounts:
        """The agency's contacts that occurred in [start, end): total, distinct cases, per
        outcome and per channel."""
        where = [contacts.c.agency_id == agency_id, contacts.c.occurred_at >= _utc(start),
                 contacts.c.occurred_at < _utc(end)]
        if creditor_id is not None:
            where.append(contacts.c.creditor_id == creditor_id)
        count = sa.func.count()
        with self.engine.connect() as conn:
            total, cases = conn.execute(sa.select(
                count, sa.func.count(sa.distinct(contacts.c.case_id))).where(*where)).one()
            outcomes = {r[0]: int(r[1]) for r in conn.execute(
                sa.select(contacts.c.outcome, count).where(*where)
                .group_by(contacts.c.outcome).order_by(contacts.c.outcome))}
            channels = {r[0]: int(r[1]) for r in conn.execute(
                sa.select(contacts.c.channel, count).where(*where)
                .group_by(contacts.c.channel).order_by(contacts.c.channel))}
        return ContactCounts(int(total), int(cases), outcomes, channels)

    def complaints_open(self, agency_id: str, at: datetime, creditor_id: str | None) -> int:
        """Complaints received while the agency held the case, open at `at` (received
        before it, not resolved before it)."""
        t = complaints
        where = [t.c.agency_id == agency_id, t.c.received_at < _utc(at),
                 sa.or_(t.c.resolved_at.is_(None), t.c.resolved_at >= _utc(at))]
        if creditor_id is not None:
            where.append(t.c.creditor_id == creditor_id)
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).where(*where)).scalar_one())

    def payments_received(self, agency_id: str, start: datetime, end: datetime,
                          creditor_id: str | None) -> PaymentTotals:
        """Payments credited to the agency received in [start, end): their count, and their
        amounts received, reversed and collected per currency (`domain.reports.payment_totals`)."""
        t = payments
        query = sa.select(t.c.amount, t.c.reversed, t.c.currency, t.c.flags).where(
            t.c.agency_id == agency_id, t.c.received_at >= _utc(start),
            t.c.received_at < _utc(end))
        if creditor_id is not None:
            query = query.join_from(t, contact_cases, contact_cases.c.case_id == t.c.case_id
                                    ).where(contact_cases.c.creditor_id == creditor_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return payment_totals(
            Payment(amount=Decimal(r.amount), reversed=Decimal(r.reversed),
                    currency=r.currency,
                    before_placement=BEFORE_PLACEMENT in (r.flags or "").split(","))
            for r in rows)

    def case(self, case_id: str) -> dict[str, Any] | None:
        """The contact_cases row of a case."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(contact_cases).where(
                contact_cases.c.case_id == case_id)).mappings().first()
        return dict(row) if row else None

    def agency_cases(self, agency_id: str, creditor_id: str | None) -> list[dict[str, Any]]:
        """The contact_cases rows of the cases the agency holds (of one creditor if given),
        in case-id order."""
        t = contact_cases
        where = [t.c.agency_id == agency_id]
        if creditor_id is not None:
            where.append(t.c.creditor_id == creditor_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(
                sa.select(t).where(*where).order_by(t.c.case_id)).mappings()]

    def phone_contacts(self, case_ids: list[str]) -> dict[str, list[PhoneContact]]:
        """The phone contacts of cases, by case id, in log order."""
        found: dict[str, list[PhoneContact]] = defaultdict(list)
        t = contacts
        with self.engine.connect() as conn:
            for first in range(0, len(case_ids), 1000):
                for r in conn.execute(sa.select(
                        t.c.case_id, t.c.occurred_at, t.c.position, t.c.channel, t.c.direction,
                        t.c.party, t.c.outcome, t.c.action_code, t.c.contact_id, t.c.agent_id)
                        .where(t.c.case_id.in_(case_ids[first:first + 1000]),
                               t.c.channel == "phone")
                        .order_by(t.c.position, t.c.event_id)).mappings():
                    found[r["case_id"]].append(PhoneContact(
                        occurred_at=parse_instant(r["occurred_at"]), position=int(r["position"]),
                        channel=r["channel"], direction=r["direction"], party=r["party"],
                        outcome=r["outcome"], action_code=r["action_code"],
                        contact_id=r["contact_id"], agent_id=r["agent_id"]))
        return found
