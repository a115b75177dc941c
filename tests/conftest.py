"""Fixtures for the cross-service tiers: real PostgreSQL and real Kafka, started by `make test`.

TEST_DATABASE_URL and TEST_KAFKA_BOOTSTRAP name them; without them these tests skip, unless
CASETRAIL_REQUIRE_POSTGRES / CASETRAIL_REQUIRE_KAFKA say they must run (as in `make test`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from casetrail.dburl import DatabaseURL


def _required(url_var: str, require_var: str, what: str) -> str:
    value = os.environ.get(url_var)
    if not value:
        if os.environ.get(require_var):
            pytest.fail(f"{require_var} is set but {url_var} is not")
        pytest.skip(f"no {url_var}: {what} tests need `make test`")
    return value


@pytest.fixture
def pg_base_url() -> str:
    """The test PostgreSQL server."""
    return _required("TEST_DATABASE_URL", "CASETRAIL_REQUIRE_POSTGRES", "PostgreSQL")


@pytest.fixture
def kafka_bootstrap() -> str:
    """The test Kafka broker."""
    return _required("TEST_KAFKA_BOOTSTRAP", "CASETRAIL_REQUIRE_KAFKA", "Kafka")


def drop_schemas(base: str, schemas: list[str]) -> None:
    """Remove test schemas."""
    import psycopg

    url = DatabaseURL.parse(base)
    with psycopg.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                         dbname=url.dbname, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_schemas(pg_base_url: str) -> Iterator[object]:
    """Makes fresh schema URLs on the test server; drops them afterwards."""
    made: list[str] = []

    def new(prefix: str = "t") -> str:
        schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
        made.append(schema)
        return f"{pg_base_url}?schema={schema}"

    yield new
    drop_schemas(pg_base_url, made)
