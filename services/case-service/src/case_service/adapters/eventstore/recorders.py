"""Event-store recorders that make each stored event tamper-evident and let other writes join
the transaction that stores it.

- Every event gets its audit leaf (`casetrail.merkle.leaf_hash` over its position, case id,
  version, topic and stored bytes, ciphertext where encrypted) in the same transaction, here
  in the recorder, so no save path can store an event without its leaf.
- `Application.save(*aggregates, in_transaction=writer)` hands `writer` down to the recorder,
  which calls `writer(cursor, stored_events, notification_ids)` after inserting the events and
  before committing. The case read model and placement receipts are written that way, so they
  can never disagree with the log: either everything commits or nothing does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any
from uuid import UUID

from casetrail.merkle import leaf_hash
from casetrail.retry import retrying
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg.rows import tuple_row

from case_service.adapters.eventstore.statements import InTransactionStatements

InTransactionWriter = Callable[[Any, Sequence[StoredEvent], Sequence[int]], None]


def audit_leaves(stored_events: Sequence[StoredEvent], positions: Sequence[int]
                 ) -> tuple[list[int], list[bytes]]:
    """The audit leaf of each stored event at its position."""
    if len(positions) != len(stored_events):
        raise RuntimeError("every stored event needs its position to be hashed into the log")
    leaves = [leaf_hash(p, str(e.originator_id), e.originator_version, e.topic, e.state)
              for e, p in zip(stored_events, positions, strict=True)]
    return list(positions), leaves

# Rows per INSERT statement. One statement per save (the library's way) sends a single
# parameter of every event; past a few thousand events psycopg's pipeline mode stalls on it.
INSERT_CHUNK = 1_000


class SQLiteCaseRecorder(SQLiteApplicationRecorder):
    """The native SQLite recorder, plus same-transaction writers."""

    @cached_property
    def statements(self) -> InTransactionStatements:
        """The writes that join the event transaction, for this database."""
        return InTransactionStatements("sqlite")

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = list(super()._insert_events(c, stored_events, **kwargs) or [])
        self.statements.insert_leaves(c, *audit_leaves(stored_events, ids))
        writer: InTransactionWriter | None = kwargs.get("in_transaction")
        if writer is not None:
            writer(c, stored_events, ids)
        return ids

    def select_positions(self, case_id: UUID) -> list[tuple[int, int]]:
        """(version, position) of a case's events."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT originator_version, rowid FROM {self.events_table_name} "
                      "WHERE originator_id = ?", [case_id.hex])
            return [(int(row[0]), int(row[1])) for row in c.fetchall()]

    def select_case_rows(self, after: tuple[UUID, int], before: UUID | None, through: int,
                         limit: int) -> list[tuple[Any, ...]]:
        """(position, case id, version, topic, stored state) of up to `limit` events at or
        below position `through`, in case order (case id, then version), after the event
        `after` = (case id, version) and before the case id `before` (None: to the end):
        every case's history in one run, for a rebuild of what is derived case by case (see
        `application/replay.py`). Ids are compared as the library stores them here:
        UUID hex, whose text order is the ids' order."""
        where = "rowid <= ? AND (originator_id, originator_version) > (?, ?)"
        params: list[Any] = [through, after[0].hex, after[1]]
        if before is not None:
            where += " AND originator_id < ?"
            params.append(before.hex)
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT rowid, originator_id, originator_version, topic, state "
                      f"FROM {self.events_table_name} WHERE {where} "
                      "ORDER BY originator_id, originator_version LIMIT ?", [*params, limit])
            return [(row[0], self.convert_originator_id(row[1]), row[2], row[3], row[4])
                    for row in c.fetchall()]


