"""The three services in one process, as a hostile caller meets them: a case application, the
contact and billing services on their own databases, one key per role for all three, and
`sync()` to apply the case log to the contact-log and billing-ledger projections as their
consumers would. `serve()` runs an app under uvicorn on a loopback port (real keep-alive
connections, real HTTP parsing)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from billing_service.bootstrap import BillingService
from billing_service.bootstrap import build as build_billing
from billing_service.config import BillingSettings
from billing_service.entrypoints.app import create_app as billing_app
from case_service.application import CaseApplication
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from case_service.entrypoints.app import create_app as case_app
from casetrail.crypto import MasterKey
from casetrail.projections.store import Delivery
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from contact_service.bootstrap import ContactService
from contact_service.bootstrap import build as build_contact
from contact_service.config import ContactSettings
from contact_service.entrypoints.app import create_app as contact_app
from fastapi import FastAPI
from fastapi.testclient import TestClient

KEYS = {"admin": (Role.ADMIN, None), "auditor": (Role.AUDITOR, None),
        "bank": (Role.CREDITOR, "BANK"), "agency": (Role.AGENCY, "AG-A")}


def ago(**delta: float) -> str:
    """An instant in the past, ISO-8601 with offset."""
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def account(ref: str, *, agency: str = "AG-A", principal: str = "5000.00",
            dpd: int = 45) -> dict[str, Any]:
    """A valid placement row."""
    return {"account_ref": ref, "agency_id": agency, "currency": "CNY",
            "balances": {"principal": principal, "interest": "20.50"}, "dpd": dpd,
            "debtor": {"name": "Wang Fang",
                       "national_id": f"1101011990{abs(hash(ref)) % 10**8:08d}",
                       "phones": ["+86 139 0000 0000"], "timezone": "Asia/Shanghai"}}


class World:
    """Three services, each on its own database (SQLite files in a folder unless `urls`
    names others), sharing keys and a master key."""

    def __init__(self, tmp: Path, urls: dict[str, str] | None = None, **common: Any):
        urls = urls or {name: f"sqlite:///{tmp}/{name}.db"
                        for name in ("case", "contact", "billing")}
        self.keys = {name: generate_key(role) for name, (role, _) in KEYS.items()}
        self.common = CommonSettings(
            api_keys=json.dumps([KeyEntry(n, hash_key(self.keys[n]), r, t).to_json()
                                 for n, (r, t) in KEYS.items()]),
            master_key=MasterKey.generate_b64(), var_dir=tmp / "var", **common)
        case_settings = CaseSettings(database_url=urls["case"])
        self.cases: CaseApplication = build_application(case_settings, self.common)
        self.contact: ContactService = build_contact(
            ContactSettings(database_url=urls["contact"]), common=self.common)
        self.billing: BillingService = build_billing(
            BillingSettings(database_url=urls["billing"]))
        self.apps: dict[str, FastAPI] = {
            "case": case_app(case_settings, self.common, self.cases),
            "contact": contact_app(common=self.common, service=self.contact),
            "billing": billing_app(common=self.common, service=self.billing)}
        self.clients = {name: TestClient(app, raise_server_exceptions=False)
                        for name, app in self.apps.items()}

    def close(self) -> None:
        """Release the databases."""
        self.cases.close()
        self.contact.close()
        self.billing.close()

    def headers(self, who: str = "admin") -> dict[str, str]:
        """The Authorization header of a key."""
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def call(self, service: str, method: str, path: str, who: str = "admin",
             **kw: Any) -> Any:
        """One request to a service as `who`."""
        headers = {**self.headers(who), **kw.pop("headers", {})}
        return self.clients[service].request(method, path, headers=headers, **kw)

    def sync(self) -> int:
        """Apply everything new in the case log to both projections; the events applied."""
        applied = 0
        for store in (self.contact.contact_log, self.billing.ledger):
            after = max(0, store.position("feed"))
            while batch := self.cases.events_after(after, 500):
                store.apply("feed", 0, [Delivery(e.position, e) for e in batch])
                after = batch[-1].position
                applied += len(batch)
        return applied

    def seed(self) -> dict[str, str]:
        """Realistic data in every service; returns the identifiers worth fuzzing around."""
        placed = self.call("case", "POST", "/v1/placements", "bank", json={
            "placement_ref": "P-SEED-1", "accounts": [account("ACC-1"), account("ACC-2")]})
        assert placed.status_code == 201, placed.text
        case_id = placed.json()["accepted"][0]["case_id"]
        other = placed.json()["accepted"][1]["case_id"]
        for path, body in [
            ("contacts", {"contact_id": "C-1", "channel": "phone", "party": "debtor",
                          "outcome": "conversation", "action_code": "PTP",
                          "occurred_at": ago(hours=2), "contact_point": "+86 139 0000 0000"}),
            ("promises", {"promise_id": "PR-1", "amount": "100.00",
                          "due_date": (datetime.now(UTC) + timedelta(days=7)).date().isoformat()}),
            ("payments", {"reference": "PAY-1", "amount": "50.00", "received_at": ago(hours=1)}),
        ]:
            r = self.call("case", "POST", f"/v1/cases/{case_id}/{path}", "agency", json=body)
            assert r.status_code == 201, r.text
        self.sync()
        month_start = datetime.now(UTC).date().replace(day=1)
        contract = self.call("billing", "PUT", "/v1/contracts/BANK/AG-A", "bank", json={
            "effective_from": "2020-01-01", "currency": "CNY",
            "rates": {"M1": "0.12", "M2": "0.18", "M3": "0.25", "M4+": "0.35"}})
        assert contract.status_code == 201, contract.text
        # The month before last: it has ended in every time zone, and last month stays free.
        last_month = (month_start - timedelta(days=1)).replace(day=1)
        before_last = (last_month - timedelta(days=1)).replace(day=1)
        run = self.call("billing", "POST", "/v1/billing-runs", "bank", json={
            "creditor_id": "BANK", "agency_id": "AG-A", "period_start": before_last.isoformat(),
            "period_end": (last_month - timedelta(days=1)).isoformat()})
        assert run.status_code == 201, run.text
        sample = self.call("contact", "POST", "/v1/qa/samples", "agency", json={
            "agency_id": "AG-A", "month": month_start.strftime("%Y-%m"), "seed": "seed-1"})
        assert sample.status_code == 201, sample.text
        return {"case_id": case_id, "other_case_id": other, "placement_ref": "P-SEED-1",
                "promise_id": "PR-1", "reference": "PAY-1", "creditor_id": "BANK",
                "agency_id": "AG-A", "invoice_id": run.json()["invoice_id"],
                "sample_id": sample.json()["sample_id"]}


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run an app under uvicorn (httptools, as `casetrail serve` does) on a free loopback
    port; yields its base URL, stops it afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http="httptools",
                                           lifespan="off", log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
