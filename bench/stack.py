"""What each layer of the HTTP stack costs per request, from a bare FastAPI app up to the case
service's real routes, measured with `wrk` in one run.

    uv run python bench/stack.py [--seconds 10] [--connections 32] [--workers 2]
    (or: make bench-stack, which runs the case service on the project's PostgreSQL;
    without a PostgreSQL DATABASE_URL it runs on SQLite in a temporary folder)

Every line is a server of its own: `--workers W` uvicorn processes on uvloop and httptools,
built by `casetrail.serving` (logging configured in every worker, at INFO, JSON lines to a
discarded stderr, as in production), driven by `wrk -t2 -cC --latency` for --seconds.
The synthetic lines add one layer at a time to a bare app with one `GET /ping` route:
1. bare FastAPI, an `async def` route: the ceiling of the stack;
2. the same route as a plain `def` (FastAPI runs it on the thread pool), for comparison;
3. + the request guard (body size, media type, NUL, JSON depth), then each further layer
   `casetrail.web.install_api` installs, in the order it installs them;
4. + the authentication dependency (`PrincipalDep`, a key in `Authorization: Bearer`).
Then the case service itself (`casetrail serve case`): `GET /healthz`, and an authenticated
`GET /v1/cases/{id}` of a placed case (one read of the case summary).
Every line is measured --rounds times (best kept: other processes share the machine).
Each line prints requests/s, p50, p99, and what it costs per request relative to the line it
builds on: 1e6/rate - 1e6/previous rate, in µs of the whole machine's time per request.
A second table calls each synthetic app --requests times straight through ASGI in this
process (no server, no network) and prints the CPU µs per request (`time.process_time`),
which other processes on the machine disturb far less than wrk's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvloop
from casetrail.crypto import MasterKey
from casetrail.security import KeyEntry, KeyRing, Role, generate_key, hash_key
from casetrail.web import PrincipalDep, install_error_handlers
from fastapi import FastAPI

sys.path.insert(0, str(Path(__file__).parent))
from commands import ensure_wrk
from pgadmin import drop_schemas

LINE_ENV = "BENCH_STACK_LINE"
KEYS_ENV = "CASETRAIL_API_KEYS"


def _guard(app: FastAPI) -> None:
    from casetrail.web import RequestGuardMiddleware

    app.add_middleware(RequestGuardMiddleware)


def _context(app: FastAPI) -> None:
    from casetrail.web import RequestContextMiddleware

    app.add_middleware(RequestContextMiddleware, service="bench", answer_errors=True)


# (name, label, what it adds to the app of the line before; each line builds on the previous),
# as `casetrail.web.install_api` installs them.
LAYERS: list[tuple[str, str, Callable[[FastAPI], None]]] = [
    ("guard", "+ RequestGuardMiddleware", _guard),
    ("context", "+ RequestContextMiddleware (id, errors, log, metrics)", _context),
]


def make_app() -> FastAPI:
    """The synthetic app of the line named in BENCH_STACK_LINE (built in each worker)."""
    line = os.environ[LINE_ENV]
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    if line == "bare-sync":

        @app.get("/ping")
        def ping_sync() -> dict[str, str]:
            return {"status": "ok"}

        return app
    if line == "auth":
        app.state.keyring = KeyRing.from_json(os.environ[KEYS_ENV])

        @app.get("/ping")
        async def ping_auth(caller: PrincipalDep) -> dict[str, str]:
            return {"status": "ok", "tenant": caller.tenant or ""}
    else:

        @app.get("/ping")
        async def ping() -> dict[str, str]:
            return {"status": "ok"}

    if line != "bare":
        install_error_handlers(app)
        for name, _, add in LAYERS:
            add(app)
            if name == line:
                break
    return app


async def _asgi_calls(app: FastAPI, headers: dict[str, str], requests: int) -> float:
    """CPU seconds of this process (every thread: the pool's too) for `requests` GET /ping
    calls straight into the ASGI app, after a warm-up."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": "/ping", "raw_path": b"/ping",
             "root_path": "", "query_string": b"", "client": ("127.0.0.1", 40000),
             "server": ("127.0.0.1", 80), "headers": [
                 (b"host", b"127.0.0.1"), *[(k.lower().encode(), v.encode())
                                           for k, v in headers.items()]]}
    statuses: set[int] = set()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    for _ in range(500):
        await app({**scope, "state": {}}, receive, send)
    started = time.process_time()
    for _ in range(requests):
        await app({**scope, "state": {}}, receive, send)
    seconds = time.process_time() - started
    if statuses != {200}:
        raise SystemExit(f"in-process calls answered {statuses}")
    return seconds


