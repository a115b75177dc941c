"""Administrative statements the PostgreSQL benchmarks share (run beside them: `bench/` is on
the path of a script run as `python bench/<name>.py`)."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from casetrail.dburl import DatabaseURL


def _connect(base: str) -> psycopg.Connection:
    url = DatabaseURL.parse(base)
    return psycopg.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                           dbname=url.dbname, autocommit=True)


def checkpoint(base: str) -> None:
    """Flush what was written so far, so that it is not flushed during a measurement."""
    with _connect(base) as conn:
        conn.execute("CHECKPOINT")


def settle(base: str, schema: str) -> None:
    """Make a log written seconds ago look like one written earlier: vacuumed and analyzed
    (autovacuum's work, which would otherwise run during the measurement), then flushed."""
    with _connect(base) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))]
        for table in tables:
            conn.execute(f'VACUUM (ANALYZE) "{schema}"."{table}"')
        conn.execute("CHECKPOINT")


def drop_schemas(base: str, schemas: Iterable[str]) -> None:
    """Remove the schemas a benchmark made."""
    with _connect(base) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
