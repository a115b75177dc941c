"""Who held each case from when to when, as a read-model table every projection can keep.

The case log records each stint as facts: `Placed` and `Reassigned` begin one, `Recalled`,
`Reassigned` and `Closed` end it. A projection that needs stints (contact KPIs, billing)
keeps this table in its own database by applying those four events here, so both services
see the same stints and count them with the same definitions (casetrail.figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from casetrail.envelope import EventEnvelope
from casetrail.figures import Stint
from casetrail.projections.store import among, insert_row

ASSIGNMENT_EVENTS = frozenset({"Placed", "Reassigned", "Recalled", "Closed"})
END_REASONS = {"Reassigned": "reassigned", "Recalled": "recalled", "Closed": "closed"}
_CHUNK = 1_000


def utc_text(value: str) -> str:
    """An ISO datetime from a payload, normalised to UTC (stored and compared as text)."""
    return datetime.fromisoformat(value).astimezone(UTC).isoformat()


def assignments_table(metadata: sa.MetaData) -> sa.Table:
    """The `case_assignments` table, in a projection's metadata."""
    return sa.Table(
        "case_assignments", metadata,
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("agency_id", sa.Text, nullable=False, index=True),
        sa.Column("assigned_at", sa.Text, nullable=False),
        sa.Column("term_end", sa.Text, nullable=False),
        sa.Column("ended_at", sa.Text),
        sa.Column("end_reason", sa.Text),  # recalled | reassigned | closed
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("ended_position", sa.BigInteger),
    )


def apply_assignment_event(conn: Connection, table: sa.Table, e: EventEnvelope) -> None:
    """Apply one of ASSIGNMENT_EVENTS to the table (others are ignored)."""
    p, case_id = e.payload, str(e.case_id)
    if e.type == "Placed":
        insert_row(conn, table, dict(
            case_id=case_id, seq=1, agency_id=p["agency_id"],
            assigned_at=utc_text(p["placed_at"]), term_end=p["term_end"], ended_at=None,
            end_reason=None, position=e.position, ended_position=None))
        return
    reason = END_REASONS.get(e.type)
    if reason is None:
        return
    at = utc_text(p[{"Reassigned": "reassigned_at", "Recalled": "recalled_at",
                     "Closed": "closed_at"}[e.type]])
    # Statements other than held inserts send the batch's held rows first (store.py), so the
    # open stint is found even when it began earlier in the same batch.
    conn.execute(table.update().where(table.c.case_id == case_id, table.c.ended_at.is_(None))
                 .values(ended_at=at, end_reason=reason, ended_position=e.position))
    if e.type == "Reassigned":
        seq = conn.execute(sa.select(sa.func.max(table.c.seq)).where(
            table.c.case_id == case_id)).scalar_one()
        insert_row(conn, table, dict(
            case_id=case_id, seq=int(seq or 0) + 1, agency_id=p["to_agency_id"],
            assigned_at=at, term_end=p["term_end"], ended_at=None, end_reason=None,
            position=e.position, ended_position=None))


def read_stints(conn: Connection, table: sa.Table, *, case_ids: Sequence[str] | None = None,
                agency_id: str | None = None, start: datetime | None = None,
                end: datetime | None = None, as_of_position: int | None = None
                ) -> list[Stint]:
    """Stints, of some cases or of one agency, that overlap [start, end) when given; ends
    recorded after `as_of_position` are left out (the stint is still open as of then)."""
    where: list[sa.ColumnElement[bool]] = []
    if agency_id is not None:
        where.append(table.c.agency_id == agency_id)
    if end is not None:
        where.append(table.c.assigned_at < end.astimezone(UTC).isoformat())
    if start is not None and as_of_position is None:  # else: ended as of then? see below
        where.append(sa.or_(table.c.ended_at.is_(None),
                            table.c.ended_at > start.astimezone(UTC).isoformat()))
    if as_of_position is not None:
        where.append(table.c.position <= as_of_position)
    query = sa.select(table).where(*where).order_by(table.c.case_id, table.c.seq)
    rows: list[sa.RowMapping] = []
    if case_ids is None:
        rows = list(conn.execute(query).mappings())
    else:
        ids = list(case_ids)
        for first in range(0, len(ids), _CHUNK):
            rows += conn.execute(query.where(among(conn, table.c.case_id,
                                                   ids[first:first + _CHUNK]))).mappings()
    stints = [_stint(r, as_of_position) for r in rows]
    if start is not None:
        stints = [s for s in stints if s.ended_at is None or s.ended_at > start]
    return stints


def _stint(row: sa.RowMapping, as_of: int | None) -> Stint:
    ended = row["ended_at"] is not None and (
        as_of is None or row["ended_position"] is None or int(row["ended_position"]) <= as_of)
    return Stint(case_id=row["case_id"], seq=int(row["seq"]), agency_id=row["agency_id"],
                 assigned_at=datetime.fromisoformat(row["assigned_at"]),
                 ended_at=datetime.fromisoformat(row["ended_at"]) if ended else None)
