"""Projection rebuilds over a realistic case history mix on PostgreSQL, against a raw read.

    DATABASE_URL=postgresql://... uv run python bench/rebuild_mix.py [--cases 900]
        [--events 1000000]
    (or: make bench-rebuild-mix, which starts the project's PostgreSQL)

`bench/rebuild.py` measures the cheapest events (placements: one row each). Real logs are
mostly contacts, which contact-log judges against the debtor's recent history and the
creditor's policy pack. This benchmark records, through the case application's commands, a
history per case: the placement, 8 phone contacts a few hours apart (unanswered, within the
contact window), a promise to pay and a payment that keeps it, so 12 events a case,
interleaved across cases the way a working day interleaves them. Copies of that log, under
new case and debtor ids, are appended until it holds `--events` events. Then, in the same run:
- raw read: every event row in position order (the ceiling), as in `bench/rebuild.py`;
- `rebuild(..., log=app.log_page)` of contact-log, in one process and then in one per core
  (`log_workers=`: each applies the events of a share of the debtors), then of
  billing-ledger (which ignores contacts, and so skips decoding two thirds of the log): what
  `casetrail projections rebuild NAME --transport log` runs;
- `rebuild(..., store=StoreSource(...))` of case-summaries (the case list, each case replayed
  from its stored events by the aggregate), in one process and then in one per core: what
  `casetrail projections rebuild case-summaries` runs. (The copies are stored events only,
  without the summaries the service writes beside them: this measures the rebuild, not a
  comparison.)
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import sqlalchemy as sa
from billing_service.bootstrap import billing_ledger_projection
from case_service.adapters.tables import case_summaries
from case_service.application import AccountInput, DebtorInput, PlacementBatch, pii, placement
from case_service.bootstrap import build_application, case_summaries_projection
from case_service.config import CaseSettings
from casetrail.crypto import MasterKey
from casetrail.projections.rebuild import StoreSource, rebuild
from casetrail.projections.store import LOG_SOURCE, ProjectionStore, make_engine
from casetrail.settings import CommonSettings
from contact_service.bootstrap import contact_log_projection
from eventsourcing.persistence import StoredEvent
from pgadmin import drop_schemas, settle
from rich.progress import Progress

START = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
PHONE = "+8613800000000"


def record(app: Any, case_ids: list[uuid.UUID], progress: Progress) -> None:
    """Per round, one event for every case: 8 contacts, then a promise, then a payment."""
    task = progress.add_task("recording case histories", total=10 * len(case_ids))
    for k in range(10):
        at = START + timedelta(hours=k + 1)

        def command(case: Any, k: int = k, at: datetime = at) -> Any:
            if k == 8:
                return case.promise_to_pay(promise_id="p1", amount=Decimal("50.00"),
                                           due_date=(at + timedelta(days=3)).date(),
                                           promised_at=at, actor="bench")
            if k == 9:
                return case.receive_payment(reference="pay1", amount=Decimal("60.00"),
                                            currency="CNY", source="agency", received_at=at,
                                            method=None, actor="bench")
            return case.record_contact(
                contact_id=f"c{k}", channel="phone", direction="outbound", party="none",
                outcome="no_answer", action_code="NOANS", agent_id="agent-1",
                recording_ref=f"rec-{k}", contact_point=pii.contact_point(app, case, PHONE),
                occurred_at=at, note=None, actor="bench")

        for case_id in case_ids:
            app.execute(case_id, command, expected_version=None, authorize=lambda _: None)
            progress.advance(task)


def replicate(app: Any, copies: int, progress: Progress) -> None:
    """Append `copies - 1` copies of the recorded log, each under new case ids and with new
    debtor ids (so each copy's debtors have histories of their own): a log of the same shape
    as long as wanted, without recording millions of commands one by one."""
    template, after = [], 0
    while page := app.recorder.select_event_rows(after, 10_000):
        template += page
        after = page[-1][0]
    task = progress.add_task("replicating the log", total=(copies - 1) * len(template))
    for copy in range(1, copies):
        ids: dict[Any, uuid.UUID] = {}
        renamed = b'"debtor_id":"d-%d-' % copy
        rows = [StoredEvent(originator_id=ids.setdefault(case_id, uuid.uuid4()),
                            originator_version=version, topic=topic,
                            state=bytes(state).replace(b'"debtor_id":"d-', renamed))
                for _, case_id, version, topic, state in template]
        for first in range(0, len(rows), 10_000):
            app.recorder.insert_events(rows[first:first + 10_000])
        progress.advance(task, len(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=900)
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="copies of the recorded histories are appended (new case and "
                             "debtor ids) until the log holds at least this many events")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL URL (make bench-rebuild-mix does)")
    base = base.split("?")[0]
    tag = uuid.uuid4().hex[:8]
    schemas = [f"bench_mix_{tag}", f"bench_mix_{tag}_contact", f"bench_mix_{tag}_billing"]
    log_url = f"{base}?schema={schemas[0]}"
    master_key = MasterKey.generate_b64()
    app = build_application(CaseSettings(database_url=log_url),
                            CommonSettings(master_key=master_key,
                                           audit_signing_key=os.urandom(32).hex()))
    # What each rebuild worker process opens again (pickled: fresh, unused settings).
    opener = partial(build_application, CaseSettings(database_url=log_url, create_schema=False),
                     CommonSettings(master_key=master_key))
    figures = []
    try:
        receipt, _ = placement.place(app, PlacementBatch(
            creditor_id="BENCH", placement_ref="MIX", received_at=START - timedelta(days=1),
            request_sha256="mix", accounts=[AccountInput(
                index=i, account_ref=f"A{i}", currency="CNY", dpd=45, agency_id="AG",
                balances={"principal": Decimal("1000.00")},
                debtor=DebtorInput(name="n", national_id=f"N{i}", phones=(PHONE,),
                                   address=None, email=None, timezone="Asia/Shanghai"))
                for i in range(args.cases)]), actor="bench")
        with Progress(transient=True) as progress:
            record(app, [uuid.UUID(r["case_id"]) for r in receipt["accepted"]], progress)
            recorded = app.last_position()
            replicate(app, math.ceil(args.events / recorded), progress)
        events = app.last_position()
        settle(base, schemas[0])  # vacuumed and flushed now, not during the measurements

        started = time.perf_counter()
        rows, after = 0, 0
        while page := app.recorder.select_event_rows(after, 1_000):
            rows += len(page)
            after = page[-1][0]
        figures.append(("raw read (ceiling)", rows, time.perf_counter() - started))

        cores = os.cpu_count() or 1
        for label, projection, schema, workers in (
                ("contact-log, 1 process", contact_log_projection(), schemas[1], 1),
                (f"contact-log, {cores} processes", contact_log_projection(), schemas[1],
                 cores),
                ("billing-ledger", billing_ledger_projection(), schemas[2], 1)):
            if workers > 1 and cores == 1:
                continue
            live_url = f"{base}?schema={schema}"
            if f"{schema}_shadow" not in schemas:
                schemas.append(f"{schema}_shadow")
            store = ProjectionStore(make_engine(live_url), projection)
            store.create_schema()
            started = time.perf_counter()
            shadow = asyncio.run(rebuild(
                store, live_url, log=app.log_page,
                log_workers=StoreSource(opener, workers) if workers > 1 else None))
            seconds = time.perf_counter() - started
            if shadow.positions(LOG_SOURCE) != {0: events}:
                raise SystemExit(f"{label}: the shadow is not at position {events}")
            shadow.engine.dispose()
            store.engine.dispose()
            figures.append((f"rebuild {label}", events, seconds))

        summaries = ProjectionStore(make_engine(log_url), case_summaries_projection())
        schemas.append(f"{schemas[0]}_shadow")
        for workers in sorted({1, os.cpu_count() or 1}):
            started = time.perf_counter()
            shadow = asyncio.run(rebuild(summaries, log_url, store=StoreSource(opener, workers)))
            seconds = time.perf_counter() - started
            with shadow.engine.connect() as conn:
                listed = conn.execute(sa.select(sa.func.count()).select_from(case_summaries)
                                      ).scalar_one()
            if listed * 12 != events:
                raise SystemExit(f"case-summaries: {listed} cases, not {events // 12}")
            shadow.engine.dispose()
            figures.append((f"rebuild case-summaries, {workers} process"
                            f"{'es' if workers > 1 else ''}", events, seconds))
        summaries.engine.dispose()
    finally:
        app.close()
        drop_schemas(base, schemas)

    print(f"{events:,} events: {args.cases:,} recorded case histories of 12 events (placement, "
          f"8 contacts, promise, payment, promise kept), copied to {events // recorded} times "
          "as many cases")
    for label, n, seconds in figures:
        print(f"{label:<36} {n:>9,} events  {seconds:7.2f} s  {n / seconds:>9,.0f} events/s")


if __name__ == "__main__":
    main()