def in_process(lines: list[tuple[str, str, str, dict[str, str]]], keys: str,
               requests: int, rounds: int) -> dict[str, float]:
    """µs of CPU per request of each synthetic line, called in this process with no server
    and no network (what the layers themselves cost; little disturbed by other processes)."""
    from casetrail.logs import configure_logging

    os.environ[KEYS_ENV] = keys
    configure_logging("INFO")
    stderr, sys.stderr = sys.stderr, open(os.devnull, "w")  # noqa: SIM115
    try:
        costs: dict[str, float] = {}
        for _ in range(rounds):
            for name, _, _, headers in lines:
                os.environ[LINE_ENV] = name
                seconds = uvloop.run(_asgi_calls(make_app(), headers, requests))
                micros = seconds / requests * 1e6
                costs[name] = min(costs.get(name, micros), micros)
        return costs
    finally:
        sys.stderr.close()
        sys.stderr = stderr


def serve(env: dict[str, str], argv: list[str]) -> subprocess.Popen[bytes]:
    """Start a server (stdout and stderr discarded: the log lines are still written)."""
    return subprocess.Popen([sys.executable, *argv], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def wait_answering(url: str, proc: subprocess.Popen[bytes], headers: dict[str, str],
                   timeout: float = 90) -> None:
    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            answer = httpx.get(url, headers=headers, timeout=1)
            if answer.status_code == 200:
                return
            last = f"{answer.status_code} {answer.text[:300]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer 200: {last}")


