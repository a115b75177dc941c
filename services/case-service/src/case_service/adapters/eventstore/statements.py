"""Many rows in one statement: the writes that join the transaction storing the events (Core
constructs compiled once for the event store's own connection and run on its raw DB-API
cursor), and `execute_arrays` for the bulk writes of the service's own tables.

The library's recorder holds the connection, the transaction and, on PostgreSQL, the
EXCLUSIVE table lock while it inserts events; what must commit with them (their audit leaves,
the case list rows, a placement receipt) runs there too, on the cursor the recorder hands over.
These statements are the tables' own Core constructs (adapters/tables.py), compiled for that
dialect and schema. On PostgreSQL every column travels as one array, in binary (`%b`): one
statement for any number of rows, with no per-element quoting.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property, lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, CursorResult

from case_service.adapters.tables import (
    audit_leaves,
    case_summaries,
    placement_receipts,
    unnest,
)

# The case list's columns that a later event of the case changes (the rest is its placement).
SUMMARY_UPDATES = ("agency_id", "assigned_agency_id", "status", "outstanding", "version",
                   "term_end", "updated_at", "delinquent_since", "next_deadline_at")
RECEIPT_COLUMNS = ("creditor_id", "placement_ref", "request_sha256", "received_at",
                   "acknowledged_at", "receipt")


class Compiled:
    """A statement compiled for a raw cursor: its SQL and the order of its parameters."""

    def __init__(self, statement: sa.ClauseElement, dialect: sa.Dialect, schema: str | None,
                 *, binary: bool = False):
        compiled: Any = statement.compile(
            dialect=dialect, schema_translate_map={None: schema} if schema else None,
            render_schema_translate=bool(schema))
        self.sql = compiled.string.replace("%s", "%b") if binary else compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())

    def params(self, values: dict[str, Any]) -> list[Any]:
        """The positional parameters from values by name."""
        return [values[name] for name in self.names]


@lru_cache(maxsize=64)
def _compiled_for_psycopg(statement: sa.ClauseElement) -> Compiled:
    return Compiled(statement, postgresql.psycopg.dialect(paramstyle="format"), None,
                    binary=True)


def execute_arrays(conn: Connection, statement: sa.ClauseElement, columns: Sequence[str],
                   rows: Sequence[Sequence[Any]]) -> CursorResult[Any]:
    """Run a statement of `unnest` arrays (PostgreSQL, tables.unnest) on a SQLAlchemy
    connection with rows (values in the order of `columns`), each array in binary: the
    text form of an array quotes every element, which cost more than the insert itself for
    a batch of 10,000 keys. `statement` should be a module constant (its compiled form is
    kept)."""
    compiled = _compiled_for_psycopg(statement)
    arrays = dict(zip(columns, (list(c) for c in zip(*rows, strict=True)), strict=True))
    return conn.exec_driver_sql(compiled.sql, tuple(compiled.params(arrays)))


class InTransactionStatements:
    """The in-transaction writes, for the event store's dialect ("sqlite" or "postgres")."""

    def __init__(self, backend: str, schema: str | None = None):
        if backend not in ("sqlite", "postgres"):
            raise ValueError(f"no statements for {backend!r}")
        self.postgres = backend == "postgres"
        self.schema = schema
        self.dialect: sa.Dialect = (postgresql.psycopg.dialect(paramstyle="format")
                                    if self.postgres else sqlite.dialect())

    def _compile(self, statement: sa.ClauseElement) -> Compiled:
        return Compiled(statement, self.dialect, self.schema, binary=self.postgres)

    @cached_property
    def _leaves(self) -> Compiled:
        columns = ("position", "leaf_hash")
        if self.postgres:
            return self._compile(pg_insert(audit_leaves).from_select(
                columns, unnest(audit_leaves, columns)))
        return self._compile(audit_leaves.insert().values(
            {c: sa.bindparam(c) for c in columns}))

    @cached_property
    def _summaries(self) -> Compiled:
        columns = [c.name for c in case_summaries.columns]
        insert: Any
        if self.postgres:
            insert = pg_insert(case_summaries).from_select(
                columns, unnest(case_summaries, columns))
        else:
            insert = sqlite_insert(case_summaries).values(
                {c: sa.bindparam(c) for c in columns})
        return self._compile(insert.on_conflict_do_update(
            index_elements=[case_summaries.c.case_id],
            set_={c: insert.excluded[c] for c in SUMMARY_UPDATES}))

    @cached_property
    def _receipt(self) -> Compiled:
        return self._compile(placement_receipts.insert().values(
            {c: sa.bindparam(c) for c in RECEIPT_COLUMNS}))

    def insert_leaves(self, cursor: Any, positions: Sequence[int], leaves: Sequence[bytes]
                      ) -> None:
        """Insert audit leaves (position, leaf hash)."""
        self._insert_many(cursor, self._leaves, ("position", "leaf_hash"),
                          list(zip(positions, leaves, strict=True)))

    def upsert_summaries(self, cursor: Any, columns: Sequence[str],
                         rows: Sequence[Sequence[Any]]) -> None:
        """Insert case list rows (values of every column, in the order of `columns`), or
        update the columns a later event changes."""
        self._insert_many(cursor, self._summaries, columns, rows)

    def insert_receipt(self, cursor: Any, receipt: dict[str, Any]) -> None:
        """Insert a placement receipt (its fields, and the whole receipt as JSON)."""
        values = {c: receipt[c] for c in RECEIPT_COLUMNS if c != "receipt"}
        values["receipt"] = json.dumps(receipt)
        statement = self._receipt
        if self.postgres:
            cursor.execute(statement.sql, statement.params(values), binary=True)
        else:
            cursor.execute(statement.sql, statement.params(values))

    def _insert_many(self, cursor: Any, statement: Compiled, columns: Sequence[str],
                     rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        order = [list(columns).index(name) for name in statement.names]
        if self.postgres:  # one array per column, in the statement's parameter order
            arrays = list(zip(*rows, strict=True))
            cursor.execute(statement.sql, [list(arrays[i]) for i in order], binary=True)
        elif order == sorted(order) and len(order) == len(columns):
            cursor.executemany(statement.sql, rows)
        else:
            cursor.executemany(statement.sql, [tuple(row[i] for i in order) for row in rows])
