"""The outbox relay: the case service's event log, in order, onto the Kafka topic.

It reads the notification log from its last saved position, publishes each event's public
envelope keyed by case id (so one case's events stay in one partition, in order) with an
idempotent producer and `acks=all`, and saves the position only after the broker acknowledged
the whole batch. A crash anywhere therefore republishes at most one batch (duplicates, which
consumers absorb by case version) and never skips an event (no gaps).

It wakes on new events instead of sleeping a fixed interval: on PostgreSQL the event store
NOTIFYs a channel in every insert transaction (delivered at commit) and the relay LISTENs on
it (`LogNotifications`), still reading the log at least every `poll_seconds` should a
notification be lost (a lost NOTIFY must never stall it); without notifications (SQLite, or
while the listening connection is down) it polls adaptively, MIN_POLL_SECONDS after a round
that published, doubling up to `poll_seconds` while the log stays idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from casetrail.envelope import EventEnvelope
from casetrail.kafka import KafkaSettings, ensure_topics, idempotent_producer
from casetrail.retry import retrying_async
from eventsourcing.postgres import PostgresApplicationRecorder
from prometheus_client import Counter, Gauge
from psycopg import sql

log = structlog.get_logger("casetrail.relay")

RELAY_PUBLISHED = Counter("casetrail_relay_published_total", "Events published to Kafka")
RELAY_LAG = Gauge("casetrail_relay_lag", "Events in the log not yet acknowledged by Kafka")
RELAY_POSITION = Gauge("casetrail_relay_position", "Last log position acknowledged by Kafka")

AfterPublish = Callable[[int], Awaitable[None]]
ReadLog = Callable[[int, int], list[EventEnvelope]]  # (after, limit) -> envelopes, in order
# The relay never gives up on the broker while it runs: readiness reports the outage.
RESTARTS = sys.maxsize
# Without notifications, the first wait after a round that published: events committed while
# it published are read 5 ms later, not after a whole poll interval.
MIN_POLL_SECONDS = 0.005
LISTENER_NAME = "casetrail-relay-listener"  # its application_name in pg_stat_activity


class RelayPositions(Protocol):
    """Where the relay keeps its position per topic, and its lock among instances."""

    def relay_position(self, topic: str) -> int:
        """The last position acknowledged on `topic` (0: none)."""

    def save_relay_position(self, topic: str, position: int, saved_at: str) -> None:
        """Everything up to `position` is acknowledged on `topic`."""

    def exclusive(self, name: str) -> AbstractContextManager[bool]:
        """A lock held by one instance at a time; yields whether this one got it."""


class LogNotifications:
    """Wakes the relay when the event store commits: PostgreSQL LISTEN on the channel the
    library's recorder NOTIFYs in every transaction that inserts events (the notification is
    delivered at commit, so the events are visible when it arrives). Its own connection,
    reopened with a backoff when lost; `listening` is set while LISTEN is in place."""

    def __init__(self, connect_kwargs: dict[str, Any], channel: str, *,
                 check_seconds: float = 1.0, application_name: str = LISTENER_NAME):
        self.connect_kwargs, self.channel = connect_kwargs, channel
        self.application_name = application_name  # how pg_stat_activity names its session
        self.check_seconds = check_seconds  # how often a quiet listener looks at `stop`
        self.arrived = asyncio.Event()  # set by a notification; the relay clears it
        self.listening = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop` is set (or the task is cancelled)."""
        backoff = 0.5
        while not stop.is_set():
            try:
                conn = await psycopg.AsyncConnection.connect(
                    autocommit=True, **{"application_name": self.application_name,
                                        **self.connect_kwargs})
                async with conn:
                    await conn.execute(sql.SQL("LISTEN {}").format(
                        sql.Identifier(self.channel)))
                    self.listening.set()
                    self.arrived.set()  # whatever committed before LISTEN: read once more
                    backoff = 0.5
                    while not stop.is_set():
                        async for _ in conn.notifies(timeout=self.check_seconds):
                            self.arrived.set()
            except psycopg.Error as exc:
                log.warning("listening for new events failed; polling meanwhile",
                            error=repr(exc)[:300])
            finally:
                self.listening.clear()
                self.arrived.set()  # a relay waiting for a notification polls meanwhile
            await _sleep_or_stop(stop, backoff)
            backoff = min(backoff * 2, 10.0)


def log_notifications(recorder: object) -> LogNotifications | None:
    """The notifications of an event store that sends them (the library's PostgreSQL
    recorder), else None (SQLite: the relay polls)."""
    if not isinstance(recorder, PostgresApplicationRecorder):
        return None
    pool_kwargs = recorder.datastore.pool.kwargs  # what its connection pool connects with
    given = pool_kwargs() if callable(pool_kwargs) else dict(pool_kwargs or {})
    kwargs = {k: v for k, v in given.items() if k != "row_factory" and v is not None}
    return LogNotifications(kwargs, recorder.channel_name)


