"""What a second case log on the topic costs the consumers: the billing-ledger projection
applying the same case histories published by one log, and by two shards, in the same run.

    DATABASE_URL=postgresql://... uv run python bench/shards.py [--events 200000]

Both variants apply the same messages in the same order, through
`ProjectionStore.apply_partitions` (one transaction per poll, as the Kafka consumer does),
into the billing ledger on a fresh PostgreSQL schema each:
- one log: positions 1..N, no shard (the deployment of today; the baseline);
- two shards: the cases alternate between shard-1 and shard-2, each log numbering its own
  events from 1, every envelope naming its shard, so de-duplication keeps a log position
  per shard and partition (docs/scaling.md).
Each variant runs --rounds times (default 4), alternately, each going first in every other
round; the best and the median run of each are compared. Row counts are checked equal.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from casetrail.envelope import EventEnvelope, event_id_for, trusted_envelope
from casetrail.projections.base import load
from casetrail.projections.store import Delivery, ProjectionStore, make_engine

sys.path.insert(0, str(Path(__file__).parent))
from pgadmin import drop_schemas, settle

START = datetime(2026, 10, 1, tzinfo=UTC)
PARTITIONS = 3


def histories(events: int, per_case: int) -> Iterator[tuple[int, EventEnvelope]]:
    """(case number, envelope without position) in log order: cases in turns of 100, each a
    Placed then payments."""
    cases = events // (1 + per_case)
    for first in range(0, cases, 100):
        group = range(first, min(first + 100, cases))
        for version in range(1, per_case + 2):
            for n in group:
                case_id = uuid.uuid5(uuid.NAMESPACE_URL, f"bench-shards-{n}")
                at = START + timedelta(minutes=n % 600, seconds=version)
                if version == 1:
                    payload = {"creditor_id": f"BANK-{n % 2}", "account_ref": f"A{n}",
                               "agency_id": f"AG-{n % 20:02d}", "bucket": "M2", "dpd": 45,
                               "currency": "CNY", "balances": {"principal": "5000.00"},
                               "placed_at": at.isoformat(), "term_end": "2027-06-30"}
                    kind = "Placed"
                else:
                    payload = {"reference": f"PAY-{version}", "amount": f"{100 + n % 900}.25",
                               "currency": "CNY", "source": "agency",
                               "received_at": at.isoformat(), "method": None,
                               "agency_id": f"AG-{n % 20:02d}", "assignment": 1, "flags": []}
                    kind = "PaymentReceived"
                yield n, trusted_envelope(
                    event_id=event_id_for(case_id, version), type=kind, schema_version=1,
                    case_id=case_id, version=version, position=0, occurred_at=at,
                    recorded_at=at, payload=payload)


def messages(events: int, per_case: int, shards: int) -> list[tuple[int, EventEnvelope]]:
    """(partition, envelope) in topic order, with each log's positions (and shard names)."""
    counters = [0] * shards
    out = []
    for n, envelope in histories(events, per_case):
        shard = n % shards
        counters[shard] += 1
        fields = dict(envelope.__dict__, position=counters[shard],
                      shard=None if shards == 1 else f"shard-{shard + 1}")
        partition = zlib.crc32(str(fields["case_id"]).encode()) % PARTITIONS
        out.append((partition, trusted_envelope(**fields)))
    return out


def run(base: str, schema: str, topic: list[tuple[int, EventEnvelope]], poll: int
        ) -> tuple[float, int]:
    """Apply the topic in polls of `poll` messages; returns (seconds, payment rows)."""
    url = f"{base}?schema={schema}"
    store = ProjectionStore(make_engine(url), load("billing-ledger"))
    store.create_schema()
    settle(base, schema)
    offsets = [0] * PARTITIONS
    started = time.perf_counter()
    for start in range(0, len(topic), poll):
        batches: dict[int, list[Delivery]] = {}
        for partition, envelope in topic[start:start + poll]:
            batches.setdefault(partition, []).append(Delivery(offsets[partition], envelope))
            offsets[partition] += 1
        store.apply_partitions("kafka:bench", batches)
    seconds = time.perf_counter() - started
    with store.engine.connect() as conn:
        rows = int(conn.execute(sa.text("SELECT count(*) FROM payments")).scalar() or 0)
    store.engine.dispose()
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--per-case", type=int, default=4, help="payments per case")
    parser.add_argument("--poll", type=int, default=500, help="messages per consumer poll")
    parser.add_argument("--rounds", type=int, default=4, help="runs of each variant")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not base or not base.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL server (make bench-* start one)")
    topics = {"one log (baseline)": messages(args.events, args.per_case, 1),
              "two shards": messages(args.events, args.per_case, 2)}
    total = len(next(iter(topics.values())))
    print(f"{total:,} events ({args.per_case} payments per case), {PARTITIONS} partitions, "
          f"polls of {args.poll}, billing-ledger on PostgreSQL")
    times: dict[str, list[float]] = {name: [] for name in topics}
    rows: dict[str, int] = {}
    made = []
    try:
        for attempt in range(1, args.rounds + 1):
            order = list(topics.items())
            for name, topic in order if attempt % 2 else order[::-1]:  # alternate who goes first
                schema = f"bench_shards_{uuid.uuid4().hex[:8]}"
                made.append(schema)
                seconds, rows[name] = run(base, schema, topic, args.poll)
                times[name].append(seconds)
                print(f"  run {attempt}  {name:20} {seconds:7.2f} s  "
                      f"{total / seconds:9,.0f} events/s")
                drop_schemas(base, [schema])
    finally:
        drop_schemas(base, made)
    if len(set(rows.values())) != 1:
        raise SystemExit(f"the variants disagree: {rows}")
    for label, pick in (("best", min), ("median", statistics.median)):
        baseline, sharded = pick(times["one log (baseline)"]), pick(times["two shards"])
        print(f"{label}: one log {total / baseline:,.0f} events/s, two shards "
              f"{total / sharded:,.0f} events/s ({baseline / sharded:.2f}x the baseline's "
              "rate)")
    print(f"{rows['two shards']:,} payment rows in each")

if __name__ == "__main__":
    main()
