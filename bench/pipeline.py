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
3. commit -> projection latency at a fixed rate of commits made by this process through the
   case log's own write path (--direct-rate saves/s for --seconds, contacts and payments
   alternating): each command is decided beforehand, untimed, by the case application (the
   aggregate's own command, its events encoded, its case list row), and at the rate each save
   is handed to the recorder's group commit, as a request's save is (table lock, events,
   audit leaves, case list, one transaction). This isolates what the latency target is about
   (commit -> relay -> Kafka -> consumer -> projection) from the API's CPU, which on 2 shared
   cores cannot commit 1,000 commands/s while the relay, Kafka, both consumers and PostgreSQL
   run beside it (phase 2 prints what it committed);
4. the ceiling: plain aiokafka producing, then consuming, the same envelopes (the log's own
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
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from casetrail.crypto import MasterKey
from casetrail.kafka import KafkaSettings, ensure_topics
from casetrail.projections.base import load
from casetrail.projections.store import make_engine, positions_table
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from pydantic import SecretStr

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


# How far below the highest log position seen a late row is still looked for (5 s of events
# at 1,000/s); a row later than that would be reported as never seen.
LOOKBACK = 5_000


def _new_rows(engine: sa.Engine, table: sa.Table, column: str, after: tuple[int, int]
              ) -> list[tuple[Any, int, int]]:
    """(id, log position, transaction id) of the rows written since the last look, `after` =
    (highest position, highest transaction id) seen. Not by log position alone: a consumer
    applies each poll's partitions together, so a row of a lower position can commit after
    one of a higher position, and a watermark of positions would pass over it. Each
    projection has one writer, whose transactions run one after another, so their ids
    (`xmin`) rise in commit order; the position bounds the index scan."""
    xid: Any = sa.literal_column("xmin::text::bigint")
    with engine.connect() as conn:
        return [(row[0], int(row[1]), int(row[2])) for row in conn.execute(
            sa.select(table.c[column], table.c.position, xid)
            .where(table.c.position > after[0] - LOOKBACK, xid > after[1])).all()]


async def watch(urls: dict[str, str], committed: dict[str, float], seen: dict[str, float],
                stop: asyncio.Event, prefix: str) -> None:
    """Stamp each command's id (those starting with `prefix`: this phase's) when its row
    appears in the contact log (contact_id) or the billing ledger (reference), until `stop`
    and every committed id is seen (a minute more at most after `stop`)."""
    give_up = 0.0
    contacts = load("contact-log").metadata.tables["contacts"]
    payments = load("billing-ledger").metadata.tables["payments"]
    engines = {"contact": make_engine(urls["contact"]), "billing": make_engine(urls["billing"])}
    after = {"contact": (0, 0), "billing": (0, 0)}
    try:
        while not stop.is_set() or len(seen) < len(committed):
            for name, table, column in (("contact", contacts, "contact_id"),
                                        ("billing", payments, "reference")):
                rows = await asyncio.to_thread(  # off the loop that sends the commands
                    _new_rows, engines[name], table, column, after[name])
                stamp = time.perf_counter()
                for ident, position, xid in rows:
                    if ident.startswith(prefix):
                        seen.setdefault(ident, stamp)
                    after[name] = (max(after[name][0], position), max(after[name][1], xid))
            await asyncio.sleep(0.01)
            if stop.is_set():  # the last command answered: a minute more at most
                give_up = give_up or time.perf_counter() + 60
                if time.perf_counter() > give_up:
                    break
    finally:
        for engine in engines.values():
            engine.dispose()


def latencies_by_kind(committed: dict[str, float], seen: dict[str, float]
                      ) -> dict[str, list[float]]:
    """Commit -> projection seconds of each seen command, by kind (odd numbers: contacts)."""
    latencies: dict[str, list[float]] = {"contacts": [], "payments": []}
    for ident, at in committed.items():
        if ident in seen:
            kind = "contacts" if int(ident[1:]) % 2 else "payments"
            latencies[kind].append(max(seen[ident] - at, 0.0))
    missing = len(committed) - sum(len(v) for v in latencies.values())
    if missing:
        print(f"warning: {missing} committed commands never showed in a projection")
    return latencies


async def offered_load(base: str, key: str, ids: list[str], urls: dict[str, str], rate: int,
                       seconds: int) -> dict[str, list[float]]:
    """Commands at `rate`/s through the API; returns commit -> projection latencies (s) per
    kind."""
    committed: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = asyncio.Event()
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    watcher = asyncio.create_task(watch(urls, committed, seen, stop, "L"))
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
    print(f"through the API: offered {rate:,}/s for {seconds} s; committed "
          f"{len(committed):,} commands in {sent_for:.1f} s ({len(committed) / sent_for:,.0f}/s), "
          f"at most {IN_FLIGHT} in flight")
    return latencies_by_kind(committed, seen)


def decide(case_url: str, master_key: str, ids: list[str], count: int
           ) -> tuple[Any, list[tuple[str, list[Any], Any]]]:
    """The case application on the pipeline's case database, and `count` saves decided on it
    (untimed): contacts (odd numbers) and payments (even), one per case, each encoded as a
    request's save is (`CaseApplication.encode_save`): its events and its case list writer."""
    app = build_application(CaseSettings(database_url=case_url),
                            CommonSettings(master_key=SecretStr(master_key)), migrate=False)
    now = datetime.now(UTC)
    saves = []
    for n in range(count):
        ident = f"D{n:08d}"
        case = app.get_case(uuid.UUID(ids[n]))
        if n % 2:
            case.record_contact(contact_id=ident, channel="phone", direction="outbound",
                                party="debtor", outcome="conversation", action_code="PTP",
                                agent_id=None, recording_ref=None, contact_point=None,
                                occurred_at=now, note=None, actor="bench")
        else:
            case.receive_payment(reference=ident, amount=Decimal("1.00"), currency="CNY",
                                 source="agency", received_at=now, method=None, actor="bench")
        saves.append((ident, *app.encode_save(case, case.collect_events())))
    return app, saves


async def direct_load(urls: dict[str, str], master_key: str, ids: list[str], rate: int,
                      seconds: int) -> tuple[dict[str, list[float]], float]:
    """Saves decided beforehand (`decide`), handed to the group commit at `rate`/s
    (`CaseApplication.submit_save`, as a request's save is); returns
    commit -> projection latencies (s) per kind (from the save's commit, as its future
    resolves, to its row in a projection) and the events/s committed."""
    count = min(rate * seconds, len(ids))
    app, saves = await asyncio.to_thread(decide, urls["case"], master_key, ids, count)
    committed: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch(urls, committed, seen, stop, "D"))
    failures: list[BaseException] = []

    def on_commit(ident: str) -> Any:
        def done(future: Any) -> None:  # in the committer's thread, right after the COMMIT
            if future.exception() is None:
                committed[ident] = time.perf_counter()
            else:
                failures.append(future.exception())
        return done

    try:
        futures = []
        started = time.perf_counter()
        for n, (ident, stored, writer) in enumerate(saves):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            future = app.submit_save(stored, writer)
            future.add_done_callback(on_commit(ident))
            futures.append(asyncio.wrap_future(future))
        await asyncio.gather(*futures, return_exceptions=True)
        sent_for = time.perf_counter() - started
        stop.set()
        await watcher
    finally:
        stop.set()
        await asyncio.to_thread(app.close)
    if failures:
        raise SystemExit(f"{len(failures)} direct saves failed, the first: {failures[0]!r}")
    events = sum(len(stored) for _, stored, _ in saves)
    print(f"direct commits: offered {rate:,}/s for {count / rate:.0f} s; committed "
          f"{len(committed):,} saves ({events:,} events) in {sent_for:.1f} s "
          f"({events / sent_for:,.0f} events/s)")
    return latencies_by_kind(committed, seen), events / sent_for


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


def summary(latencies: dict[str, list[float]]) -> dict[str, float]:
    """p50/p95/p99/mean (ms) and n of every kind's latencies together."""
    values = [v for kind in latencies.values() for v in kind]
    return {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95),
            "p99": percentile(values, 0.99),
            "mean": statistics.fmean(values) * 1000 if values else 0.0, "n": len(values)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--rate", type=int, default=1000,
                        help="commands/s offered through the API (phase 2; 0 skips it)")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--direct-rate", type=int, default=1000,
                        help="saves/s handed straight to the log's group commit (phase 3)")
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
        latencies = (asyncio.run(offered_load(web, keys["agency"], ids, urls, args.rate,
                                              args.seconds))
                     if args.rate else {"contacts": [], "payments": []})
        figures["latency_ms"] = {kind: summary({kind: v}) for kind, v in latencies.items()}
        figures["latency_ms"]["all"] = summary(latencies)
        direct, direct_rate = asyncio.run(direct_load(urls, env["CASETRAIL_MASTER_KEY"], ids,
                                                      args.direct_rate, args.seconds))
        figures["direct_events_per_s"] = direct_rate
        figures["direct_latency_ms"] = {kind: summary({kind: v})
                                        for kind, v in direct.items()}
        figures["direct_latency_ms"]["all"] = summary(direct)
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
        print(f"commit -> projection, API commands at {args.rate}/s offered, {kind:<8} "
              f"n={f['n']:>6,}  p50 {f['p50']:7.1f} ms  p95 {f['p95']:7.1f} ms  "
              f"p99 {f['p99']:7.1f} ms")
    direct_rate = figures["direct_events_per_s"]
    for kind, f in figures["direct_latency_ms"].items():
        print(f"commit -> projection, direct commits at {direct_rate:,.0f} events/s, {kind:<8} "
              f"n={f['n']:>6,}  p50 {f['p50']:7.1f} ms  p95 {f['p95']:7.1f} ms  "
              f"p99 {f['p99']:7.1f} ms")
    print(f"target >= 10,000 events/s end to end: {'met' if e2e >= 10_000 else 'NOT met'}")
    met = direct_rate >= 0.95 * 1000 and figures["direct_latency_ms"]["all"]["p99"] < 250
    print(f"target p99 < 250 ms at 1,000 events/s (direct commits): "
          f"{'met' if met else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
