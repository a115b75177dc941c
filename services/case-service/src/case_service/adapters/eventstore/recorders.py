"""Event-store recorders that make each stored event tamper-evident, let other writes join
the transaction that stores it, and group concurrent saves into one transaction.

- Every event gets its audit leaf (`casetrail.merkle.leaf_hash` over its position, case id,
  version, topic and stored bytes, ciphertext where encrypted) in the same transaction, here
  in the recorder, so no save path can store an event without its leaf.
- `Application.save(*aggregates, in_transaction=writer)` hands `writer` down to the recorder,
  which calls `writer(cursor, stored_events, notification_ids)` after inserting the events and
  before committing. The case read model and placement receipts are written that way, so they
  can never disagree with the log: either everything commits or nothing does.
- Group commit (group_commit.py): `insert_events` of a save of up to GROUP_MAX_EVENTS events
  from a caller other than a placement hands the save to the recorder's committer thread,
  which writes every queued save in one transaction (`write_batch`) and gives each its own
  positions or its own IntegrityError. On PostgreSQL the batch first tries one INSERT of every
  save's events; if a unique key refuses it (a version conflict), it writes the batch again
  with a SAVEPOINT per save, so only the saves that conflict fail. On SQLite every save has
  its SAVEPOINT (no round trip to save). `group_commit = False` (CASE_GROUP_COMMIT=false)
  keeps the one-transaction-per-save path, which `submit` and the tests compare against.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import nullcontext
from functools import cached_property
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

import psycopg
from casetrail.merkle import leaf_data, leaf_hash
from casetrail.retry import retrying
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg.rows import tuple_row

from case_service.adapters.case_list import ROW_COLUMNS
from case_service.adapters.eventstore.group_commit import GroupCommitter, SaveRequest
from case_service.adapters.eventstore.statements import InTransactionStatements

InTransactionWriter = Callable[[Any, Sequence[StoredEvent], Sequence[int]], None]

# A save of more events than this (a placement) is written on its own, as before.
GROUP_MAX_EVENTS = 100
# Events per group transaction: a batch stays well inside one INSERT chunk.
BATCH_MAX_EVENTS = 1_000


@runtime_checkable
class CaseListWrites(Protocol):
    """An in-transaction writer whose writes a batch can merge with other saves': case list
    rows (ROW_COLUMNS values) for these events at these positions, and a receipt (or None)."""

    receipt: dict[str, Any] | None

    def __call__(self, cursor: Any, stored: Sequence[StoredEvent], ids: Sequence[int]
                 ) -> None: ...

    def summary_rows(self, stored: Sequence[StoredEvent], ids: Sequence[int]
                     ) -> list[tuple[Any, ...]]: ...


def _merges(writer: Any) -> bool:
    """Whether a writer is a CaseListWrites (checked by its method: a runtime Protocol check
    costs more than the rest of the decision)."""
    return callable(getattr(writer, "summary_rows", None))


def audit_leaves(stored_events: Sequence[StoredEvent], positions: Sequence[int]
                 ) -> tuple[list[int], list[bytes]]:
    """The audit leaf of each stored event at its position."""
    if len(positions) != len(stored_events):
        raise RuntimeError("every stored event needs its position to be hashed into the log")
    leaves = [leaf_hash(p, str(e.originator_id), e.originator_version, e.topic, e.state)
              for e, p in zip(stored_events, positions, strict=True)]
    return list(positions), leaves

def leaf_tails(stored_events: Sequence[StoredEvent]) -> list[bytes]:
    """What each event's leaf hashes after its position (`merkle.leaf_data` without the
    position's 8 bytes): built before a save takes the lock, which then only hashes."""
    return [leaf_data(0, str(e.originator_id), e.originator_version, e.topic, e.state)[8:]
            for e in stored_events]


