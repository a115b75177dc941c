"""Event-store recorders that let other writes join the transaction that stores events.

`Application.save(*aggregates, in_transaction=writer)` hands `writer` down to the recorder,
which calls `writer(cursor, stored_events, notification_ids)` after inserting the events and
before committing. The case read model and placement receipts are written that way, so they
can never disagree with the log: either everything commits or nothing does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

InTransactionWriter = Callable[[Any, Sequence[StoredEvent], Sequence[int]], None]


class SQLiteCaseRecorder(SQLiteApplicationRecorder):
    """The native SQLite recorder, plus same-transaction writers."""

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        writer: InTransactionWriter | None = kwargs.get("in_transaction")
        if writer is not None:
            writer(c, stored_events, list(ids or []))
        return ids


class PostgresCaseRecorder(PostgresApplicationRecorder):
    """The native PostgreSQL recorder, plus same-transaction writers."""

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        writer: InTransactionWriter | None = kwargs.get("in_transaction")
        if writer is not None:
            writer(curs, stored_events, list(ids or []))
        return ids
