"""Reads cases and their facts from the contact log, in batches, for service levels and worklists.

A batch of up to `BATCH_SIZE` cases costs six queries (cases, contacts, escalations,
visits, complaints, promises), whatever the number of cases: never one query per case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from contact_service.adapters.contact_log import (
    complaints,
    contact_cases,
    contacts,
    escalations,
    promises,
    visits,
)
from contact_service.domain.service_levels import (
    CaseFacts,
    ContactFact,
    EscalationFact,
    Hold,
    HoldKind,
    ReportedEvent,
    ServiceLevelStatus,
    VisitFact,
)
from contact_service.domain.worklist import CaseWork, PromiseFact

BATCH_SIZE = 500


def parse_instant(text: str) -> datetime:
    """A stored ISO-8601 timestamp as an aware UTC datetime (naive ones are taken as UTC)."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class CaseRecord:
    """One case with every fact its service levels and work items are computed from."""

    case_id: str
    creditor_id: str
    agency_id: str
    debtor_timezone: str
    assigned_at: datetime
    cease_contact_at: datetime | None
    dispute_open: bool
    recalled: bool
    closed: bool
    facts: CaseFacts
    promises: tuple[PromiseFact, ...]
    last_contact_at: datetime | None
    last_agent_id: str | None  # the agent of the latest contact since assignment that had one

    @property
    def holds(self) -> Sequence[Hold]:
        """The holds in force on the case."""
        return self.facts.holds

    def work(self, statuses: Sequence[ServiceLevelStatus]) -> CaseWork:
        """The case as the worklist needs it, with its service levels evaluated."""
        return CaseWork(case_id=self.case_id, debtor_timezone=self.debtor_timezone,
                        service_levels=tuple(statuses),
                        promises=self.promises, last_contact_at=self.last_contact_at,
                        cease_contact=self.cease_contact_at is not None,
                        dispute_open=self.dispute_open, recalled=self.recalled,
                        closed=self.closed)


def _holds(row: Mapping[str, Any]) -> tuple[Hold, ...]:
    holds = []
    if row["cease_contact_at"]:
        holds.append(Hold("cease_contact", parse_instant(row["cease_contact_at"])))
    flagged: tuple[tuple[HoldKind, str, str], ...] = (
        ("dispute", "dispute_open", "disputed_at"), ("recalled", "recalled", "recalled_at"),
        ("closed", "closed", "closed_at"))
    for kind, flag, since in flagged:
        if row[flag]:
            holds.append(Hold(kind, parse_instant(row[since]) if row.get(since) else None))
    return tuple(holds)


def _maybe(text: str | None) -> datetime | None:
    return parse_instant(text) if text else None


def visit_fact(row: Any) -> VisitFact:
    """A `visits` row as service levels read it."""
    return VisitFact(
        visit_id=row["visit_id"], urgent=bool(row["urgent"]),
        requested_at=parse_instant(row["requested_at"]),
        visit_by=parse_instant(row["visit_by"]), approved_at=_maybe(row["approved_at"]),
        rejected_at=_maybe(row["rejected_at"]), performed_at=_maybe(row["performed_at"]),
        late=None if row["late"] is None else bool(row["late"]),
        reported_at=_maybe(row["reported_at"]))