def run_wrk(binary: str, url: str, args: argparse.Namespace,
            headers: dict[str, str]) -> dict[str, float]:
    command = [binary, "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None:
        raise SystemExit(f"wrk printed no rate:\n{output}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {"per_s": float(rate.group(1)), "p50_ms": _latency(output, "50%"),
            "p99_ms": _latency(output, "99%"), "non_2xx": float(bad.group(1)) if bad else 0.0}


def _latency(output: str, quantile: str) -> float:
    match = re.search(rf"^\s+{re.escape(quantile)}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    if match is None:
        raise SystemExit(f"wrk printed no {quantile} latency:\n{output}")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def measure(binary: str, args: argparse.Namespace, env: dict[str, str], argv: list[str],
            url: str, headers: dict[str, str]) -> dict[str, float]:
    print(f"measuring {url}", file=sys.stderr)
    proc = serve(env, argv)
    try:
        wait_answering(url, proc, headers)
        run_wrk(binary, url, argparse.Namespace(**{**vars(args), "seconds": 2}), headers)  # warm
        return run_wrk(binary, url, args, headers)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def best(figures: dict[str, dict[str, float]], name: str, measured: dict[str, float]) -> None:
    """Keep the round with the most requests/s (the one least disturbed by other processes)."""
    if name not in figures or measured["per_s"] > figures[name]["per_s"]:
        figures[name] = measured


def place_one(url: str, key: str) -> str:
    body = {"placement_ref": "STACK-1", "accounts": [{
        "account_ref": "STACK-00000001", "agency_id": "AG-STACK", "currency": "CNY",
        "balances": {"principal": "5000.00"}, "dpd": 45,
        "debtor": {"name": "Debtor 1", "national_id": "STACK0000000001",
                   "phones": ["+8613800000001"], "timezone": "Asia/Shanghai"}}]}
    response = httpx.post(f"{url}/v1/placements", json=body, timeout=60,
                          headers={"Authorization": f"Bearer {key}"})
    if response.status_code != 201:
        raise SystemExit(f"placement failed: {response.status_code} {response.text}")
    case_id: str = response.json()["accepted"][0]["case_id"]
    return case_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, default=18794)
    parser.add_argument("--rounds", type=int, default=2,
                        help="measure every line this many times; print the best")
    parser.add_argument("--requests", type=int, default=20_000,
                        help="in-process ASGI calls per synthetic line")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    binary = ensure_wrk()
    key = generate_key(Role.CREDITOR)
    keys = json.dumps([KeyEntry("bench-creditor", hash_key(key), Role.CREDITOR,
                                "STACK-BANK").to_json()])
    auth = {"Authorization": f"Bearer {key}"}
    url = f"http://127.0.0.1:{args.port}"
    folder = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    env = {**os.environ, KEYS_ENV: keys, "CASETRAIL_LOG_LEVEL": "INFO",
           "CASETRAIL_LOG_JSON": "true", "CASETRAIL_VAR_DIR": str(folder),
           "CASETRAIL_MASTER_KEY": MasterKey.generate_b64(),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent),
                                          os.environ.get("PYTHONPATH", "")])}
    synthetic = ["-c", "import uvicorn; uvicorn.run('casetrail.serving:app', factory=True, "
                 f"host='127.0.0.1', port={args.port}, workers={args.workers}, loop='uvloop', "
                 "http='httptools', access_log=False, log_config=None)"]
    lines: list[tuple[str, str, str, dict[str, str]]] = [
        ("bare", "bare FastAPI, async def route", "", {}),
        ("bare-sync", "bare FastAPI, def route (thread pool)", "bare", {}),
    ]
    previous = "bare"
    for name, label, _ in LAYERS:
        lines.append((name, label, previous, {}))
        previous = name
    lines.append(("auth", "+ authentication dependency", previous, auth))
    cpu = in_process(lines, keys, args.requests, args.rounds)
    figures: dict[str, dict[str, float]] = {}
    for _ in range(args.rounds):
        for name, _, _, headers in lines:
            best(figures, name, measure(binary, args, {
                **env, LINE_ENV: name, "CASETRAIL_SERVE_FACTORY": "stack:make_app"},
                synthetic, f"{url}/ping", headers))

    base = os.environ.get("DATABASE_URL", "").split("?")[0]
    schema = f"bench_stack_{uuid.uuid4().hex[:8]}"
    database = (f"{base}?schema={schema}" if base.startswith("postgres")
                else f"sqlite:///{folder / 'case.db'}")
    case_env = {**env, "DATABASE_URL": database}
    try:
        subprocess.run([sys.executable, "-m", "casetrail.cli", "migrate", "case"], env=case_env,
                       check=True, capture_output=True)
        case_env["CASE_CREATE_SCHEMA"] = "false"
        serve_case = ["-m", "casetrail.cli", "serve", "case", "--port", str(args.port),
                      "--workers", str(args.workers)]
        proc = serve(case_env, serve_case)
        try:
            wait_answering(f"{url}/readyz", proc, {})
            case_id = place_one(url, key)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        for _ in range(args.rounds):
            best(figures, "case-healthz", measure(binary, args, case_env, serve_case,
                                                  f"{url}/healthz", {}))
            best(figures, "case-get", measure(binary, args, case_env, serve_case,
                                              f"{url}/v1/cases/{case_id}", auth))
    finally:
        if base.startswith("postgres"):
            drop_schemas(base, [schema])
    lines += [("case-healthz", "case service GET /healthz", "bare", {}),
              ("case-get", "case service GET /v1/cases/{id}", "case-healthz", auth)]

    store = "PostgreSQL" if base.startswith("postgres") else "SQLite"
    print(f"{args.workers} uvicorn workers (uvloop, httptools), wrk -t2 -c{args.connections} "
          f"-d{args.seconds}s, best of {args.rounds} rounds, logs at INFO; case service on "
          f"{store}")
    print(f"{'line':<56} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'µs/req':>8}  vs")
    for name, label, before, _ in lines:
        f = figures[name]
        cost = "" if not before else f"{1e6 / f['per_s'] - 1e6 / figures[before]['per_s']:+8.1f}"
        print(f"{label:<56} {f['per_s']:>8,.0f} {f['p50_ms']:>8.2f} {f['p99_ms']:>8.2f} "
              f"{cost:>8}  {before}" + (f"  NON-2XX {f['non_2xx']:,.0f}" if f["non_2xx"]
                                       else ""))
    print(f"\nin-process ASGI calls of GET /ping (no server, no network), {args.requests:,} "
          f"each, best of {args.rounds} rounds: CPU µs per request of this process")
    print(f"{'line':<56} {'µs/req':>8} {'+µs':>8}  vs")
    for name, label, before, _ in lines:
        if name in cpu:
            delta = f"{cpu[name] - cpu[before]:+8.1f}" if before else ""
            print(f"{label:<56} {cpu[name]:>8.1f} {delta:>8}  {before}")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "figures": figures, "in_process_us": cpu},
                                        indent=2, default=str))
    failed = [name for name, f in figures.items() if f["non_2xx"]]
    if failed:
        raise SystemExit(f"non-2xx answers: {failed}")


if __name__ == "__main__":
    main()
