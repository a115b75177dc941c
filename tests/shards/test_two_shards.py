"""Two case-service shards, one topic, unchanged consumers (docs/scaling.md, issue 20 #7).

Creditors are split over two case logs, each on a PostgreSQL database of its own (made on
the test server for the test, dropped after): BANK lives on shard-1 and BANK2 on shard-2,
routed by creditor id through a shard map. Each shard's relay publishes to the same Kafka
topic (three partitions, key = case id); the contact-log and billing-ledger projections and
a recording ledger (one row per application, no unique key: a double application shows as a
second row) consume it with the real `KafkaProjectionRunner`, as in production.

While both shards write, the contact-log consumer is stopped and restarted mid-stream, and
shard-1's relay is rewound to the start of its log, so every shard-1 event is on the topic
twice. Then every event of both logs is applied exactly once, in case order; the read models
equal each shard's log applied on its own through the store (the plain path); and each
shard's audit verifies on its own, while shard-1's checkpoint does not verify shard-2's log.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
import sqlalchemy as sa
from billing_service.adapters.billing_ledger import billing_cases
from billing_service.adapters.billing_ledger import payments as billed_payments
from billing_service.bootstrap import build as build_billing
from billing_service.config import BillingSettings
from case_service.adapters.relay import Relay
from case_service.application import (
    AccountInput,
    CaseApplication,
    DebtorInput,
    PlacementBatch,
    placement,
)
from case_service.application import audit as audit_use_cases
from case_service.bootstrap import build_application, build_relay
from case_service.config import CaseSettings
from casetrail.clock import ManualClock
from casetrail.crypto import MasterKey
from casetrail.dburl import DatabaseURL
from casetrail.envelope import EventEnvelope
from casetrail.kafka import KafkaSettings, ensure_topics
from casetrail.projections.rebuild import compare, kafka_end_offsets
from casetrail.projections.runners import KafkaProjectionRunner
from casetrail.projections.store import (
    Delivery,
    ProjectionStore,
    make_engine,
    positions_table,
    shard_source,
)
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from casetrail.testing import fresh_database
from contact_service.adapters.contact_log import contact_cases, contacts
from contact_service.bootstrap import build as build_contact
from contact_service.config import ContactSettings

from tests.transport.harness import Ledger, applications, wait_for

SHARD_MAP = {"BANK": "shard-1", "BANK2": "shard-2"}  # creditor id -> the shard it lives on
SHARDS = ("shard-1", "shard-2")
START = datetime(2026, 6, 1, 9, tzinfo=UTC)
CASES_PER_CREDITOR = 8


@pytest.fixture
def shard_databases(pg_base_url: str) -> Iterator[dict[str, str]]:
    """One PostgreSQL database per shard on the test server; dropped afterwards."""
    base = DatabaseURL.parse(pg_base_url)
    names = {shard: f"ct_{shard.replace('-', '')}_{os.urandom(4).hex()}" for shard in SHARDS}

    def admin() -> psycopg.Connection[Any]:
        return psycopg.connect(host=base.host, port=base.port, user=base.user,
                               password=base.password, dbname=base.dbname, autocommit=True)

    with admin() as conn:
        for name in names.values():
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {shard: f"postgresql://{base.user}:{base.password}@{base.host}:{base.port}/{name}"
               for shard, name in names.items()}
    finally:
        with admin() as conn:
            for name in names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Shards:
    """Two case applications (one per shard), the contact and billing services, a ledger."""

    def __init__(self, tmp: Path, shard_urls: dict[str, str], urls: dict[str, str]):
        self.tmp = tmp
        auditor = generate_key(Role.AUDITOR)
        self.common = CommonSettings(
            api_keys=json.dumps([KeyEntry("auditor", hash_key(auditor), Role.AUDITOR,
                                          None).to_json()]),
            master_key=MasterKey.generate_b64(), var_dir=tmp / "var")
        self.clock = ManualClock(START)
        self.cases: dict[str, CaseApplication] = {
            shard: build_application(CaseSettings(database_url=url, shard=shard), self.common,
                                     clock=self.clock)
            for shard, url in shard_urls.items()}
        self.contact = build_contact(ContactSettings(database_url=urls["contact"]),
                                     common=self.common, clock=self.clock)
        self.billing = build_billing(BillingSettings(database_url=urls["billing"]),
                                     common=self.common, clock=self.clock)
        self.ledger = ProjectionStore(make_engine(urls["ledger"]), Ledger())
        self.ledger.create_schema()
        self.stores = [self.contact.contact_log, self.billing.ledger, self.ledger]
        self.lock = threading.Lock()
        self.placed: dict[str, list[UUID]] = {creditor: [] for creditor in SHARD_MAP}
        self.paid = Decimal("0")
        self.contacts = self.payments = 0
        self.n = 0

    def close(self) -> None:
        """Release every connection."""
        self.contact.close()
        self.billing.close()
        self.ledger.engine.dispose()
        for app in self.cases.values():
            app.close()

    def app_of(self, creditor: str) -> CaseApplication:
        """The case application of the shard the creditor lives on (the ingress's routing)."""
        return self.cases[SHARD_MAP[creditor]]

    def place(self, creditor: str, count: int) -> None:
        """One placement of `count` accounts, on the creditor's shard."""
        with self.lock:
            self.n += 1
            n = self.n
        receipt, _ = placement.place(self.app_of(creditor), PlacementBatch(
            creditor_id=creditor, placement_ref=f"P{n}", received_at=START,
            request_sha256=f"s{n}", accounts=[AccountInput(
                index=i, account_ref=f"{creditor}-{n}-{i}", currency="CNY",
                balances={"principal": Decimal("5000.00")}, dpd=45,
                agency_id="AG-A" if creditor == "BANK" else "AG-B",
                debtor=DebtorInput(name=f"Debtor {n}-{i}", national_id=f"N{n:03d}{i:04d}",
                                   phones=("+8613911112222",), address=None, email=None,
                                   timezone="Asia/Shanghai"))
                for i in range(count)]), actor="test")
        with self.lock:
            self.placed[creditor] += [UUID(r["case_id"]) for r in receipt["accepted"]]

    def run(self, creditor: str, case_id: UUID, command: Callable[[Any], Any]) -> None:
        """A command on a case, on its creditor's shard."""
        self.app_of(creditor).execute(case_id, command, expected_version=None,
                                      authorize=lambda _: None)

    def contact_all(self, creditor: str, round_: int) -> None:
        """One phone contact on each of the creditor's cases."""
        for i, case_id in enumerate(list(self.placed[creditor])):
            when = START + timedelta(hours=1 + round_, minutes=i)
            self.run(creditor, case_id, lambda c, i=i, when=when: c.record_contact(
                contact_id=f"{creditor}-{round_}-{i}", channel="phone", direction="outbound",
                party="debtor", outcome="conversation", action_code="TALK",
                agent_id="agent-1", recording_ref=None, contact_point=None,
                occurred_at=when, note=None, actor="test"))
            with self.lock:
                self.contacts += 1

    def pay_all(self, creditor: str, round_: int) -> None:
        """One payment on each of the creditor's cases (amounts differ per case)."""
        for i, case_id in enumerate(list(self.placed[creditor])):
            amount = Decimal(f"{100 + 7 * i + round_}.25")
            self.run(creditor, case_id, lambda c, i=i, amount=amount: c.receive_payment(
                reference=f"{creditor}-pay-{round_}-{i}", amount=amount, currency="CNY",
                source="agency", received_at=START + timedelta(hours=2 + round_),
                method="bank_transfer", actor="test"))
            with self.lock:
                self.paid += amount
                self.payments += 1

    def log(self, shard: str) -> list[EventEnvelope]:
        """Every event of a shard's log, in order, as the application reads it."""
        app, events, after = self.cases[shard], [], 0
        while batch := app.events_after(after, 1000):
            events += batch
            after = batch[-1].position
        return events


@pytest.fixture
def shards(tmp_path: Path, shard_databases: dict[str, str]) -> Iterator[Shards]:
    with fresh_database("postgres", tmp_path, "contact") as contact, \
            fresh_database("postgres", tmp_path, "billing") as billing, \
            fresh_database("postgres", tmp_path, "ledger") as ledger:
        made = Shards(tmp_path, shard_databases,
                      {"contact": contact, "billing": billing, "ledger": ledger})
        try:
            yield made
        finally:
            made.close()


def test_consumers_apply_both_shards_events_exactly_once_and_each_shard_verifies_alone(
        shards: Shards, kafka_bootstrap: str) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap, partitions=3,
                          topic=f"shards-{os.urandom(5).hex()}")
    source = f"kafka:{kafka.topic}"
    delivered: Counter[str] = Counter()  # store name -> duplicates its consumer skipped
    republished: list[int] = []  # how many events the rewound relay sent a second time

    def consumer(store: ProjectionStore) -> KafkaProjectionRunner:
        async def count(_: int, result: Any) -> None:
            delivered[store.name] += result.duplicates

        return KafkaProjectionRunner(store, kafka, group_id=f"g-{kafka.topic}-{store.name}",
                                     max_records=40, after_batch=count)

    async def scenario() -> None:
        await ensure_topics(kafka)
        relays: dict[str, Relay] = {}
        stops = {name: asyncio.Event() for name in (*SHARDS, "contact", "others")}
        tasks: dict[str, asyncio.Task[None]] = {}

        def start_relay(shard: str) -> None:
            relays[shard] = build_relay(shards.cases[shard], kafka, shard=shard,
                                        batch_size=30, poll_seconds=0.05)
            stops[shard] = asyncio.Event()
            tasks[shard] = asyncio.create_task(relays[shard].run(stops[shard]))

        async def settled() -> None:
            for shard in SHARDS:
                head = await asyncio.to_thread(shards.cases[shard].last_position)
                await wait_for(lambda shard=shard, head=head: relays[shard].position >= head,
                               message=f"the relay of {shard}")
            ends = await kafka_end_offsets(kafka)
            await wait_for(lambda: all(
                all(store.positions(source).get(p, -1) >= end - 1
                    for p, end in ends.items() if end > 0) for store in shards.stores),
                message="every consumer at the topic's end")

        for shard in SHARDS:
            start_relay(shard)
        contact_log, billing_ledger, ledger = shards.stores
        tasks["contact"] = asyncio.create_task(consumer(contact_log).run(stops["contact"]))
        tasks["billing"] = asyncio.create_task(consumer(billing_ledger).run(stops["others"]))
        tasks["ledger"] = asyncio.create_task(consumer(ledger).run(stops["others"]))
        try:
            # Shard 1 runs ahead: its log positions pass every position shard 2 will use.
            await asyncio.to_thread(shards.place, "BANK", CASES_PER_CREDITOR)
            await asyncio.to_thread(shards.contact_all, "BANK", 0)
            await asyncio.to_thread(shards.pay_all, "BANK", 0)
            await settled()
            # Shard 2 starts from position 1 while the contact-log consumer is down.
            stops["contact"].set()
            await tasks["contact"]
            await asyncio.to_thread(shards.place, "BANK2", CASES_PER_CREDITOR)
            await asyncio.to_thread(shards.contact_all, "BANK2", 0)
            tasks["contact"] = asyncio.create_task(
                consumer(contact_log).run(stops["others"]))
            # Both shards write at once.
            await asyncio.gather(asyncio.to_thread(shards.contact_all, "BANK", 1),
                                 asyncio.to_thread(shards.pay_all, "BANK2", 0),
                                 asyncio.to_thread(shards.contact_all, "BANK2", 1))
            await settled()
            # Shard 1's relay is rewound, as after losing its saved position: its whole log
            # goes to the topic again, among shard 2's new events.
            stops["shard-1"].set()
            await tasks["shard-1"]
            await asyncio.to_thread(shards.cases["shard-1"].store.save_relay_position,
                                    kafka.topic, 0, datetime.now(UTC).isoformat())
            republished.append(len(await asyncio.to_thread(shards.log, "shard-1")))
            start_relay("shard-1")
            await asyncio.gather(asyncio.to_thread(shards.pay_all, "BANK2", 1),
                                 asyncio.to_thread(shards.pay_all, "BANK", 1))
            await settled()
        finally:
            for stop in stops.values():
                stop.set()
            await asyncio.gather(*tasks.values())
        assert sum((await kafka_end_offsets(kafka)).values()) >= \
            len(shards.log("shard-1")) + len(shards.log("shard-2")) + republished[0]

    asyncio.run(scenario())

    logs = {shard: shards.log(shard) for shard in SHARDS}
    assert all(e.shard is None for log in logs.values() for e in log)  # stamped by relays
    # Both logs count from 1: the positions collide, the case ids do not.
    collide = {e.position for e in logs["shard-2"]} & {e.position for e in logs["shard-1"]}
    assert len(collide) >= len(logs["shard-2"]) // 2
    every = [(str(e.case_id), e.version) for log in logs.values() for e in log]
    assert len(set(every)) == len(every)

    # Every event of both shards applied once, each case in its own order.
    with shards.ledger.engine.connect() as conn:
        rows = conn.execute(sa.select(applications.c.case_id, applications.c.version)
                            .order_by(applications.c.id)).all()
    counts = Counter((r.case_id, r.version) for r in rows)
    assert max(counts.values()) == 1
    assert set(counts) == set(every)
    last: dict[str, int] = {}
    for case_id, version in rows:
        assert version > last.get(case_id, 0), f"{case_id} applied out of order"
        last[case_id] = version
    assert republished[0] > 0
    assert all(delivered[store.name] >= republished[0] for store in shards.stores)

    # The read models: every case once, every contact and payment once, the totals summed.
    placed = {str(c) for cases in shards.placed.values() for c in cases}
    assert len(placed) == 2 * CASES_PER_CREDITOR
    with shards.contact.contact_log.engine.connect() as conn:
        assert sorted(conn.execute(sa.select(contact_cases.c.case_id)).scalars()) == \
            sorted(placed)
        assert conn.execute(sa.select(sa.func.count()).select_from(contacts)).scalar() == \
            shards.contacts
    with shards.billing.ledger.engine.connect() as conn:
        assert sorted(conn.execute(sa.select(billing_cases.c.case_id)).scalars()) == \
            sorted(placed)
        amounts = [Decimal(a) for a in conn.execute(
            sa.select(billed_payments.c.amount)).scalars()]
    assert (len(amounts), sum(amounts)) == (shards.payments, shards.paid)

    # Each position row per shard, beside the partition's own.
    with shards.ledger.engine.connect() as conn:
        sources = set(conn.execute(sa.select(positions_table.c.source)).scalars())
    assert sources == {source, *(shard_source(source, s) for s in SHARDS)}

    # The read models equal each shard's log applied on its own (the plain path).
    assert_equal_to_each_log_applied_alone(shards, logs)

    # Each shard's audit verifies on its own, under an origin naming the shard.
    notes = {}
    for shard in SHARDS:
        app = shards.cases[shard]
        signed = audit_use_cases.sign_checkpoint(app)
        assert signed["origin"] == f"casetrail.example/case-log/{shard}"
        assert signed["tree_size"] == len(logs[shard])
        notes[shard] = signed["note"]
        report = audit_use_cases.verify(app, trusted=[(shard, signed["note"])])
        assert report.ok, report.problems
        assert (report.events_checked, report.trusted_checked) == (len(logs[shard]), 1)
    crossed = audit_use_cases.verify(shards.cases["shard-2"],
                                     trusted=[("shard-1", notes["shard-1"])])
    assert not crossed.ok
    assert [p.kind for p in crossed.problems] == ["trusted"]
    assert "shard-1" in crossed.problems[0].detail or "origin" in crossed.problems[0].detail


