"""End to end: every service as its own process, HTTP in, results out.

Embedded: case API + contact API + `casetrail consume contact-log` pulling the event feed,
all on SQLite. Kafka: the same plus `casetrail relay`, on PostgreSQL and the real broker.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from casetrail.crypto import MasterKey
from casetrail.security import KeyEntry, Role, generate_key, hash_key

pytestmark = pytest.mark.e2e

KEYS = {"creditor": (Role.CREDITOR, "BANK-E2E"), "agency": (Role.AGENCY, "AG-E2E"),
        "other_agency": (Role.AGENCY, "AG-OTHER"), "auditor": (Role.AUDITOR, None)}


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
            KeyEntry(name, hash_key(self.keys[name]), role, tenant).to_json()
            for name, (role, tenant) in KEYS.items()])
        self.env["CASE_EVENTS_API_KEY"] = self.keys["auditor"]
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def cli(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "casetrail.cli", *args], env=self.env,
                       check=True, capture_output=True, timeout=120)

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


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[System]:
    env = {**os.environ, "CASETRAIL_VAR_DIR": str(tmp_path / "var"),
           "CASETRAIL_MASTER_KEY": MasterKey.generate_b64(), "CASETRAIL_LOG_JSON": "true",
           "CASE_DATABASE_URL": f"sqlite:///{tmp_path}/case.db",
           "CONTACT_DATABASE_URL": f"sqlite:///{tmp_path}/contact.db",
           "CASE_EVENTS_WAIT_SECONDS": "1"}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.pop("DATABASE_URL", None)
    system = System(tmp_path, env)
    yield system
    system.stop()


@pytest.fixture
def on_kafka(tmp_path: Path, kafka_bootstrap: str, pg_schemas: Callable[[str], str]
             ) -> Iterator[System]:
    env = {**os.environ, "CASETRAIL_VAR_DIR": str(tmp_path / "var"),
           "CASETRAIL_MASTER_KEY": MasterKey.generate_b64(),
           "CASE_DATABASE_URL": pg_schemas("e2e_case"),
           "CONTACT_DATABASE_URL": pg_schemas("e2e_contact"),
           "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "KAFKA_TOPIC": f"e2e-{os.urandom(4).hex()}"}
    env.pop("DATABASE_URL", None)
    system = System(tmp_path, env)
    yield system
    system.stop()


def placement(n: int) -> dict[str, Any]:
    return {"placement_ref": "E2E-1", "accounts": [{
        "account_ref": f"E2E-{i}", "agency_id": "AG-E2E", "currency": "CNY",
        "balances": {"principal": "5000.00", "interest": "120.50"}, "dpd": 75,
        "debtor": {"name": f"Debtor {i}", "national_id": f"11010119900101{i:04d}",
                   "phones": [f"+86139000{i:05d}"], "timezone": "Asia/Shanghai"}}
        for i in range(n)]}


def run_scenario(system: System, *, relay: bool) -> None:
    system.cli("migrate", "case")  # once, before any process starts (as in production)
    system.cli("migrate", "contact")
    case_url = system.serve("case")
    contact_url = system.serve("contact")
    system.env["CASE_EVENTS_URL"] = case_url
    workers = {"consumer": system.start_worker("consumer", "consume", "contact-log")}
    if relay:
        workers["relay"] = system.start_worker("relay", "relay")
    creditor, agency = system.client(case_url, "creditor"), system.client(case_url, "agency")

    placed = creditor.post("/v1/placements", json=placement(20))
    assert placed.status_code == 201, placed.text
    case_ids = [row["case_id"] for row in placed.json()["accepted"]]
    occurred = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    for i, case_id in enumerate(case_ids):
        r = agency.post(f"/v1/cases/{case_id}/contacts", json={
            "contact_id": f"call-{i}", "channel": "phone", "direction": "outbound",
            "party": "debtor" if i % 2 else "none", "outcome": "conversation" if i % 2
            else "no_answer", "action_code": "PTP" if i % 2 else "NOANS",
            "agent_id": "agent-1", "recording_ref": f"rec-{i}",
            "contact_point": f"+86139000{i:05d}", "occurred_at": occurred})
        assert r.status_code == 201, r.text

    contacts = system.client(contact_url, "agency")
    deadline = time.monotonic() + 90
    listed: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        system.assert_running()
        listed = contacts.get("/v1/contacts", params={"limit": 100}).json()["contacts"]
        if len(listed) == 20:
            break
        time.sleep(0.3)
    assert len(listed) == 20, system.log("consumer")
    assert {c["recording_ref"] for c in listed} == {f"rec-{i}" for i in range(20)}
    # Numbers never leave the case service: an opaque reference and a masked hint do.
    assert all(c["contact_point"].startswith("cp-") for c in listed)
    assert all(c["contact_point_hint"].startswith("*") for c in listed)
    nothing = system.client(contact_url, "other_agency").get("/v1/contacts").json()
    assert nothing["contacts"] == []  # another agency sees none of them
    audited = system.client(contact_url, "auditor").get(
        "/v1/contacts", params={"action_code": "PTP"}).json()["contacts"]
    assert len(audited) == 10
    history = system.client(case_url, "auditor").get(f"/v1/cases/{case_ids[0]}/history").json()
    contacted = [e for e in history["events"] if e["type"] == "Contacted"]
    assert contacted[0]["data"]["contact_point"] == "+8613900000000"  # auditors may read it

    for name, ops in workers.items():  # workers report readiness and metrics on their port
        ready = httpx.get(f"{ops}/readyz", timeout=5)
        assert ready.status_code == 200, (name, ready.text)
        metrics = httpx.get(f"{ops}/metrics", timeout=5).text
        expected = "casetrail_relay_position" if name == "relay" else \
            'casetrail_consumer_events_applied_total{projection="contact-log"} 40.0'
        assert expected in metrics, name
    case_metrics = system.client(case_url, "auditor").get("/metrics").text
    assert 'casetrail_events_appended_total{type="Contacted"} 20.0' in case_metrics

    # SIGTERM: everything finishes the work in hand and exits by itself (uvicorn re-raises the
    # signal after its graceful shutdown, so servers report -SIGTERM; workers exit 0).
    codes = system.stop()
    assert None not in codes.values(), f"killed after the grace period: {codes}"
    assert all(code in (0, -signal.SIGTERM) for code in codes.values()), codes
    for worker in ("consumer", "relay"):
        assert codes.get(worker, 0) == 0, system.log(worker)


def test_contacts_flow_from_the_case_api_to_the_contact_log_on_the_embedded_transport(
        embedded: System) -> None:
    run_scenario(embedded, relay=False)


@pytest.mark.kafka
def test_contacts_flow_from_the_case_api_to_the_contact_log_through_kafka(
        on_kafka: System) -> None:
    run_scenario(on_kafka, relay=True)
