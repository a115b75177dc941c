"""One poll, one transaction: a consumer's poll holding several partitions' messages is applied
in one read-model transaction with every partition's position, and ends exactly as applying
each partition's batch on its own (the plain path) ends, on SQLite and PostgreSQL.

The `Trail` projection keeps one row per applied event, keyed by (case, version), so applying
an event twice fails loudly, and a per-case tally that refuses an event out of its case's
order; an event whose payload says so is a poison message its handler refuses.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
import sqlalchemy as sa
from casetrail.envelope import EventEnvelope, event_id_for
from casetrail.projections.base import Projection
from casetrail.projections.rebuild import compare
from casetrail.projections.runners import Applier
from casetrail.projections.store import (
    BatchResult,
    Delivery,
    ProjectionStore,
    insert_row,
    make_engine,
    update_row,
)
from casetrail.testing import BACKENDS, fresh_database
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

SOURCE = "kafka:case-events"
PARTITIONS = 4

metadata = sa.MetaData()
trail = sa.Table(
    "trail", metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)
tally = sa.Table(
    "tally", metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("events", sa.Integer, nullable=False),
    sa.Column("last_version", sa.Integer, nullable=False),
)


class Trail(Projection):
    name = "trail"
    metadata = metadata

    def __init__(self) -> None:
        self.failures: list[int] = []  # positions that raise a transient error, once each

    def handle(self, conn: Connection, event: EventEnvelope) -> None:
        if event.payload.get("poison"):
            raise ValueError("the trail cannot apply this event")
        if event.position in self.failures:
            self.failures.remove(event.position)
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        case_id = str(event.case_id)
        insert_row(conn, trail, {"case_id": case_id, "version": event.version,
                                 "position": event.position})
        last = conn.execute(sa.select(tally.c.events, tally.c.last_version).where(
            tally.c.case_id == case_id)).first()
        if last is None:
            insert_row(conn, tally, {"case_id": case_id, "events": 1,
                                     "last_version": event.version})
            return
        # A version may be missing (its event was dead-lettered), never come late.
        if event.version <= last.last_version:
            raise AssertionError(f"{case_id}: {event.version} after {last.last_version}")
        update_row(conn, tally, {"case_id": case_id}, events=last.events + 1,
                   last_version=event.version)


def envelope(case_id: UUID, version: int, position: int, **payload: Any) -> EventEnvelope:
    at = datetime(2026, 5, 4, tzinfo=UTC)
    return EventEnvelope(event_id=event_id_for(case_id, version), type="ContactRecorded",
                         schema_version=1, case_id=case_id, version=version, position=position,
                         occurred_at=at, recorded_at=at, payload=payload)


Polls = list[dict[int, list[Delivery]]]


def topic(seed: int, *, poison: int | None = None) -> dict[int, list[Delivery]]:
    """The log of 12 cases as a relay publishes it: each case on its partition, in log order,
    with offsets per partition; partition 2 then carries a re-published copy of its first
    three events (a relay that crashed before saving its position)."""
    rng = random.Random(seed)
    cases = [uuid4() for _ in range(12)]
    versions = dict.fromkeys(cases, 0)
    messages: dict[int, list[Delivery]] = {p: [] for p in range(PARTITIONS)}
    for position in range(1, 201):
        i = rng.randrange(len(cases))
        versions[cases[i]] += 1
        payload = {"poison": True} if position == poison else {"n": position}
        event = envelope(cases[i], versions[cases[i]], position, **payload)
        partition = i % PARTITIONS
        messages[partition].append(Delivery(len(messages[partition]), event))
    copies = messages[2][:3]
    messages[2] += [Delivery(len(messages[2]) + k, d.event) for k, d in enumerate(copies)]
    return messages


def polls(messages: dict[int, list[Delivery]], seed: int) -> Polls:
    """The topic as a consumer's polls: a few messages of some partitions each time, and once
    a redelivery of offsets already consumed (a restart before the Kafka offset commit)."""
    rng = random.Random(seed)
    cursor = dict.fromkeys(messages, 0)
    made: Polls = []
    while any(cursor[p] < len(messages[p]) for p in messages):
        poll = {}
        for p in messages:
            if cursor[p] < len(messages[p]) and rng.random() < 0.8:
                take = rng.randint(1, 12)
                poll[p] = messages[p][cursor[p]:cursor[p] + take]
                cursor[p] += take
        if poll:
            made.append(poll)
        if len(made) == 5:
            made.append({p: messages[p][:cursor[p]] for p in messages if cursor[p]})
    return made


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path, "trail") as database_url:
        yield database_url


def store_at(url: str) -> ProjectionStore:
    store = ProjectionStore(make_engine(url), Trail())
    store.create_schema()
    return store


def commits(store: ProjectionStore) -> list[int]:
    """A counter of the store's committed transactions."""
    counted = [0]

    @sa.event.listens_for(store.engine, "commit")
    def _count(_: Any) -> None:
        counted[0] += 1

    return counted