class ServiceLevelReader:
    """Cases of a tenant, with their contacts, escalations and promises, a batch at a time."""

    def __init__(self, engine: Engine, batch_size: int = BATCH_SIZE):
        self.engine, self.batch_size = engine, batch_size

    def page(self, *, tenant: dict[str, str], agency_id: str | None,
             assigned_from: datetime | None, assigned_to: datetime | None,
             assigned_by: datetime | None, after: str | None, limit: int
             ) -> tuple[list[CaseRecord], str | None]:
        """Up to `limit` cases in case-id order after the cursor `after`, and the next cursor
        (None at the end); optionally only those assigned in [assigned_from, assigned_to) and
        at or before `assigned_by`."""
        t = contact_cases
        where = self._scope(tenant, agency_id)
        if assigned_by is not None:
            where.append(t.c.assigned_at <= assigned_by.astimezone(UTC).isoformat())
        if assigned_from is not None:
            where.append(t.c.assigned_at >= assigned_from.astimezone(UTC).isoformat())
        if assigned_to is not None:
            where.append(t.c.assigned_at < assigned_to.astimezone(UTC).isoformat())
        if after is not None:
            where.append(t.c.case_id > after)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(
                sa.select(t).where(*where).order_by(t.c.case_id).limit(limit + 1)).mappings()]
            more = len(rows) > limit
            rows = rows[:limit]
            records: list[CaseRecord] = []
            for start in range(0, len(rows), self.batch_size):
                records += self._load(conn, rows[start:start + self.batch_size],
                                      with_promises=False)
        return records, (rows[-1]["case_id"] if more and rows else None)

    def workable(self, *, tenant: dict[str, str], agency_id: str,
                 assigned_by: datetime | None = None) -> Iterator[list[CaseRecord]]:
        """Every case of an agency that may be worked (no cease-contact, dispute, recall or
        closure), optionally only those assigned at or before `assigned_by`, a batch at a
        time, with promises."""
        t = contact_cases
        where = [*self._scope(tenant, agency_id), t.c.cease_contact_at.is_(None),
                 sa.not_(t.c.dispute_open), sa.not_(t.c.recalled), sa.not_(t.c.closed)]
        if assigned_by is not None:
            where.append(t.c.assigned_at <= assigned_by.astimezone(UTC).isoformat())
        after: str | None = None
        while True:
            with self.engine.connect() as conn:
                rows = [dict(r) for r in conn.execute(
                    sa.select(t).where(*where, *([t.c.case_id > after] if after else []))
                    .order_by(t.c.case_id).limit(self.batch_size)).mappings()]
                if not rows:
                    return
                batch = self._load(conn, rows, with_promises=True)
            yield batch
            if len(rows) < self.batch_size:
                return
            after = rows[-1]["case_id"]

    @staticmethod
    def _scope(tenant: dict[str, str], agency_id: str | None) -> list[Any]:
        t = contact_cases
        where: list[Any] = [t.c[column] == value for column, value in tenant.items()]
        if agency_id is not None:
            where.append(t.c.agency_id == agency_id)
        return where

    def _load(self, conn: Connection, rows: list[dict[str, Any]], *, with_promises: bool
              ) -> list[CaseRecord]:
        ids = [r["case_id"] for r in rows]
        if not ids:
            return []
        by_case_contacts: dict[str, list[Any]] = defaultdict(list)
        for c in conn.execute(
                sa.select(contacts.c.case_id, contacts.c.occurred_at, contacts.c.position,
                          contacts.c.channel, contacts.c.direction, contacts.c.party,
                          contacts.c.outcome, contacts.c.contact_point, contacts.c.agent_id,
                          contacts.c.recorded_at)
                .where(contacts.c.case_id.in_(ids))).mappings():
            by_case_contacts[c["case_id"]].append(c)
        by_case_escalations: dict[str, list[EscalationFact]] = defaultdict(list)
        for e in conn.execute(
                sa.select(escalations.c.case_id, escalations.c.kind, escalations.c.escalated_at)
                .where(escalations.c.case_id.in_(ids))).mappings():
            by_case_escalations[e["case_id"]].append(
                EscalationFact(e["kind"], parse_instant(e["escalated_at"])))
        by_case_visits: dict[str, list[VisitFact]] = defaultdict(list)
        by_case_events: dict[str, list[ReportedEvent]] = defaultdict(list)
        for v in conn.execute(sa.select(visits).where(visits.c.case_id.in_(ids))).mappings():
            by_case_visits[v["case_id"]].append(visit_fact(v))
            if v["performed_at"] and v["performed_recorded_at"]:
                by_case_events[v["case_id"]].append(ReportedEvent(
                    "visit_performed", v["visit_id"], parse_instant(v["performed_at"]),
                    parse_instant(v["performed_recorded_at"])))
        for k in conn.execute(sa.select(
                complaints.c.case_id, complaints.c.complaint_id, complaints.c.received_at,
                complaints.c.received_recorded_at).where(
                complaints.c.case_id.in_(ids))).mappings():
            by_case_events[k["case_id"]].append(ReportedEvent(
                "complaint_received", k["complaint_id"], parse_instant(k["received_at"]),
                parse_instant(k["received_recorded_at"])))
        by_case_promises: dict[str, list[PromiseFact]] = defaultdict(list)
        if with_promises:
            for p in conn.execute(sa.select(promises).where(
                    promises.c.case_id.in_(ids))).mappings():
                by_case_promises[p["case_id"]].append(PromiseFact(
                    promise_id=p["promise_id"], amount=Decimal(p["amount"]),
                    due_date=date.fromisoformat(p["due_date"]), state=p["state"],
                    settled_at=parse_instant(p["settled_at"]) if p["settled_at"] else None))
        return [self._record(row, by_case_contacts[row["case_id"]],
                             by_case_escalations[row["case_id"]],
                             by_case_promises[row["case_id"]],
                             by_case_visits[row["case_id"]],
                             by_case_events[row["case_id"]]) for row in rows]

    @staticmethod
    def _record(row: dict[str, Any], contact_rows: list[Any],
                escalation_facts: list[EscalationFact], promise_facts: list[PromiseFact],
                visit_facts: list[VisitFact], major_events: list[ReportedEvent]
                ) -> CaseRecord:
        assigned_at = parse_instant(row["assigned_at"])
        timed = sorted(((parse_instant(c["occurred_at"]), c["position"], c)
                        for c in contact_rows), key=lambda x: (x[0], x[1]))
        facts = CaseFacts(
            case_id=row["case_id"], assigned_at=assigned_at, holds=_holds(row),
            contacts=tuple(ContactFact(
                occurred_at=at, channel=c["channel"], direction=c["direction"],
                party=c["party"], outcome=c["outcome"], contact_point=c["contact_point"],
                recorded_at=parse_instant(c["recorded_at"]) if c["recorded_at"] else None)
                for at, _, c in timed),
            escalations=tuple(escalation_facts), visits=tuple(visit_facts),
            major_events=tuple(major_events))
        agents = [c["agent_id"] for at, _, c in timed if at >= assigned_at and c["agent_id"]]
        return CaseRecord(
            case_id=row["case_id"], creditor_id=row["creditor_id"], agency_id=row["agency_id"],
            debtor_timezone=row["debtor_timezone"], assigned_at=assigned_at,
            cease_contact_at=(parse_instant(row["cease_contact_at"])
                              if row["cease_contact_at"] else None),
            dispute_open=bool(row["dispute_open"]), recalled=bool(row["recalled"]),
            closed=bool(row["closed"]), facts=facts,
            promises=tuple(sorted(promise_facts, key=lambda p: (p.due_date, p.promise_id))),
            last_contact_at=timed[-1][0] if timed else None,
            last_agent_id=agents[-1] if agents else None)
