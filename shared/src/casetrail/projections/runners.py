"""The one consumer runtime every service uses, on Kafka or on the embedded HTTP feed.

Both transports hand batches of (position, raw message) to an `Applier`, which decodes them,
applies them through the `ProjectionStore` (read-model writes and positions in one
transaction) and sends what cannot be decoded or handled to the dead letters, then moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx
import orjson
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from prometheus_client import Counter, Gauge
from sqlalchemy.exc import DBAPIError, OperationalError

from casetrail.envelope import EnvelopeError, decode_envelope
from casetrail.kafka import KafkaSettings, idempotent_producer
from casetrail.projections.store import NO_POSITION, BatchResult, Delivery, ProjectionStore
from casetrail.retry import retrying_async

log = structlog.get_logger("casetrail.consumer")

EVENTS_APPLIED = Counter("casetrail_consumer_events_applied_total",
                         "Events applied to a projection", ["projection"])
DUPLICATES = Counter("casetrail_consumer_duplicates_total",
                     "Redelivered or re-published events skipped", ["projection"])
DEAD_LETTERS = Counter("casetrail_consumer_dead_letters_total",
                       "Messages sent to the dead letters", ["projection"])
CONSUMER_LAG = Gauge("casetrail_consumer_lag", "Messages behind the end of the source",
                     ["projection", "partition"])

Raw = bytes | dict[str, Any]
DeadLetterSink = Callable[[int, int, Raw, str], Awaitable[None]]
AfterBatch = Callable[[int, BatchResult], Awaitable[None]]

TRANSIENT_RETRIES = 20
_Result = TypeVar("_Result", BatchResult, dict[int, BatchResult])


def is_transient(exc: BaseException) -> bool:
    """Database trouble that a retry fixes (not a bad message)."""
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


class Applier:
    """Decodes and applies batches; isolates poison messages into the dead letters."""

    def __init__(self, store: ProjectionStore, source: str, dead_letter: DeadLetterSink):
        self.store, self.source, self.dead_letter = store, source, dead_letter
        self.projection = store.name

    async def apply(self, partition: int, messages: Sequence[tuple[int, Raw]]) -> BatchResult:
        """Apply messages of one partition in order; returns the totals."""
        applied = duplicates = 0
        good: list[Delivery] = []
        for position, raw in messages:
            try:
                good.append(Delivery(position, decode_envelope(raw)))
            except EnvelopeError as exc:
                a, d = await self._apply_good(partition, good)
                applied, duplicates, good = applied + a, duplicates + d, []
                await self._dead(partition, position, raw, str(exc))
        a, d = await self._apply_good(partition, good)
        last = messages[-1][0] if messages else NO_POSITION
        return BatchResult(applied + a, duplicates + d, last)

    async def apply_partitions(self, batches: Mapping[int, Sequence[tuple[int, Raw]]]
                               ) -> dict[int, BatchResult]:
        """Apply one poll's messages of several partitions, each in order, in one transaction
        with every partition's position. A partition with a message that does not decode,
        and every partition of a poll that a handler refuses, is applied partition by
        partition instead (`apply`), which isolates the poison message."""
        results: dict[int, BatchResult] = {}
        clean: dict[int, list[Delivery]] = {}
        for partition, messages in batches.items():
            if not messages:
                continue
            try:
                clean[partition] = [Delivery(position, decode_envelope(raw))
                                    for position, raw in messages]
            except EnvelopeError:
                results[partition] = await self.apply(partition, messages)
        if len(clean) == 1:  # the plain path: one partition, one transaction
            [(partition, deliveries)] = clean.items()
            applied, duplicates = await self._apply_good(partition, deliveries)
            results[partition] = BatchResult(applied, duplicates, deliveries[-1].position)
            return results
        if not clean:
            return results
        try:
            done = await self._with_retries(self.store.apply_partitions, self.source, clean)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("poll failed; applying it partition by partition", error=repr(exc))
            done = {}
            for partition, deliveries in clean.items():
                applied, duplicates = await self._apply_good(partition, deliveries)
                done[partition] = BatchResult(applied, duplicates, NO_POSITION)
        for partition, result in done.items():
            # As `apply` reports it: the last position delivered.
            results[partition] = BatchResult(result.applied, result.duplicates,
                                             clean[partition][-1].position)
        return results

    async def _apply_good(self, partition: int, deliveries: list[Delivery]) -> tuple[int, int]:
        if not deliveries:
            return 0, 0
        try:
            result = await self._with_retries(self.store.apply, self.source, partition,
                                              deliveries)
        except Exception as exc:
            if is_transient(exc):
                raise
            # One message broke the handler: find it by applying one at a time.
            log.warning("batch failed; isolating the poison message", error=repr(exc))
            applied = duplicates = 0
            for delivery in deliveries:
                try:
                    single = await self._with_retries(self.store.apply, self.source, partition,
                                                      [delivery])
                except Exception as one_exc:
                    if is_transient(one_exc):
                        raise
                    await self._dead(partition, delivery.position,
                                     delivery.event.model_dump(mode="json"), repr(one_exc))
                    continue
                applied += single.applied
                duplicates += single.duplicates
            return applied, duplicates
        return result.applied, result.duplicates

    async def _with_retries(self, apply: Callable[..., _Result], *args: Any) -> _Result:
        """`apply(*args)` on a worker thread, retried while the database is unavailable."""
        async for attempt in retrying_async(TRANSIENT_RETRIES, on=is_transient,
                                            backoff=(0.2, 5.0)):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    log.warning("database unavailable; retrying",
                                attempt=attempt.retry_state.attempt_number)
                result = await asyncio.to_thread(apply, *args)
        for one in result.values() if isinstance(result, dict) else (result,):
            EVENTS_APPLIED.labels(self.projection).inc(one.applied)
            DUPLICATES.labels(self.projection).inc(one.duplicates)
        return result

    async def _dead(self, partition: int, position: int, raw: Raw, error: str) -> None:
        log.error("dead-lettered a message", partition=partition, position=position,
                  error=error[:500])
        await self.dead_letter(partition, position, raw, error)
        await asyncio.to_thread(self.store.skip, self.source, partition, position)
        DEAD_LETTERS.labels(self.projection).inc()


class _Readiness:
    """Ready when the projection's database answers and the lag is within bounds."""

    store: ProjectionStore
    source: str
    max_lag: int
    lag: dict[int, int]

    async def readiness(self) -> dict[str, Any]:
        """Details when ready; raises with the reason when not."""
        positions = await asyncio.to_thread(self.store.positions, self.source)
        behind = sum(self.lag.values())
        if behind > self.max_lag:
            raise RuntimeError(f"{self.store.name} is {behind} events behind (max {self.max_lag})")
        return {"projection": self.store.name, "lag": behind,
                "partitions": len(positions)}


