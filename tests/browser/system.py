"""The whole system for the browser tests: the three services, their consumers and the
console, each its own process (as tests/e2e starts them), with keys for every role and a
little history to show: placements with two agencies, contacts, a promise, payments, a
cease-contact request, contracts, an invoice and a signed checkpoint."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from casetrail.clock import DEFAULT_TIMEZONE
from casetrail.crypto import MasterKey
from casetrail.security import KeyEntry, Role, generate_key, hash_key

from tests.e2e.harness import System, free_port

# The zone of the seeded contracts (the billing service's default), whose days billing
# periods are: "yesterday" is yesterday there, not in UTC (from 16:00 UTC Shanghai is a day
# ahead).
CONTRACT_ZONE = ZoneInfo(DEFAULT_TIMEZONE)


def contract_yesterday() -> date:
    """Yesterday in the contracts' zone: the last day of an ended billing period."""
    return datetime.now(CONTRACT_ZONE).date() - timedelta(days=1)


CREDITOR, AGENCY_A, AGENCY_B = "BANK-WEB", "AG-WEB-A", "AG-WEB-B"
ROLES = {"creditor": (Role.CREDITOR, CREDITOR), "agency": (Role.AGENCY, AGENCY_A),
         "agency_b": (Role.AGENCY, AGENCY_B), "auditor": (Role.AUDITOR, None),
         "admin": (Role.ADMIN, None)}
DEBTORS = ["张三", "李四", "王五", "赵六", "钱七", "孙八"]


