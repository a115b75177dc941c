"""The transport contract: every event applied exactly once, in case order, whatever fails.

Each test runs on the embedded transport (HTTP feed, SQLite) and on real Kafka (relay,
consumer group, PostgreSQL), and compares the projection with a replay of the case log.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from casetrail.kafka import ensure_topics
from casetrail.projections.store import BatchResult, positions_table

from tests.transport.harness import POISON_NOTE, Harness, wait_for

ROOT = Path(__file__).resolve().parents[2]


class Crash(Exception):
    """A simulated process death at a chosen point."""


@pytest.fixture(params=["feed", pytest.param("kafka", marks=pytest.mark.kafka)])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "feed":
        h = Harness("feed", f"sqlite:///{tmp_path}/case.db", f"sqlite:///{tmp_path}/ledger.db",
                    None, "unused")
    else:
        bootstrap = request.getfixturevalue("kafka_bootstrap")
        new_schema = request.getfixturevalue("pg_schemas")
        topic = f"test-{os.urandom(5).hex()}"
        h = Harness("kafka", new_schema("case"), new_schema("ledger"), bootstrap, topic)
    yield h
    h.close()


def start(h: Harness, stop: asyncio.Event, consumers: int = 1) -> list[asyncio.Task[None]]:
    """The relay (on Kafka) and consumers, as tasks."""
    tasks = []
    if h.transport == "kafka":
        tasks.append(asyncio.create_task(h.relay().run(stop)))
    tasks += [asyncio.create_task(h.consumer().run(stop)) for _ in range(consumers)]
    return tasks


async def caught_up(h: Harness, excluding: int = 0) -> None:
    total = len(await asyncio.to_thread(h.log)) - excluding
    await wait_for(lambda: h.applied_count() >= total, message=f"{total} applications")


def test_every_event_is_applied_once_in_case_order_with_concurrent_writers(
        harness: Harness) -> None:
    async def scenario() -> None:
        stop = asyncio.Event()
        tasks = start(harness, stop)
        cases = await asyncio.to_thread(harness.place, 60)

        def writer(w: int) -> None:
            for i in range(40):
                harness.contact(cases[(w * 7 + i) % len(cases)], f"w{w}-{i}")

        await asyncio.gather(*(asyncio.to_thread(writer, w) for w in range(4)))
        await caught_up(harness)
        stop.set()
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    assert len(harness.log()) == 60 + 4 * 40
    harness.assert_exactly_once()


def test_a_redelivered_message_changes_nothing(harness: Harness) -> None:
    async def scenario() -> None:
        stop, stop_consumer = asyncio.Event(), asyncio.Event()
        relay = start(harness, stop, consumers=0)
        consumer = asyncio.create_task(harness.consumer().run(stop_consumer))
        cases = await asyncio.to_thread(harness.place, 30)
        for i, case_id in enumerate(cases):
            await asyncio.to_thread(harness.contact, case_id, f"c{i}")
        await caught_up(harness)
        stop_consumer.set()
        await consumer
        before = await asyncio.to_thread(harness.store.positions, _source(harness))
        # Forget the transport positions (keep the log positions applied through) and
        # restart: everything is delivered again from the start and must be recognised as
        # already applied.
        with harness.store.engine.begin() as conn:
            conn.execute(positions_table.update().values(position=-1))
        again = asyncio.create_task(harness.consumer().run(stop))
        await wait_for(lambda: harness.store.positions(_source(harness)) == before,
                       message="consumer re-read everything")
        stop.set()
        await asyncio.gather(*relay, again)

    asyncio.run(scenario())
    harness.assert_exactly_once()


def _source(h: Harness) -> str:
    return f"kafka:{h.kafka.topic}" if h.transport == "kafka" else "feed"


def test_a_consumer_killed_between_its_db_commit_and_offset_commit_applies_nothing_twice(
        harness: Harness) -> None:
    crashed: list[BatchResult] = []

    async def die_once(_: int, result: BatchResult) -> None:
        if not crashed and result.applied:
            crashed.append(result)
            raise Crash("killed after the DB commit, before the offset commit")

    async def scenario() -> None:
        stop = asyncio.Event()
        tasks = start(harness, stop, consumers=0)
        doomed = asyncio.create_task(harness.consumer(after_batch=die_once, max_records=20)
                                     .run(stop))
        await asyncio.to_thread(harness.place, 100)
        with pytest.raises(Crash):
            await doomed
        survivor = asyncio.create_task(harness.consumer().run(stop))
        await caught_up(harness)
        stop.set()
        await asyncio.gather(*tasks, survivor)

    asyncio.run(scenario())
    assert crashed
    harness.assert_exactly_once()


def test_consumers_joining_and_leaving_while_10000_events_flow_apply_each_event_once(
        harness: Harness) -> None:
    async def scenario() -> None:
        stop_relay, stop_a, stop_b, stop_c = (asyncio.Event() for _ in range(4))
        relay = start(harness, stop_relay, consumers=0)
        a = asyncio.create_task(harness.consumer().run(stop_a))
        b = c = None
        for batch in range(20):  # 20 placements of 500 accounts = 10,000 events
            await asyncio.to_thread(harness.place, 500)
            if batch == 4:
                b = asyncio.create_task(harness.consumer().run(stop_b))
            if batch == 10:
                stop_a.set()  # a member leaves mid-stream: its partitions move
            if batch == 14:
                c = asyncio.create_task(harness.consumer().run(stop_c))
        await a
        await caught_up(harness)
        stop_b.set()
        stop_c.set()
        stop_relay.set()
        await asyncio.gather(*relay, b, c)  # type: ignore[arg-type]

    asyncio.run(scenario())
    assert len(harness.log()) == 10_000
    harness.assert_exactly_once()


def test_a_poison_message_is_dead_lettered_and_the_partition_moves_on(harness: Harness
                                                                      ) -> None:
    async def scenario() -> tuple[str, int]:
        stop = asyncio.Event()
        tasks = start(harness, stop)
        cases = await asyncio.to_thread(harness.place, 5)
        await asyncio.to_thread(harness.contact, cases[0], "bad", POISON_NOTE)
        if harness.transport == "kafka":
            await ensure_topics(harness.kafka)
            producer = AIOKafkaProducer(bootstrap_servers=harness.kafka.bootstrap_servers)
            await producer.start()
            await producer.send_and_wait(harness.kafka.topic, key=str(cases[1]).encode(),
                                         value=b"\x00 this is not an envelope")
            await producer.stop()
        await asyncio.to_thread(harness.contact, cases[0], "good-after")
        await asyncio.to_thread(harness.contact, cases[1], "good-after")
        await caught_up(harness, excluding=1)
        stop.set()
        await asyncio.gather(*tasks)
        poisoned = next(e for e in await asyncio.to_thread(harness.app.events_after, 0, 100)
                        if e.payload.get("note") == POISON_NOTE)
        return str(poisoned.case_id), poisoned.version

    poisoned = asyncio.run(scenario())
    harness.assert_exactly_once(excluding={poisoned})
    if harness.transport == "kafka":
        letters = asyncio.run(_read_all(harness.kafka.bootstrap_servers or "",
                                        harness.kafka.dead_letter_topic, expected=2))
        errors = [dict(m.headers)["error"].decode() for m in letters]
        assert any("not a case-event envelope" in e for e in errors)
        assert any("cannot apply" in e for e in errors)
    else:
        letters_rows = harness.store.dead_letters()
        assert [r["error"] for r in letters_rows] == [
            "ValueError('the ledger cannot apply this event')"]


async def _read_all(bootstrap: str, topic: str, expected: int) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, isolation_level="read_committed")
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)
                      or {0}]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        got: list[Any] = []
        for _ in range(50):
            for messages in (await consumer.getmany(timeout_ms=200)).values():
                got += messages
            if len(got) >= expected:
                break
        return got
    finally:
        await consumer.stop()


async def _topic_size(bootstrap: str, topic: str, partitions: int) -> int:
    """How many messages a topic holds (sum of end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        return sum(ends.values())
    finally:
        await consumer.stop()


@pytest.mark.kafka
def test_a_relay_killed_between_publish_and_position_save_loses_nothing(
        kafka_bootstrap: str, pg_schemas: Any) -> None:
    h = Harness("kafka", pg_schemas("case"), pg_schemas("ledger"), kafka_bootstrap,
                f"test-{os.urandom(5).hex()}")
    published: list[int] = []

    async def die_after_first_publish(position: int) -> None:
        if not published:
            published.append(position)
            raise Crash("killed after the broker acked, before the position was saved")

    async def scenario() -> None:
        stop = asyncio.Event()
        await asyncio.to_thread(h.place, 300)
        with pytest.raises(Crash):
            await h.relay(after_publish=die_after_first_publish, batch_size=100).run(stop)
        assert await asyncio.to_thread(h.app.store.relay_position, h.kafka.topic) == 0
        relay = asyncio.create_task(h.relay(batch_size=100).run(stop))
        consumer = asyncio.create_task(h.consumer().run(stop))
        await caught_up(h)
        stop.set()
        await asyncio.gather(relay, consumer)
        # The first batch went out twice: duplicates on the topic, none in the projection.
        assert await _topic_size(kafka_bootstrap, h.kafka.topic, h.kafka.partitions) == 300 + 100

    try:
        asyncio.run(scenario())
        h.assert_exactly_once()
    finally:
        h.close()


def _kafka_script(command: str) -> None:
    subprocess.run([str(ROOT / "scripts" / "kafka.sh"), command], check=True,
                   capture_output=True, timeout=180)


@pytest.mark.kafka
def test_a_broker_restart_mid_stream_loses_nothing(kafka_bootstrap: str, pg_schemas: Any
                                                   ) -> None:
    data_dir = Path(os.environ.get("KAFKA_DATA_DIR", "/tmp/casetrail-kafka-19092"))
    if not (data_dir / ".started-by-casetrail").exists():
        pytest.skip("the broker was not started by scripts/kafka.sh: not ours to restart")
    h = Harness("kafka", pg_schemas("case"), pg_schemas("ledger"), kafka_bootstrap,
                f"test-{os.urandom(5).hex()}")

    async def scenario() -> None:
        stop = asyncio.Event()
        tasks = start(h, stop)
        await asyncio.to_thread(h.place, 200)
        await caught_up(h)
        await asyncio.to_thread(_kafka_script, "stop")
        try:
            await asyncio.to_thread(h.place, 200)  # written while the broker is down
        finally:
            await asyncio.to_thread(_kafka_script, "start")
        await asyncio.to_thread(h.place, 200)
        await caught_up(h)
        stop.set()
        await asyncio.gather(*tasks)

    try:
        asyncio.run(scenario())
        assert len(h.log()) == 600
        h.assert_exactly_once()
    finally:
        h.close()