class KafkaProjectionRunner(_Readiness):
    """A consumer-group member: read_committed, manual positions kept in the projection's DB."""

    def __init__(self, store: ProjectionStore, settings: KafkaSettings, *,
                 group_id: str | None = None, max_records: int = 500,
                 after_batch: AfterBatch | None = None, max_lag: int = 10_000):
        self.store, self.settings = store, settings
        self.max_lag, self.lag = max_lag, {}
        self.source = f"kafka:{settings.topic}"
        self.group_id = group_id or f"casetrail.{store.name}"
        self.max_records = max_records
        self.after_batch = after_batch
        self._busy = asyncio.Lock()
        self.consumer: AIOKafkaConsumer | None = None
        self.applier = Applier(store, self.source, self._to_dead_letter_topic)
        self._producer: Any = None

    async def _to_dead_letter_topic(self, partition: int, position: int, raw: Raw,
                                    error: str) -> None:
        value = raw if isinstance(raw, bytes) else orjson.dumps(raw)
        headers = [("error", error[:4000].encode()), ("projection", self.store.name.encode()),
                   ("source_partition", str(partition).encode()),
                   ("source_offset", str(position).encode())]
        await self._producer.send_and_wait(self.settings.dead_letter_topic, value=value,
                                           headers=headers)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the batch in hand is finished and its position kept."""
        await asyncio.to_thread(self.store.create_schema)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers, group_id=self.group_id,
            client_id=f"{self.settings.client_id}-{self.store.name}",
            enable_auto_commit=False, auto_offset_reset="earliest",
            isolation_level="read_committed", max_poll_interval_ms=300_000,
            session_timeout_ms=10_000, heartbeat_interval_ms=1_000)
        self.consumer = consumer
        consumer.subscribe([self.settings.topic], listener=_SeekToStoredPositions(self))
        self._producer = idempotent_producer(self.settings)
        await self._producer.start()
        await consumer.start()
        log.info("consuming", projection=self.store.name, topic=self.settings.topic,
                 group=self.group_id)
        try:
            while not stop.is_set():
                polled = await consumer.getmany(timeout_ms=300, max_records=self.max_records)
                if not polled:
                    continue
                async with self._busy:  # a rebalance waits for the poll in hand
                    assigned = consumer.assignment()
                    # A partition revoked meanwhile is left out: its new owner reads it from
                    # the positions in the DB.
                    batches = {tp: messages for tp, messages in polled.items()
                               if messages and tp in assigned}
                    if not batches:
                        continue
                    # Every partition of the poll in one transaction, with its position.
                    results = await self.applier.apply_partitions(
                        {tp.partition: [(m.offset, m.value) for m in messages]
                         for tp, messages in batches.items()})
                    if self.after_batch is not None:
                        for tp in batches:
                            await self.after_batch(tp.partition, results[tp.partition])
                    with contextlib.suppress(CommitFailedError, KafkaError):
                        # Informational (lag tools); the DB position is the truth.
                        await consumer.commit({tp: messages[-1].offset + 1
                                               for tp, messages in batches.items()})
                    for tp, messages in batches.items():
                        self._record_lag(consumer, tp, messages[-1].offset)
        finally:
            async with self._busy:
                await consumer.stop()
                await self._producer.stop()
            log.info("consumer stopped", projection=self.store.name)

    def _record_lag(self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        if tp not in consumer.assignment():
            return  # revoked while the batch was applied; the new owner reports its lag
        highwater = consumer.highwater(tp)
        if highwater is not None:
            self.lag[tp.partition] = max(0, highwater - offset - 1)
            CONSUMER_LAG.labels(self.store.name, str(tp.partition)).set(self.lag[tp.partition])

    async def seek_to_stored(self, assigned: set[TopicPartition]) -> None:
        """Start each newly assigned partition right after its position in the DB."""
        assert self.consumer is not None
        positions = await asyncio.to_thread(self.store.positions, self.source)
        for tp in assigned:
            stored = positions.get(tp.partition, NO_POSITION)
            if stored >= 0:
                self.consumer.seek(tp, stored + 1)
            else:
                await self.consumer.seek_to_beginning(tp)
        log.info("partitions assigned", projection=self.store.name,
                 partitions=sorted(tp.partition for tp in assigned))


class _SeekToStoredPositions(ConsumerRebalanceListener):
    def __init__(self, runner: KafkaProjectionRunner):
        self.runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self.runner._busy:  # let the batch in hand commit first
            pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.runner.seek_to_stored(assigned)


class FeedProjectionRunner(_Readiness):
    """The embedded transport: long-polls the case service's `GET /v1/events` feed."""

    source = "feed"

    def __init__(self, store: ProjectionStore, base_url: str, api_key: str, *,
                 limit: int = 500, wait: float = 10.0,
                 after_batch: AfterBatch | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, max_lag: int = 10_000):
        self.store, self.base_url, self.api_key = store, base_url.rstrip("/"), api_key
        self.max_lag, self.lag = max_lag, {}
        self.limit, self.wait, self.after_batch = limit, wait, after_batch
        self.transport = transport
        self.applier = Applier(store, self.source, self._to_dead_letter_table)

    async def _to_dead_letter_table(self, partition: int, position: int, raw: Raw,
                                    error: str) -> None:
        await asyncio.to_thread(self.store.record_dead_letter, self.source, partition,
                                position, raw if isinstance(raw, bytes) else orjson.dumps(raw),
                                error)

    async def run(self, stop: asyncio.Event, *, until_caught_up: bool = False) -> None:
        """Follow the feed until `stop` is set (or, with `until_caught_up`, until it is empty)."""
        await asyncio.to_thread(self.store.create_schema)
        headers = {"Authorization": f"Bearer {self.api_key}"}
        backoff = 0.2
        wait = 0 if until_caught_up else self.wait
        # The next page is requested while the current one is applied (it is used when the
        # position after applying is the one it was asked from, which is the normal case).
        prefetched: tuple[int, asyncio.Future[httpx.Response]] | None = None
        async with httpx.AsyncClient(base_url=self.base_url, headers=headers,
                                     timeout=self.wait + 15, transport=self.transport) as client:

            def request(after: int) -> asyncio.Future[httpx.Response]:
                future = asyncio.ensure_future(client.get(
                    "/v1/events", params={"after": after, "limit": self.limit, "wait": wait}))
                # A prefetch dropped after failing is not an unretrieved-exception warning.
                future.add_done_callback(lambda f: f.cancelled() or f.exception())
                return future

            try:
                while not stop.is_set():
                    after = max(0, await asyncio.to_thread(self.store.position, self.source, 0))
                    if prefetched is not None and prefetched[0] == after:
                        fetch = prefetched[1]
                    else:
                        if prefetched is not None:
                            prefetched[1].cancel()
                        fetch = request(after)
                    prefetched = None
                    stopper: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
                    done, _ = await asyncio.wait({fetch, stopper},
                                                 return_when=asyncio.FIRST_COMPLETED)
                    stopper.cancel()
                    if fetch not in done:
                        fetch.cancel()
                        break
                    try:
                        response = fetch.result()
                        response.raise_for_status()
                    except httpx.HTTPError as exc:
                        status = getattr(getattr(exc, "response", None), "status_code", None)
                        if status in (401, 403):
                            raise RuntimeError(
                                f"the event feed refused this key ({status})") from exc
                        log.warning("event feed unavailable; retrying", error=str(exc)[:200])
                        await asyncio.sleep(backoff)
                        backoff = min(backoff * 2, 5.0)
                        continue
                    backoff = 0.2
                    body = orjson.loads(response.content)
                    events = body["events"]
                    if not events:
                        self.lag[0] = 0
                        if until_caught_up:
                            return
                        continue
                    last = int(events[-1]["position"])
                    prefetched = (last, request(last))
                    # Never cancelled half-way: the batch in hand finishes and its position
                    # commits.
                    result = await asyncio.shield(self.applier.apply(
                        0, [(int(e["position"]), e) for e in events]))
                    if self.after_batch is not None:
                        await self.after_batch(0, result)
                    head = body.get("head_position")
                    if head is not None:
                        self.lag[0] = max(0, int(head) - result.last_position)
                        CONSUMER_LAG.labels(self.store.name, "0").set(self.lag[0])
            finally:
                if prefetched is not None:
                    prefetched[1].cancel()

