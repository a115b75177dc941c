"""Fixtures for the end-to-end tier: a System on the embedded transport or on Kafka."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from casetrail.crypto import MasterKey

from tests.e2e.harness import System


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[System]:
    env = {**os.environ, "CASETRAIL_VAR_DIR": str(tmp_path / "var"),
           "CASETRAIL_MASTER_KEY": MasterKey.generate_b64(), "CASETRAIL_LOG_JSON": "true",
           "CASE_DATABASE_URL": f"sqlite:///{tmp_path}/case.db",
           "CONTACT_DATABASE_URL": f"sqlite:///{tmp_path}/contact.db",
           "CASE_EVENTS_WAIT_SECONDS": "1"}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.pop("DATABASE_URL", None)
    system = System(tmp_path, env)
    yield system
    system.stop()


@pytest.fixture
def on_kafka(tmp_path: Path, kafka_bootstrap: str, pg_schemas: Callable[[str], str]
             ) -> Iterator[System]:
    env = {**os.environ, "CASETRAIL_VAR_DIR": str(tmp_path / "var"),
           "CASETRAIL_MASTER_KEY": MasterKey.generate_b64(),
           "CASE_DATABASE_URL": pg_schemas("e2e_case"),
           "CONTACT_DATABASE_URL": pg_schemas("e2e_contact"),
           "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "KAFKA_TOPIC": f"e2e-{os.urandom(4).hex()}"}
    env.pop("DATABASE_URL", None)
    system = System(tmp_path, env)
    yield system
    system.stop()
