"""A billing run over 1,000,000 payments across 100 agencies, in payments/s, against a plain
SQL GROUP BY over the same rows in the same run.

    DATABASE_URL=postgresql://... uv run python bench/billing.py [--payments 1000000]
    (or: make bench-billing, which starts the project's PostgreSQL)

On a fresh schema it loads the billing ledger through the billing-ledger projection itself
(one Placed event per case and --per-case PaymentReceived events, applied in pages as a
consumer applies them), records a contract per creditor-agency pair, then starts `casetrail
serve billing --workers W` and bills every agency for the month through `POST
/v1/billing-runs` (2 clients per worker). The ceiling is `SELECT agency_id, count(*),
sum(amount) FROM payments GROUP BY agency_id` on the same rows. Target: the runs take at most
twice the GROUP BY's time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from casetrail.crypto import MasterKey
from casetrail.dburl import DatabaseURL
from casetrail.envelope import event_id_for, trusted_envelope
from casetrail.projections.base import load
from casetrail.projections.store import Delivery, ProjectionStore, make_engine
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).parent))
from pgadmin import drop_schemas, settle

MONTH_START = datetime(2026, 10, 1, tzinfo=UTC)
PAGE = 20_000


def events(agencies: int, cases: int, per_case: int) -> Any:
    """Placed then PaymentReceived envelopes, in log order, case by case."""
    position = 0
    for n in range(cases):
        agency = f"AG-{n % agencies:03d}"
        case_id = uuid.uuid5(uuid.NAMESPACE_URL, f"bench-billing-{n}")
        placed_at = MONTH_START - timedelta(days=40)
        position += 1
        yield trusted_envelope(
            event_id=event_id_for(case_id, 1), type="Placed", schema_version=1,
            case_id=case_id, version=1, position=position, occurred_at=placed_at,
            recorded_at=placed_at, payload={
                "creditor_id": "BENCH-BANK", "account_ref": f"ACC-{n:07d}",
                "agency_id": agency, "bucket": "M2", "dpd": 45, "currency": "CNY",
                "balances": {"principal": "100000.00"},
                "placed_at": placed_at.isoformat(), "term_end": "2027-06-30"})
        for k in range(per_case):
            received = MONTH_START + timedelta(days=k % 28, hours=10, minutes=n % 60)
            position += 1
            yield trusted_envelope(
                event_id=event_id_for(case_id, k + 2), type="PaymentReceived",
                schema_version=1, case_id=case_id, version=k + 2, position=position,
                occurred_at=received, recorded_at=received, payload={
                    "reference": f"PAY-{k}", "amount": f"{100 + (n + k) % 900}.{k % 100:02d}",
                    "currency": "CNY", "source": "agency" if k % 5 else "creditor_direct",
                    "received_at": received.isoformat(), "method": None, "agency_id": agency,
                    "assignment": 1, "flags": []})


def load_ledger(url: str, args: argparse.Namespace) -> int:
    store = ProjectionStore(make_engine(url), load("billing-ledger"))
    store.create_schema()
    cases = args.payments // args.per_case
    total = cases * (1 + args.per_case)
    page: list[Delivery] = []
    with Progress(transient=True) as progress:
        task = progress.add_task("loading the billing ledger", total=total)
        for envelope in events(args.agencies, cases, args.per_case):
            page.append(Delivery(envelope.position, envelope))
            if len(page) == PAGE:
                store.apply("feed", 0, page)
                progress.advance(task, len(page))
                page = []
        if page:
            store.apply("feed", 0, page)
    store.engine.dispose()
    return cases


def bill(url: str, args: argparse.Namespace, env: dict[str, str], key: str) -> float:
    proc = subprocess.Popen([sys.executable, "-m", "casetrail.cli", "serve", "billing",
                             "--port", str(args.port), "--workers", str(args.workers)],
                            env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{args.port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the billing service did not start")
            time.sleep(0.2)
        headers = {"Authorization": f"Bearer {key}"}
        agencies = [f"AG-{a:03d}" for a in range(args.agencies)]
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            for agency in agencies:
                response = client.put(f"/v1/contracts/BENCH-BANK/{agency}", json={
                    "effective_from": "2026-01-01", "currency": "CNY", "timezone": "UTC",
                    "rates": {"M1": "0.12", "M2": "0.18", "M3": "0.25", "M4+": "0.35"},
                    "tail_days": 30, "creditor_direct_commissionable": True,
                    "minimum_fee": "0", "tax_rate": "0.06"})
                if response.status_code not in (200, 201):
                    raise SystemExit(f"contract: {response.status_code} {response.text}")
        todo = list(agencies)
        lock = threading.Lock()
        failures: list[str] = []

        def runner() -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
                while True:
                    with lock:
                        if not todo or failures:
                            return
                        agency = todo.pop()
                    response = client.post("/v1/billing-runs", json={
                        "creditor_id": "BENCH-BANK", "agency_id": agency,
                        "period_start": "2026-10-01", "period_end": "2026-10-31"})
                    if response.status_code != 201:
                        failures.append(f"{agency}: {response.status_code} {response.text}")

        started = time.perf_counter()
        threads = [threading.Thread(target=runner) for _ in range(2 * args.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        if failures:
            raise SystemExit(f"billing run failed: {failures[0]}")
        return elapsed
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def group_by(base: str, schema: str) -> float:
    url = DatabaseURL.parse(base)
    with psycopg.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                         dbname=url.dbname) as conn:
        started = time.perf_counter()
        rows = conn.execute(f'SELECT agency_id, count(*), sum(amount::numeric) FROM '
                            f'"{schema}".payments GROUP BY agency_id').fetchall()
        elapsed = time.perf_counter() - started
    assert rows
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--agencies", type=int, default=100)
    parser.add_argument("--per-case", type=int, default=10, help="payments per case")
    parser.add_argument("--workers", type=int, default=2, help="billing API processes")
    parser.add_argument("--port", type=int, default=8794)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "").split("?")[0]
    if not base.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL URL (make bench-billing does)")
    schema = f"bench_bill_{uuid.uuid4().hex[:8]}"
    url = f"{base}?schema={schema}"
    key = generate_key(Role.ADMIN)
    env = {**os.environ, "BILLING_DATABASE_URL": url, "CASETRAIL_LOG_LEVEL": "WARNING",
           "CASETRAIL_API_KEYS": json.dumps([KeyEntry("bench", hash_key(key), Role.ADMIN,
                                                      None).to_json()]),
           "CASETRAIL_MASTER_KEY": MasterKey.generate_b64()}
    try:
        subprocess.run([sys.executable, "-m", "casetrail.cli", "migrate", "billing"], env=env,
                       check=True, capture_output=True)
        started = time.perf_counter()
        cases = load_ledger(url, args)
        loaded = time.perf_counter() - started
        payments = cases * args.per_case
        settle(base, schema)
        ceiling = min(group_by(base, schema) for _ in range(3))
        run = bill(url, args, env, key)
    finally:
        drop_schemas(base, [schema])
    print(f"{payments:,} payments on {cases:,} cases across {args.agencies} agencies "
          f"(ledger loaded through the projection in {loaded:.1f} s)")
    print(f"GROUP BY (ceiling)        {ceiling:8.2f} s  {payments / ceiling:>10,.0f} payments/s")
    print(f"billing runs, {args.workers} workers   {run:8.2f} s  {payments / run:>10,.0f} "
          f"payments/s  {run / ceiling:5.1f}x the GROUP BY")
    print(f"target: at most 2x the GROUP BY: {'met' if run <= 2 * ceiling else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps({
            "payments": payments, "cases": cases, "agencies": args.agencies,
            "workers": args.workers, "group_by_seconds": ceiling, "run_seconds": run,
            "ratio": run / ceiling}, indent=2))


if __name__ == "__main__":
    main()
