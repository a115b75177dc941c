"""Exactly-once application of case events to a projection's read model.

A projection's writes and its positions commit in one database transaction, so a crash at any
point either keeps both or neither. Per source partition two positions make redelivery
harmless:
- the transport position (Kafka offset, or the feed's global position): a message at or below
  it was already consumed;
- the log position applied through: every envelope carries its global position in the case
  log, and a partition receives its cases' events in log order (the relay publishes in log
  order, keyed by case id), so an event at or below it is a re-published copy (the relay may
  publish twice after a crash) and is skipped. One number per partition, where tracking a
  version per case cost a read and a write per event (rebuilds replay millions).
  With several case logs (shards of creditors, docs/scaling.md) on one topic, positions
  count within each log, so an envelope naming its `shard` is compared with that shard's
  log position in the partition (kept in a row of its own); the default log's stays here.
A partition seen for the first time starts from the log position the projection already holds
from the feed (the log itself): a projection built from the feed (or rebuilt from the log) can
move to Kafka without re-applying anything.
The position row is locked for the transaction, so a consumer that lost a partition in a
rebalance and the one that gained it never apply the same batch twice.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.dml import Insert

from casetrail.dburl import DatabaseURL
from casetrail.envelope import EventEnvelope
from casetrail.projections.base import Projection
from casetrail.projections.statements import is_plain_row_form, plain_row

tracking = sa.MetaData()
positions_table = sa.Table(
    "projection_positions", tracking,
    sa.Column("projection", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("log_position", sa.BigInteger, nullable=False, server_default="-1"),
    sa.Column("updated_at", sa.Text, nullable=False),
)
dead_letters_table = sa.Table(
    "projection_dead_letters", tracking,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("projection", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("partition", sa.Integer, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("message", sa.LargeBinary, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.Text, nullable=False),
)

NO_POSITION = -1
LOG_SOURCE = "feed"  # the source whose positions are log positions (the log in total order)


class _BatchedInserts:
    """The connection handlers see during `apply`: a single-row `INSERT ... VALUES` is held
    per table and sent with the others as one executemany (COPY on PostgreSQL), and so is an
    update of one row by its primary key (`update_row`); any other statement sends what is
    held first, so reads always see earlier writes. One round trip per table and batch
    instead of one per event (rebuilds replay millions)."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self._held: dict[sa.Table, list[dict[str, Any]]] = {}
        # Per table, the held updates by primary key, each the merge of its values in order.
        self._updates: dict[sa.Table, dict[tuple[Any, ...], dict[str, Any]]] = {}
        # Handlers may keep state for the length of the batch (rows they read or changed),
        # and register what to write once at its end: see `batch_scratch`.
        self.scratch: dict[str, Any] = {}
        self.at_end: list[Callable[[], None]] = []

    def finish(self) -> None:
        """The batch's last event is applied: run what handlers kept back, send the rest."""
        for write in self.at_end:
            write()
        self.flush()

    def execute(self, statement: Any, parameters: Any = None, *args: Any, **kwargs: Any
                ) -> Any:
        """Hold a plain single-row insert; run anything else after sending what is held."""
        if args or kwargs:
            row = None
        elif parameters is None:
            row = plain_row(statement)
        elif isinstance(parameters, dict) and isinstance(statement, Insert) and \
                is_plain_row_form(statement):
            row = parameters  # `execute(table.insert(), {...})`: cheapest to build
        else:
            row = None
        if row is None:
            self.flush()
            return self._conn.execute(statement, parameters, *args, **kwargs)
        self.insert(statement.table, row)
        return None

    def insert(self, table: sa.Table, row: dict[str, Any]) -> None:
        """Hold an insert of one row (see `insert_row`)."""
        if table in self._updates:
            # Held updates are sent after held inserts. One held for this new row's key
            # changed nothing when it ran in order (the row did not exist yet: else this
            # insert fails either way), so it must not run after the insert.
            self._updates[table].pop(tuple(row.get(c) for c in _key_columns(table)), None)
        self._held.setdefault(table, []).append(row)

    def update(self, table: sa.Table, key: dict[str, Any], values: dict[str, Any]) -> None:
        """Hold an update of the row with this primary key (see `update_row`)."""
        pending = self._updates.setdefault(table, {})
        ident = tuple(key[c] for c in _key_columns(table))
        held = pending.get(ident)
        if held is None:
            pending[ident] = dict(values)
        else:
            held.update(values)  # later values win, as they would in order

    def flush(self) -> None:
        """Send every held insert, then every held update (one `update_rows` per table and
        set of changed columns)."""
        held, self._held = self._held, {}
        for table, rows in held.items():
            insert_rows(self._conn, table, rows)
        updates, self._updates = self._updates, {}
        for table, by_key in updates.items():
            keys = _key_columns(table)
            groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for ident, values in by_key.items():
                row = dict(zip(keys, ident, strict=True))
                row.update(values)
                groups.setdefault(tuple(values), []).append(row)
            for rows in groups.values():
                update_rows(self._conn, table, rows)

    def __getattr__(self, name: str) -> Any:
        self.flush()
        return getattr(self._conn, name)