def leaves_from_tails(positions: Sequence[int], tails: Sequence[bytes]) -> list[bytes]:
    """`merkle.leaf_hash` of each event at its position, from its tail (`leaf_tails`):
    SHA-256 of the RFC 6962 leaf prefix 0x00, the position (8 bytes, big-endian) and the
    tail. The recorder contract test compares every leaf with `merkle.leaf_hash`."""
    sha256 = hashlib.sha256
    return [sha256(b"\x00" + p.to_bytes(8, "big") + t).digest()
            for p, t in zip(positions, tails, strict=True)]


class GroupCommit:
    """What both case recorders share: the committer of this recorder, made on first use, and
    which saves go through it."""

    group_commit = True  # set False (CASE_GROUP_COMMIT=false) for one transaction per save
    _committer: GroupCommitter | None = None
    _committer_lock = threading.Lock()

    def write_batch(self, requests: Sequence[SaveRequest]
                    ) -> Sequence[list[int] | BaseException]:
        """Write saves in one transaction; each save's positions or its own error."""
        raise NotImplementedError

    def insert_one(self, stored_events: Sequence[StoredEvent], **kwargs: Any
                   ) -> Sequence[int] | None:
        """The save in a transaction of its own (the path before group commit)."""
        raise NotImplementedError

    @property
    def committer(self) -> GroupCommitter:
        """This recorder's committer thread (made on first use)."""
        with self._committer_lock:
            if self._committer is None:
                self._committer = GroupCommitter(self.write_batch, max_events=BATCH_MAX_EVENTS,
                                                 name=f"group-commit-{id(self):x}")
            return self._committer

    def groups(self, stored_events: Sequence[StoredEvent], kwargs: dict[str, Any]) -> bool:
        """Whether this save goes through the committer: small saves with at most an
        in-transaction writer that writes no receipt (placements are written on their own)."""
        writer = kwargs.get("in_transaction")
        return (self.group_commit and 0 < len(stored_events) <= GROUP_MAX_EVENTS
                and set(kwargs) <= {"in_transaction", "tracking"}
                and kwargs.get("tracking") is None  # (the library passes tracking=None)
                and (writer is None or (_merges(writer) and writer.receipt is None)))

    def submit(self, stored_events: Sequence[StoredEvent], **kwargs: Any
               ) -> Future[list[int]]:
        """Queue a save for the next group transaction (or, when it does not group, write it
        now on its own): the future of its positions, or of its own error."""
        if self.groups(stored_events, kwargs):
            return self.committer.submit(stored_events, kwargs.get("in_transaction"),
                                         leaf_tails(stored_events))
        future: Future[list[int]] = Future()
        try:
            future.set_result(list(self.insert_one(stored_events, **kwargs) or []))
        except Exception as error:  # the caller reads it from the future
            future.set_exception(error)
        return future

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any
                      ) -> Sequence[int] | None:
        """Insert events (and run the in-transaction writer) atomically; returns positions.
        Grouped with concurrent saves when it can be (see `groups`)."""
        if self.groups(stored_events, kwargs):
            return self.submit(stored_events, **kwargs).result()
        return self.insert_one(stored_events, **kwargs)

    def close_committer(self) -> None:
        """Write what is queued and stop the committer thread."""
        with self._committer_lock:
            committer, self._committer = self._committer, None
        if committer is not None:
            committer.close()


def _written_batch(cursor: Any, statements: InTransactionStatements,
                   written: Sequence[tuple[SaveRequest, list[int]]]) -> None:
    """What joins a batch's transaction after its events: the audit leaves of every event
    written, one upsert of every save's case list rows (a later save's row of a case wins, as
    it would have one save later), and any other writer as it is."""
    if not written:
        return
    positions = [p for _, ids in written for p in ids]
    tails = [t for request, _ in written
             for t in (request.prepared or leaf_tails(request.stored_events))]
    statements.insert_leaves(cursor, positions, leaves_from_tails(positions, tails))
    rows: dict[Any, tuple[Any, ...]] = {}
    for request, ids in written:
        writer = request.writer
        if writer is None:
            continue
        if _merges(writer):
            for row in writer.summary_rows(request.stored_events, ids):
                earlier = rows.get(row[0])
                if earlier is not None and not row[-1]:  # keep where the case was placed
                    row = (*row[:-1], earlier[-1])
                rows[row[0]] = row
        else:
            writer(cursor, request.stored_events, ids)
    if rows:
        statements.upsert_summaries(cursor, ROW_COLUMNS, list(rows.values()))


