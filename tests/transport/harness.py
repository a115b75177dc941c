"""A case service, a transport and a recording projection, wired for the transport contract.

The `Ledger` projection appends one row per applied event (no unique key on purpose), so a
double application shows up as a duplicate row instead of being hidden by a constraint.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa
from case_service.adapters.relay import Relay
from case_service.application import (
    AccountInput,
    CaseApplication,
    DebtorInput,
    PlacementBatch,
    placement,
)
from case_service.bootstrap import build_application, build_relay
from case_service.config import CaseSettings
from case_service.entrypoints.app import create_app
from casetrail.crypto import MasterKey
from casetrail.envelope import EventEnvelope
from casetrail.kafka import KafkaSettings
from casetrail.projections.base import Projection
from casetrail.projections.runners import (
    AfterBatch,
    FeedProjectionRunner,
    KafkaProjectionRunner,
)
from casetrail.projections.store import ProjectionStore, make_engine
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from sqlalchemy.engine import Connection

POISON_NOTE = "poison: the ledger handler refuses this event"

ledger_metadata = sa.MetaData()
applications = sa.Table(
    "ledger_applications", ledger_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)


class Ledger(Projection):
    """Records every application; refuses events carrying POISON_NOTE."""

    name = "ledger"
    metadata = ledger_metadata

    def handle(self, conn: Connection, event: EventEnvelope) -> None:
        if event.payload.get("note") == POISON_NOTE:
            raise ValueError("the ledger cannot apply this event")
        conn.execute(applications.insert().values(
            case_id=str(event.case_id), version=event.version, type=event.type,
            position=event.position))


class Harness:
    """One case service and one ledger store, plus either transport."""

    def __init__(self, transport: str, case_url: str, ledger_url: str,
                 kafka_bootstrap: str | None, topic: str):
        self.transport = transport
        self.auditor_key = generate_key(Role.AUDITOR)
        self.common = CommonSettings(
            api_keys=json.dumps([KeyEntry("auditor", hash_key(self.auditor_key), Role.AUDITOR,
                                          None).to_json()]),
            master_key=MasterKey.generate_b64())
        self.settings = CaseSettings(database_url=case_url)
        self.app: CaseApplication = build_application(self.settings, self.common)
        self.asgi = create_app(self.settings, self.common, application=self.app)
        self.store = ProjectionStore(make_engine(ledger_url), Ledger())
        self.store.create_schema()
        self.kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap, topic=topic)
        self._placements = 0

    # ------------------------------------------------------------------ transport pieces

    def consumer(self, *, after_batch: AfterBatch | None = None, max_records: int = 200
                 ) -> KafkaProjectionRunner | FeedProjectionRunner:
        """A consumer on this harness's transport."""
        if self.transport == "kafka":
            return KafkaProjectionRunner(self.store, self.kafka, group_id=f"g-{self.kafka.topic}",
                                         max_records=max_records, after_batch=after_batch)
        return FeedProjectionRunner(self.store, "http://case", self.auditor_key,
                                    limit=max_records, wait=0.5, after_batch=after_batch,
                                    transport=httpx.ASGITransport(app=self.asgi))

    def relay(self, after_publish: Callable[[int], Awaitable[None]] | None = None,
              batch_size: int = 500) -> Relay:
        """The outbox relay (Kafka only)."""
        return build_relay(self.app, self.kafka, batch_size=batch_size, poll_seconds=0.05,
                           after_publish=after_publish)

    # ------------------------------------------------------------------ workload

    def place(self, count: int, agency: str = "AG-1") -> list[UUID]:
        """Place `count` new accounts in one batch; returns their case ids."""
        self._placements += 1
        n = self._placements
        accounts = [AccountInput(
            index=i, account_ref=f"P{n}-ACC-{i:06d}", currency="CNY",
            balances={"principal": Decimal("1000.00")}, dpd=45,
            debtor=DebtorInput(name=f"Debtor {n}-{i}", national_id=f"ID{n:04d}{i:08d}",
                               phones=("+8613800000000",), address=None, email=None,
                               timezone="Asia/Shanghai"),
            agency_id=agency) for i in range(count)]
        receipt, _ = placement.place(self.app, PlacementBatch(
            creditor_id="BANK", placement_ref=f"PL-{n}", received_at=datetime.now(UTC),
            request_sha256=f"sha-{n}", accounts=accounts), actor="test")
        return [UUID(row["case_id"]) for row in receipt["accepted"]]

    def contact(self, case_id: UUID, contact_id: str, note: str | None = None) -> None:
        """Record one phone contact on a case."""
        self.app.execute(case_id, lambda case: case.record_contact(
            contact_id=contact_id, channel="phone", direction="outbound", party="debtor",
            outcome="answered", action_code="PTP", agent_id="agent-1", recording_ref=None,
            contact_point=None, occurred_at=datetime.now(UTC), note=note, actor="test"),
            expected_version=None, authorize=lambda _: None)

    # ------------------------------------------------------------------ checks

    def log(self) -> list[tuple[str, int]]:
        """(case id, version) of every event in the case service's log, in log order."""
        events: list[tuple[str, int]] = []
        after = 0
        while batch := self.app.events_after(after, 1000):
            events += [(str(e.case_id), e.version) for e in batch]
            after = batch[-1].position
        return events

    def applied(self) -> list[dict[str, Any]]:
        """The ledger's rows in application order."""
        with self.store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(
                sa.select(applications).order_by(applications.c.id)).mappings()]

    def applied_count(self) -> int:
        """How many applications the ledger holds."""
        with self.store.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(applications))
                       .scalar() or 0)

    def assert_exactly_once(self, *, excluding: set[tuple[str, int]] = frozenset()) -> None:
        """The ledger equals a replay of the log: every event once, each case in order."""
        rows = self.applied()
        counts = Counter((r["case_id"], r["version"]) for r in rows)
        doubled = {k: c for k, c in counts.items() if c > 1}
        assert not doubled, f"applied more than once: {list(doubled.items())[:5]}"
        expected = set(self.log()) - set(excluding)
        assert set(counts) == expected, (
            f"missing {len(expected - set(counts))}, unexpected {len(set(counts) - expected)}")
        last: dict[str, int] = {}
        for r in rows:
            assert r["version"] > last.get(r["case_id"], 0), f"out of order for {r['case_id']}"
            last[r["case_id"]] = r["version"]

    def close(self) -> None:
        """Release connections."""
        self.store.engine.dispose()
        self.app.close()


async def wait_for(condition: Callable[[], bool], timeout: float = 90.0,
                   message: str = "condition") -> None:
    """Poll a (blocking) condition until it holds, or fail the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(condition):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")
