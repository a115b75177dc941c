"""The relay and a consumer on PostgreSQL and Kafka: one transaction per poll and a relay woken
by NOTIFY, against the plain paths in the same run (each partition's batch in its own
transaction, and a relay that polls every 0.1 s).

    DATABASE_URL=postgresql://... KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 \\
        uv run python bench/transport.py [--accounts 20000] [--rate 500] [--seconds 20]
    (the project's PostgreSQL and Kafka: ./scripts/with-pg.sh ./scripts/with-kafka.sh ...)

Each mode gets a fresh case log, topic and projection schema, and runs in one process (relay,
consumer and writer threads share it, alike in both modes):
1. backlog: --accounts placements (one event each) relayed to the topic, then a consumer
   applies them all: events/s (from the first event applied to the last, so joining the
   group is left out) and the read-model transactions it took;
2. latency: single contacts committed at --rate/s for --seconds by 4 writer threads (or as
   fast as they can, printed as committed/s), while the relay and the consumer run: commit ->
   applied p50/p95/p99 (from the commit's return in the writer to the handler applying the
   event; its transaction commits right after).
Modes:
- plain: the relay polls every 0.1 s (no notifications); the consumer applies each
  partition's batch in its own transaction (`Applier.apply`, the path before one-per-poll).
- batched: the relay LISTENs for the event store's NOTIFY (polls at most every 0.1 s); the
  consumer applies a poll of every partition in one transaction (`Applier.apply_partitions`).
The projection writes one row per event, so the figures are about the transport, not a
projection's handlers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from case_service.adapters import relay as relay_module
from case_service.application import AccountInput, DebtorInput, PlacementBatch, placement
from case_service.application.cases import CaseApplication
from case_service.bootstrap import build_application, build_relay
from case_service.config import CaseSettings
from casetrail.crypto import MasterKey
from casetrail.envelope import EventEnvelope
from casetrail.kafka import KafkaSettings
from casetrail.projections.base import Projection
from casetrail.projections.runners import Applier, KafkaProjectionRunner, Raw
from casetrail.projections.store import BatchResult, ProjectionStore, insert_row, make_engine
from casetrail.settings import CommonSettings
from sqlalchemy.engine import Connection

sys.path.insert(0, str(Path(__file__).parent))
from pgadmin import drop_schemas

metadata = sa.MetaData()
stamps = sa.Table(
    "bench_stamps", metadata,
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("contact_id", sa.Text),
    sa.Column("applied_at", sa.Float, nullable=False),
)


class Stamps(Projection):
    """One row per event: its position, its contact id, when it was applied."""

    name = "bench-stamps"
    metadata = metadata

    def handle(self, conn: Connection, event: EventEnvelope) -> None:
        insert_row(conn, stamps, {"position": event.position,
                                  "contact_id": event.payload.get("contact_id"),
                                  "applied_at": time.time()})


class PerPartition(Applier):
    """The plain path: each partition's batch in its own transaction."""

    async def apply_partitions(self, batches: Mapping[int, Sequence[tuple[int, Raw]]]
                               ) -> dict[int, BatchResult]:
        return {p: await self.apply(p, messages) for p, messages in batches.items() if messages}


def place(app: CaseApplication, count: int, tag: str) -> list[UUID]:
    ids: list[UUID] = []
    for start in range(0, count, 5000):
        accounts = [AccountInput(
            index=i, account_ref=f"{tag}-{i:07d}", currency="CNY",
            balances={"principal": Decimal("1000.00")}, dpd=45,
            debtor=DebtorInput(name=f"Debtor {i}", national_id=f"{tag}{i:010d}",
                               phones=("+8613800000000",), address=None, email=None,
                               timezone="Asia/Shanghai"),
            agency_id="AG-1") for i in range(start, min(start + 5000, count))]
        receipt, _ = placement.place(app, PlacementBatch(
            creditor_id="BANK", placement_ref=f"{tag}-{start}", received_at=datetime.now(UTC),
            request_sha256=f"sha-{tag}-{start}", accounts=accounts), actor="bench")
        ids += [UUID(row["case_id"]) for row in receipt["accepted"]]
    return ids


def contact(app: CaseApplication, case_id: UUID, contact_id: str) -> None:
    app.execute(case_id, lambda case: case.record_contact(
        contact_id=contact_id, channel="phone", direction="outbound", party="debtor",
        outcome="answered", action_code="PTP", agent_id="agent-1", recording_ref=None,
        contact_point=None, occurred_at=datetime.now(UTC), note=None, actor="bench"),
        expected_version=None, authorize=lambda _: None)


def applied(store: ProjectionStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(stamps)).scalar() or 0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