# Rows per INSERT statement. One statement per save (the library's way) sends a single
# parameter of every event; past a few thousand events psycopg's pipeline mode stalls on it.
INSERT_CHUNK = 1_000


class SQLiteCaseRecorder(GroupCommit, SQLiteApplicationRecorder):
    """The native SQLite recorder, plus same-transaction writers and group commit."""

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

    def insert_one(self, stored_events: Sequence[StoredEvent], **kwargs: Any
                   ) -> Sequence[int] | None:
        """The library's save: its own transaction."""
        return SQLiteApplicationRecorder.insert_events(self, stored_events, **kwargs)

    def write_batch(self, requests: Sequence[SaveRequest]
                    ) -> Sequence[list[int] | BaseException]:
        """Every save in one transaction, each under a SAVEPOINT of its own (SQLite has no
        round trip to save by trying them all in one statement first)."""
        outcomes: list[list[int] | BaseException] = []
        written: list[tuple[SaveRequest, list[int]]] = []
        with self.datastore.transaction(commit=True) as c:
            for request in requests:
                c.execute("SAVEPOINT save")
                try:
                    ids = list(SQLiteApplicationRecorder._insert_events(
                        self, c, request.stored_events) or [])
                except sqlite3.IntegrityError as error:
                    c.execute("ROLLBACK TO save")
                    outcomes.append(IntegrityError(error))
                else:
                    outcomes.append(ids)
                    written.append((request, ids))
                c.execute("RELEASE save")
            _written_batch(c, self.statements, written)
        return outcomes

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


