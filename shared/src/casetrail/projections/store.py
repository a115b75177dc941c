"""Exactly-once application of case events to a projection's read model.

A projection's writes and its positions commit in one database transaction, so a crash at any
point either keeps both or neither. Two positions make redelivery harmless:
- the transport position (Kafka offset per partition, or the feed's global position): a message
  at or below it was already consumed;
- the last applied version per case: a re-published copy of an event (the relay may publish
  twice after a crash) carries a version already applied and is skipped.
The position row is locked for the transaction, so a consumer that lost a partition in a
rebalance and the one that gained it never apply the same batch twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import BindParameter

from casetrail.dburl import DatabaseURL
from casetrail.envelope import EventEnvelope
from casetrail.projections.base import Projection

tracking = sa.MetaData()
positions_table = sa.Table(
    "projection_positions", tracking,
    sa.Column("projection", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
)
case_versions_table = sa.Table(
    "projection_case_versions", tracking,
    sa.Column("projection", sa.Text, primary_key=True),
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
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


class _BatchedInserts:
    """The connection handlers see during `apply`: a single-row `INSERT ... VALUES` is held
    per table and sent with the others as one executemany; any other statement sends what is
    held first, so reads always see earlier writes. One round trip per table and batch
    instead of one per event (rebuilds replay millions)."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self._held: dict[sa.Table, list[dict[str, Any]]] = {}

    def execute(self, statement: Any, parameters: Any = None, *args: Any, **kwargs: Any
                ) -> Any:
        """Hold a plain single-row insert; run anything else after sending what is held."""
        if args or kwargs:
            row = None
        elif parameters is None:
            row = self._plain_row(statement)
        elif isinstance(parameters, dict) and isinstance(statement, Insert) and \
                self._plain_row_form(statement):
            row = parameters  # `execute(table.insert(), {...})`: cheapest to build
        else:
            row = None
        if row is None:
            self.flush()
            return self._conn.execute(statement, parameters, *args, **kwargs)
        self._held.setdefault(statement.table, []).append(row)
        return None

    @staticmethod
    def _plain_row_form(statement: Insert) -> bool:
        return (statement._post_values_clause is None and not statement._returning
                and not statement._multi_values and not getattr(statement, "_values", None))

    @staticmethod
    def _plain_row(statement: Any) -> dict[str, Any] | None:
        if not isinstance(statement, Insert) or statement._post_values_clause is not None \
                or statement._returning or statement._multi_values:
            return None
        values = getattr(statement, "_values", None)
        if not values or not all(isinstance(k, str) and isinstance(v, BindParameter)
                                 for k, v in values.items()):
            return None  # SQL expressions or unusual keys: run it as it is
        return {k: v.value for k, v in values.items()}

    def flush(self) -> None:
        """Send every held insert."""
        held, self._held = self._held, {}
        for table, rows in held.items():
            self._conn.execute(table.insert(), rows)

    def __getattr__(self, name: str) -> Any:
        self.flush()
        return getattr(self._conn, name)


@dataclass(frozen=True)
class Delivery:
    """One message as the transport delivered it: its position there and the decoded event."""

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
                              connect_args={"options": f"-c search_path={url.schema}"})
    if url.schema != "public":
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{url.schema}"')
    return engine


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
            tracking.create_all(conn)
            for metadata in self.projection.reads_metadata:
                metadata.create_all(conn)
            self.projection.metadata.create_all(conn)

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

    def _locked_position(self, conn: Connection, source: str, partition: int) -> int:
        key = {"projection": self.name, "source": source, "partition": partition}
        if self.is_postgres:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(positions_table).values(
                **key, position=NO_POSITION, updated_at=_now()).on_conflict_do_nothing())
            value = conn.execute(
                sa.select(positions_table.c.position).where(
                    *(positions_table.c[k] == v for k, v in key.items())
                ).with_for_update()).scalar()
        else:  # SQLite: BEGIN IMMEDIATE already serializes writers
            value = conn.execute(sa.select(positions_table.c.position).where(
                *(positions_table.c[k] == v for k, v in key.items()))).scalar()
            if value is None:
                conn.execute(positions_table.insert().values(
                    **key, position=NO_POSITION, updated_at=_now()))
        return NO_POSITION if value is None else int(value)

    def _case_versions(self, conn: Connection, case_ids: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(case_ids), 500):
            chunk = case_ids[start:start + 500]
            rows = conn.execute(sa.select(case_versions_table.c.case_id,
                                          case_versions_table.c.version).where(
                case_versions_table.c.projection == self.name,
                case_versions_table.c.case_id.in_(chunk))).all()
            found.update({str(c): int(v) for c, v in rows})
        return found

    # ------------------------------------------------------------------ applying

    def apply(self, source: str, partition: int, deliveries: Sequence[Delivery]) -> BatchResult:
        """Apply a batch in order, exactly once, and move the position past it, atomically.

        A handler error rolls the whole batch back and propagates; the caller can then retry
        message by message to isolate a poison message (see `skip`).
        """
        if not deliveries:
            return BatchResult(0, 0, NO_POSITION)
        with self.engine.begin() as conn:
            stored = self._locked_position(conn, source, partition)
            case_ids = list(dict.fromkeys(str(d.event.case_id) for d in deliveries))
            before = self._case_versions(conn, case_ids)
            versions = dict(before)
            applied = duplicates = 0
            batched = _BatchedInserts(conn)
            for delivery in deliveries:
                if delivery.position <= stored:
                    duplicates += 1  # redelivered: this position was consumed already
                    continue
                event = delivery.event
                case_id = str(event.case_id)
                if event.version <= versions.get(case_id, 0):
                    duplicates += 1  # re-published copy of an event already applied
                    continue
                if self.projection.handles(event.type):
                    self.projection.handle(batched, event)  # type: ignore[arg-type]
                versions[case_id] = event.version
                applied += 1
            batched.flush()
            last = max(stored, deliveries[-1].position)
            self._save_versions(conn, before, versions)
            self._save_position(conn, source, partition, last)
        return BatchResult(applied, duplicates, last)

    def skip(self, source: str, partition: int, position: int) -> None:
        """Move past a message that cannot be applied (it went to the dead-letter topic)."""
        with self.engine.begin() as conn:
            stored = self._locked_position(conn, source, partition)
            self._save_position(conn, source, partition, max(stored, position))

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

    def _save_versions(self, conn: Connection, before: dict[str, int],
                       after: dict[str, int]) -> None:
        new = [{"projection": self.name, "case_id": c, "version": v}
               for c, v in after.items() if c not in before]
        changed = [{"p": self.name, "c": c, "v": v}
                   for c, v in after.items() if c in before and before[c] != v]
        if new:
            conn.execute(case_versions_table.insert(), new)
        if changed:
            t = case_versions_table
            conn.execute(
                t.update().where(t.c.projection == sa.bindparam("p"),
                                 t.c.case_id == sa.bindparam("c"))
                .values(version=sa.bindparam("v")), changed)

    def _save_position(self, conn: Connection, source: str, partition: int,
                       position: int) -> None:
        t = positions_table
        conn.execute(t.update().where(t.c.projection == self.name, t.c.source == source,
                                      t.c.partition == partition)
                     .values(position=position, updated_at=_now()))

    def reset(self) -> None:
        """Forget every position and drop the projection's rows (before a full rebuild)."""
        with self.engine.begin() as conn:
            for table in reversed(self.projection.metadata.sorted_tables):
                conn.execute(table.delete())
            for t in (positions_table, case_versions_table):
                conn.execute(t.delete().where(t.c.projection == self.name))


def _now() -> str:
    return datetime.now(UTC).isoformat()
