"""Writes held for a batch (`insert_row`, `update_row`) give exactly the rows that running
each statement in order gives, on SQLite and PostgreSQL, and `prepare_batch` sees the events
the handlers will get.

A small projection of items exercises every case: an update of a row inserted in the same
batch, several updates of one row (merged), an update whose row does not exist yet (it
changes nothing, even when the row is inserted later in the batch), a read between writes
(it must see the held ones), and rows enough for COPY.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from casetrail.envelope import EventEnvelope, event_id_for
from casetrail.projections.base import Projection
from casetrail.projections.rebuild import compare
from casetrail.projections.store import (
    COPY_THRESHOLD,
    HINTED_UPDATES_FROM,
    LOG_SOURCE,
    Delivery,
    ProjectionStore,
    insert_row,
    make_engine,
    update_row,
)
from casetrail.testing import BACKENDS, fresh_database
from sqlalchemy.engine import Connection

metadata = sa.MetaData()
items = sa.Table(
    "items", metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("item", sa.Integer, primary_key=True),
    sa.Column("qty", sa.Integer, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("negative", sa.Boolean, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)
peeks = sa.Table(  # what a handler read between writes
    "peeks", metadata,
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("seen", sa.Text, nullable=False),
)


class Items(Projection):
    name = "items"
    metadata = metadata
    event_types = frozenset({"Made", "Counted", "Noted", "Peeked"})

    def __init__(self) -> None:
        self.prepared: list[list[int]] = []

    def prepare_batch(self, conn: Connection, events: Sequence[EventEnvelope]) -> None:
        self.prepared.append([e.position for e in events])

    def handle(self, conn: Connection, event: EventEnvelope) -> None:
        p, case_id = event.payload, str(event.case_id)
        key = {"case_id": case_id, "item": p["item"]}
        if event.type == "Made":
            insert_row(conn, items, {**key, "qty": p["qty"], "note": None, "negative": False,
                                     "position": event.position})
        elif event.type == "Counted":
            update_row(conn, items, key, qty=p["qty"], negative=p["qty"] < 0,
                       position=event.position)
        elif event.type == "Noted":
            update_row(conn, items, key, note=p["note"])
        else:
            seen = conn.execute(sa.select(items.c.qty, items.c.note).where(
                items.c.case_id == case_id, items.c.item == p["item"])).first()
            insert_row(conn, peeks, {"position": event.position, "seen": repr(seen)})


def envelope(case_id: UUID, version: int, position: int, kind: str, **payload: Any
             ) -> EventEnvelope:
    at = datetime(2026, 5, 4, tzinfo=UTC)
    return EventEnvelope(event_id=event_id_for(case_id, version), type=kind, schema_version=1,
                         case_id=case_id, version=version, position=position, occurred_at=at,
                         recorded_at=at, payload=payload)


def history(n: int = 3 * COPY_THRESHOLD + 5) -> list[EventEnvelope]:
    """Events of several cases, interleaved, covering every batching case (`n` items of
    one case made, counted and some noted)."""
    a, b = uuid4(), uuid4()
    steps: list[tuple[UUID, str, dict[str, Any]]] = [
        (a, "Made", {"item": 1, "qty": 1}),
        (a, "Counted", {"item": 1, "qty": 2}),       # a row inserted in this batch
        (a, "Noted", {"item": 1, "note": "first"}),  # merged with the update before
        (b, "Counted", {"item": 7, "qty": 99}),      # no such row yet: changes nothing...
        (b, "Made", {"item": 7, "qty": 5}),          # ...and not after this insert either
        (b, "Peeked", {"item": 1}),                  # (another case's item: absent)
        (a, "Peeked", {"item": 1}),                  # sees qty 2 and the note
        (a, "Counted", {"item": 1, "qty": 3}),       # after a read: a new round of holding
        (a, "Other", {"item": 1}),                   # a type the projection does not handle
        (b, "Noted", {"item": 7, "note": "second"}),
        (a, "Noted", {"item": 1, "note": "last"}),
        (b, "Peeked", {"item": 7}),
    ]
    # Enough rows for COPY and for one-statement updates (PostgreSQL): every item counted,
    # every third noted (two sets of columns: two groups of updates), one note cleared.
    c = uuid4()
    steps += [(c, "Made", {"item": i, "qty": i}) for i in range(n)]
    steps += [(c, "Counted", {"item": i, "qty": -i if i % 2 else i}) for i in range(n)]
    steps += [(c, "Noted", {"item": i, "note": f"n{i}" if i != 3 else None})
              for i in range(0, n, 3)]
    versions: dict[UUID, int] = {}
    events = []
    for position, (case_id, kind, payload) in enumerate(steps, start=1):
        versions[case_id] = versions.get(case_id, 0) + 1
        events.append(envelope(case_id, versions[case_id], position, kind, **payload))
    return events


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path, "items") as database_url:
        yield database_url


# Rows enough for COPY and one-statement updates; and enough for the updates that carry the
# planner settings (PostgreSQL).
@pytest.mark.parametrize("n", [3 * COPY_THRESHOLD + 5, HINTED_UPDATES_FROM + 5])
def test_held_writes_in_one_batch_equal_each_write_in_order(url: str, tmp_path: Path, n: int
                                                            ) -> None:
    events = history(n)
    one_by_one = ProjectionStore(make_engine(f"sqlite:///{tmp_path}/one.db"), Items())
    batched = ProjectionStore(make_engine(url), Items())
    try:
        for store in (one_by_one, batched):
            store.create_schema()
        for e in events:
            one_by_one.apply(LOG_SOURCE, 0, [Delivery(e.position, e)])
        batched.apply(LOG_SOURCE, 0, [Delivery(e.position, e) for e in events])
        assert compare(one_by_one, batched) == []
        with batched.engine.connect() as conn:
            rows = {(r.case_id, r.item): (r.qty, r.note, r.position)
                    for r in conn.execute(sa.select(items))}
            negative = {(r.case_id, r.item) for r in conn.execute(
                sa.select(items).where(items.c.negative))}
            seen = [r.seen for r in conn.execute(sa.select(peeks).order_by(peeks.c.position))]
        a, b = str(events[0].case_id), str(events[3].case_id)
        assert rows[(a, 1)] == (3, "last", 8)
        assert rows[(b, 7)] == (5, "second", 5)  # the update before its insert changed nothing
        assert seen == ["None", "(2, 'first')", "(5, 'second')"]
        c = str(events[-1].case_id)
        counted_4 = next(e.position for e in events if e.type == "Counted"
                         and str(e.case_id) == c and e.payload["item"] == 4)
        assert rows[(c, 4)] == (4, None, counted_4)
        assert rows[(c, 3)][:2] == (-3, None)
        assert rows[(c, 6)][:2] == (6, "n6")
        assert rows[(c, 9)][:2] == (-9, "n9")
        assert negative == {(c, i) for i in range(1, n, 2)}
    finally:
        one_by_one.engine.dispose()
        batched.engine.dispose()


def test_prepare_batch_gets_the_events_the_handlers_get(url: str) -> None:
    events = history()[:12]
    projection = Items()
    store = ProjectionStore(make_engine(url), projection)
    try:
        store.create_schema()
        store.apply(LOG_SOURCE, 0, [Delivery(e.position, e) for e in events[:5]])
        # A redelivery overlapping what was applied: only the new events, and only the
        # types the projection handles ("Other", at position 9, is tracked, not handled).
        store.apply(LOG_SOURCE, 0, [Delivery(e.position, e) for e in events[3:]])
        store.apply(LOG_SOURCE, 0, [Delivery(e.position, e) for e in events[3:]])
        assert projection.prepared == [[1, 2, 3, 4, 5], [6, 7, 8, 10, 11, 12]]
        assert store.position(LOG_SOURCE) == 12
    finally:
        store.engine.dispose()


def test_outside_a_batch_writes_run_at_once(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            metadata.create_all(conn)
            insert_row(conn, items, {"case_id": "x", "item": 1, "qty": 1, "note": None,
                                     "negative": False, "position": 1})
            update_row(conn, items, {"case_id": "x", "item": 1}, qty=4)
            assert conn.execute(sa.select(items.c.qty)).scalar_one() == 4
    finally:
        engine.dispose()


def test_a_page_read_past_unhandled_types_moves_the_positions_past_them(url: str) -> None:
    events = history()[:12]  # position 9 is of a type the projection does not handle
    store = ProjectionStore(make_engine(url), Items())
    try:
        store.create_schema()
        handled = [Delivery(e.position, e) for e in events[:9] if e.type != "Other"]
        store.apply(LOG_SOURCE, 0, handled, through=9)
        assert store.position(LOG_SOURCE) == 9
        store.apply(LOG_SOURCE, 0, [], through=9)  # an empty page changes nothing
        assert store.position(LOG_SOURCE) == 9
        again = store.apply(LOG_SOURCE, 0, [Delivery(e.position, e) for e in events])
        assert (again.applied, again.duplicates) == (3, 9)
        with pytest.raises(ValueError, match="log source"):
            store.apply("kafka:case-events", 0, handled, through=9)
    finally:
        store.engine.dispose()


@pytest.mark.postgres
def test_updates_below_the_hinted_size_are_planned_as_index_lookups(tmp_path: Path) -> None:
    """Why a poll's update goes without the planner settings: over 84,000 rows (where 900
    updated rows made the planner hash the whole table), fewer than HINTED_UPDATES_FROM
    are joined through the primary key's index all the same."""
    from casetrail.projections.store import _unnest_update

    with fresh_database("postgres", tmp_path, "plans") as url:
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                items.create(conn)
                conn.execute(sa.text(
                    "INSERT INTO items SELECT md5(i::text), 1, i, NULL, false, i "
                    "FROM generate_series(1, 84000) i"))
                conn.execute(sa.text("ANALYZE items"))
            n = HINTED_UPDATES_FROM - 1
            sql = _unnest_update(items, ("case_id", "item", "qty", "position"),
                                 engine.dialect)
            with engine.begin() as conn:
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                cursor.execute(f"EXPLAIN {sql}", [
                    [f"{i * 37 % 84000 + 1}" for i in range(n)], [1] * n, [2] * n,
                    list(range(n))])
                plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            engine.dispose()
    assert "Nested Loop" in plan, plan
    assert "Hash Join" not in plan, plan
