"""Rebuild a projection from position 0 into a shadow copy, compare it with the live copy,
and swap it in when asked.

The shadow lives beside the live database (SQLite: `<file>.shadow.db`; PostgreSQL: the schema
`<schema>_shadow`), so the live projection keeps serving while the shadow is built. The
comparison groups each table's rows into buckets by primary key and compares a checksum per
bucket, so differences are reported by table and bucket with example keys, without shipping
rows around. Run it with the live consumer stopped (or at a quiet moment) for an exact
comparison: events applied live after the shadow was built show up as differences.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import multiprocessing
import queue
import threading
import traceback
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import uuid4

import orjson
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition

from casetrail.dburl import DatabaseURL
from casetrail.envelope import LogPage, LogShare
from casetrail.kafka import KafkaSettings
from casetrail.metrics import REBUILD_EVENTS
from casetrail.projections.base import StoreRows
from casetrail.projections.runners import FeedProjectionRunner, KafkaProjectionRunner
from casetrail.projections.store import (
    LOG_SOURCE,
    BatchResult,
    Delivery,
    ProjectionStore,
    insert_rows,
    make_engine,
    positions_table,
)

BUCKETS = 64


def shadow_url(live_url: str) -> str:
    """Where a projection's shadow copy is built."""
    url = DatabaseURL.parse(live_url)
    if url.backend == "sqlite":
        assert url.sqlite_path is not None
        return f"sqlite:///{url.sqlite_path.with_suffix('.shadow.db')}"
    base = live_url.split("?")[0]
    return f"{base}?schema={url.schema}_shadow"


@dataclass
class Difference:
    """A bucket of a table whose rows differ between live and shadow."""

    table: str
    bucket: int
    live_rows: int
    shadow_rows: int
    example_keys: list[str] = field(default_factory=list)


def _key(row: sa.Row[Any], table: sa.Table) -> str:
    return "|".join(str(row._mapping[c.name]) for c in table.primary_key.columns)


def _canonical(row: sa.Row[Any]) -> bytes:
    # str(k): SQLAlchemy names are a str subclass, which orjson refuses as keys.
    return orjson.dumps({str(k): (v if isinstance(v, int | float | bool | type(None)) else str(v))
                         for k, v in row._mapping.items()}, option=orjson.OPT_SORT_KEYS)


def checksums(engine: sa.engine.Engine, table: sa.Table
              ) -> dict[int, tuple[int, str, dict[str, str]]]:
    """Per bucket: row count, checksum, and row digests by key."""
    buckets: dict[int, list[tuple[str, str]]] = {}
    with engine.connect() as conn:
        for row in conn.execute(sa.select(table)):
            key = _key(row, table)
            bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % BUCKETS
            buckets.setdefault(bucket, []).append(
                (key, hashlib.sha256(_canonical(row)).hexdigest()))
    result = {}
    for bucket, rows in buckets.items():
        rows.sort()
        digest = hashlib.sha256("".join(f"{k}\x1f{d}\n" for k, d in rows).encode()).hexdigest()
        result[bucket] = (len(rows), digest, dict(rows))
    return result


def compare(live: ProjectionStore, shadow: ProjectionStore) -> list[Difference]:
    """Differences between the live and shadow copies of every projection table."""
    differences = []
    for table in live.projection.metadata.sorted_tables:
        ours, theirs = checksums(live.engine, table), checksums(shadow.engine, table)
        for bucket in sorted(set(ours) | set(theirs)):
            a = ours.get(bucket, (0, "", {}))
            b = theirs.get(bucket, (0, "", {}))
            if a[1] != b[1]:
                keys = sorted(k for k in set(a[2]) | set(b[2]) if a[2].get(k) != b[2].get(k))
                differences.append(Difference(table.name, bucket, a[0], b[0], keys[:5]))
    return differences


