"""Audit verification over N events on PostgreSQL, against a raw read of the same rows.

    DATABASE_URL=postgresql://... uv run python bench/audit.py [--events 1000000]
    (or: make bench-audit, which starts the project's PostgreSQL)

Writes N events (~300-byte payloads) through the case service's own recorder, so every event
gets its audit leaf in the same transaction as in production. Then, in the same run:
- raw read: SELECT every event row in position order (the ceiling for anything that reads the
  log), in the same 20,000-row pages and the same query `verify` uses, counting the rows and
  doing nothing else with them;
- checkpoint: hash the Merkle root over all leaves and sign it;
- verify: recompute every leaf from its row, merge with the stored leaves, recompute the root.
Targets: `audit verify` on 1,000,000 events under 60 s (issue 6); under 10 s, or within 1.2x
the raw read (issue 20).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from pathlib import Path

import psycopg
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from casetrail.crypto import MasterKey
from casetrail.dburl import DatabaseURL
from casetrail.settings import CommonSettings
from eventsourcing.persistence import StoredEvent
from rich.progress import Progress

TOPIC = "case_service.domain.case:Case.Contacted"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL URL (make bench-audit does)")
    schema = f"bench_audit_{uuid.uuid4().hex[:8]}"
    app = build_application(
        CaseSettings(database_url=f"{base.split('?')[0]}?schema={schema}"),
        CommonSettings(master_key=MasterKey.generate_b64(), audit_signing_key=os.urandom(32).hex()))
    try:
        payload = os.urandom(150).hex().encode()  # 300 bytes, like an encoded event
        started = time.perf_counter()
        with Progress(transient=True) as progress:
            task = progress.add_task("writing events", total=args.events)
            for start in range(0, args.events, args.batch):
                n = min(args.batch, args.events - start)
                app.recorder.insert_events([
                    StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic=TOPIC,
                                state=payload) for _ in range(n)])
                progress.advance(task, n)
        write_seconds = time.perf_counter() - started

        started = time.perf_counter()  # the rows as read, nothing done with them
        rows = sum(len(page) for page in app.audit._event_pages(decoded=False))
        read_seconds = time.perf_counter() - started

        started = time.perf_counter()
        checkpoint = app.audit.checkpoint()
        checkpoint_seconds = time.perf_counter() - started

        started = time.perf_counter()
        report = app.audit.verify()
        verify_seconds = time.perf_counter() - started
        if not report.ok or not report.events_checked == args.events == rows or \
                checkpoint.tree_size != args.events:
            raise SystemExit(f"verification failed: {report.problems[:3]}")
    finally:
        app.close()
        url = DatabaseURL.parse(base)
        with psycopg.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                             dbname=url.dbname, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    figures = {
        "events": args.events,
        "write_events_per_s": round(args.events / write_seconds),
        "raw_read_seconds": round(read_seconds, 2),
        "raw_read_events_per_s": round(rows / read_seconds),
        "checkpoint_seconds": round(checkpoint_seconds, 2),
        "verify_seconds": round(verify_seconds, 2),
        "verify_events_per_s": round(args.events / verify_seconds),
        "verify_vs_raw_read": round(read_seconds / verify_seconds, 3),
    }
    print(f"write (recorder + leaves) {args.events:>10,} events  {write_seconds:7.2f} s  "
          f"{figures['write_events_per_s']:>9,} events/s")
    print(f"raw read (ceiling)        {rows:>10,} rows    {read_seconds:7.2f} s  "
          f"{figures['raw_read_events_per_s']:>9,} rows/s")
    print(f"audit checkpoint          {args.events:>10,} leaves  {checkpoint_seconds:7.2f} s")
    print(f"audit verify              {args.events:>10,} events  {verify_seconds:7.2f} s  "
          f"{figures['verify_events_per_s']:>9,} events/s  "
          f"({figures['verify_vs_raw_read']:.0%} of raw read speed)")
    print(f"target: verify under 60 s on 1,000,000 events: "
          f"{'met' if verify_seconds < 60 or args.events < 1_000_000 else 'NOT met'}")
    scaled = verify_seconds * 1_000_000 / args.events
    print(f"target (issue 20): under 10 s per 1,000,000 events ({scaled:.2f} s) or within "
          f"1.2x the raw read ({verify_seconds / read_seconds:.2f}x): "
          f"{'met' if scaled < 10 or verify_seconds <= 1.2 * read_seconds else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
