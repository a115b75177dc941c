"""Placement intake through the HTTP API on PostgreSQL, against raw COPY of the same rows.

    DATABASE_URL=postgresql://... uv run python bench/intake.py [--accounts 100000]
    (or: make bench-intake, which starts the project's PostgreSQL)

For each --workers count (default: 1, then 2, the cores of the reference machine), starts
`casetrail serve case --workers W` as a separate process on a fresh schema and posts N
accounts in batches of --batch through HTTP with 2 clients per worker. Then it measures COPY
of N event-sized rows into a scratch table in the same database as the ceiling, and prints the
ratios. A CHECKPOINT before each measured phase keeps the previous phase's writes from being
flushed during it.
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
from pathlib import Path

import httpx
import orjson
import psycopg
from casetrail.crypto import MasterKey
from casetrail.dburl import DatabaseURL
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from rich.progress import Progress


def accounts(start: int, count: int) -> list[dict]:
    return [{
        "account_ref": f"ACC-{i:08d}", "agency_id": f"AG-{i % 7}", "currency": "CNY",
        "balances": {"principal": f"{1000 + i % 5000}.00", "interest": "35.20", "fees": "10.00"},
        "dpd": 15 + i % 120, "product": "credit_card",
        "debtor": {"name": f"Debtor {i}", "national_id": f"1101011990{i:08d}",
                   "phones": [f"+86138{i:08d}"], "address": f"{i} Example Road, Beijing",
                   "timezone": "Asia/Shanghai"},
    } for i in range(start, start + count)]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not become ready")


def checkpoint(url: DatabaseURL) -> None:
    """Flush what earlier phases wrote, so it is not written back during the next one."""
    with psycopg.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                         dbname=url.dbname, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def run_http(args: argparse.Namespace, base: str, schema: str, workers: int
             ) -> tuple[float, int]:
    key = generate_key(Role.CREDITOR)
    env = {**os.environ,
           "DATABASE_URL": f"{base}?schema={schema}",
           "CASETRAIL_API_KEYS": json.dumps([KeyEntry("bench", hash_key(key), Role.CREDITOR,
                                                      "BENCH-BANK").to_json()]),
           "CASETRAIL_MASTER_KEY": MasterKey.generate_b64(),
           "CASETRAIL_LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "-m", "casetrail.cli", "migrate", "case"], env=env,
                   check=True, capture_output=True)
    env["CASE_CREATE_SCHEMA"] = "false"
    url = f"http://127.0.0.1:{args.port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "casetrail.cli", "serve", "case", "--port", str(args.port),
         "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL)
    try:
        wait_ready(url, proc)
        bodies = [orjson.dumps({"placement_ref": f"BENCH-{n}",
                                "accounts": accounts(start,
                                                     min(args.batch, args.accounts - start))})
                  for n, start in enumerate(range(0, args.accounts, args.batch))]
        queue = list(enumerate(bodies))
        lock = threading.Lock()
        placed = [0]
        errors: list[str] = []
        with Progress(transient=True) as progress:
            task = progress.add_task("posting placements", total=args.accounts)

            def worker() -> None:
                with httpx.Client(base_url=url, timeout=300,
                                  headers={"Authorization": f"Bearer {key}",
                                           "Content-Type": "application/json"}) as client:
                    while True:
                        with lock:
                            if not queue:
                                return
                            _, body = queue.pop(0)
                        response = client.post("/v1/placements", content=body)
                        if response.status_code != 201:
                            errors.append(f"{response.status_code} {response.text[:200]}")
                            return
                        count = response.json()["counts"]["placed"]
                        with lock:
                            placed[0] += count
                        progress.advance(task, count)

            checkpoint(DatabaseURL.parse(base))
            started = time.perf_counter()
            threads = [threading.Thread(target=worker) for _ in range(2 * workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
        if errors:
            raise SystemExit(f"placement failed: {errors[0]}")
        return elapsed, placed[0]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_copy(conn: psycopg.Connection, schema: str, n: int) -> float:
    """COPY n rows shaped like stored Placed events (id, version, topic, ~900-byte state)."""
    conn.execute(f'CREATE TABLE "{schema}".copy_ceiling (originator_id uuid, '
                 "originator_version int, topic text, state bytea)")
    state = orjson.dumps(accounts(0, 1)[0]) * 2
    topic = "case_service.domain.case:Case.Placed"
    started = time.perf_counter()
    with conn.cursor() as cur, cur.copy(
            f'COPY "{schema}".copy_ceiling FROM STDIN') as copy:
        for _ in range(n):
            copy.write_row((uuid.uuid4(), 1, topic, state))
    conn.commit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2",
                        help="server worker processes, one run each (comma-separated)")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL URL (make bench-intake does)")
    url = DatabaseURL.parse(base)
    runs: list[tuple[int, float, int]] = []
    schemas: list[str] = []
    conn = psycopg.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                           dbname=url.dbname)
    try:
        for workers in (int(w) for w in args.workers.split(",")):
            schemas.append(f"bench_{uuid.uuid4().hex[:8]}")
            runs.append((workers, *run_http(args, base.split("?")[0], schemas[-1], workers)))
        checkpoint(url)
        copy_seconds = run_copy(conn, schemas[-1], args.accounts)
    finally:
        conn.rollback()
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.commit()
        conn.close()
    copy_rate = args.accounts / copy_seconds
    figures: dict[str, object] = {"accounts": args.accounts, "batch": args.batch,
                                  "copy_rows_per_s": round(copy_rate), "runs": []}
    for workers, http_seconds, placed in runs:
        http_rate = placed / http_seconds
        figures["runs"].append({  # type: ignore[attr-defined]
            "workers": workers, "clients": 2 * workers, "accounts": placed,
            "http_seconds": round(http_seconds, 2), "accounts_per_s": round(http_rate),
            "events_per_s": round(http_rate), "ratio_to_copy": round(http_rate / copy_rate, 3)})
        print(f"HTTP intake, {workers} worker{'s' if workers > 1 else ' '}  {placed:>9,} accounts "
              f"in {http_seconds:6.2f} s  {http_rate:>7,.0f} accounts/s  {http_rate:>7,.0f} "
              f"events/s (1 Placed each)  {http_rate / copy_rate:6.1%} of COPY")
    print(f"COPY ceiling          {args.accounts:>9,} rows     in {copy_seconds:6.2f} s  "
          f"{copy_rate:>7,.0f} rows/s")
    best = max(placed / seconds for _, seconds, placed in runs)
    print(f"target: at least 5,000 accounts/s through HTTP: {'met' if best >= 5000 else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
