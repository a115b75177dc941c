"""Projection rebuilds over a realistic case history mix on PostgreSQL, against a raw read.

    DATABASE_URL=postgresql://... uv run python bench/rebuild_mix.py [--cases 900]
    (or: make bench-rebuild-mix, which starts the project's PostgreSQL)

`bench/rebuild.py` measures the cheapest events (placements: one row each). Real logs are
mostly contacts, which contact-log judges against the debtor's recent history and the
creditor's policy pack. This benchmark records, through the case application's commands, a
history per case: the placement, 8 phone contacts a few hours apart (unanswered, within the
contact window), a promise to pay and a payment, so 11 events a case, interleaved across
cases the way a working day interleaves them. Then, in the same run:
- raw read: every event row in position order (the ceiling), as in `bench/rebuild.py`;
- `rebuild(..., log=app.events_after)` of contact-log, then of billing-ledger (which ignores
  contacts): what `casetrail projections rebuild NAME --transport log` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from billing_service.bootstrap import billing_ledger_projection
from case_service.application import AccountInput, DebtorInput, PlacementBatch
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from casetrail.crypto import MasterKey
from casetrail.projections.rebuild import rebuild
from casetrail.projections.store import LOG_SOURCE, ProjectionStore, make_engine
from casetrail.settings import CommonSettings
from contact_service.bootstrap import contact_log_projection
from pgadmin import drop_schemas
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
                recording_ref=f"rec-{k}", contact_point=app.contact_point(case, PHONE),
                occurred_at=at, note=None, actor="bench")

        for case_id in case_ids:
            app.execute(case_id, command, expected_version=None, authorize=lambda _: None)
            progress.advance(task)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=900)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL URL (make bench-rebuild-mix does)")
    base = base.split("?")[0]
    tag = uuid.uuid4().hex[:8]
    schemas = [f"bench_mix_{tag}", f"bench_mix_{tag}_contact", f"bench_mix_{tag}_billing"]
    app = build_application(CaseSettings(database_url=f"{base}?schema={schemas[0]}"),
                            CommonSettings(master_key=MasterKey.generate_b64(),
                                           audit_signing_key=os.urandom(32).hex()))
    figures = []
    try:
        receipt, _ = app.place(PlacementBatch(
            creditor_id="BENCH", placement_ref="MIX", received_at=START - timedelta(days=1),
            request_sha256="mix", accounts=[AccountInput(
                index=i, account_ref=f"A{i}", currency="CNY", dpd=45, agency_id="AG",
                balances={"principal": Decimal("1000.00")},
                debtor=DebtorInput(name="n", national_id=f"N{i}", phones=(PHONE,),
                                   address=None, email=None, timezone="Asia/Shanghai"))
                for i in range(args.cases)]), actor="bench")
        with Progress(transient=True) as progress:
            record(app, [uuid.UUID(r["case_id"]) for r in receipt["accepted"]], progress)
        events = app.last_position()

        started = time.perf_counter()
        rows, after = 0, 0
        while page := app.recorder.select_event_rows(after, 1_000):
            rows += len(page)
            after = page[-1][0]
        figures.append(("raw read (ceiling)", rows, time.perf_counter() - started))

        for name, projection, schema in (
                ("contact-log", contact_log_projection(), schemas[1]),
                ("billing-ledger", billing_ledger_projection(), schemas[2])):
            live_url = f"{base}?schema={schema}"
            schemas.append(f"{schema}_shadow")
            store = ProjectionStore(make_engine(live_url), projection)
            store.create_schema()
            started = time.perf_counter()
            shadow = asyncio.run(rebuild(store, live_url, log=app.events_after))
            seconds = time.perf_counter() - started
            if shadow.position(LOG_SOURCE) != events:
                raise SystemExit(f"{name}: the shadow is not at position {events}")
            shadow.engine.dispose()
            store.engine.dispose()
            figures.append((f"rebuild {name}", events, seconds))
    finally:
        app.close()
        drop_schemas(base, schemas)

    print(f"{args.cases:,} cases, 11 events each (placement, 8 contacts, promise, payment)")
    for label, n, seconds in figures:
        print(f"{label:<22} {n:>9,} events  {seconds:7.2f} s  {n / seconds:>9,.0f} events/s")


if __name__ == "__main__":
    main()
