"""Single commands through HTTP on PostgreSQL, as a dialer sends them, against the stack's own
ceiling (`/healthz`) measured in the same run.

    DATABASE_URL=postgresql://... uv run python bench/commands.py [--cases 20000] [--seconds 20]
    (or: make bench-commands, which starts the project's PostgreSQL)

Starts `casetrail serve case --workers W` (default 2, the cores of the reference machine) on a
fresh schema, places --cases accounts, then drives it with `wrk` (installed with apt-get when
missing) at --connections connections:
1. `GET /healthz`: the HTTP stack with no database work, the ceiling;
2. `POST /v1/cases/{id}/contacts`: one contact per request, each on a case of its own in turn;
3. `POST /v1/cases/{id}/payments`: one agency payment per request, likewise.
Each prints requests/s, p50 and p99 latency, and its share of the ceiling. Every command must
answer 201: non-2xx answers fail the run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
from casetrail.crypto import MasterKey
from casetrail.security import KeyEntry, Role, generate_key, hash_key

sys.path.insert(0, str(Path(__file__).parent))
from pgadmin import checkpoint, drop_schemas

AGENCY = "AG-BENCH"
LUA = r"""
-- Each wrk thread takes its own slice of the case ids (thread t of n: every n-th id from t) and
-- sends one command per request. `thread_id` and `thread_count` are globals that setup() sets
-- in each thread's own Lua state: a `local` of the same name would shadow them (and did: both
-- threads sent the same commands on the same cases, half of them idempotent replays).
local ids = {}
local counter = 0
local threads = {}
function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
  for _, t in ipairs(threads) do t:set("thread_count", #threads) end
end
function init(args)
  for line in io.lines(args[1]) do table.insert(ids, line) end
  kind, key, occurred, run = args[2], args[3], args[4], args[5]
end
function request()
  counter = counter + 1
  local id = ids[((counter * thread_count + thread_id) % #ids) + 1]
  local ref = run .. "-" .. thread_id .. "-" .. counter
  local body
  if kind == "contacts" then
    body = '{"contact_id":"' .. ref .. '","channel":"phone","party":"debtor",' ..
           '"outcome":"conversation","action_code":"PTP","occurred_at":"' .. occurred .. '"}'
  else
    body = '{"reference":"' .. ref .. '","amount":"10.00","currency":"CNY",' ..
           '"source":"agency","received_at":"' .. occurred .. '"}'
  end
  return wrk.format("POST", "/v1/cases/" .. id .. "/" .. kind,
                    {["Authorization"] = "Bearer " .. key,
                     ["Content-Type"] = "application/json"}, body)
end
-- An answer other than 201 is printed (status and body, the first 20 of each thread) so that a
-- failed run says what failed.
local reported = 0
function response(status, headers, body)
  if status ~= 201 and reported < 20 then
    reported = reported + 1
    io.stderr:write("non-2xx " .. status .. " " .. string.sub(body or "", 1, 400) .. "\n")
  end
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk from Debian's packages", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False,
                   capture_output=True)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True,
                       capture_output=True)
    return shutil.which("wrk") or "wrk"


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
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


def place(url: str, key: str, cases: int) -> list[str]:
    ids: list[str] = []
    with httpx.Client(base_url=url, timeout=300,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        for n, start in enumerate(range(0, cases, 5000)):
            body = {"placement_ref": f"CMD-{n}", "accounts": [{
                "account_ref": f"CMD-{i:08d}", "agency_id": AGENCY, "currency": "CNY",
                "balances": {"principal": "5000.00"}, "dpd": 45,
                "debtor": {"name": f"Debtor {i}", "national_id": f"CMD{i:010d}",
                           "phones": [f"+86138{i:08d}"], "timezone": "Asia/Shanghai"}}
                for i in range(start, min(start + 5000, cases))]}
            response = client.post("/v1/placements", content=orjson.dumps(body),
                                   headers={"Content-Type": "application/json"})
            if response.status_code != 201:
                raise SystemExit(f"placement failed: {response.status_code} {response.text}")
            ids += [r["case_id"] for r in response.json()["accepted"]]
    return ids


def wrk(binary: str, url: str, args: argparse.Namespace, path: str = "/healthz",
        script: list[str] | None = None) -> dict[str, float]:
    command = [binary, "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency"]
    if script is not None:
        command += ["-s", script[0], url, "--", *script[1:]]
    else:
        command.append(url + path)
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    output = done.stdout
    for line in done.stderr.splitlines():
        print(f"  wrk: {line}", file=sys.stderr)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    return {"per_s": rate, "p50_ms": _latency(output, "50%"), "p99_ms": _latency(output, "99%"),
            "non_2xx": float(bad.group(1)) if bad else 0.0,
            "socket_errors": 1.0 if errors else 0.0}


def _latency(output: str, quantile: str) -> float:
    match = re.search(rf"^\s+{re.escape(quantile)}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    if match is None:
        raise SystemExit(f"wrk printed no {quantile} latency:\n{output}")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=20, help="per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="API worker processes")
    parser.add_argument("--port", type=int, default=8793)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "").split("?")[0]
    if not base.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL URL (make bench-commands does)")
    binary = ensure_wrk()
    schema = f"bench_cmd_{uuid.uuid4().hex[:8]}"
    keys = {"creditor": generate_key(Role.CREDITOR), "agency": generate_key(Role.AGENCY)}
    env = {**os.environ, "DATABASE_URL": f"{base}?schema={schema}",
           "CASETRAIL_API_KEYS": json.dumps([
               KeyEntry("bench-creditor", hash_key(keys["creditor"]), Role.CREDITOR,
                        "BENCH-BANK").to_json(),
               KeyEntry("bench-agency", hash_key(keys["agency"]), Role.AGENCY,
                        AGENCY).to_json()]),
           "CASETRAIL_MASTER_KEY": MasterKey.generate_b64(), "CASETRAIL_LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "-m", "casetrail.cli", "migrate", "case"], env=env,
                   check=True, capture_output=True)
    env["CASE_CREATE_SCHEMA"] = "false"
    url = f"http://127.0.0.1:{args.port}"
    proc = subprocess.Popen([sys.executable, "-m", "casetrail.cli", "serve", "case", "--port",
                             str(args.port), "--workers", str(args.workers)], env=env,
                            stdout=subprocess.DEVNULL)
    figures: dict[str, dict[str, float]] = {}
    try:
        wait_ready(url, proc)
        ids = place(url, keys["creditor"], args.cases)
        occurred = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        with tempfile.TemporaryDirectory() as folder:
            script, id_file = Path(folder) / "commands.lua", Path(folder) / "ids.txt"
            script.write_text(LUA)
            id_file.write_text("\n".join(ids) + "\n")
            checkpoint(base)
            figures["healthz"] = wrk(binary, url, args)
            for kind in ("contacts", "payments"):
                checkpoint(base)
                figures[kind] = wrk(binary, url, args, script=[
                    str(script), str(id_file), kind, keys["agency"], occurred,
                    uuid.uuid4().hex[:6]])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        drop_schemas(base, [schema])
    ceiling = figures["healthz"]["per_s"]
    print(f"{args.workers} API workers, wrk -t2 -c{args.connections} -d{args.seconds}s, "
          f"{args.cases:,} cases")
    for name, label in (("healthz", "GET /healthz (ceiling)"),
                        ("contacts", "POST .../contacts"), ("payments", "POST .../payments")):
        f = figures[name]
        print(f"{label:<24} {f['per_s']:>8,.0f} req/s  p50 {f['p50_ms']:7.2f} ms  "
              f"p99 {f['p99_ms']:7.2f} ms  {f['per_s'] / ceiling:6.1%} of the ceiling"
              + (f"  NON-2XX {f['non_2xx']:,.0f}" if f["non_2xx"] else ""))
    failed = [n for n in ("contacts", "payments") if figures[n]["non_2xx"]]
    met = all(figures[n]["per_s"] >= 3000 and figures[n]["p99_ms"] < 30
              for n in ("contacts", "payments"))
    print(f"target: >= 3,000 commands/s at p99 < 30 ms: {'met' if met else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "figures": figures}, indent=2, default=str))
    if failed:
        raise SystemExit(f"commands answered non-2xx: {failed}")


if __name__ == "__main__":
    main()
