"""The pipeline on PostgreSQL and Kafka: placements and a steady stream of single commands
through the case API, the relay, Kafka and both consumers, against plain aiokafka producing
and consuming the same messages in the same run.

    DATABASE_URL=postgresql://... KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 \\
        uv run python bench/pipeline.py [--accounts 50000] [--rate 1000] [--seconds 30]
    (or: make bench-pipeline, which starts the project's PostgreSQL and Kafka)

Every piece runs as its own process, as in production: `casetrail serve case` (2 workers),
`casetrail relay`, `casetrail consume contact-log` and `casetrail consume billing-ledger`, on
three fresh schemas and a fresh topic. It prints:
1. end-to-end events/s: --accounts placements (one Placed event each) posted over HTTP until
   both consumers have applied the last of them;
2. commit -> projection latency (p50/p95/p99) at a fixed offered rate (--rate commands/s for
   --seconds, contacts and payments alternating): from the 201 of each command to its row
   in the contact log (contacts) or the billing ledger (payments);
3. the ceiling: plain aiokafka producing, then consuming, the same envelopes (the log's own
   messages), in messages/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from casetrail.crypto import MasterKey
from casetrail.kafka import KafkaSettings, ensure_topics
from casetrail.projections.base import load
from casetrail.projections.store import make_engine, positions_table
from casetrail.security import KeyEntry, Role, generate_key, hash_key

sys.path.insert(0, str(Path(__file__).parent))
from pgadmin import drop_schemas

AGENCY = "AG-PIPE"


def processes(env: dict[str, str], port: int, tmp: Path) -> list[subprocess.Popen[bytes]]:
    started = []
    for name, args in (("case", ["serve", "case", "--port", str(port), "--workers", "2"]),
                       ("relay", ["relay"]), ("contact-log", ["consume", "contact-log"]),
                       ("billing-ledger", ["consume", "billing-ledger"])):
        log = (tmp / f"{name}.log").open("wb")
        started.append(subprocess.Popen([sys.executable, "-m", "casetrail.cli", *args],
                                        env=env, stdout=log, stderr=subprocess.STDOUT))
    return started


def applied(urls: dict[str, str], topic: str) -> int:
    """The lowest log position both consumers have applied through (every partition)."""
    low = None
    for name in ("contact", "billing"):
        engine = make_engine(urls[name])
        try:
            with engine.connect() as conn:
                rows = conn.execute(sa.select(sa.func.max(positions_table.c.log_position)).where(
                    positions_table.c.source == f"kafka:{topic}")).scalar()
        except sa.exc.SQLAlchemyError:
            rows = None
        finally:
            engine.dispose()
        value = int(rows or 0)
        low = value if low is None else min(low, value)
    return low or 0


def head(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT max(notification_id) FROM cases_events")
                       .scalar() or 0)
    finally:
        engine.dispose()


async def place(base: str, key: str, accounts: int) -> list[str]:
    ids: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=600,
                                 headers={"Authorization": f"Bearer {key}"}) as client:
        async def batch(n: int, start: int) -> None:
            body = {"placement_ref": f"PIPE-{n}", "accounts": [{
                "account_ref": f"PIPE-{i:08d}", "agency_id": AGENCY, "currency": "CNY",
                "balances": {"principal": "5000.00"}, "dpd": 45,
                "debtor": {"name": f"Debtor {i}", "national_id": f"PIPE{i:010d}",
                           "phones": [f"+86139{i:08d}"], "timezone": "Asia/Shanghai"}}
                for i in range(start, min(start + 5000, accounts))]}
            response = await client.post("/v1/placements", content=orjson.dumps(body),
                                         headers={"Content-Type": "application/json"})
            if response.status_code != 201:
                raise SystemExit(f"placement failed: {response.status_code} {response.text}")
            ids.extend(r["case_id"] for r in response.json()["accepted"])

        starts = list(enumerate(range(0, accounts, 5000)))
        for first in range(0, len(starts), 2):
            await asyncio.gather(*(batch(n, s) for n, s in starts[first:first + 2]))
    return ids


# Commands in flight at once. Past the server's pace, an unbounded open loop queues thousands
# of requests inside httpx's pool, whose assignment of requests to connections is quadratic:
# the client, not the system, becomes what is measured. The committed rate is printed.
IN_FLIGHT = 64
CONNECTIONS_PER_CLIENT = 4


def _new_rows(engine: sa.Engine, table: sa.Table, column: str, after: int
              ) -> list[tuple[Any, Any]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(table.c[column], table.c.position)
                                                   .where(table.c.position > after)).all()]


async def offered_load(base: str, key: str, ids: list[str], urls: dict[str, str], rate: int,
                       seconds: int) -> dict[str, list[float]]:
    """Commands at `rate`/s; returns commit -> projection latencies (s) per kind."""
    committed: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = asyncio.Event()
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")

    async def watch() -> None:
        give_up = 0.0
        contacts = load("contact-log").metadata.tables["contacts"]
        payments = load("billing-ledger").metadata.tables["payments"]
        engines = {"contact": make_engine(urls["contact"]), "billing": make_engine(urls["billing"])}
        after = {"contact": 0, "billing": 0}
        try:
            while not stop.is_set() or len(seen) < len(committed):
                for name, table, column in (("contact", contacts, "contact_id"),
                                            ("billing", payments, "reference")):
                    rows = await asyncio.to_thread(  # off the loop that sends the commands
                        _new_rows, engines[name], table, column, after[name])
                    stamp = time.perf_counter()
                    for ident, position in rows:
                        seen.setdefault(ident, stamp)
                        after[name] = max(after[name], int(position))
                await asyncio.sleep(0.01)
                if stop.is_set():  # the last command answered: a minute more at most
                    give_up = give_up or time.perf_counter() + 60
                    if time.perf_counter() > give_up:
                        break
        finally:
            for engine in engines.values():
                engine.dispose()

    watcher = asyncio.create_task(watch())
    # Many small clients, not one with IN_FLIGHT connections: httpcore's pool matches every
    # queued request against every connection on each request and response (and asks each
    # connection whether it expired), so one pool of 64 capped this client near 60 req/s.
    clients = [httpx.AsyncClient(base_url=base, timeout=30,
                                 limits=httpx.Limits(max_connections=CONNECTIONS_PER_CLIENT),
                                 headers={"Authorization": f"Bearer {key}"})
               for _ in range(IN_FLIGHT // CONNECTIONS_PER_CLIENT)]
    async with contextlib.AsyncExitStack() as stack:
        for client in clients:
            await stack.enter_async_context(client)
        in_flight = asyncio.Semaphore(IN_FLIGHT)

        async def send(n: int) -> None:
            async with in_flight:
                await post(n)

        async def post(n: int) -> None:
            ident = f"L{n:08d}"
            case_id = ids[n % len(ids)]
            if n % 2:
                path, body = "contacts", {"contact_id": ident, "channel": "phone",
                                          "party": "debtor", "outcome": "conversation",
                                          "action_code": "PTP", "occurred_at": now}
            else:
                path, body = "payments", {"reference": ident, "amount": "1.00",
                                          "currency": "CNY", "source": "agency",
                                          "received_at": now}
            response = await clients[n % len(clients)].post(f"/v1/cases/{case_id}/{path}",
                                                            json=body)
            if response.status_code == 201:
                committed[ident] = time.perf_counter()

        started = time.perf_counter()
        tasks = []
        for n in range(rate * seconds):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(n)))
        await asyncio.gather(*tasks)
        sent_for = time.perf_counter() - started
    stop.set()
    await watcher
    print(f"offered {rate:,}/s for {seconds} s; committed {len(committed):,} commands in "
          f"{sent_for:.1f} s ({len(committed) / sent_for:,.0f}/s), at most {IN_FLIGHT} in flight")
    latencies: dict[str, list[float]] = {"contacts": [], "payments": []}
    for ident, at in committed.items():
        if ident in seen:
            kind = "contacts" if int(ident[1:]) % 2 else "payments"
            latencies[kind].append(max(seen[ident] - at, 0.0))
    missing = len(committed) - sum(len(v) for v in latencies.values())
    if missing:
        print(f"warning: {missing} committed commands never showed in a projection")
    return latencies


async def kafka_ceiling(bootstrap: str, messages: list[tuple[bytes, bytes]]) -> tuple[float,
                                                                                       float]:
    """Plain aiokafka: produce the messages to a fresh topic, then consume them all."""
    topic = f"bench-ceiling-{uuid.uuid4().hex[:8]}"
    await ensure_topics(KafkaSettings(bootstrap_servers=bootstrap, topic=topic))  # 12, as ours
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5,
                                max_batch_size=256 * 1024, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, value=v, key=k) for k, v in messages]
        await producer.flush()
        for future in futures:
            await future
        produced = time.perf_counter() - started
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=f"g-{topic}",
                                isolation_level="read_committed")
    await consumer.start()
    try:
        count = 0
        started = time.perf_counter()
        while count < len(messages):
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            count += sum(len(v) for v in batch.values())
        consumed = time.perf_counter() - started
    finally:
        await consumer.stop()
    return len(messages) / produced, len(messages) / consumed


def envelopes(url: str, limit: int) -> list[tuple[bytes, bytes]]:
    """The case log's own messages, as the relay publishes them (key = case id)."""
    from case_service.bootstrap import build_application
    from case_service.config import CaseSettings

    app = build_application(CaseSettings(database_url=url), migrate=False)
    try:
        found: list[tuple[bytes, bytes]] = []
        after = 0
        while len(found) < limit and (page := app.events_after(after, 5000)):
            found += [(str(e.case_id).encode(), e.to_json_bytes()) for e in page]
            after = page[-1].position
        return found[:limit]
    finally:
        app.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--rate", type=int, default=1000, help="offered commands/s")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--port", type=int, default=8795)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "").split("?")[0]
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if not base.startswith("postgres") or not bootstrap:
        raise SystemExit("set DATABASE_URL (PostgreSQL) and KAFKA_BOOTSTRAP_SERVERS "
                         "(make bench-pipeline does)")
    run = uuid.uuid4().hex[:8]
    schemas = {name: f"bench_pipe_{name}_{run}" for name in ("case", "contact", "billing")}
    urls = {name: f"{base}?schema={schema}" for name, schema in schemas.items()}
    topic = f"bench-pipeline-{run}"
    keys = {"creditor": generate_key(Role.CREDITOR), "agency": generate_key(Role.AGENCY),
            "auditor": generate_key(Role.AUDITOR)}
    env = {**os.environ, "CASE_DATABASE_URL": urls["case"],
           "CONTACT_DATABASE_URL": urls["contact"], "BILLING_DATABASE_URL": urls["billing"],
           "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC": topic,
           "CASETRAIL_LOG_LEVEL": "WARNING", "CASETRAIL_MASTER_KEY": MasterKey.generate_b64(),
           "CASETRAIL_API_KEYS": json.dumps([
               KeyEntry("c", hash_key(keys["creditor"]), Role.CREDITOR, "BENCH").to_json(),
               KeyEntry("a", hash_key(keys["agency"]), Role.AGENCY, AGENCY).to_json(),
               KeyEntry("u", hash_key(keys["auditor"]), Role.AUDITOR, None).to_json()])}
    env.pop("DATABASE_URL", None)
    for service in ("case", "contact", "billing"):
        subprocess.run([sys.executable, "-m", "casetrail.cli", "migrate", service], env=env,
                       check=True, capture_output=True)
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-pipeline-{run}"
    tmp.mkdir(parents=True)
    procs = processes(env, args.port, tmp)
    web = f"http://127.0.0.1:{args.port}"
    figures: dict[str, Any] = {"accounts": args.accounts, "rate": args.rate,
                               "seconds": args.seconds}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{web}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit(f"the pipeline did not start (logs in {tmp})")
            time.sleep(0.3)
        started = time.perf_counter()
        ids = asyncio.run(place(web, keys["creditor"], args.accounts))
        target = head(urls["case"])
        while applied(urls, topic) < target:
            if time.perf_counter() - started > 900:
                raise SystemExit(f"the consumers did not catch up (logs in {tmp})")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        figures["end_to_end_events_per_s"] = args.accounts / elapsed
        latencies = asyncio.run(offered_load(web, keys["agency"], ids, urls, args.rate,
                                             args.seconds))
        figures["latency_ms"] = {kind: {"p50": percentile(v, 0.5), "p95": percentile(v, 0.95),
                                        "p99": percentile(v, 0.99), "n": len(v)}
                                 for kind, v in latencies.items()}
        everything = latencies["contacts"] + latencies["payments"]
        figures["latency_ms"]["all"] = {"p50": percentile(everything, 0.5),
                                        "p95": percentile(everything, 0.95),
                                        "p99": percentile(everything, 0.99),
                                        "mean": statistics.fmean(everything) * 1000
                                        if everything else 0.0, "n": len(everything)}
        messages = envelopes(urls["case"], args.accounts)
        produce, consume = asyncio.run(kafka_ceiling(bootstrap, messages))
        figures["ceiling"] = {"produce_per_s": produce, "consume_per_s": consume,
                              "messages": len(messages)}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        drop_schemas(base, schemas.values())
    ceiling = min(figures["ceiling"]["produce_per_s"], figures["ceiling"]["consume_per_s"])
    e2e = figures["end_to_end_events_per_s"]
    print(f"end to end: {args.accounts:,} placements through the API, the relay, Kafka and both "
          f"consumers: {e2e:,.0f} events/s ({e2e / ceiling:.1%} of the ceiling)")
    print(f"ceiling (plain aiokafka, the same {figures['ceiling']['messages']:,} messages): "
          f"produce {figures['ceiling']['produce_per_s']:,.0f}/s, consume "
          f"{figures['ceiling']['consume_per_s']:,.0f}/s")
    for kind, f in figures["latency_ms"].items():
        print(f"commit -> projection at {args.rate}/s offered, {kind:<8} n={f['n']:>6,}  "
              f"p50 {f['p50']:7.1f} ms  p95 {f['p95']:7.1f} ms  p99 {f['p99']:7.1f} ms")
    met = e2e >= 10_000 and figures["latency_ms"]["all"]["p99"] < 250
    print(f"targets: >= 10,000 events/s end to end and p99 < 250 ms at 1,000/s: "
          f"{'met' if met else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
