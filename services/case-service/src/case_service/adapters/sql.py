"""A thin SQL layer over the event store's own connection pool, for SQLite and PostgreSQL.

The case service keeps its read model beside the events in the same database, so it reuses
the eventsourcing datastore (one pool, one transaction model) instead of opening a second one.
SQL is written once with `%s` placeholders and translated for SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder


class SqlDatabase:
    """Runs SQL on the event store's database in either dialect."""

    def __init__(self, recorder: Any):
        self.recorder = recorder
        if isinstance(recorder, PostgresApplicationRecorder):
            self.dialect = "postgres"
            self.schema: str | None = recorder.datastore.schema
        elif isinstance(recorder, SQLiteApplicationRecorder):
            self.dialect = "sqlite"
            self.schema = None
        else:
            raise TypeError(f"unsupported recorder {type(recorder).__name__}")
        self.events_table = recorder.events_table_name

    def table(self, name: str) -> str:
        """A table name qualified with the schema where the dialect has one."""
        return f'"{self.schema}".{name}' if self.schema else name

    def sql(self, statement: str) -> str:
        """Translate `%s` placeholders for the dialect."""
        return statement.replace("%s", "?") if self.dialect == "sqlite" else statement

    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """`column IN (...)` for a list of values, in the dialect's best form."""
        if self.dialect == "postgres":
            return f"{column} = ANY(%s)", [list(values)]
        return f"{column} IN ({','.join('%s' for _ in values) or 'NULL'})", list(values)

    def blob(self, data: bytes) -> Any:
        """A binary parameter."""
        return data

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """A cursor inside one committed-or-rolled-back transaction."""
        if self.dialect == "postgres":
            with self.recorder.datastore.get_connection() as conn, conn.transaction(), \
                    conn.cursor() as curs:
                yield Cursor(self, curs)
        else:
            with self.recorder.datastore.transaction(commit=True) as curs:
                yield Cursor(self, curs)

    def wrap(self, raw_cursor: Any) -> Cursor:
        """Wrap a cursor handed over by a recorder mid-transaction."""
        return Cursor(self, raw_cursor)

    def execute_script(self, statements: Sequence[str]) -> None:
        """Run DDL statements in one transaction."""
        with self.transaction() as cur:
            for statement in statements:
                cur.execute(statement)


class Cursor:
    """A DB-API cursor that translates placeholders and returns rows as dicts."""

    def __init__(self, db: SqlDatabase, raw: Any):
        self.db = db
        self.raw = raw

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Cursor:
        """Execute one statement."""
        self.raw.execute(self.db.sql(statement), tuple(params))
        return self

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """Execute one statement for many parameter rows."""
        if rows:
            self.raw.executemany(self.db.sql(statement), [tuple(r) for r in rows])

    def insert_rows(self, table: str, columns: Sequence[str], types: Sequence[str],
                    rows: Sequence[Sequence[Any]], suffix: str = "") -> None:
        """Insert many rows in one statement where the dialect allows (PostgreSQL `unnest`).

        `types` are the PostgreSQL column types; `suffix` is e.g. an ON CONFLICT clause.
        """
        if not rows:
            return
        cols = ", ".join(columns)
        if self.db.dialect == "postgres":
            arrays = ", ".join(f"%b::{t}[]" for t in types)
            self.raw.execute(
                f"INSERT INTO {table} ({cols}) SELECT * FROM unnest({arrays}) {suffix}",
                [list(column) for column in zip(*rows, strict=True)], binary=True)
        else:
            marks = ", ".join("%s" for _ in columns)
            self.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks}) {suffix}", rows)

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        raw = getattr(self.raw, "sqlite_cursor", self.raw)
        return int(raw.rowcount)

    def fetchall(self) -> list[dict[str, Any]]:
        """All remaining rows as dicts."""
        return [dict(row) for row in self.raw.fetchall()]

    def fetchone(self) -> dict[str, Any] | None:
        """The next row as a dict, or None."""
        row = self.raw.fetchone()
        return dict(row) if row is not None else None
