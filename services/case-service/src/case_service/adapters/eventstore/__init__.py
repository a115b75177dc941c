"""Everything of the case service that relies on the internals of the eventsourcing library or
of SQLAlchemy, in one package, each part behind a test that it equals the library's own path:

- recorders.py: the library's SQLite and PostgreSQL application recorders, extended to write
  each event's audit leaf and the case list in the transaction that stores the events (the
  PostgreSQL insert path is replaced: chunked binary inserts under the library's EXCLUSIVE
  lock, `_lock_table`/`_notify_channel`), and to read plain rows (`select_event_rows`,
  `select_case_rows`). The library's own recorder test cases run against them
  (tests/integration/test_recorder_contract.py).
- group_commit.py: the committer thread through which concurrent saves of a process share
  one transaction, one table lock and one fsync (recorders.py writes the batch; each save
  keeps its own positions or its own IntegrityError; tests/integration/test_group_commit.py
  compares it with one transaction per save).
- statements.py: the in-transaction writes, Core constructs compiled for the recorder's raw
  cursor.
- stored_events.py: `Placed` events written in the library's stored form
  (tests/integration/test_bulk_placement.py).
- decoding.py: stored events decoded straight into envelopes, domain events or aggregate
  state (`object.__new__`, `decorated_funcs`; tests/integration/test_envelopes.py).
- log.py: `CaseLog`, the one object the application calls; each call takes the fast path
  or the library's.
"""

from case_service.adapters.eventstore.log import CaseLog, EventRow, EventsTable, Opening

__all__ = ["CaseLog", "EventRow", "EventsTable", "Opening"]
