"""Every service as its own process, started with one environment and stopped with SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from casetrail.security import Capacity, KeyEntry, Role, generate_key, hash_key

KEYS = {"creditor": (Role.CREDITOR, "BANK-E2E"), "agency": (Role.AGENCY, "AG-E2E"),
        "other_agency": (Role.AGENCY, "AG-OTHER"), "auditor": (Role.AUDITOR, None),
        "collector": (Role.AGENCY, "AG-E2E")}
CAPACITIES = {"collector": Capacity.COLLECTOR}  # the agency key above is its supervisor's


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class System:
    """Processes started with one environment; stopped with SIGTERM at the end."""

    def __init__(self, tmp: Path, env: dict[str, str]):
        self.tmp, self.env = tmp, env
        self.keys = {name: generate_key(role) for name, (role, _) in KEYS.items()}
        self.env["CASETRAIL_API_KEYS"] = json.dumps([
            KeyEntry(name, hash_key(self.keys[name]), role, tenant,
                     CAPACITIES.get(name)).to_json()
            for name, (role, tenant) in KEYS.items()])
        self.env["CASE_EVENTS_API_KEY"] = self.keys["auditor"]
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def cli(self, *args: str, check: bool = True, **env: str
            ) -> subprocess.CompletedProcess[str]:
        """Run a `casetrail` command to completion (with `env` added to the system's)."""
        return subprocess.run([sys.executable, "-m", "casetrail.cli", *args],
                              env={**self.env, **env}, check=check, capture_output=True,
                              text=True, timeout=180)

    def process(self, name: str) -> subprocess.Popen[bytes]:
        """A started process by name."""
        return next(p for n, p in self.processes if n == name)

    def start(self, name: str, *args: str, **env: str) -> None:
        log = (self.tmp / f"{name}.log").open("wb")
        self.processes.append((name, subprocess.Popen(
            [sys.executable, "-m", "casetrail.cli", *args], env={**self.env, **env},
            stdout=log, stderr=subprocess.STDOUT)))

    def start_worker(self, name: str, *args: str) -> str:
        """A worker with its ops endpoints on a port of its own; returns their base URL."""
        port = free_port()
        self.start(name, *args, CASETRAIL_METRICS_PORT=str(port))
        return f"http://127.0.0.1:{port}"

    def serve(self, service: str) -> str:
        port = free_port()
        self.start(service, "serve", service, "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.assert_running()
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{service} did not become ready: {self.log(service)}")

    def assert_running(self) -> None:
        for name, proc in self.processes:
            assert proc.poll() is None, f"{name} exited {proc.returncode}: {self.log(name)}"

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-3000:]

    def client(self, url: str, who: str) -> httpx.Client:
        return httpx.Client(base_url=url, timeout=30,
                            headers={"Authorization": f"Bearer {self.keys[who]}"})

    def stop(self) -> dict[str, int | None]:
        for _, proc in self.processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, proc in self.processes:
            try:
                codes[name] = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = None
        return codes


def placement(n: int) -> dict[str, Any]:
    return {"placement_ref": "E2E-1", "accounts": [{
        "account_ref": f"E2E-{i}", "agency_id": "AG-E2E", "currency": "CNY",
        "balances": {"principal": "5000.00", "interest": "120.50"}, "dpd": 75,
        "debtor": {"name": f"Debtor {i}", "national_id": f"11010119900101{i:04d}",
                   "phones": [f"+86139000{i:05d}"], "timezone": "Asia/Shanghai"}}
        for i in range(n)]}
