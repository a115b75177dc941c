"""Fixtures for the cross-service tiers: real PostgreSQL and real Kafka, started by `make test`.

TEST_DATABASE_URL and TEST_KAFKA_BOOTSTRAP name them; without them these tests skip, unless
CASETRAIL_REQUIRE_POSTGRES / CASETRAIL_REQUIRE_KAFKA say they must run (as in `make test`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from casetrail.testing import drop_schemas, kafka_bootstrap_servers, postgres_base_url


@pytest.fixture
def pg_base_url() -> str:
    """The test PostgreSQL server."""
    return postgres_base_url()


@pytest.fixture
def kafka_bootstrap() -> str:
    """The test Kafka broker."""
    return kafka_bootstrap_servers()


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
