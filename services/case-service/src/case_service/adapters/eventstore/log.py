"""The case event store as the case service uses it beyond what the library's Application
offers: one call per need, each taking the fast path where the events allow it and the
library's path otherwise.

- `page`: the next events after a position as public envelopes (the feed, the relay,
  rebuilds): plain rows read in binary and decoded straight from the stored JSON
  (decoding.py) on PostgreSQL when events are stored as plain JSON; the library's
  notifications otherwise.
- `open_cases`: a placement's opening events with their case list rows and receipt in one
  transaction: written directly in the library's stored form (stored_events.py) when events
  are stored as plain JSON; built as aggregates and saved by the library otherwise.
- `case_rows` and `apply`: every case's stored events in case order, applied to the aggregate
  by its own @event methods without building each event object (decoding.py), for the replay
  of every case.
- `writer`: what the case list and a receipt write inside the transaction storing events
  (`CaseListWrite`, which a group transaction merges with other saves').
- `events`: the library's events table described for SQLAlchemy Core, for readers that
  check the stored rows themselves (the audit).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from casetrail.envelope import LogPage, LogShare
from casetrail.metrics import EVENTS_APPENDED
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from case_service.adapters.case_list import (
    ROW_COLUMNS,
    CaseSummary,
    summarize,
    summarize_opening,
    summary_values,
)
from case_service.adapters.eventstore.decoding import (
    apply_stored_event,
    envelope_from_row,
    envelope_from_stored,
    stored_as_plain_json,
    topic_type,
)
from case_service.adapters.eventstore.stored_events import placed_event
from case_service.domain.case import Case

# (position, case id, version, topic, stored state): an event as the replay reads it.
EventRow = tuple[int, UUID, int, str, bytes]
Opening = tuple[str, dict[str, Any]]  # (case id, the Placed event's facts: Case(...)'s kwargs)


@dataclass(frozen=True)
class EventsTable:
    """The library's events table for SQLAlchemy Core: its position column (`rowid` on
    SQLite, `notification_id` on PostgreSQL) and how a case id is stored (32 hex digits on
    SQLite, a uuid on PostgreSQL)."""

    table: sa.TableClause
    position: sa.ColumnClause[Any]
    sqlite: bool

    def case_key(self, case_id: str | UUID) -> Any:
        """A case id as the table stores it."""
        ident = UUID(str(case_id))
        return ident.hex if self.sqlite else ident


class CaseListWrite:
    """What a save writes in its transaction besides its events: the case list rows of its
    cases (with the position of each case's opening event, if the save opens it) and a
    placement's receipt."""

    def __init__(self, statements: Any, summaries: Sequence[CaseSummary],
                 receipt: dict[str, Any] | None = None):
        self.statements = statements
        self.summaries = summaries
        self.receipt = receipt

    def summary_rows(self, stored: Sequence[StoredEvent], ids: Sequence[int]
                     ) -> list[tuple[Any, ...]]:
        """The case list rows (ROW_COLUMNS values) of these events at these positions."""
        opened_at = {str(e.originator_id): position
                     for e, position in zip(stored, ids, strict=False)
                     if e.originator_version == 1}
        return [(*summary_values(s), opened_at.get(s.case_id, 0)) for s in self.summaries]

    def __call__(self, cursor: Any, stored: Sequence[StoredEvent], ids: Sequence[int]) -> None:
        self.statements.upsert_summaries(cursor, ROW_COLUMNS, self.summary_rows(stored, ids))
        if self.receipt is not None:
            self.statements.insert_receipt(cursor, self.receipt)


class CaseLog:
    """The case event store's reads and bulk writes (see the module docstring)."""

    def __init__(self, recorder: Any, mapper: Any):
        self.recorder = recorder  # a case recorder (recorders.py)
        self.mapper = mapper
        self.postgres = isinstance(recorder, PostgresApplicationRecorder)
        table = recorder.events_table_name
        position = "notification_id" if self.postgres else "rowid"
        self.events = EventsTable(
            sa.table(table, *(sa.column(c) for c in (
                position, "originator_id", "originator_version", "topic", "state"))),
            sa.column(position), sqlite=not self.postgres)

    @property
    def plain(self) -> bool:
        """Whether events are stored as plain JSON (no cipher, no compression)."""
        return stored_as_plain_json(self.mapper)

    # ------------------------------------------------------------------ writes

    def writer(self, summaries: Sequence[CaseSummary], receipt: dict[str, Any] | None = None
               ) -> CaseListWrite:
        """A callback that upserts case list rows (and inserts a receipt) inside the
        transaction storing the events (`Application.save(..., in_transaction=...)`); a
        group transaction merges its rows with other saves' (recorders.CaseListWrites)."""
        return CaseListWrite(self.recorder.statements, summaries, receipt)

    def open_cases(self, openings: Sequence[Opening], receipt: dict[str, Any],
                   save: Callable[..., Any]) -> None:
        """Store the opening events of new cases, their case list rows and the placement's
        receipt in one transaction. `save` is the application's (the library's path)."""
        if self.plain:
            # The events in the library's stored form, written directly (see stored_events).
            opened_at = datetime.now(UTC)  # the library's recorded time, as its events have
            stored = [placed_event(UUID(case_id), opened_at, facts)
                      for case_id, facts in openings]
            self.recorder.insert_events(stored, in_transaction=self.writer(
                [summarize_opening(case_id, facts, opened_at) for case_id, facts in openings],
                receipt))
            EVENTS_APPENDED.labels("Placed").inc(len(stored))
            return
        cases = [Case(**facts) for _, facts in openings]
        save(*cases, in_transaction=self.writer([summarize(c) for c in cases], receipt))

    # ------------------------------------------------------------------ reads

    def page(self, after: int, limit: int, types: Collection[str] | None = None,
             share: LogShare | None = None) -> LogPage:
        """The next `limit` events after a position, with only those of `types` (None: all)
        decoded into envelopes: a rebuild of a projection that ignores most types (billing
        ignores contacts) skips their decoding, most of the cost of reading them. With a
        `share`, only the events of its cases (one rebuild process's share of the log)."""
        select_rows = getattr(self.recorder, "select_event_rows", None)
        # PostgreSQL, events stored as plain JSON: plain rows, lean decoding.
        if select_rows is not None and self.plain:
            rows = select_rows(after, limit)
            if not rows:
                return LogPage([], 0, 0)
            if share is None:
                return LogPage([envelope_from_row(row, self.mapper) for row in rows
                                if types is None or topic_type(row[3]) in types],
                               rows[-1][0], len(rows))
            events = []
            for row in rows:
                kind = topic_type(row[3])
                if (types is None or kind in types) and share.wants(row[1], kind):
                    envelope = envelope_from_row(row, self.mapper)
                    if share.keeps(envelope):
                        events.append(envelope)
            return LogPage(events, rows[-1][0], len(rows))
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False)
        if not notifications:
            return LogPage([], 0, 0)
        if share is None:
            return LogPage([envelope_from_stored(n, n.id, self.mapper) for n in notifications
                            if types is None or topic_type(n.topic) in types],
                           notifications[-1].id, len(notifications))
        events = []
        for n in notifications:
            kind = topic_type(n.topic)
            if (types is None or kind in types) and share.wants(n.originator_id, kind):
                envelope = envelope_from_stored(n, n.id, self.mapper)
                if share.keeps(envelope):
                    events.append(envelope)
        return LogPage(events, notifications[-1].id, len(notifications))

    def last_position(self) -> int:
        """The position of the newest event (0 for an empty log)."""
        return int(self.recorder.max_notification_id() or 0)

    def positions(self, case_id: UUID) -> dict[int, int]:
        """Global positions of a case's events, by version."""
        return dict(self.recorder.select_positions(case_id))

    def case_rows(self, after: tuple[UUID, int], before: UUID | None, through: int,
                  limit: int) -> list[EventRow]:
        """Up to `limit` events at or below position `through`, in case order (case id, then
        version), after the event `after` = (case id, version) and before the case id
        `before` (None: to the end)."""
        rows: list[EventRow] = self.recorder.select_case_rows(after, before, through, limit)
        return rows

    def apply(self, case: Case | None, row: EventRow) -> Case:
        """The case after one of its stored events (None before the first), as the library's
        event would mutate it."""
        _, case_id, version, topic, state = row
        applied: Case = apply_stored_event(case, case_id, version, topic, state, self.mapper)
        return applied