class ConsoleSystem(System):
    """Services, consumers and the console on SQLite and the embedded transport."""

    def __init__(self, tmp: Path):
        env = {**os.environ, "CASETRAIL_VAR_DIR": str(tmp / "var"),
               "CASETRAIL_MASTER_KEY": MasterKey.generate_b64(), "CASETRAIL_LOG_JSON": "true",
               "CASE_DATABASE_URL": f"sqlite:///{tmp}/case.db",
               "CONTACT_DATABASE_URL": f"sqlite:///{tmp}/contact.db",
               "BILLING_DATABASE_URL": f"sqlite:///{tmp}/billing.db",
               "CONSOLE_DATABASE_URL": f"sqlite:///{tmp}/console.db",
               "CASE_EVENTS_WAIT_SECONDS": "1"}
        for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL"):
            env.pop(name, None)
        super().__init__(tmp, env)
        # System made keys for the e2e tier's roles; the console's tests have their own.
        self.keys = {name: generate_key(role) for name, (role, _) in ROLES.items()}
        self.env["CASETRAIL_API_KEYS"] = json.dumps([
            KeyEntry(name, hash_key(self.keys[name]), role, tenant).to_json()
            for name, (role, tenant) in ROLES.items()])
        self.env["CASE_EVENTS_API_KEY"] = self.keys["auditor"]
        self.urls: dict[str, str] = {}
        self.verifier_key = ""
        self.case_ids: list[str] = []

    def start_all(self) -> None:
        """Every service, the consumers and the console, started together (each creates
        its own SQLite schema at start-up), then waited for until all are ready."""
        ports = {name: free_port() for name in ("case", "contact", "billing", "console")}
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        self.env.update({"CASE_EVENTS_URL": self.urls["case"],
                         "CONSOLE_CASE_URL": self.urls["case"],
                         "CONSOLE_CONTACT_URL": self.urls["contact"],
                         "CONSOLE_BILLING_URL": self.urls["billing"]})
        for name, port in ports.items():
            self.start(name, "serve", name, "--port", str(port))
        for name in ports:
            self.wait_ready(name)
        self.start_worker("contact-log", "consume", "contact-log")
        self.start_worker("billing-ledger", "consume", "billing-ledger")

    def wait_ready(self, name: str) -> None:
        """Until a started service answers /readyz."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            self.assert_running()
            try:
                if httpx.get(f"{self.urls[name]}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{name} did not become ready: {self.log(name)}")

    def serve_console(self, name: str, **env: str) -> str:
        """Another console process (other settings), on a port of its own."""
        port = free_port()
        self.start(name, "serve", "console", "--port", str(port), **env)
        self.urls[name] = f"http://127.0.0.1:{port}"
        self.wait_ready(name)
        return self.urls[name]

    def api(self, service: str, who: str) -> httpx.Client:
        """A client of a service with a role's key."""
        return self.client(self.urls[service], who)

    # ------------------------------------------------------------------------------ seed

    def seed(self) -> None:
        """The history the pages show; then a signed checkpoint over all of it."""
        creditor, agency, agency_b = (self.api("case", w) for w in ("creditor", "agency",
                                                                   "agency_b"))
        accounts = []
        for i, name in enumerate(DEBTORS):
            accounts.append({
                "account_ref": f"WEB-{i + 1:03d}", "agency_id": AGENCY_A if i < 4 else AGENCY_B,
                "currency": "CNY", "dpd": (20, 45, 75, 100, 45, 75)[i],
                "balances": {"principal": f"{(i + 1) * 5000}.00", "interest": "120.50"},
                "product": "credit_card",
                "debtor": {"name": name, "national_id": f"1101011990010{i + 1:05d}",
                           "phones": [f"+86139{i + 1:08d}"], "address": "北京市朝阳区某路 1 号",
                           "timezone": "Asia/Shanghai"}})
        placed = creditor.post("/v1/placements", json={"placement_ref": "WEB-P1",
                                                       "accounts": accounts})
        assert placed.status_code == 201, placed.text
        self.case_ids = [row["case_id"] for row in placed.json()["accepted"]]
        time.sleep(1.1)  # facts recorded below happened after the placement, in the past
        earlier = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        for i, case_id in enumerate(self.case_ids[:3]):
            answer = agency.post(f"/v1/cases/{case_id}/contacts", json={
                "contact_id": f"seed-call-{i}", "channel": "phone", "direction": "outbound",
                "party": "debtor", "outcome": "conversation", "action_code": "PTP",
                "agent_id": "agent-7", "recording_ref": f"rec-{i}",
                "contact_point": f"+86139{i + 1:08d}", "occurred_at": earlier})
            assert answer.status_code == 201, answer.text
        due = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
        answer = agency.post(f"/v1/cases/{self.case_ids[0]}/promises", json={
            "promise_id": "seed-promise-1", "amount": "1000.00", "due_date": due})
        assert answer.status_code == 201, answer.text
        for case_id, client, ref, amount in ((self.case_ids[0], agency, "SEED-PAY-1", "1000.00"),
                                             (self.case_ids[1], agency, "SEED-PAY-2", "2500.00"),
                                             (self.case_ids[4], agency_b, "SEED-PAY-3", "800.00")):
            answer = client.post(f"/v1/cases/{case_id}/payments", json={
                "reference": ref, "amount": amount, "currency": "CNY", "source": "agency",
                "received_at": earlier, "method": "bank_transfer"})
            assert answer.status_code == 201, answer.text
        # Money reported late: received yesterday (noon in the contracts' zone), before the
        # placement, so it earns nothing, but it is a line of the last (ended) billing
        # period, which the seed invoices.
        received = datetime.combine(contract_yesterday(), clock_time(12), CONTRACT_ZONE)
        answer = agency.post(f"/v1/cases/{self.case_ids[2]}/payments", json={
            "reference": "SEED-PAY-0", "amount": "200.00", "currency": "CNY",
            "source": "agency", "method": "cash", "received_at": received.isoformat()})
        assert answer.status_code == 201, answer.text
        answer = agency.post(f"/v1/cases/{self.case_ids[3]}/disputes",
                             json={"reason": "债务人称已全额还清 / says it was paid in full"})
        assert answer.status_code == 201, answer.text
        self.seed_billing()
        signed = self.cli("audit", "checkpoint")
        self.verifier_key = json.loads(signed.stdout)["verifier_key"]

    def seed_billing(self) -> None:
        """Contracts for both agencies, and agency A's invoice for the last ended period
        (up to yesterday: a period is invoiced once it has ended), once the ledger has its
        line."""
        billing = self.api("billing", "creditor")
        for agency_id, rate in ((AGENCY_A, "0.18"), (AGENCY_B, "0.20")):
            answer = billing.put(f"/v1/contracts/{CREDITOR}/{agency_id}", json={
                "effective_from": "2026-01-01", "currency": "CNY",
                "rates": {"M1": "0.12", "M2": rate, "M3": "0.25", "M4+": "0.30"},
                "minimum_fee": "300.00", "tax_rate": "0.06"})
            assert answer.status_code in (200, 201), answer.text
        yesterday = contract_yesterday()
        period = {"creditor_id": CREDITOR, "agency_id": AGENCY_A,
                  "period_start": yesterday.replace(day=1).isoformat(),
                  "period_end": yesterday.isoformat()}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            preview = billing.get("/v1/billing-runs/preview", params=period)
            lines = preview.json().get("content", {}).get("lines", []) \
                if preview.status_code == 200 else []
            if any(line.get("reference") == "SEED-PAY-0" for line in lines):
                break
            time.sleep(0.3)
        else:
            raise AssertionError(f"no ledger lines yet: {self.log('billing-ledger')}")
        invoice = billing.post("/v1/billing-runs", json=period)
        assert invoice.status_code == 201, invoice.text
        self.invoice_id = invoice.json()["invoice_id"]

    def wait_for_contact_log(self, case_id: str, version: int) -> None:
        """Until the contact service has projected the case up to `version`."""
        contact = self.api("contact", "auditor")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answer = contact.get(f"/v1/cases/{case_id}/contact-permission",
                                 params={"channel": "letter", "min_version": version})
            if answer.status_code == 200:
                return
            time.sleep(0.2)
        raise AssertionError(self.log("contact-log"))

    def summary(self) -> dict[str, Any]:
        """What a person needs to look at the running system."""
        return {"urls": self.urls, "keys": self.keys, "verifier_key": self.verifier_key,
                "case_ids": self.case_ids}