class PostgresCaseRecorder(GroupCommit, PostgresApplicationRecorder):
    """The native PostgreSQL recorder, plus same-transaction writers, bounded statements and
    group commit.

    Events are inserted in chunks of INSERT_CHUNK rows inside one transaction that holds the
    library's EXCLUSIVE table lock (insert order = commit order, so log followers never skip
    a position). The in-transaction writer runs under the same lock, before the commit. A
    group transaction (`write_batch`) holds the lock the same way, for its SQL only: the
    events were encoded, and their leaves' inputs built, before it was taken.
    """

    @cached_property
    def statements(self) -> InTransactionStatements:
        """The writes that join the event transaction, for this database and schema."""
        return InTransactionStatements("postgres", self.datastore.schema or None)

    def insert_one(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert events (and run the in-transaction writer) atomically in a transaction of
        their own; returns positions. A dropped connection or a server going away is retried
        as the library retries its own insert (10 attempts, 0.2 s apart)."""
        for attempt in retrying(10, on=(InterfaceError, OperationalError), backoff=(0.2, 0.2)):
            with attempt:
                return self._insert_in_one_transaction(stored_events, **kwargs)
        raise AssertionError("unreachable")

    @cached_property
    def _insert_statement(self) -> str:
        table = f'"{self.datastore.schema}"."{self.events_table_name}"'
        id_type = self.datastore.originator_id_type
        # Column arrays travel in binary (%b): no per-element quoting, unlike text arrays or an
        # array of composites.
        return (
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
            f"SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id")

    def _insert_rows(self, curs: Any, stored_events: Sequence[StoredEvent]) -> list[int]:
        """INSERT the events in chunks; their positions in order."""
        ids: list[int] = []
        for i in range(0, len(stored_events), INSERT_CHUNK):
            chunk = stored_events[i:i + INSERT_CHUNK]
            curs.execute(self._insert_statement, (
                [e.originator_id for e in chunk], [e.originator_version for e in chunk],
                [e.topic for e in chunk], [e.state for e in chunk]), binary=True)
            ids.extend(row["notification_id"] for row in curs.fetchall())
        return ids

    def _insert_in_one_transaction(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids: list[int] = []
        with self.datastore.get_connection() as conn, conn.transaction(), \
                conn.cursor() as curs:
            if stored_events:
                self._lock_table(curs)
                self._notify_channel(curs)
                ids = self._insert_rows(curs, stored_events)
                self.statements.insert_leaves(curs, *audit_leaves(stored_events, ids))
            writer: InTransactionWriter | None = kwargs.get("in_transaction")
            if writer is not None:
                writer(curs, stored_events, ids)
        return ids

    def write_batch(self, requests: Sequence[SaveRequest]
                    ) -> Sequence[list[int] | BaseException]:
        """Every save in one transaction under one lock: first as one INSERT of all their
        events; if a unique key refuses that (a version conflict), again with a SAVEPOINT per
        save, so that only the saves that conflict fail. Connection failures are retried as
        `insert_one` retries them."""
        for attempt in retrying(10, on=(InterfaceError, OperationalError), backoff=(0.2, 0.2)):
            with attempt:
                try:
                    return self._write_batch(requests, savepoints=False)
                except IntegrityError as error:
                    if len(requests) == 1:
                        return [error]
                # Some save conflicts: write them again, each under a savepoint.
                return self._write_batch(requests, savepoints=True)
        raise AssertionError("unreachable")

    def _write_batch(self, requests: Sequence[SaveRequest], *, savepoints: bool
                     ) -> list[list[int] | BaseException]:
        outcomes: list[list[int] | BaseException] = []
        # Without savepoints, pipelined: LOCK, NOTIFY and the INSERT go in one round trip, the
        # leaves, the case list and the COMMIT in another, so the lock is held for about two
        # round trips and the fsync.
        with self.datastore.get_connection() as conn, \
                (nullcontext() if savepoints else conn.pipeline()), conn.transaction(), \
                conn.cursor() as curs:
            self._lock_table(curs)
            self._notify_channel(curs)
            if savepoints:
                for request in requests:
                    try:
                        with conn.transaction():
                            outcomes.append(self._insert_rows(curs, request.stored_events))
                    except psycopg.IntegrityError as error:
                        outcomes.append(IntegrityError(str(error)))
            else:
                ids = self._insert_rows(curs, [e for r in requests for e in r.stored_events])
                start = 0
                for request in requests:
                    end = start + len(request.stored_events)
                    outcomes.append(ids[start:end])
                    start = end
            _written_batch(curs, self.statements, [
                (r, o) for r, o in zip(requests, outcomes, strict=True)
                if not isinstance(o, BaseException)])
        return outcomes

    @cached_property
    def _select_case_statement(self) -> str:
        table = f'"{self.datastore.schema}"."{self.events_table_name}"'
        return (f"SELECT originator_id, originator_version, topic, state FROM {table} "
                "WHERE originator_id = %s ORDER BY originator_version")

    def select_events(self, originator_id: UUID | str, *, gt: int | None = None,
                      lte: int | None = None, desc: bool = False, limit: int | None = None
                      ) -> Sequence[StoredEvent]:
        """A case's events, as the library selects them. The load of every command (all of a
        case's events, oldest first) is one prepared statement of fixed text read as tuples,
        where the library composes its statement on each call and reads dict rows. Any other
        selection (a version range, newest first, a limit) is the library's own. Connection
        failures are retried as the library retries them (10 attempts, 0.2 s apart)."""
        if gt is not None or lte is not None or desc or limit is not None:
            return super().select_events(originator_id, gt=gt, lte=lte, desc=desc,
                                         limit=limit)
        for attempt in retrying(10, on=(InterfaceError, OperationalError), backoff=(0.2, 0.2)):
            with attempt, self.datastore.get_connection() as conn, \
                    conn.cursor(row_factory=tuple_row) as curs:
                curs.execute(self._select_case_statement, (originator_id,), prepare=True)
                return [StoredEvent(originator_id=case_id, originator_version=version,
                                    topic=topic, state=bytes(state))
                        for case_id, version, topic, state in curs.fetchall()]
        raise AssertionError("unreachable")

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
