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
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from case_service.adapters.eventstore.recorders import PostgresCaseRecorder, SQLiteCaseRecorder
from case_service.adapters.tables import audit_leaves
from case_service.bootstrap import eventsourcing_env, upgrade_tables
from case_service.config import CaseSettings
from casetrail import merkle
from casetrail.projections.store import make_engine
from casetrail.testing import fresh_database
from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
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

    def test_a_whole_case_is_selected_as_the_library_selects_it(self) -> None:
        """The fast path of a command's load (a whole case, oldest first) returns what the
        library's own select_events returns, for a case with events, one without, and with
        other cases' events around; a range, newest first or a limit is the library's."""
        recorder = self.create_recorder()
        assert isinstance(recorder, PostgresCaseRecorder)
        cases = [uuid4() for _ in range(3)]
        recorder.insert_events([
            StoredEvent(originator_id=case, originator_version=version,
                        topic=f"topic-{version}", state=f"{case}-{version}".encode() * 3)
            for version in range(1, 6) for case in cases[:2]])
        library = PostgresApplicationRecorder.select_events
        for case in cases:
            ours = recorder.select_events(case)
            assert ours == library(recorder, case)
            assert [e.originator_version for e in ours] == ([1, 2, 3, 4, 5]
                                                            if case != cases[2] else [])
            assert all(isinstance(e.state, bytes) and isinstance(e.originator_id, UUID)
                       for e in ours)
            for selection in ({"gt": 2}, {"lte": 3}, {"desc": True}, {"limit": 2},
                              {"gt": 1, "lte": 4, "desc": True, "limit": 2}):
                assert recorder.select_events(case, **selection) == \
                    library(recorder, case, **selection)


del CaseRecorderContract  # the contract itself is not a test