class Relay:
    """Publishes the case log to Kafka; one active instance (others wait as standbys).

    It reads the log with `read_log` (after, limit), learns the newest position with
    `last_position`, keeps its own position in `positions`, and wakes on `notifications`
    when it has them (else it polls; `poll_seconds`: the longest it waits either way)."""

    def __init__(self, read_log: ReadLog, last_position: Callable[[], int],
                 positions: RelayPositions, settings: KafkaSettings, *, batch_size: int = 1000,
                 poll_seconds: float = 0.1, after_publish: AfterPublish | None = None,
                 max_lag: int = 10_000, notifications: LogNotifications | None = None):
        self.read_log, self.last_position, self.positions = read_log, last_position, positions
        self.settings = settings
        self.batch_size, self.poll_seconds = batch_size, poll_seconds
        self.notifications = notifications
        self.after_publish = after_publish  # a fault-injection point for tests
        self.position = 0
        self.lag: int | None = None  # unknown until the first round
        self.active = False
        self.max_lag = max_lag
        self.broker_error: str | None = None  # set while Kafka cannot be reached

    async def readiness(self) -> dict[str, object]:
        """Ready when this instance relays (or stands by) and is not too far behind."""
        if not self.active:
            return {"role": "standby"}
        if self.broker_error is not None:
            raise RuntimeError(f"Kafka unreachable: {self.broker_error}")
        if self.lag is None:
            raise RuntimeError("the relay has not completed a round yet")
        if self.lag > self.max_lag:
            raise RuntimeError(f"relay lag {self.lag} exceeds {self.max_lag}")
        return {"role": "active", "position": self.position, "lag": self.lag}

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set; the batch in hand is acknowledged and saved first."""
        await ensure_topics(self.settings)
        while not stop.is_set():
            with self.positions.exclusive(f"relay:{self.settings.topic}") as active:
                if active:
                    self.active = True
                    try:
                        await self._relay_with_restarts(stop)
                    finally:
                        self.active = False
                    return
            log.info("another relay is active; standing by")
            await _sleep_or_stop(stop, 5.0)

    async def _relay_with_restarts(self, stop: asyncio.Event) -> None:
        # A broker outage fails the batch in hand before its position is saved; a fresh
        # producer then resumes from the saved position (the same batch again: duplicates,
        # which consumers absorb; never a gap). Waits between restarts end early on `stop`.
        async for attempt in retrying_async(
                RESTARTS, on=KafkaError, backoff=(0.5, 10.0),
                sleep=lambda seconds: _sleep_or_stop(stop, seconds)):
            with attempt:
                if stop.is_set():
                    return
                await self._relay_with_a_producer(stop)

    async def _relay_with_a_producer(self, stop: asyncio.Event) -> None:
        # No linger: a round hands the producer its whole batch before it awaits anything,
        # so the batch goes out in full at once; lingering would only delay every round.
        producer = idempotent_producer(self.settings, linger_ms=0)
        try:
            await producer.start()  # connects: the broker is reachable again
            self.broker_error = None
            await self._relay(producer, stop)
        except KafkaError as exc:
            self.broker_error = type(exc).__name__
            log.warning("Kafka unavailable; restarting from the saved position",
                        error=repr(exc)[:300], position=self.position)
            raise
        finally:
            await producer.stop()

    async def _relay(self, producer: AIOKafkaProducer, stop: asyncio.Event) -> None:
        topic = self.settings.topic
        self.position = await asyncio.to_thread(self.positions.relay_position, topic)
        log.info("relaying", topic=topic, from_position=self.position,
                 notifications=self.notifications is not None)
        listener = None
        if self.notifications is not None:
            listener = asyncio.create_task(self.notifications.run(stop))
        try:
            await self._rounds(producer, stop)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    async def _rounds(self, producer: AIOKafkaProducer, stop: asyncio.Event) -> None:
        topic = self.settings.topic
        notifications = self.notifications
        pause = MIN_POLL_SECONDS
        while not stop.is_set():
            if notifications is not None:
                # Cleared before reading: a commit after this read sets it again.
                notifications.arrived.clear()
            batch = await asyncio.to_thread(self.read_log, self.position, self.batch_size)
            if not batch:
                self.lag = 0
                RELAY_LAG.set(0)
                if notifications is not None and notifications.listening.is_set():
                    await _wait_or_stop(stop, notifications.arrived, self.poll_seconds)
                else:
                    await _sleep_or_stop(stop, pause)
                    pause = min(pause * 2, self.poll_seconds)
                continue
            pause = MIN_POLL_SECONDS
            futures = [
                await producer.send(
                    topic, key=str(event.case_id).encode(), value=event.to_json_bytes(),
                    headers=[("type", event.type.encode()),
                             ("event_id", str(event.event_id).encode())])
                for event in batch
            ]
            await asyncio.gather(*futures)  # every message acknowledged by all in-sync replicas
            last = batch[-1].position
            if self.after_publish is not None:
                await self.after_publish(last)
            await asyncio.to_thread(self.positions.save_relay_position, topic, last,
                                    datetime.now(UTC).isoformat())
            self.position = last
            self.broker_error = None
            RELAY_PUBLISHED.inc(len(batch))
            RELAY_POSITION.set(last)
            head = await asyncio.to_thread(self.last_position)
            self.lag = max(0, head - last)
            RELAY_LAG.set(self.lag)


async def _wait_or_stop(stop: asyncio.Event, event: asyncio.Event, seconds: float) -> None:
    """Until `event` or `stop` is set, or `seconds` have passed."""
    waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
