"""Test support shared by every service's tests: fresh databases on SQLite and PostgreSQL.

PostgreSQL comes from TEST_DATABASE_URL and Kafka from TEST_KAFKA_BOOTSTRAP (set by `make test`,
which starts the project's own servers). Without them those runs are skipped, unless
CASETRAIL_REQUIRE_POSTGRES / CASETRAIL_REQUIRE_KAFKA say they must run.
Imported by tests only (it needs pytest).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from casetrail.dburl import DatabaseURL

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_base_url() -> str:
    """The test PostgreSQL server; skips (or fails, when required) without one."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CASETRAIL_REQUIRE_POSTGRES"):
            pytest.fail("CASETRAIL_REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not")
        pytest.skip("no TEST_DATABASE_URL: PostgreSQL runs need `make test` or scripts/pg.sh")
    return url


def kafka_bootstrap_servers() -> str:
    """The test Kafka broker (TEST_KAFKA_BOOTSTRAP); skips (or fails, when required) without."""
    servers = os.environ.get("TEST_KAFKA_BOOTSTRAP")
    if not servers:
        if os.environ.get("CASETRAIL_REQUIRE_KAFKA"):
            pytest.fail("CASETRAIL_REQUIRE_KAFKA is set but TEST_KAFKA_BOOTSTRAP is not")
        pytest.skip("no TEST_KAFKA_BOOTSTRAP: Kafka runs need `make test` or scripts/kafka.sh")
    return servers


def drop_schemas(base_url: str, schemas: list[str]) -> None:
    """Remove test schemas and everything in them."""
    import psycopg

    url = DatabaseURL.parse(base_url)
    with psycopg.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                         dbname=url.dbname, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def fresh_database(backend: str, folder: Path, name: str = "db") -> Iterator[str]:
    """A DATABASE_URL of an empty database: a SQLite file in `folder`, or a PostgreSQL schema
    of its own (dropped afterwards, with the shadow a rebuild may have made beside it)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder}/{name}.db"
        return
    base = postgres_base_url()
    schema = f"{name}_{uuid.uuid4().hex[:10]}"
    try:
        yield f"{base}?schema={schema}"
    finally:
        drop_schemas(base, [schema, f"{schema}_shadow"])