class PostgresCaseRecorder(PostgresApplicationRecorder):
    """The native PostgreSQL recorder, plus same-transaction writers and bounded statements.

    Events are inserted in chunks of INSERT_CHUNK rows inside one transaction that holds the
    library's EXCLUSIVE table lock (insert order = commit order, so log followers never skip
    a position). The in-transaction writer runs under the same lock, before the commit.
    """

    @cached_property
    def statements(self) -> InTransactionStatements:
        """The writes that join the event transaction, for this database and schema."""
        return InTransactionStatements("postgres", self.datastore.schema or None)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert events (and run the in-transaction writer) atomically; returns positions.
        A dropped connection or a server going away is retried as the library retries its
        own insert (10 attempts, 0.2 s apart)."""
        for attempt in retrying(10, on=(InterfaceError, OperationalError), backoff=(0.2, 0.2)):
            with attempt:
                return self._insert_in_one_transaction(stored_events, **kwargs)
        raise AssertionError("unreachable")

    def _insert_in_one_transaction(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        table = f'"{self.datastore.schema}"."{self.events_table_name}"'
        id_type = self.datastore.originator_id_type
        # Column arrays travel in binary (%b): no per-element quoting, unlike text arrays or an
        # array of composites.
        statement = (
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
            f"SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id")
        chunks = [
            ([e.originator_id for e in chunk], [e.originator_version for e in chunk],
             [e.topic for e in chunk], [e.state for e in chunk])
            for chunk in (stored_events[i:i + INSERT_CHUNK]
                          for i in range(0, len(stored_events), INSERT_CHUNK))
        ]
        ids: list[int] = []
        with self.datastore.get_connection() as conn, conn.transaction(), \
                conn.cursor() as curs:
            if chunks:
                self._lock_table(curs)
                self._notify_channel(curs)
                for params in chunks:
                    curs.execute(statement, params, binary=True)
                    ids.extend(row["notification_id"] for row in curs.fetchall())
                self.statements.insert_leaves(curs, *audit_leaves(stored_events, ids))
            writer: InTransactionWriter | None = kwargs.get("in_transaction")
            if writer is not None:
                writer(curs, stored_events, ids)
        return ids

    def select_positions(self, case_id: UUID) -> list[tuple[int, int]]:
        """(version, position) of a case's events."""
        table = f'"{self.datastore.schema}"."{self.events_table_name}"'
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(f"SELECT originator_version, notification_id FROM {table} "
                         "WHERE originator_id = %s", (case_id,))
            return [(int(v), int(p)) for v, p in curs.fetchall()]

    def select_event_rows(self, after: int, limit: int) -> list[tuple[Any, ...]]:
        """(position, case id, version, topic, stored state) of the events after a position,
        in order: the feed's, the relay's and the rebuild's read, as plain tuples in binary
        (building the library's Notification objects costs more than the read itself)."""
        table = f'"{self.datastore.schema}"."{self.events_table_name}"'
        with self.datastore.get_connection() as conn, conn.cursor(
                binary=True, row_factory=tuple_row) as curs:
            curs.execute(
                f"SELECT notification_id, originator_id, originator_version, topic, state "
                f"FROM {table} WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
                (after, limit), prepare=True)
            return curs.fetchall()

    def select_case_rows(self, after: tuple[UUID, int], before: UUID | None, through: int,
                         limit: int) -> list[tuple[Any, ...]]:
        """(position, case id, version, topic, stored state) of up to `limit` events at or
        below position `through`, in case order (case id, then version: the primary key's
        order, so an index scan), after the event `after` = (case id, version) and before the
        case id `before` (None: to the end)."""
        table = f'"{self.datastore.schema}"."{self.events_table_name}"'
        where = "notification_id <= %s AND (originator_id, originator_version) > (%s, %s)"
        params: list[Any] = [through, after[0], after[1]]
        if before is not None:
            where += " AND originator_id < %s"
            params.append(before)
        with self.datastore.get_connection() as conn, conn.cursor(
                binary=True, row_factory=tuple_row) as curs:
            curs.execute(
                f"SELECT notification_id, originator_id, originator_version, topic, state "
                f"FROM {table} WHERE {where} "
                f"ORDER BY originator_id, originator_version LIMIT %s", [*params, limit])
            return curs.fetchall()