async def run_mode(mode: str, base: str, bootstrap: str, args: argparse.Namespace
                   ) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    schemas = [f"bench_tr_case_{run}", f"bench_tr_proj_{run}"]
    case_url, proj_url = (f"{base}?schema={s}" for s in schemas)
    common = CommonSettings(master_key=MasterKey.generate_b64())
    app = build_application(CaseSettings(database_url=case_url), common, migrate=True)
    store = ProjectionStore(make_engine(proj_url), Stamps())
    store.create_schema()
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topic=f"bench-transport-{run}")
    transactions = [0]

    @sa.event.listens_for(store.engine, "commit")
    def _count(_: Any) -> None:
        transactions[0] += 1

    plain = mode == "plain"
    if plain:  # the relay as it was: a fixed 0.1 s poll, no notifications
        relay_module.MIN_POLL_SECONDS = 0.1
        relay = build_relay(app, kafka, poll_seconds=0.1, notifications=None)
    else:
        relay_module.MIN_POLL_SECONDS = 0.005
        relay = build_relay(app, kafka, poll_seconds=0.1)
    consumer = KafkaProjectionRunner(store, kafka, group_id=f"bench-{run}")
    if plain:
        consumer.applier = PerPartition(store, consumer.source, consumer._to_dead_letter_topic)
    figures: dict[str, Any] = {"mode": mode}
    stop = asyncio.Event()
    try:
        ids = await asyncio.to_thread(place, app, args.accounts, f"B{run}")
        head = await asyncio.to_thread(app.last_position)
        relay_task = asyncio.create_task(relay.run(stop))
        while relay.position < head:
            await asyncio.sleep(0.05)
        transactions[0] = 0
        consumer_task = asyncio.create_task(consumer.run(stop))
        while await asyncio.to_thread(applied, store) < len(ids):
            await asyncio.sleep(0.05)
        with store.engine.connect() as conn:  # from the first event applied (after joining)
            first, last = conn.execute(sa.select(sa.func.min(stamps.c.applied_at),
                                                 sa.func.max(stamps.c.applied_at))).one()
        figures["backlog"] = {"events": len(ids),
                              "events_per_s": (len(ids) - 1) / max(last - first, 1e-6),
                              "transactions": transactions[0]}

        committed: dict[str, float] = {}
        per_writer = args.rate / 4

        def writer(w: int) -> None:
            begin = time.perf_counter()
            for n in range(int(per_writer * args.seconds)):
                delay = begin + n / per_writer - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                ident = f"W{w}-{n}"
                contact(app, ids[(n * 4 + w) % len(ids)], ident)
                committed[ident] = time.time()

        transactions[0] = 0
        began = time.perf_counter()
        await asyncio.gather(*(asyncio.to_thread(writer, w) for w in range(4)))
        achieved = len(committed) / (time.perf_counter() - began)
        target = len(ids) + len(committed)
        deadline = time.perf_counter() + 120
        while await asyncio.to_thread(applied, store) < target:
            if time.perf_counter() > deadline:
                raise SystemExit(f"{mode}: the consumer did not catch up")
            await asyncio.sleep(0.05)
        with store.engine.connect() as conn:
            seen = dict(conn.execute(sa.select(stamps.c.contact_id, stamps.c.applied_at)
                                     .where(stamps.c.contact_id.is_not(None))).all())
        latencies = [max(seen[k] - at, 0.0) for k, at in committed.items() if k in seen]
        figures["latency"] = {"n": len(latencies), "p50": percentile(latencies, 0.5),
                              "p95": percentile(latencies, 0.95),
                              "p99": percentile(latencies, 0.99),
                              "mean": statistics.fmean(latencies) * 1000,
                              "achieved_per_s": achieved,
                              "transactions": transactions[0]}
        stop.set()
        await asyncio.gather(relay_task, consumer_task)
    finally:
        stop.set()
        store.engine.dispose()
        app.close()
        drop_schemas(base, schemas)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=500, help="offered contacts/s")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--modes", default="plain,batched")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "").split("?")[0]
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if not base.startswith("postgres") or not bootstrap:
        raise SystemExit("set DATABASE_URL (PostgreSQL) and KAFKA_BOOTSTRAP_SERVERS")
    os.environ.setdefault("CASETRAIL_LOG_LEVEL", "WARNING")
    results = [asyncio.run(run_mode(mode, base, bootstrap, args))
               for mode in args.modes.split(",")]
    for f in results:
        b, lat = f["backlog"], f["latency"]
        print(f"{f['mode']:<8} backlog: {b['events']:,} events at {b['events_per_s']:,.0f}/s "
              f"in {b['transactions']:,} transactions | at {args.rate}/s offered "
              f"({lat['achieved_per_s']:,.0f}/s committed), n={lat['n']:,}: commit -> applied "
              f"p50 {lat['p50']:.1f} ms, p95 "
              f"{lat['p95']:.1f} ms, p99 {lat['p99']:.1f} ms, mean {lat['mean']:.1f} ms, "
              f"{lat['transactions']:,} transactions")


if __name__ == "__main__":
    main()
