"""SQL access to the case service's tables beside the event log (SQLAlchemy Core on the
service's engine): the case list, placement receipts, allocation rules and the relay's
positions. Case list rows and receipts are written inside the transaction that stores the
events (eventstore/log.py); everything here reads them, or writes records of its own."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from casetrail.projections.store import among
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from case_service.adapters.tables import (
    allocation_rules,
    case_summaries,
    placement_receipts,
    relay_positions,
)

LOOKUP_CHUNK = 5_000  # ids per query when looking many up


class AlreadyStored(Exception):
    """A record with this key exists already (e.g. a rules version another writer took)."""


def upsert(conn: Connection, table: sa.Table) -> Any:
    """INSERT for this dialect, with its ON CONFLICT clauses."""
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


class CaseStore:
    """The case list, receipts, allocation rules and relay positions."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

    def close(self) -> None:
        """Close the engine's connections."""
        self.engine.dispose()

    # ------------------------------------------------------------------ the case list

    def existing_case_ids(self, case_ids: Sequence[str]) -> set[str]:
        """Which of these cases already exist."""
        found: set[str] = set()
        if not case_ids:
            return found
        column = case_summaries.c.case_id
        with self.engine.connect() as conn:
            for start in range(0, len(case_ids), LOOKUP_CHUNK):
                chunk = case_ids[start:start + LOOKUP_CHUNK]
                found.update(conn.execute(sa.select(column).where(
                    among(conn, column, chunk))).scalars())
        return found

    def list_summaries(self, *, filters: dict[str, str | None], after: int, limit: int,
                       owing: bool | None = None,
                       delinquent_since: tuple[str | None, str | None] = (None, None)
                       ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of summaries in placement order, and the cursor for the next page.
        `owing`: only cases with something (True) or nothing (False) outstanding;
        `delinquent_since`: only cases delinquent since a day in [first, last] (ISO dates,
        either end open)."""
        t = case_summaries
        query = sa.select(t).where(t.c.placed_position > after)
        for column, value in filters.items():
            if value is not None:
                query = query.where(t.c[column] == value)
        if owing is not None:
            amount = sa.cast(t.c.outstanding, sa.Numeric)
            query = query.where(amount > 0 if owing else amount <= 0)
        first, last = delinquent_since
        if first is not None:
            query = query.where(t.c.delinquent_since >= first)
        if last is not None:
            query = query.where(t.c.delinquent_since <= last)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(
                query.order_by(t.c.placed_position).limit(limit + 1)).mappings()]
        next_cursor = rows[limit - 1]["placed_position"] if len(rows) > limit else None
        return rows[:limit], next_cursor

    def due_cases(self, now: datetime, limit: int) -> list[str]:
        """Cases whose next deadline is at or before `now`, earliest first."""
        t = case_summaries
        with self.engine.connect() as conn:
            return [str(c) for c in conn.execute(
                sa.select(t.c.case_id).where(t.c.next_deadline_at <= now.astimezone(UTC)
                                             .isoformat())
                .order_by(t.c.next_deadline_at, t.c.case_id).limit(limit)).scalars()]

    def agency_books(self, creditor_id: str, bucket: str, currency: str,
                     agency_ids: Sequence[str]) -> dict[str, tuple[int, Decimal, Decimal]]:
        """Per agency, the creditor's cases of a bucket and currency it holds now: (cases,
        placed, outstanding); an agency holding none is left out."""
        t = case_summaries
        found: dict[str, tuple[int, Decimal, Decimal]] = {}
        if not agency_ids:
            return found
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.assigned_agency_id, t.c.placed_amount,
                                          t.c.outstanding).where(
                t.c.creditor_id == creditor_id, t.c.bucket == bucket,
                t.c.currency == currency, t.c.assigned_agency_id.in_(list(agency_ids))))
            for agency, placed, outstanding in rows:
                cases, total, owed = found.get(agency, (0, Decimal(0), Decimal(0)))
                found[agency] = (cases + 1, total + Decimal(placed), owed + Decimal(outstanding))
        return found

    def deadline_of(self, case_id: UUID) -> datetime | None:
        """A case's next deadline, as the case list holds it."""
        t = case_summaries
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(t.c.next_deadline_at)
                                 .where(t.c.case_id == str(case_id))).scalar()
        return None if value is None else datetime.fromisoformat(value)

    # ------------------------------------------------------------------ receipts

    def receipt(self, creditor_id: str, placement_ref: str) -> dict[str, Any] | None:
        """A stored placement receipt, if this placement was taken before."""
        t = placement_receipts
        with self.engine.connect() as conn:
            stored = conn.execute(sa.select(t.c.receipt).where(
                t.c.creditor_id == creditor_id, t.c.placement_ref == placement_ref)).scalar()
        return None if stored is None else dict(json.loads(stored))

    # ------------------------------------------------------------------ allocation rules

    def current_rules(self, creditor_id: str) -> dict[str, Any] | None:
        """The newest allocation rules of a creditor."""
        t = allocation_rules
        with self.engine.connect() as conn:
            stored = conn.execute(sa.select(t.c.rules).where(t.c.creditor_id == creditor_id)
                                  .order_by(t.c.version.desc()).limit(1)).scalar()
        return None if stored is None else dict(json.loads(stored))

    def rules_at(self, creditor_id: str, at: datetime) -> dict[str, Any] | None:
        """The newest version of a creditor's rules stored at or before `at` (None: none
        was stored by then)."""
        t = allocation_rules
        with self.engine.connect() as conn:
            stored = conn.execute(sa.select(t.c.rules, t.c.created_at)
                                  .where(t.c.creditor_id == creditor_id)
                                  .order_by(t.c.version)).all()
        found = None
        for rules, created_at in stored:
            if datetime.fromisoformat(created_at) <= at:
                found = rules
        return None if found is None else dict(json.loads(found))

    def add_rules(self, creditor_id: str, rules: dict[str, Any], created_at: str,
                  actor: str) -> None:
        """Store a new version of a creditor's rules; raises AlreadyStored when that version
        exists already (another writer stored it first)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(allocation_rules.insert().values(
                    creditor_id=creditor_id, version=rules["version"],
                    rules=json.dumps(rules), created_at=created_at, actor=actor))
        except sa.exc.IntegrityError as exc:  # the primary key (creditor, version)
            raise AlreadyStored(f"rules version {rules['version']} of {creditor_id}") from exc

    # ------------------------------------------------------------------ outbox relay

    def relay_position(self, topic: str) -> int:
        """The last log position the relay saw acknowledged by the broker (0: none)."""
        t = relay_positions
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(t.c.position).where(t.c.topic == topic)).scalar()
        return int(value or 0)

    def save_relay_position(self, topic: str, position: int, saved_at: str) -> None:
        """Record that everything up to `position` is acknowledged on `topic`."""
        with self.engine.begin() as conn:
            insert = upsert(conn, relay_positions).values(
                topic=topic, position=position, updated_at=saved_at)
            conn.execute(insert.on_conflict_do_update(
                index_elements=[relay_positions.c.topic],
                set_={"position": insert.excluded.position,
                      "updated_at": insert.excluded.updated_at}))

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """Hold a cluster-wide lock (PostgreSQL advisory lock) while inside; yields whether it
        was acquired. SQLite is single-host, so the lock is always granted there."""
        if not self.postgres:
            yield True
            return
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with self.engine.connect() as conn:
            got = bool(conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar())
            conn.commit()  # a session lock: it outlives the transaction
            try:
                yield got
            finally:
                if got:
                    conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                    conn.commit()