def swap(live: ProjectionStore, shadow: ProjectionStore) -> int:
    """Replace the live projection's rows (and positions) with the shadow's, atomically."""
    copied = 0
    tables = list(live.projection.metadata.sorted_tables)
    if not live.projection.rebuilt_from_store:  # one the service writes has no positions
        tables.append(positions_table)
    with live.engine.begin() as target, shadow.engine.connect() as source:
        for table in reversed(tables):
            where = ([table.c.projection == live.name]
                     if table is positions_table else [])
            target.execute(table.delete().where(*where))
        for table in tables:
            where = [table.c.projection == live.name] if table is positions_table else []
            result = source.execution_options(stream_results=True, yield_per=SWAP_CHUNK) \
                .execute(sa.select(table).where(*where))
            for chunk in result.mappings().partitions(SWAP_CHUNK):
                insert_rows(target, table, [dict(r) for r in chunk])  # COPY on PostgreSQL
                copied += len(chunk)
    live.analyze()  # fresh statistics for the planner, as after any bulk load
    return copied


SWAP_CHUNK = 10_000


async def kafka_end_offsets(settings: KafkaSettings) -> dict[int, int]:
    """The topic's end offset per partition now: where a rebuild from Kafka stops."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                                isolation_level="read_committed")
    await consumer.start()
    try:
        partitions = [TopicPartition(settings.topic, p) for p in range(settings.partitions)]
        return {tp.partition: offset for tp, offset in
                (await consumer.end_offsets(partitions)).items()}
    finally:
        await consumer.stop()


# Events per page and per transaction. Larger pages merge more of a case's updates into one
# row update and spread per-page costs (billing-ledger over a realistic 1,000,000-event log:
# about 36,000 events/s in pages of 20,000, 29,000 to 33,000 in pages of 5,000).
LOG_PAGE = 20_000

# read_page(after, limit, types): the next `limit` events after a log position, with those of
# `types` (None: all) decoded (the case service's `log_page`).
class ReadLog(Protocol):
    """Reads a page of the case log (`CaseApplication.log_page`): the events after a
    position, up to a limit, decoding only those of the given types (None: all) and, with a
    share, only its cases'."""

    def __call__(self, after: int, limit: int, types: frozenset[str] | None,
                 share: LogShare | None = None, /) -> LogPage: ...


def rebuild_from_log(store: ProjectionStore, read_page: ReadLog,
                     progress: Callable[[int], None] | None = None, *,
                     share: LogShare | None = None, through: int | None = None,
                     stop: threading.Event | None = None) -> int:
    """Apply the whole log, page by page, to `store` until caught up; returns the events
    read past (handled or not).

    Only the event types the projection handles are decoded; the position still moves past
    the others. The next page is read and decoded in a second thread while the current one
    is applied, so the database's work on one overlaps Python's work on the other.
    Positions are recorded as the feed's: log positions are feed positions.

    With a `share` (one of several processes applying the log, `rebuild_from_log_in_shares`):
    only the events of its cases, through position `through` and no further, with the
    position kept as partition `share.index` of the log source; share 0 alone refreshes the
    planner's statistics. A set `stop` ends it after the current page.
    """
    read = 0
    types = store.projection.event_types
    partition = 0 if share is None else share.index
    statistics_at = ANALYZE_FIRST if partition == 0 else None

    def next_page(after: int) -> LogPage:
        if share is None:
            return read_page(after, LOG_PAGE, types)
        return read_page(after, LOG_PAGE, types, share)

    after = max(0, store.position(LOG_SOURCE, partition))
    with ThreadPoolExecutor(1, thread_name_prefix="rebuild-read") as reader:
        pending = reader.submit(next_page, after)
        while (page := pending.result()).read:
            events, last, count = page.events, page.last_position, page.read
            end = through is not None and last >= through
            if end:
                assert through is not None
                events = [e for e in events if e.position <= through]
                last, count = through, max(0, min(count, through - after))
            else:
                pending = reader.submit(next_page, last)
            store.apply(LOG_SOURCE, partition, [Delivery(e.position, e) for e in events],
                        through=last)
            read, after = read + count, last
            if statistics_at is not None and read >= statistics_at:
                store.analyze()
                statistics_at *= 2
            if progress is not None:
                progress(count)
            if end or (stop is not None and stop.is_set()):
                break
    return read


