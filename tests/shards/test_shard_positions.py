"""Projection stores keep log positions per shard: two case logs on one topic partition.

Each case log counts positions from 1, so the events of two shards interleave in a partition
with positions that collide and go backwards. These tests drive `ProjectionStore.apply` (the
path both transports use) with envelopes as the shards' relays publish them, and compare
with the plain path (every log through its own source) on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from casetrail.envelope import EventEnvelope, event_id_for, in_shard
from casetrail.projections.store import Delivery, ProjectionStore, make_engine, shard_source
from casetrail.testing import BACKENDS, fresh_database

from tests.transport.harness import Ledger, applications

AT = datetime(2026, 6, 1, 9, tzinfo=UTC)


def log_of(cases: list[UUID], events_per_case: int) -> list[EventEnvelope]:
    """A case log: every case's events, round-robin, at positions 1, 2, 3, ..."""
    events = []
    for version in range(1, events_per_case + 1):
        for case_id in cases:
            events.append(EventEnvelope(
                event_id=event_id_for(case_id, version), type="ContactRecorded",
                schema_version=1, case_id=case_id, version=version,
                position=len(events) + 1, occurred_at=AT, recorded_at=AT, payload={}))
    return events


def interleave(first: list[EventEnvelope], second: list[EventEnvelope]
               ) -> list[EventEnvelope]:
    """One partition's messages: shard 1 runs ahead, then both alternate."""
    ahead, rest = first[:len(first) // 2], first[len(first) // 2:]
    mixed = list(ahead)
    for a, b in zip(rest, second, strict=False):
        mixed += [b, a]
    mixed += second[len(rest):]
    return mixed


def ledger_rows(store: ProjectionStore) -> list[tuple[str, int]]:
    with store.engine.connect() as conn:
        return [(r.case_id, r.version) for r in conn.execute(
            sa.select(applications).order_by(applications.c.id))]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ProjectionStore:
    with fresh_database(request.param, tmp_path, "ledger") as url:
        engine = make_engine(url)
        made = ProjectionStore(engine, Ledger())
        made.create_schema()
        yield made
        engine.dispose()


def test_two_shards_in_one_partition_are_each_applied_once_with_republished_copies(
        store: ProjectionStore) -> None:
    shard_1 = [in_shard(e, "shard-1") for e in log_of([uuid4() for _ in range(3)], 4)]
    shard_2 = [in_shard(e, "shard-2") for e in log_of([uuid4() for _ in range(2)], 4)]
    messages = interleave(shard_1, shard_2)
    # The relay of shard 1 crashed after publishing and republished its log from the start.
    messages += shard_1
    offset = 0
    for size in (5, 1, 7, 30):  # batches cut anywhere
        batch, messages = messages[:size], messages[size:]
        store.apply("kafka:t", 0, [Delivery(offset + i, e) for i, e in enumerate(batch)])
        offset += len(batch)
    store.apply("kafka:t", 0, [Delivery(offset + i, e) for i, e in enumerate(messages)])

    rows = ledger_rows(store)
    assert Counter(rows) == Counter((str(e.case_id), e.version) for e in shard_1 + shard_2)
    assert store.positions(shard_source("kafka:t", "shard-1")) == {0: -1}  # no transport pos
    with store.engine.connect() as conn:
        through = dict(conn.execute(sa.text(
            "SELECT source, log_position FROM projection_positions")).all())
    assert through[shard_source("kafka:t", "shard-1")] == len(shard_1)
    assert through[shard_source("kafka:t", "shard-2")] == len(shard_2)


def test_the_result_equals_each_log_applied_through_a_source_of_its_own(
        store: ProjectionStore, tmp_path: Path) -> None:
    shard_1 = [in_shard(e, "shard-1") for e in log_of([uuid4() for _ in range(4)], 3)]
    shard_2 = [in_shard(e, "shard-2") for e in log_of([uuid4() for _ in range(4)], 3)]
    store.apply("kafka:t", 1, [Delivery(i, e) for i, e in
                               enumerate(interleave(shard_1, shard_2))])
    plain = ProjectionStore(make_engine(f"sqlite:///{tmp_path}/plain.db"), Ledger())
    plain.create_schema()
    for name, log in (("log-1", shard_1), ("log-2", shard_2)):
        plain.apply(name, 0, [Delivery(e.position, in_shard(e, None))
                              for e in log])
    assert sorted(ledger_rows(store)) == sorted(ledger_rows(plain))


def test_the_default_log_keeps_its_position_in_the_partition_row(store: ProjectionStore
                                                                 ) -> None:
    log = log_of([uuid4() for _ in range(3)], 2)
    store.apply("kafka:t", 0, [Delivery(i, e) for i, e in enumerate(log)])
    store.apply("kafka:t", 0, [Delivery(len(log) + i, e) for i, e in enumerate(log)])
    assert len(ledger_rows(store)) == len(log)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT source, log_position FROM projection_positions")).all()
    assert [tuple(r) for r in rows] == [("kafka:t", len(log))]


def test_without_shard_names_a_second_log_in_the_partition_would_be_taken_for_copies(
        store: ProjectionStore) -> None:
    """Why the shard is carried: unnamed, the second log's lower positions look applied."""
    shard_1 = log_of([uuid4() for _ in range(3)], 4)  # positions 1..12
    shard_2 = log_of([uuid4() for _ in range(3)], 2)  # positions 1..6
    result = store.apply("kafka:t", 0, [Delivery(i, e) for i, e in
                                        enumerate(shard_1 + shard_2)])
    assert result.duplicates == len(shard_2)
    named = [in_shard(e, "shard-2") for e in shard_2]
    again = store.apply("kafka:t", 0, [Delivery(len(shard_1) + len(shard_2) + i, e)
                                       for i, e in enumerate(named)])
    assert (again.applied, again.duplicates) == (len(shard_2), 0)


def test_the_json_form_names_the_shard_only_when_there_is_one() -> None:
    event = log_of([uuid4()], 1)[0]
    assert b'"shard"' not in event.to_json_bytes()
    named = in_shard(event, "shard-7")
    assert EventEnvelope.from_json_bytes(named.to_json_bytes()) == named
    assert EventEnvelope.from_json_bytes(event.to_json_bytes()).shard is None


def test_one_poll_over_partitions_equals_each_partition_applied_alone(
        store: ProjectionStore, tmp_path: Path) -> None:
    shard_1 = [in_shard(e, "shard-1") for e in log_of([uuid4() for _ in range(6)], 3)]
    shard_2 = [in_shard(e, "shard-2") for e in log_of([uuid4() for _ in range(6)], 3)]
    topic = interleave(shard_1, shard_2) + shard_2[:5]  # and a few republished copies
    polls: list[dict[int, list[Delivery]]] = []
    offsets = [0, 0, 0]
    for start in range(0, len(topic), 11):
        poll: dict[int, list[Delivery]] = {}
        for event in topic[start:start + 11]:
            partition = event.case_id.int % 3
            poll.setdefault(partition, []).append(Delivery(offsets[partition], event))
            offsets[partition] += 1
        polls.append(poll)
    plain = ProjectionStore(make_engine(f"sqlite:///{tmp_path}/plain.db"), Ledger())
    plain.create_schema()
    for poll in polls:
        store.apply_partitions("kafka:t", poll)
        for partition, deliveries in poll.items():
            plain.apply("kafka:t", partition, deliveries)
    assert Counter(ledger_rows(store)) == Counter(ledger_rows(plain)) == Counter(
        (str(e.case_id), e.version) for e in shard_1 + shard_2)
    assert store.positions("kafka:t") == plain.positions("kafka:t")