def assert_equal_to_each_log_applied_alone(shards: Shards,
                                           logs: dict[str, list[EventEnvelope]]) -> None:
    """Apply each shard's log, as its application reads it, through a source of its own into
    fresh contact and billing services, and compare every table with the live ones."""
    with fresh_database("postgres", shards.tmp, "contact_ref") as contact_url, \
            fresh_database("postgres", shards.tmp, "billing_ref") as billing_url:
        contact = build_contact(ContactSettings(database_url=contact_url),
                                common=shards.common, clock=shards.clock)
        billing = build_billing(BillingSettings(database_url=billing_url),
                                common=shards.common, clock=shards.clock)
        try:
            for store in (contact.contact_log, billing.ledger):
                for shard, log in logs.items():
                    for start in range(0, len(log), 25):
                        page = log[start:start + 25]
                        store.apply(f"log:{shard}", 0, [Delivery(e.position, e) for e in page])
            for live, reference in ((shards.contact.contact_log, contact.contact_log),
                                    (shards.billing.ledger, billing.ledger)):
                assert compare(live, reference) == [], live.name
        finally:
            contact.close()
            billing.close()


def test_a_shard_s_audit_origin_names_it() -> None:
    assert CaseSettings().audit_origin == "casetrail.example/case-log"
    assert CaseSettings(shard="shard-1").audit_origin == "casetrail.example/case-log/shard-1"
    assert CaseSettings(shard="eu-2", audit_origin="bank.example/case-log/eu-2").audit_origin \
        == "bank.example/case-log/eu-2"
    with pytest.raises(ValueError, match="must end with '/eu-2'"):
        CaseSettings(shard="eu-2", audit_origin="bank.example/case-log")
    with pytest.raises(ValueError, match="shard"):
        CaseSettings(shard="has space")