def batch_scratch(conn: Any) -> tuple[dict[str, Any], list[Callable[[], None]]] | None:
    """Inside `ProjectionStore.apply`: (a dict for state kept for the length of the batch,
    the list of functions run once after its last event, before the position is saved).
    Both go with the transaction, so a rolled-back batch leaves nothing behind. None on any
    other connection: handlers then read and write as they go."""
    if type(conn) is _BatchedInserts:
        return conn.scratch, conn.at_end
    return None


def among(conn: Connection, column: sa.ColumnElement[Any], values: Sequence[Any]
          ) -> sa.ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(array)`: one parameter, where an IN
    list binds, renders and sends one per value (read-aheads look up thousands of keys)."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def insert_row(conn: Connection, table: sa.Table, row: dict[str, Any]) -> None:
    """Insert one row: inside `ProjectionStore.apply` held and sent with the batch's others
    (as `conn.execute(table.insert(), row)` would be, without building the statement)."""
    if type(conn) is _BatchedInserts:
        conn.insert(table, row)
    else:
        conn.execute(table.insert(), row)


def update_row(conn: Connection, table: sa.Table, key: dict[str, Any], **values: Any) -> None:
    """Set columns of the row with this primary key (`key`: every primary key column).

    Inside `ProjectionStore.apply` the update is held and sent with the batch's others, after
    its held inserts, by `update_rows` per set of columns; a row updated several times in a
    batch is updated once, with the merged values. Any other statement sends it first, so
    reads see it. Elsewhere it runs at once."""
    if type(conn) is _BatchedInserts:
        conn.update(table, key, values)
        return
    conn.execute(table.update().where(*(table.c[c] == key[c] for c in _key_columns(table)))
                 .values(**values))


def update_rows(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Update rows by primary key: each row holds every primary key column and the same
    other columns, set to its values; keys are distinct. On PostgreSQL one statement,
    `UPDATE ... FROM unnest(<an array per column>)`, where an executemany costs a statement
    each on the server; elsewhere an executemany."""
    if not rows:
        return
    columns = tuple(rows[0])
    keys = _key_columns(table)
    if conn.dialect.name != "postgresql" or len(rows) < COPY_THRESHOLD \
            or not all(isinstance(table.c[c].type, _AS_IS) for c in columns):
        statement = _update_statement(table, tuple(c for c in columns if c not in keys))
        conn.execute(statement, [{(f"k_{c}" if c in keys else f"v_{c}"): v
                                  for c, v in row.items()} for row in rows])
        return
    sql = _unnest_update(table, columns, conn.dialect)
    dbapi: Any = conn.connection.dbapi_connection  # psycopg's, inside this transaction
    with dbapi.cursor() as cursor:
        # Joined by primary key, row by row through its index. Left to itself the planner
        # hashes the whole table once it is large (its cost model prices the index lookups
        # as random reads from disk): 83 ms instead of 29 for 900 rows among 84,000. A
        # consumer's poll updates a few dozen rows, which the planner looks up by index
        # anyway: it is spared the two round trips of the settings.
        hinted = len(rows) >= HINTED_UPDATES_FROM
        if hinted:
            cursor.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
        cursor.execute(sql, [[row[c] for row in rows] for c in columns])
        if hinted:
            cursor.execute("RESET enable_hashjoin; RESET enable_mergejoin")


HINTED_UPDATES_FROM = 200  # rows updated by one `update_rows` on PostgreSQL


@lru_cache(maxsize=256)
def _unnest_update(table: sa.Table, columns: tuple[str, ...], dialect: Any) -> str:
    keys = _key_columns(table)
    arrays = ", ".join(f"%s::{table.c[c].type.compile(dialect=dialect)}[]" for c in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    return (f"UPDATE {_quoted(table)} AS t SET "
            + ", ".join(f'"{c}" = v."{c}"' for c in columns if c not in keys)
            + f" FROM unnest({arrays}) AS v({names}) WHERE "
            + " AND ".join(f't."{c}" = v."{c}"' for c in keys))


def _quoted(table: sa.Table) -> str:
    return f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'


@cache
def _key_columns(table: sa.Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.primary_key.columns)


@lru_cache(maxsize=256)
def _update_statement(table: sa.Table, columns: tuple[str, ...]) -> sa.Update:
    """UPDATE table SET <columns> WHERE <primary key>, with bound parameters v_<column> and
    k_<key column>: an executemany of held updates."""
    return table.update().where(
        *(table.c[c] == sa.bindparam(f"k_{c}") for c in _key_columns(table))
    ).values({c: sa.bindparam(f"v_{c}") for c in columns})


def insert_rows(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows; on PostgreSQL with COPY when they allow it. An executemany of single-row
    INSERTs costs a statement each on the server (and psycopg's pipeline mode can stall on
    thousands of them); COPY streams them in one statement, about ten times faster."""
    if len(rows) < COPY_THRESHOLD or conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows[0] if len(rows) == 1 else rows)  # 1: no executemany
        return
    columns = tuple(rows[0])
    keys = rows[0].keys()
    plan = _copy_plan(table, columns, conn.dialect)
    if plan is None or any(row.keys() != keys for row in rows):
        conn.execute(table.insert(), rows)  # Python-side defaults, odd types, uneven rows
        return
    names = ", ".join(f'"{c}"' for c in columns)
    dbapi: Any = conn.connection.dbapi_connection  # psycopg's, inside this transaction
    with dbapi.cursor() as cursor, cursor.copy(
            f"COPY {_quoted(table)} ({names}) FROM STDIN") as copy:
        write = copy.write_row
        if any(plan):
            for row in rows:
                write([value if process is None or value is None else process(value)
                       for process, value in zip(plan, (row[c] for c in columns), strict=True)])
        else:
            for row in rows:  # handlers build their rows alike: keys in the same order
                write(tuple(row.values()) if tuple(row) == columns else
                      tuple(row[c] for c in columns))


COPY_THRESHOLD = 20  # below this, an executemany is as quick


def _copy_plan(table: sa.Table, columns: tuple[str, ...], dialect: Any
               ) -> tuple[Any, ...] | None:
    """Per column the bind processor COPY must apply itself (None: the value as is), or None
    when COPY cannot stand in for SQLAlchemy's insert (unknown column, Python-side default)."""
    key = (table, columns)
    if key in _COPY_PLANS:
        return _COPY_PLANS[key]
    plan: tuple[Any, ...] | None
    try:
        plan = tuple(None if isinstance(table.c[c].type, _AS_IS)
                     else table.c[c].type.bind_processor(dialect) for c in columns)
    except KeyError:
        plan = None
    if plan is not None and any(c.default is not None and c.name not in columns
                                for c in table.columns):
        plan = None
    _COPY_PLANS[key] = plan
    return plan


# Column types whose values COPY takes as the handler gave them (SQLAlchemy's processors for
# these only check or pass the value through).
_AS_IS = (sa.String, sa.Integer, sa.Boolean, sa.LargeBinary)
_COPY_PLANS: dict[tuple[sa.Table, tuple[str, ...]], tuple[Any, ...] | None] = {}


class Delivery(NamedTuple):
    """One message as the transport delivered it: its position there and the decoded event.
    (A named tuple: a replay makes one per event, and a frozen dataclass costs three times
    as much to build.)"""

    position: int
    event: EventEnvelope


@dataclass(frozen=True)
class BatchResult:
    """What applying a batch did."""

    applied: int
    duplicates: int
    last_position: int


def make_engine(database_url: str) -> Engine:
    """A SQLAlchemy engine for a casetrail DATABASE_URL (SQLite file or PostgreSQL schema)."""
    url = DatabaseURL.parse(database_url)
    if url.backend == "sqlite":
        assert url.sqlite_path is not None
        url.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(f"sqlite:///{url.sqlite_path}",
                                  connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_setup(dbapi_conn: Any, _: Any) -> None:
            dbapi_conn.isolation_level = None  # let BEGIN below control transactions
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            # IMMEDIATE: take the write lock up front, so read-then-write never deadlocks.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    target = sa.URL.create("postgresql+psycopg", username=url.user or None,
                           password=url.password or None, host=url.host, port=url.port,
                           database=url.dbname)
    engine = sa.create_engine(target, pool_size=4, max_overflow=4, pool_pre_ping=True,
                              connect_args={"options": f"-c search_path={url.schema}",
                                            # No server-side prepared statements: a generic
                                            # plan made while a table was still empty (a
                                            # rebuild's first pages) keeps scanning it whole
                                            # until autoanalyze; each page is planned afresh.
                                            "prepare_threshold": None})
    if url.schema != "public":
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{url.schema}"')
    return engine


def add_missing_columns(conn: Connection, metadata: sa.MetaData) -> list[str]:
    """Add to existing tables the columns their definition gained since they were made, when
    that is safe without data: nullable ones, or ones with a server default (a table made by
    an earlier release, e.g. `projection_positions.log_position`, `payments.assignment`).
    Returns what was added, as "table.column"."""
    inspector = sa.inspect(conn)
    added = []
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name, schema=table.schema):
            continue
        present = {c["name"] for c in inspector.get_columns(table.name, schema=table.schema)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable and column.server_default is None:
                raise RuntimeError(f"{table.name}.{column.name} is missing and cannot be added "
                                   "to existing rows: rebuild this projection")
            ddl = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {_quoted(table)} ADD COLUMN {ddl}")
            added.append(f"{table.name}.{column.name}")
    return added


class ProjectionStore:
    """A projection's tables plus its tracking records, in the consuming service's database."""

    def __init__(self, engine: Engine, projection: Projection):
        self.engine = engine
        self.projection = projection
        self.name = projection.name
        self.is_postgres = engine.dialect.name == "postgresql"

    def create_schema(self) -> None:
        """Create the tracking and projection tables if missing."""
        with self.engine.begin() as conn:
            for metadata in (tracking, *self.projection.reads_metadata,
                             self.projection.metadata):
                metadata.create_all(conn)
                add_missing_columns(conn, metadata)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One committed-or-rolled-back transaction."""
        with self.engine.begin() as conn:
            yield conn

    # ------------------------------------------------------------------ positions

    def position(self, source: str, partition: int = 0) -> int:
        """The last consumed position of a source partition (NO_POSITION if none)."""
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(positions_table.c.position).where(
                    positions_table.c.projection == self.name,
                    positions_table.c.source == source,
                    positions_table.c.partition == partition)).scalar()
        return NO_POSITION if value is None else int(value)

    def positions(self, source: str) -> dict[int, int]:
        """Last consumed positions of every partition of a source."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(positions_table.c.partition, positions_table.c.position).where(
                    positions_table.c.projection == self.name,
                    positions_table.c.source == source)).all()
        return {int(p): int(v) for p, v in rows}

    def _locked_position(self, conn: Connection, source: str, partition: int
                         ) -> tuple[int, int]:
        """(transport position, log position applied through) of a partition, locked for
        the transaction; a partition seen for the first time starts at the log position the
        feed brought the projection to."""
        return self._locked_positions(conn, source, [partition])[partition]

    def _locked_positions(self, conn: Connection, source: str, partitions: Sequence[int]
                          ) -> dict[int, tuple[int, int]]:
        """`_locked_position` of several partitions in one query, locked in partition order
        (two consumers that briefly share partitions in a rebalance never deadlock)."""
        t = positions_table
        wanted = sorted(set(partitions))
        query = sa.select(t.c.partition, t.c.position, t.c.log_position).where(
            t.c.projection == self.name, t.c.source == source,
            among(conn, t.c.partition, wanted)).order_by(t.c.partition)
        if self.is_postgres:
            query = query.with_for_update()
        found = {int(p): (int(v), int(lp)) for p, v, lp in conn.execute(query)}
        missing = [p for p in wanted if p not in found]
        if not missing:
            return found
        floor = NO_POSITION
        if source != LOG_SOURCE:
            floor = conn.execute(sa.select(t.c.log_position).where(
                t.c.projection == self.name, t.c.source == LOG_SOURCE)).scalar() \
                or NO_POSITION
        rows = [{"projection": self.name, "source": source, "partition": p,
                 "position": NO_POSITION, "log_position": floor, "updated_at": _now()}
                for p in missing]
        if self.is_postgres:  # two consumers may meet a new partition at once
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(t).on_conflict_do_nothing(), rows)
            found = {int(p): (int(v), int(lp)) for p, v, lp in conn.execute(query)}
        else:  # SQLite: BEGIN IMMEDIATE already serializes writers
            conn.execute(t.insert(), rows)
            found.update((p, (NO_POSITION, floor)) for p in missing)
        return found

    # ------------------------------------------------------------------ applying

    def apply(self, source: str, partition: int, deliveries: Sequence[Delivery],
              through: int | None = None) -> BatchResult:
        """Apply a batch in order, exactly once, and move the position past it, atomically.

        `through` (log source only): the log position the batch was read through, when the
        reader left out events of types the projection does not handle; the positions move
        there as if they had been delivered (handling them would change nothing).
        A handler error rolls the whole batch back and propagates; the caller can then retry
        message by message to isolate a poison message (see `skip`).
        """
        if through is not None and source != LOG_SOURCE:
            raise ValueError("only the log source can skip events by position")
        if not deliveries and through is None:
            return BatchResult(0, 0, NO_POSITION)
        return self._apply(source, {partition: deliveries}, through)[partition]

    def apply_partitions(self, source: str, batches: Mapping[int, Sequence[Delivery]]
                         ) -> dict[int, BatchResult]:
        """Apply the batches of several partitions (one poll of a consumer) in one
        transaction, with every partition's position: one commit for all of them instead of
        one per partition. Each partition's events are applied in their order, and all of
        them in log order; the read model and positions end as applying each partition's
        batch with `apply`, one after the other, would leave them. A handler error rolls
        everything back and propagates (the caller falls back to partition by partition)."""
        batches = {p: d for p, d in batches.items() if d}
        if not batches:
            return {}
        return self._apply(source, batches, None)

    def _apply(self, source: str, batches: Mapping[int, Sequence[Delivery]],
               through: int | None) -> dict[int, BatchResult]:
        with self.engine.begin() as conn:
            positions = self._locked_positions(conn, source, list(batches))
            handles = self.projection.handles
            runs: list[list[EventEnvelope]] = []
            saved: list[tuple[int, int, int]] = []
            results = {}
            # Named shards' log positions applied through, by (partition, shard).
            shard_positions: dict[tuple[int, str], int] | None = None
            shards_moved: set[tuple[int, str]] = set()
            for partition, deliveries in batches.items():
                stored, applied_through = positions[partition]
                applied = duplicates = 0
                events = []
                for delivery in deliveries:
                    event = delivery.event
                    shard = event.shard
                    if shard is None:
                        if delivery.position <= stored or event.position <= applied_through:
                            duplicates += 1  # redelivered, or a re-published copy of one applied
                            continue
                        applied_through = event.position
                    else:  # positions count within a shard's own log
                        if shard_positions is None:  # read once, for every partition
                            shard_positions = self._shard_log_positions(conn, source,
                                                                        list(batches))
                        key = (partition, shard)
                        if delivery.position <= stored or \
                                event.position <= shard_positions.get(key, NO_POSITION):
                            duplicates += 1
                            continue
                        shard_positions[key] = event.position
                        shards_moved.add(key)
                    if handles(event.type):
                        events.append(event)
                    applied += 1
                runs.append(events)
                last = max(stored, deliveries[-1].position if deliveries else NO_POSITION)
                if through is not None:
                    last, applied_through = max(last, through), max(applied_through, through)
                saved.append((partition, last, applied_through))
                results[partition] = BatchResult(applied, duplicates, last)
            # Each partition's run rises in log position (what it already applied is left
            # out above); merged, the batch is in log order and every case in its own order.
            # (With several shards a run rises per shard only; the merge still keeps each
            # run's order, so every case stays in its own order.)
            events = runs[0] if len(runs) == 1 else list(
                heapq.merge(*runs, key=lambda e: e.position))
            if events:
                batched = _BatchedInserts(conn)
                self.projection.prepare_batch(batched, events)  # type: ignore[arg-type]
                handle = self.projection.handle
                for event in events:
                    handle(batched, event)  # type: ignore[arg-type]
                batched.finish()
            self._save_positions(conn, source, saved)
            if shards_moved:
                assert shard_positions is not None
                self._save_shard_log_positions(
                    conn, source, {key: shard_positions[key] for key in shards_moved})
        return results

    def skip(self, source: str, partition: int, position: int) -> None:
        """Move past a message that cannot be applied (it went to the dead-letter topic)."""
        with self.engine.begin() as conn:
            stored, applied_through = self._locked_position(conn, source, partition)
            self._save_position(conn, source, partition, max(stored, position),
                                applied_through)

    def record_dead_letter(self, source: str, partition: int, position: int, message: bytes,
                           error: str) -> None:
        """Keep a message that cannot be applied, with its error (embedded transport)."""
        with self.engine.begin() as conn:
            conn.execute(dead_letters_table.insert().values(
                projection=self.name, source=source, partition=partition, position=position,
                message=message, error=error, recorded_at=_now()))

    def dead_letters(self) -> list[dict[str, Any]]:
        """Messages this projection could not apply, oldest first."""
        t = dead_letters_table
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.projection == self.name)
                                .order_by(t.c.id)).mappings().all()
        return [dict(r) for r in rows]

    # A named shard's log position applied through, per source partition, is kept in a row of
    # its own beside the partition's (source "<source>#<shard>", transport position unused):
    # read and written only while the partition's row is locked.

    def _shard_log_positions(self, conn: Connection, source: str, partitions: Sequence[int]
                             ) -> dict[tuple[int, str], int]:
        """Every named shard's log position applied through in these partitions, by
        (partition, shard): one query for a whole poll."""
        t = positions_table
        prefix = shard_source(source, "")
        rows = conn.execute(sa.select(t.c.partition, t.c.source, t.c.log_position).where(
            t.c.projection == self.name, t.c.source.startswith(prefix, autoescape=True),
            among(conn, t.c.partition, sorted(set(partitions)))))
        return {(int(p), name[len(prefix):]): int(lp) for p, name, lp in rows}

    def _save_shard_log_positions(self, conn: Connection, source: str,
                                  moved: dict[tuple[int, str], int]) -> None:
        """Upsert the shards' positions that moved: one statement for a whole poll."""
        if self.is_postgres:
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
        statement = upsert(positions_table)
        now = _now()
        conn.execute(statement.on_conflict_do_update(
            index_elements=["projection", "source", "partition"],
            set_={"log_position": statement.excluded.log_position,
                  "updated_at": statement.excluded.updated_at}),
            [{"projection": self.name, "source": shard_source(source, shard),
              "partition": partition, "position": NO_POSITION, "log_position": log_position,
              "updated_at": now} for (partition, shard), log_position in sorted(moved.items())])

    def _save_position(self, conn: Connection, source: str, partition: int,
                       position: int, log_position: int) -> None:
        self._save_positions(conn, source, [(partition, position, log_position)])

    def _save_positions(self, conn: Connection, source: str,
                        saved: Sequence[tuple[int, int, int]]) -> None:
        """Set (partition, position, log position) of each partition: one statement."""
        now = _now()
        rows = [{"k_projection": self.name, "k_source": source, "k_partition": partition,
                 "v_position": position, "v_log_position": log_position, "v_updated_at": now}
                for partition, position, log_position in saved]
        statement = _update_statement(positions_table,
                                      ("position", "log_position", "updated_at"))
        conn.execute(statement, rows[0] if len(rows) == 1 else rows)  # 1: no executemany

    def analyze(self) -> None:
        """Refresh the planner's statistics of the projection's tables (PostgreSQL; SQLite
        plans by its indexes and needs none)."""
        if self.is_postgres:
            with self.engine.begin() as conn:
                for table in self.projection.metadata.sorted_tables:
                    conn.exec_driver_sql(f'ANALYZE "{table.name}"')

    def reset(self) -> None:
        """Forget every position and drop the projection's rows (before a full rebuild)."""
        with self.engine.begin() as conn:
            for table in reversed(self.projection.metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(positions_table.delete().where(
                positions_table.c.projection == self.name))


def shard_source(source: str, shard: str) -> str:
    """The positions row holding a named shard's log position for a source's partitions."""
    return f"{source}#{shard}"


def _now() -> str:
    return datetime.now(UTC).isoformat()