def test_a_poll_of_several_partitions_is_one_transaction_equal_to_each_partition_alone(
        url: str, tmp_path: Path) -> None:
    plain = store_at(f"sqlite:///{tmp_path}/plain.db")
    batched = store_at(url)
    try:
        made = polls(topic(seed=7), seed=11)
        assert sum(len(poll) > 1 for poll in made) > 5  # polls of several partitions
        plain_results, batched_results = [], []
        counted = commits(batched)
        for poll in made:
            plain_results.append({p: plain.apply(SOURCE, p, deliveries)
                                  for p, deliveries in poll.items()})
            batched_results.append(batched.apply_partitions(SOURCE, poll))
        assert counted[0] == len(made)  # one transaction per poll, whatever it held
        assert batched_results == plain_results
        assert sum(r.duplicates for poll in batched_results for r in poll.values()) > 3
        assert compare(plain, batched) == []
        assert batched.positions(SOURCE) == plain.positions(SOURCE)
        with batched.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(trail)).scalar() == 200
    finally:
        plain.engine.dispose()
        batched.engine.dispose()


def test_a_poll_that_fails_half_way_leaves_no_partition_applied(url: str) -> None:
    store = store_at(url)
    try:
        messages = topic(seed=3)
        first = {p: messages[p][:5] for p in messages}
        store.apply_partitions(SOURCE, first)
        before = store.positions(SOURCE)
        # The second poll breaks on the last event it holds in log order: every partition's
        # earlier events were handled in the transaction, and none of them may remain.
        second = {p: messages[p][5:10] for p in messages}
        last = max(d.event.position for batch in second.values() for d in batch)
        store.projection.failures.append(last)  # type: ignore[attr-defined]
        with pytest.raises(OperationalError):
            store.apply_partitions(SOURCE, second)
        assert store.positions(SOURCE) == before
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(trail)).scalar() == 20
        assert store.apply_partitions(SOURCE, second) == {
            p: BatchResult(5, 0, 9) for p in second}
    finally:
        store.engine.dispose()


def raw_polls(made: Polls, garbage: tuple[int, int]) -> list[dict[int, list[tuple[int, Any]]]]:
    """The polls as the transport hands them over (bytes), with the message at (partition,
    offset) `garbage` replaced by bytes that are no envelope."""
    return [{p: [(d.position, b"\x00 not an envelope" if (p, d.position) == garbage
                  else d.event.to_json_bytes()) for d in deliveries]
             for p, deliveries in poll.items()} for poll in made]


def test_dead_letters_and_transient_retries_of_a_poll_equal_the_plain_path(
        url: str, tmp_path: Path) -> None:
    messages = topic(seed=5, poison=57)
    poison_partition = next(p for p, ds in messages.items()
                            if any(d.event.position == 57 for d in ds))
    garbage = ((poison_partition + 1) % PARTITIONS, 4)
    made = raw_polls(polls(messages, seed=9), garbage)
    flaky = [d.event.position for d in messages[(poison_partition + 2) % PARTITIONS][6:8]]

    def run(store: ProjectionStore, together: bool) -> list[tuple[int, int, str]]:
        letters: list[tuple[int, int, str]] = []

        async def dead_letter(partition: int, position: int, raw: Any, error: str) -> None:
            letters.append((partition, position, error))

        async def scenario() -> None:
            applier = Applier(store, SOURCE, dead_letter)
            for poll in made:
                if together:
                    await applier.apply_partitions(poll)
                else:
                    for p, raw in poll.items():
                        await applier.apply(p, raw)

        store.projection.failures.extend(flaky)  # type: ignore[attr-defined]
        asyncio.run(scenario())
        assert store.projection.failures == []  # type: ignore[attr-defined]
        return sorted(letters)

    plain = store_at(f"sqlite:///{tmp_path}/plain.db")
    batched = store_at(url)
    try:
        plain_letters = run(plain, together=False)
        assert run(batched, together=True) == plain_letters
        poison_offset = next(d.position for d in messages[poison_partition]
                             if d.event.position == 57)
        # (A redelivered message that does not decode goes to the dead letters again.)
        assert {(p, o) for p, o, _ in plain_letters} == {(poison_partition, poison_offset),
                                                         garbage}
        errors = " | ".join(e for *_, e in plain_letters)
        assert "cannot apply" in errors
        assert "not a case-event envelope" in errors
        assert compare(plain, batched) == []
        assert batched.positions(SOURCE) == plain.positions(SOURCE)
    finally:
        plain.engine.dispose()
        batched.engine.dispose()


def test_a_single_partition_poll_takes_the_plain_path(url: str) -> None:
    store = store_at(url)
    try:
        messages = topic(seed=1)
        seen: list[Sequence[Delivery]] = []
        plain_apply = store.apply

        def spy(source: str, partition: int, deliveries: Sequence[Delivery],
                through: int | None = None) -> BatchResult:
            seen.append(deliveries)
            return plain_apply(source, partition, deliveries, through)

        store.apply = spy  # type: ignore[method-assign]

        async def dead_letter(*_: Any) -> None:
            raise AssertionError("nothing to dead-letter")

        result = asyncio.run(Applier(store, SOURCE, dead_letter).apply_partitions(
            {1: [(d.position, orjson.loads(d.event.to_json_bytes())) for d in messages[1]]}))
        assert len(seen) == 1
        assert result[1].applied == len(messages[1])
    finally:
        store.engine.dispose()