# The tables of a fresh shadow grow from nothing, faster than autovacuum refreshes their
# statistics: without them PostgreSQL plans a batch's keyed reads and updates as scans of
# the whole table (95 ms instead of 7 for 900 case rows among 84,000). Refreshed after this
# many events, then each time the count doubles: a few dozen milliseconds, twenty times in
# a billion events.
ANALYZE_FIRST = 20_000


@contextmanager
def _batch_gc() -> Iterator[None]:
    """Garbage collection tuned for a replay: millions of short-lived envelopes make the
    default thresholds run a collection every few dozen events, each scanning everything the
    process holds. Objects alive now are frozen out of the scans and the youngest
    generation collects less often; the settings are restored afterwards."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


@dataclass(frozen=True)
class StoreSource:
    """How rebuild worker processes reach the service's event store: a function opening the
    service's application (a module-level function, or a partial of one: each worker process
    calls it again) and at most how many processes work in parallel (this one and
    `workers - 1` worker processes, on PostgreSQL, for logs of PARALLEL_FROM events or more;
    SQLite takes one writer at a time). For a projection `rebuilt_from_store` they derive its
    rows (`load_from_store`); for one with a `share_field`, each applies a share of the log
    (`rebuild_from_log_in_shares`)."""

    open_application: Callable[[], Any]
    workers: int = 1


# Below this many events a worker process costs more to start (about a second: it imports
# the service) than it saves.
PARALLEL_FROM = 100_000
# The cases are cut into this many ranges per process, taken from a shared queue: a process
# that started late (a worker imports the service first) or met longer histories takes fewer,
# and all finish within about one range of each other.
RANGES_PER_PROCESS = 8


def load_from_store(shadow: ProjectionStore, shadow_database_url: str, source: StoreSource,
                    progress: Callable[[int], None] | None = None) -> int:
    """Load the rows of a projection `rebuilt_from_store` into the shadow (at
    `shadow_database_url`), as of the newest event now; returns the events read.

    With several processes, the case id space is cut into ranges queued for this process
    and `workers - 1` spawned ones; each takes the next range until none is left."""
    projection = shadow.projection
    application = source.open_application()
    try:
        through = application.last_position()
        workers = source.workers if shadow.is_postgres and through >= PARALLEL_FROM else 1
        if workers <= 1:
            return load_store_rows(shadow, projection.rows_from_store(
                application, through=through, part=(0, 1)), progress)
        return _load_in_processes(shadow, shadow_database_url, source, application, through,
                                  workers, progress)
    finally:
        application.close()


def _load_in_processes(shadow: ProjectionStore, url: str, source: StoreSource,
                       application: Any, through: int, workers: int,
                       progress: Callable[[int], None] | None) -> int:
    projection = shadow.projection
    context = multiprocessing.get_context("spawn")  # fresh processes: no inherited pools
    ranges = workers * RANGES_PER_PROCESS
    todo, reports = context.Queue(), context.Queue()
    for index in range(ranges):
        todo.put(index)
    for _ in range(workers):
        todo.put(None)  # one "no more" for each process
    processes = [context.Process(
        target=_load_ranges_in_worker, name=f"rebuild-{projection.name}-{i}", daemon=True,
        args=(projection, source.open_application, url, through, ranges, todo, reports))
        for i in range(1, workers)]
    return _run_processes(
        processes, lambda stop: _load_ranges(shadow, application, through, ranges, todo,
                                             reports, stop), reports, progress)


def _run_processes(processes: Sequence[Any], own: Callable[[threading.Event], None],
                   reports: Any, progress: Callable[[int], None] | None, *,
                   each_reads_all: int = 1) -> int:
    """Start the worker processes, run this process's own part (`own`, given an event that
    tells it to stop) on a thread, and gather the reports of all of them until each has said
    None: counts of events read (`each_reads_all`: how many parts count each event), or the
    traceback of a failure, which stops the others and is raised. Returns the events read."""
    for process in processes:
        process.start()
    stop = threading.Event()
    reported, read, running = 0, 0, len(processes) + 1
    with ThreadPoolExecutor(1, thread_name_prefix="rebuild-own") as pool:
        pool.submit(own, stop)
        try:
            while running:
                try:
                    report = reports.get(timeout=1)
                except queue.Empty:
                    for process in processes:
                        if process.exitcode not in (None, 0):
                            raise RuntimeError(f"rebuild worker {process.name} exited with "
                                               f"code {process.exitcode} before reporting"
                                               ) from None
                    continue
                if report is None:
                    running -= 1
                elif isinstance(report, str):
                    raise RuntimeError(f"a rebuild worker failed:\n{report}")
                else:
                    reported += report
                    events = reported // each_reads_all - read
                    read += events
                    if progress is not None and events:
                        progress(events)
        finally:
            stop.set()  # this process's part stops after its current page
            for process in processes:
                if running:
                    process.terminate()
                process.join()
    return read


def rebuild_from_log_in_shares(shadow: ProjectionStore, shadow_database_url: str,
                               read_page: ReadLog, source: StoreSource,
                               progress: Callable[[int], None] | None = None) -> int:
    """`rebuild_from_log`, in `source.workers` processes when the projection has a
    `share_field` (PostgreSQL, logs of PARALLEL_FROM events or more): each applies one share
    of the cases, by that field of their opening events (`LogShare`), through the position
    the log had at the start: this one share 0 through `read_page`, and spawned workers the
    others through the application each opens (`source`). Every share reads every page, and
    decodes and applies only its own events. Then each share's position is merged into the
    log source's, and this process applies what was appended meanwhile. Returns the events
    read past."""
    field, workers = shadow.projection.share_field, source.workers
    if field is None or workers <= 1 or not shadow.is_postgres:
        return rebuild_from_log(shadow, read_page, progress)
    application = source.open_application()
    try:
        through = application.last_position()
    finally:
        application.close()
    if through < PARALLEL_FROM:
        return rebuild_from_log(shadow, read_page, progress)
    context = multiprocessing.get_context("spawn")
    reports = context.Queue()
    processes = [context.Process(
        target=_apply_share_in_worker, name=f"rebuild-{shadow.name}-{i}", daemon=True,
        args=(shadow.projection, source.open_application, shadow_database_url,
              LogShare(i, workers, field), through, reports))
        for i in range(1, workers)]
    read = _run_processes(
        processes, lambda stop: _apply_share(shadow, read_page, LogShare(0, workers, field),
                                             through, reports, stop),
        reports, progress, each_reads_all=workers)
    with shadow.engine.begin() as conn:  # share 0's position (partition 0) is the log's now
        conn.execute(positions_table.delete().where(
            positions_table.c.projection == shadow.name,
            positions_table.c.source == LOG_SOURCE, positions_table.c.partition != 0))
    return read + rebuild_from_log(shadow, read_page, progress)


def _apply_share(shadow: ProjectionStore, read_page: ReadLog, share: LogShare, through: int,
                 reports: Any, stop: threading.Event | None = None) -> None:
    """Apply one share of the log through `through`, reporting the events read after each
    page, then None (or the traceback of a failure)."""
    try:
        rebuild_from_log(shadow, read_page, reports.put, share=share, through=through,
                         stop=stop)
    except BaseException:
        reports.put(traceback.format_exc())
        raise
    reports.put(None)


def _apply_share_in_worker(projection: Any, open_application: Callable[[], Any], url: str,
                           share: LogShare, through: int, reports: Any) -> None:
    """A worker process: `_apply_share` with its own application and shadow connection."""
    with _worker(projection, open_application, url, reports) as (application, shadow):
        _apply_share(shadow, application.log_page, share, through, reports)


@contextmanager
def _worker(projection: Any, open_application: Callable[[], Any], url: str, reports: Any
            ) -> Iterator[tuple[Any, ProjectionStore]]:
    """In a worker process: its own application and shadow store, both opened (and the
    shadow's database reached) before any work, so a worker that cannot reach them reports
    its traceback at once; garbage collection tuned for a replay while it works."""
    try:
        application = open_application()
        shadow = ProjectionStore(make_engine(url), projection)
        with shadow.engine.connect():
            pass
    except BaseException:
        reports.put(traceback.format_exc())
        raise
    try:
        with _batch_gc():
            yield application, shadow
    finally:
        application.close()
        shadow.engine.dispose()


def _load_ranges(shadow: ProjectionStore, application: Any, through: int, ranges: int,
                 todo: Any, reports: Any, stop: threading.Event | None = None) -> None:
    """Take ranges of case ids from `todo` and load their rows into the shadow until a None
    (or `stop`), reporting the events read after each page, then None (or the traceback of
    a failure)."""
    projection = shadow.projection
    try:
        while (index := todo.get()) is not None:
            pages = projection.rows_from_store(application, through=through,
                                               part=(index, ranges))
            load_store_rows(shadow, pages, reports.put, stop)
            if stop is not None and stop.is_set():
                return
    except BaseException:
        reports.put(traceback.format_exc())
        raise
    reports.put(None)


def _load_ranges_in_worker(projection: Any, open_application: Callable[[], Any], url: str,
                           through: int, ranges: int, todo: Any, reports: Any) -> None:
    """A worker process: `_load_ranges` with its own application and shadow connection
    (both opened before it takes a range: a worker that cannot reach them fails at once)."""
    with _worker(projection, open_application, url, reports) as (application, shadow):
        _load_ranges(shadow, application, through, ranges, todo, reports)


def load_store_rows(shadow: ProjectionStore, pages: Iterable[StoreRows],
                    progress: Callable[[int], None] | None = None,
                    stop: threading.Event | None = None) -> int:
    """Load rows derived from the event store, one transaction per page (COPY on
    PostgreSQL); returns the events read. The next page is derived in a second thread while
    the current one is written. A set `stop` ends the load after the current page."""
    read = 0
    source = iter(pages)
    with ThreadPoolExecutor(1, thread_name_prefix="rebuild-read") as reader:
        pending = reader.submit(next, source, None)
        while (page := pending.result()) is not None:
            if stop is not None and stop.is_set():
                break
            pending = reader.submit(next, source, None)
            events, tables = page
            with shadow.engine.begin() as conn:
                for table, rows in tables.items():
                    if rows:
                        insert_rows(conn, table, rows)
            read += events
            if progress is not None:
                progress(events)
    return read


async def rebuild(live: ProjectionStore, live_url: str, *, kafka: KafkaSettings | None = None,
                  feed: tuple[str, str] | None = None, log: ReadLog | None = None,
                  store: StoreSource | None = None, log_workers: StoreSource | None = None,
                  progress: Callable[[int], None] | None = None) -> ProjectionStore:
    """Build the shadow from position 0 until caught up: from the Kafka topic (offset 0, a
    throwaway consumer group), from the event feed (`feed` = (base URL, API key)), from
    the event store itself (`log`, a page reader: see `rebuild_from_log`; with `log_workers`,
    in shares applied by that many processes: see `rebuild_from_log_in_shares`), or, for a
    projection `rebuilt_from_store`, from the rows its service derives from the event store
    (`store`: see `load_from_store`)."""
    if live.projection.rebuilt_from_store != (store is not None):
        raise ValueError(f"{live.name} is rebuilt from " + (
            "its service's event store (store=)" if live.projection.rebuilt_from_store
            else "events (the log, kafka or the feed), not from the store"))
    shadow = ProjectionStore(make_engine(shadow_url(live_url)), live.projection)
    deferred = prepare_bulk_load(shadow)
    await asyncio.to_thread(copy_records, live, shadow)

    def count(result: BatchResult) -> None:
        REBUILD_EVENTS.labels(live.name).inc(result.applied + result.duplicates)
        if progress is not None:
            progress(result.applied + result.duplicates)

    async def counted(_: int, result: BatchResult) -> None:
        count(result)

    def count_read(n: int) -> None:
        REBUILD_EVENTS.labels(live.name).inc(n)
        if progress is not None:
            progress(n)

    with _batch_gc():
        if store is not None:
            await asyncio.to_thread(load_from_store, shadow, shadow_url(live_url), store,
                                    count_read)
        elif log is not None and log_workers is not None:
            await asyncio.to_thread(rebuild_from_log_in_shares, shadow, shadow_url(live_url),
                                    log, log_workers, count_read)
        elif log is not None:
            await asyncio.to_thread(rebuild_from_log, shadow, log, count_read)
        else:
            await _replay(shadow, live.name, kafka, feed, count, counted)
    await asyncio.to_thread(finish_bulk_load, shadow, deferred)
    return shadow


def prepare_bulk_load(shadow: ProjectionStore) -> list[sa.Index]:
    """Make the shadow's tables empty and ready for a replay from position 0; return the
    indexes left to build (`finish_bulk_load`).

    The shadow is scratch, rebuilt from the log whenever needed, so it is loaded the way
    PostgreSQL's documentation advises for bulk loads: fresh tables (dropped and created:
    quicker than deleting a previous shadow's rows), unlogged (no write-ahead log; a crash
    empties them, and the rebuild is run again), and without the indexes no handler reads
    (`Projection.replay_indexes`): each is built once at the end."""
    metadata = shadow.projection.metadata
    keep = shadow.projection.replay_indexes
    deferred = [] if keep is None else [
        index for table in metadata.sorted_tables for index in sorted(
            table.indexes, key=lambda i: str(i.name)) if index.name not in keep]
    with shadow.engine.begin() as conn:
        metadata.drop_all(conn)
    shadow.create_schema()
    shadow.reset()  # the positions
    with shadow.engine.begin() as conn:
        for index in deferred:
            index.drop(conn)
        if shadow.is_postgres:
            for table in metadata.sorted_tables:
                conn.exec_driver_sql(f'ALTER TABLE "{table.name}" SET UNLOGGED')
    return deferred


def copy_records(live: ProjectionStore, shadow: ProjectionStore) -> int:
    """Give the shadow the records its handlers read besides events
    (`Projection.reads_metadata`, e.g. policy assignments): the live ones, as they are now.
    They are appended with effective times and never retroactive, so a handler that reads
    the ones in force at each event's time reads, in the rebuild, what the live projection
    read when it applied that event. Returns the rows copied."""
    copied = 0
    tables = [t for metadata in live.projection.reads_metadata for t in metadata.sorted_tables]
    with shadow.engine.begin() as target, live.engine.connect() as source:
        for table in reversed(tables):
            target.execute(table.delete())
        for table in tables:
            rows = [dict(r) for r in source.execute(sa.select(table)).mappings()]
            if rows:
                insert_rows(target, table, rows)
                copied += len(rows)
    return copied


def finish_bulk_load(shadow: ProjectionStore, deferred: Sequence[sa.Index]) -> None:
    """Build the indexes the replay went without, and refresh the planner's statistics."""
    with shadow.engine.begin() as conn:
        for index in deferred:
            index.create(conn)
    shadow.analyze()


async def _replay(shadow: ProjectionStore, name: str, kafka: KafkaSettings | None,
                  feed: tuple[str, str] | None, count: Callable[[BatchResult], None],
                  counted: Callable[[int, BatchResult], Awaitable[None]]) -> None:
    stop = asyncio.Event()
    if kafka is not None:
        ends = await kafka_end_offsets(kafka)
        runner = KafkaProjectionRunner(shadow, kafka, after_batch=counted,
                                       group_id=f"casetrail.{name}.rebuild-{uuid4().hex}")
        task = asyncio.create_task(runner.run(stop))
        source = f"kafka:{kafka.topic}"
        while not task.done():
            positions = await asyncio.to_thread(shadow.positions, source)
            if all(positions.get(p, -1) >= end - 1 for p, end in ends.items() if end > 0):
                stop.set()
            await asyncio.sleep(0.2)
        await task
    elif feed is not None:
        await FeedProjectionRunner(shadow, feed[0], feed[1], after_batch=counted,
                                   limit=5000).run(stop, until_caught_up=True)
    else:
        raise ValueError("rebuild needs a source: the log, kafka or the feed")
