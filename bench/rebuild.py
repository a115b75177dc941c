"""Projection rebuild throughput over N events on PostgreSQL, against a raw read of the log.

    DATABASE_URL=postgresql://... uv run python bench/rebuild.py [--events 1000000]
    (or: make bench-rebuild, which starts the project's PostgreSQL)

Writes N real `Placed` events into a fresh case log: one case is placed through the
application, and its stored event is replicated under new case ids (the stored state does not
carry the case id, so each copy decodes as a genuine placement). Then, in the same run:
- raw read: every event row in position order, pages of 1,000, as the rebuild reads them
  (`select_event_rows`: binary, plain tuples) and nothing else: the ceiling;
- rebuild: `casetrail.projections.rebuild.rebuild(..., log=app.log_page)`, which is what
  `casetrail projections rebuild contact-log --transport log` runs: a fresh shadow of the
  contact-log projection, pages decoded into public envelopes and applied with tracking, in
  one transaction per page, the next page read while the current one is applied;
- rebuild of case-summaries (`casetrail projections rebuild case-summaries`): every case
  replayed from its stored events by the aggregate and summarized, in one process, then in
  one per core.
Target (issue 6): at least 50,000 events/s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path

import httpx
import sqlalchemy as sa
from case_service.adapters.tables import case_summaries
from case_service.application import AccountInput, DebtorInput, PlacementBatch, placement
from case_service.bootstrap import build_application, case_summaries_projection
from case_service.config import CaseSettings
from casetrail.crypto import MasterKey
from casetrail.projections.rebuild import StoreSource, rebuild
from casetrail.projections.store import LOG_SOURCE, ProjectionStore, make_engine
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from contact_service.bootstrap import contact_log_projection
from eventsourcing.persistence import StoredEvent
from pgadmin import checkpoint, drop_schemas, settle
from rich.progress import Progress

PAGE = 1_000


def rebuild_through_feed(log_url: str, store: ProjectionStore, live_url: str,
                         events: int) -> float:
    """Seconds to rebuild the shadow again, from `casetrail serve case` over HTTP."""
    key = generate_key(Role.AUDITOR)
    env = {**os.environ, "DATABASE_URL": log_url, "CASE_CREATE_SCHEMA": "false",
           "CASETRAIL_API_KEYS": json.dumps([KeyEntry("bench", hash_key(key), Role.AUDITOR,
                                                      None).to_json()]),
           "CASETRAIL_MASTER_KEY": MasterKey.generate_b64(), "CASETRAIL_LOG_LEVEL": "WARNING"}
    url = "http://127.0.0.1:8792"
    proc = subprocess.Popen([sys.executable, "-m", "casetrail.cli", "serve", "case", "--port",
                             url.rsplit(":", 1)[1]], env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the case service did not start")
            time.sleep(0.2)
        checkpoint(log_url.split("?")[0])
        started = time.perf_counter()
        with Progress(transient=True) as progress:
            task = progress.add_task("rebuilding contact-log via the feed", total=events)
            shadow = asyncio.run(rebuild(store, live_url, feed=(url, key),
                                         progress=lambda n: progress.advance(task, n)))
        seconds = time.perf_counter() - started
        applied = shadow.position(LOG_SOURCE)
        shadow.engine.dispose()
        if applied != events:
            raise SystemExit(f"the feed shadow is at position {applied}, not {events}")
        return seconds
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def rebuild_case_list(base: str, schemas: list[str], master_key: str, events: int
                      ) -> dict[int, float]:
    """Seconds to rebuild case-summaries from the log (each placement replayed into a case
    and summarized), in one process and in one per core."""
    log_url = f"{base}?schema={schemas[0]}"
    schemas.append(f"{schemas[0]}_shadow")
    # What each worker process opens again (pickled: fresh, unused settings).
    opener = partial(build_application, CaseSettings(database_url=log_url, create_schema=False),
                     CommonSettings(master_key=master_key))
    summaries = ProjectionStore(make_engine(log_url), case_summaries_projection())
    seconds = {}
    for workers in sorted({1, os.cpu_count() or 1}):
        checkpoint(base)
        started = time.perf_counter()
        with Progress(transient=True) as progress:
            task = progress.add_task(f"rebuilding case-summaries, {workers} processes",
                                     total=events)
            shadow = asyncio.run(rebuild(summaries, log_url, store=StoreSource(opener, workers),
                                         progress=partial(progress.advance, task)))
        seconds[workers] = time.perf_counter() - started
        with shadow.engine.connect() as conn:
            listed = conn.execute(sa.select(sa.func.count()).select_from(case_summaries)
                                  ).scalar_one()
        shadow.engine.dispose()
        if listed != events:
            raise SystemExit(f"case-summaries: {listed} cases, not {events}")
    summaries.engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--feed", action="store_true",
                        help="also rebuild through the embedded transport: `casetrail serve "
                             "case` as a process, pages of GET /v1/events")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL URL (make bench-rebuild does)")
    base = base.split("?")[0]
    schemas = [f"bench_log_{uuid.uuid4().hex[:8]}", f"bench_proj_{uuid.uuid4().hex[:8]}"]
    master_key = MasterKey.generate_b64()
    app = build_application(CaseSettings(database_url=f"{base}?schema={schemas[0]}"),
                            CommonSettings(master_key=master_key,
                                           audit_signing_key=os.urandom(32).hex()))
    live_url = f"{base}?schema={schemas[1]}"
    schemas.append(f"{schemas[1]}_shadow")  # where rebuild() builds the shadow
    engine = make_engine(live_url)
    store = ProjectionStore(engine, contact_log_projection())
    store.create_schema()
    try:
        placement.place(app, PlacementBatch(
            creditor_id="BENCH", placement_ref="P0", received_at=datetime.now(UTC),
            request_sha256="x", accounts=[AccountInput(
                index=0, account_ref="A0", currency="CNY", dpd=45, agency_id="AG",
                balances={"principal": Decimal("1000.00")},
                debtor=DebtorInput(name="n", national_id="N0", phones=("+8613800000000",),
                                   address=None, email=None, timezone="Asia/Shanghai"))]),
            actor="bench")
        [template] = app.recorder.select_notifications(start=0, limit=1)
        with Progress(transient=True) as progress:
            task = progress.add_task("writing events", total=args.events - 1)
            for start in range(1, args.events, 10_000):
                n = min(10_000, args.events - start)
                app.recorder.insert_events([
                    StoredEvent(originator_id=uuid.uuid4(), originator_version=1,
                                topic=template.topic, state=template.state) for _ in range(n)])
                progress.advance(task, n)

        settle(base, schemas[0])  # vacuumed and flushed now, not during the measurements
        started = time.perf_counter()
        rows, after = 0, 0
        while page := app.recorder.select_event_rows(after, PAGE):
            rows += len(page)
            after = page[-1][0]
        read_seconds = time.perf_counter() - started

        checkpoint(base)
        started = time.perf_counter()
        with Progress(transient=True) as progress:
            task = progress.add_task("rebuilding contact-log", total=args.events)
            shadow = asyncio.run(rebuild(store, live_url, log=app.log_page,
                                         progress=lambda n: progress.advance(task, n)))
        rebuild_seconds = time.perf_counter() - started
        applied = shadow.position(LOG_SOURCE)
        shadow.engine.dispose()
        if applied != args.events:
            raise SystemExit(f"the shadow is at position {applied}, not {args.events}")
        summaries_seconds = rebuild_case_list(base, schemas, master_key, args.events)
        feed_seconds = rebuild_through_feed(f"{base}?schema={schemas[0]}", store, live_url,
                                            args.events) if args.feed else None
    finally:
        app.close()
        engine.dispose()
        drop_schemas(base, schemas)

    figures = {"events": args.events, "raw_read_seconds": round(read_seconds, 2),
               "raw_read_events_per_s": round(rows / read_seconds),
               "rebuild_seconds": round(rebuild_seconds, 2),
               "rebuild_events_per_s": round(args.events / rebuild_seconds),
               "rebuild_vs_raw_read": round(read_seconds / rebuild_seconds, 3)}
    print(f"raw read (ceiling)   {rows:>10,} events  {read_seconds:7.2f} s  "
          f"{figures['raw_read_events_per_s']:>9,} events/s")
    print(f"rebuild contact-log  {args.events:>10,} events  {rebuild_seconds:7.2f} s  "
          f"{figures['rebuild_events_per_s']:>9,} events/s  "
          f"({figures['rebuild_vs_raw_read']:.0%} of raw read)")
    for workers, seconds in summaries_seconds.items():
        rate = round(args.events / seconds)
        figures[f"case_summaries_{workers}_processes_events_per_s"] = rate
        print(f"rebuild case-summaries, {workers} process{'es' if workers > 1 else '  '} "
              f"{args.events:>10,} events  {seconds:7.2f} s  {rate:>9,} events/s")
    if feed_seconds is not None:
        figures["feed_rebuild_events_per_s"] = round(args.events / feed_seconds)
        print(f"rebuild via the feed {args.events:>10,} events  {feed_seconds:7.2f} s  "
              f"{figures['feed_rebuild_events_per_s']:>9,} events/s  (HTTP, another process)")
    target_met = figures["rebuild_events_per_s"] >= 50_000
    print(f"target: at least 50,000 events/s: {'met' if target_met else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
