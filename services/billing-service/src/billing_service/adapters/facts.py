"""Reads the billing-ledger read model into domain facts, as of a log position."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from casetrail.figures import BEFORE_PLACEMENT, Window
from sqlalchemy.engine import Connection

from billing_service.adapters.billing_ledger import (
    billing_cases,
    case_assignments,
    litigation_stages,
    payments,
    promises,
    reversals,
)
from billing_service.domain.ledger import (
    Assignment,
    CaseFacts,
    PaymentFact,
    ReversalFact,
    StageFact,
    credited,
)
from billing_service.domain.performance import PromiseFact

CHUNK = 500


class LedgerFacts:
    """Cases with their assignments, payments and reversals, filtered by tenant and time."""

    def last_position(self, conn: Connection) -> int:
        """The newest case-log position the read model has applied (0 if none)."""
        value = conn.execute(sa.select(sa.func.max(billing_cases.c.position))).scalar()
        return 0 if value is None else int(value)

    def cases(self, conn: Connection, *, creditor_id: str | None = None,
              agency_id: str | None = None, assigned_in: Window | None = None,
              currency: str | None = None, as_of_position: int | None = None
              ) -> list[CaseFacts]:
        """Cases of a creditor (all if None) that an agency held or was credited money on
        (any agency if None), optionally only those it (or anyone) held at some instant of
        the window `assigned_in` (a period's days in a stated zone); facts recorded after
        `as_of_position` are left out."""
        a, c, p = case_assignments, billing_cases, payments
        where: list[Any] = []
        if creditor_id is not None:
            where.append(c.c.creditor_id == creditor_id)
        if currency is not None:
            where.append(c.c.currency == currency)
        held = sa.select(a.c.case_id)
        if agency_id is not None:
            held = held.where(a.c.agency_id == agency_id)
        if assigned_in is not None:  # held at some instant of the window
            held = held.where(a.c.assigned_at < _utc_text(assigned_in.end),
                              sa.or_(a.c.ended_at.is_(None),
                                     a.c.ended_at > _utc_text(assigned_in.start)))
        if agency_id is not None and assigned_in is None:
            credited = sa.select(p.c.case_id).where(p.c.agency_id == agency_id)
            where.append(c.c.case_id.in_(held.union(credited).scalar_subquery()))
        elif agency_id is not None or assigned_in is not None:
            where.append(c.c.case_id.in_(held.scalar_subquery()))
        rows = conn.execute(sa.select(c).where(*where).order_by(c.c.case_id)).mappings().all()
        return self._facts(conn, rows, as_of_position)

    def _facts(self, conn: Connection, rows: Sequence[Any], as_of: int | None
               ) -> list[CaseFacts]:
        found: list[CaseFacts] = []
        instant = _Instants()
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            ids = [r["case_id"] for r in chunk]
            held = self._rows(conn, case_assignments, _ASSIGNMENT_COLUMNS, ids, as_of, "seq")
            paid = self._rows(conn, payments, _PAYMENT_COLUMNS, ids, as_of)
            taken = self._rows(conn, reversals, _REVERSAL_COLUMNS, ids, as_of)
            staged = self._rows(conn, litigation_stages, _STAGE_COLUMNS, ids, as_of)
            for row in chunk:
                case_id = row["case_id"]
                stints = tuple(_stint(r, as_of, instant) for r in held.get(case_id, ()))
                if not stints:
                    continue  # placed after the cut-off
                found.append(CaseFacts(
                    case_id=case_id, creditor_id=row["creditor_id"],
                    account_ref=row["account_ref"], bucket=row["bucket"],
                    currency=row["currency"], placed_amount=Decimal(row["placed_amount"]),
                    placed_at=datetime.fromisoformat(row["placed_at"]), assignments=stints,
                    payments=tuple(_paid(r, stints, instant) for r in paid.get(case_id, ())),
                    reversals=tuple(ReversalFact(
                        event_id=r[1], reference=r[2], amount=Decimal(r[3]), reason=r[4],
                        reversed_at=instant(r[5]), position=int(r[6]))
                        for r in taken.get(case_id, ())),
                    stages=tuple(StageFact(
                        stage_ref=r[1], stage=r[2], occurred_at=instant(r[3]), court=r[4],
                        docket_no=r[5], law_firm_id=r[6], position=int(r[7]))
                        for r in staged.get(case_id, ()))))
        return found

    @staticmethod
    def _rows(conn: Connection, table: sa.Table, columns: Sequence[str], ids: list[str],
              as_of: int | None, order: str = "position") -> dict[str, list[Sequence[Any]]]:
        """The rows of the cases `ids` as plain tuples of `columns` (case_id first), by case
        in `order` order; facts after `as_of` left out."""
        query = sa.select(*(table.c[c] for c in columns)).where(table.c.case_id.in_(ids))
        if as_of is not None:
            query = query.where(table.c.position <= as_of)
        return _grouped(conn.execute(query.order_by(table.c.case_id, table.c[order])))

    def promises_of(self, conn: Connection, agency_id: str, creditor_id: str | None,
                    start: datetime, end: datetime) -> list[PromiseFact]:
        """The agency's promises (on a creditor's cases, or all) made or settled in
        [start, end): every promise the shared promise figures can count there."""
        t, c = promises, billing_cases
        since, until = start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat()
        query = sa.select(t).where(t.c.agency_id == agency_id, sa.or_(
            sa.and_(t.c.promised_at >= since, t.c.promised_at < until),
            sa.and_(t.c.settled_at >= since, t.c.settled_at < until)))
        if creditor_id is not None:
            query = query.join_from(t, c, c.c.case_id == t.c.case_id).where(
                c.c.creditor_id == creditor_id)
        rows = conn.execute(query.order_by(t.c.case_id, t.c.promise_id)).mappings()
        return [_promise(r) for r in rows]

    def promises(self, conn: Connection, case_ids: Sequence[str]) -> list[PromiseFact]:
        """The promises made on these cases."""
        found: list[PromiseFact] = []
        t = promises
        for start in range(0, len(case_ids), CHUNK):
            rows = conn.execute(sa.select(t).where(
                t.c.case_id.in_(case_ids[start:start + CHUNK]))
                .order_by(t.c.case_id, t.c.promise_id)).mappings()
            found += [_promise(r) for r in rows]
        return found


def _promise(row: Any) -> PromiseFact:
    return PromiseFact(
        case_id=row["case_id"], promise_id=row["promise_id"], agency_id=row["agency_id"],
        promised_at=datetime.fromisoformat(row["promised_at"]), state=row["state"],
        settled_at=None if row["settled_at"] is None
        else datetime.fromisoformat(row["settled_at"]))


_ASSIGNMENT_COLUMNS = (
    "case_id", "seq", "agency_id", "assigned_at", "term_end", "ended_at", "ended_position",
    "end_reason")
_PAYMENT_COLUMNS = (
    "case_id", "reference", "amount", "source", "received_at", "agency_id", "position",
    "assignment", "flags")
_REVERSAL_COLUMNS = (
    "case_id", "event_id", "reference", "amount", "reason", "reversed_at", "position")
_STAGE_COLUMNS = (
    "case_id", "stage_ref", "stage", "occurred_at", "court", "docket_no", "law_firm_id",
    "position")


class _Instants:
    """`datetime.fromisoformat`, parsing each distinct text once (datetimes are immutable:
    the facts of a read may share them)."""

    def __init__(self) -> None:
        self.parsed: dict[str, datetime] = {}

    def __call__(self, text: str) -> datetime:
        found = self.parsed.get(text)
        if found is None:
            found = self.parsed[text] = datetime.fromisoformat(text)
        return found


def _grouped(rows: Iterable[Sequence[Any]]) -> dict[str, list[Sequence[Any]]]:
    grouped: dict[str, list[Sequence[Any]]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(row)
    return grouped


def _stint(row: Sequence[Any], as_of: int | None, instant: _Instants) -> Assignment:
    """An assignment row (`_ASSIGNMENT_COLUMNS`) as a fact; its end only if recorded by
    `as_of`."""
    _, seq, agency_id, assigned_at, term_end, ended_at, ended_position, end_reason = row
    ended = ended_at is not None and (
        as_of is None or ended_position is None or int(ended_position) <= as_of)
    return Assignment(
        seq=int(seq), agency_id=agency_id, assigned_at=instant(assigned_at),
        term_end=date.fromisoformat(term_end),
        ended_at=instant(ended_at) if ended else None,
        end_reason=end_reason if ended else None)


def _paid(row: Sequence[Any], stints: Sequence[Assignment], instant: _Instants
          ) -> PaymentFact:
    """A payment row (`_PAYMENT_COLUMNS`) as a fact, with its stint and flags (derived for
    old histories)."""
    _, reference, amount, source, received_at, agency_id, position, assignment, flags = row
    fact = PaymentFact(
        reference=reference, amount=Decimal(amount), source=source,
        received_at=instant(received_at), agency_id=agency_id, position=int(position),
        assignment=None if assignment is None else int(assignment),
        before_placement=bool(flags) and BEFORE_PLACEMENT in flags.split(","))
    return fact if fact.assignment is not None else credited(stints, fact)


def _utc_text(at: datetime) -> str:
    """An instant as the read model stores instants (ISO-8601 in UTC), to compare as text."""
    return at.astimezone(UTC).isoformat()
