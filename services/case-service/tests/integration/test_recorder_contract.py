"""The case recorders keep the eventsourcing library's recorder contract.

They replace parts of the library's recorders (the PostgreSQL insert path, with its table
lock and notify channel, and an audit leaf written with every event), so the library's own
test case for application recorders (`eventsourcing.tests.persistence.
ApplicationRecorderTestCase`: inserts and selects, notification ids and their order, topics,
integrity errors, concurrent writers and readers) runs against each, built as the service
builds it (`bootstrap.eventsourcing_env`), on a database migrated as the service migrates
it, on SQLite and on PostgreSQL. `AggregateRecorderTestCase` is the contract of aggregate
recorders, which return no notification ids; the case recorders are application recorders.

Each run also checks what the case recorders add: every stored event has its audit leaf.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from case_service.adapters.eventstore.recorders import PostgresCaseRecorder, SQLiteCaseRecorder
from case_service.adapters.tables import audit_leaves
from case_service.bootstrap import eventsourcing_env, upgrade_tables
from case_service.config import CaseSettings
from casetrail import merkle
from casetrail.projections.store import make_engine
from casetrail.testing import fresh_database
from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory
from eventsourcing.tests.persistence import ApplicationRecorderTestCase
from eventsourcing.utils import Environment


class CaseRecorderContract(ApplicationRecorderTestCase[ApplicationRecorder]):
    """The library's contract, on a fresh database of `backend` per test."""

    backend = "sqlite"
    recorder_class: type[ApplicationRecorder] = SQLiteCaseRecorder

    def setUp(self) -> None:
        super().setUp()
        folder = Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.url = self.enterContext(fresh_database(self.backend, folder, "contract"))
        upgrade_tables(self.url)  # the audit leaves the recorders write with each event
        self.factories: list[Any] = []

    def tearDown(self) -> None:
        try:
            self.check_every_event_has_its_leaf()
        finally:
            for factory in self.factories:
                factory.close()
            super().tearDown()

    def create_recorder(self) -> ApplicationRecorder:
        env = eventsourcing_env(CaseSettings(database_url=self.url), create_tables=True)
        factory = InfrastructureFactory.construct(Environment("cases", env))
        self.factories.append(factory)
        recorder = factory.application_recorder()
        assert isinstance(recorder, self.recorder_class)
        return recorder

    def check_every_event_has_its_leaf(self) -> None:
        """The leaf of each stored event is the hash of what was stored at its position."""
        if not self.factories:
            return
        recorder = self.factories[-1].application_recorder()
        stored = recorder.select_notifications(start=None, limit=1_000_000)
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                leaves = dict(conn.execute(sa.select(audit_leaves.c.position,
                                                     audit_leaves.c.leaf_hash)).all())
        finally:
            engine.dispose()
        assert {n.id: merkle.leaf_hash(n.id, str(n.originator_id), n.originator_version,
                                       n.topic, n.state) for n in stored} == \
            {p: bytes(leaf) for p, leaf in leaves.items()}


class TestSQLiteCaseRecorder(CaseRecorderContract):
    """SQLiteCaseRecorder keeps the contract."""


@pytest.mark.postgres
class TestPostgresCaseRecorder(CaseRecorderContract):
    """PostgresCaseRecorder keeps the contract (its insert path is its own)."""

    backend = "postgres"
    recorder_class = PostgresCaseRecorder

    def test_concurrent_throughput(self) -> None:
        super().test_concurrent_throughput()


del CaseRecorderContract  # the contract itself is not a test
