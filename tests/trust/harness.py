"""One case application and the contact and billing services beside it, with HTTP clients.

The case service is the event source (commands run through its application, as its routes
run them); the contact and billing services are built from their own settings, with their own
databases, and read the case log only through envelopes, as their consumers do. `feed()`
applies what is new in the log to both services' projections.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from billing_service.bootstrap import build as build_billing
from billing_service.config import BillingSettings
from billing_service.entrypoints.app import create_app as billing_app
from case_service.application import (
    AccountInput,
    CaseApplication,
    DebtorInput,
    PlacementBatch,
    placement,
)
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from case_service.entrypoints.app import create_app as case_app
from casetrail.clock import ManualClock
from casetrail.crypto import MasterKey
from casetrail.projections.store import Delivery, ProjectionStore
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from contact_service.bootstrap import build as build_contact
from contact_service.config import ContactSettings
from contact_service.entrypoints.app import create_app as contact_app
from fastapi.testclient import TestClient

KEYS = {"bank": (Role.CREDITOR, "BANK"), "bank2": (Role.CREDITOR, "BANK2"),
        "ag_a": (Role.AGENCY, "AG-A"), "ag_b": (Role.AGENCY, "AG-B"),
        "auditor": (Role.AUDITOR, None), "admin": (Role.ADMIN, None)}
DPD = {"M1": 15, "M2": 45, "M3": 75, "M4+": 120}


def at(day: str, hour: int = 10) -> datetime:
    """An instant on a UTC day."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


class Services:
    """The three services on one case log."""

    def __init__(self, tmp: Path, case_url: str, contact_url: str, billing_url: str,
                 clock: ManualClock | None = None):
        self.keys = {name: generate_key(role) for name, (role, _) in KEYS.items()}
        self.common = CommonSettings(
            api_keys=json.dumps([KeyEntry(n, hash_key(self.keys[n]), r, t).to_json()
                                 for n, (r, t) in KEYS.items()]),
            master_key=MasterKey.generate_b64(), var_dir=tmp / "var")
        self.clock = clock or ManualClock(datetime.now(UTC))
        self.case_settings = CaseSettings(database_url=case_url)
        self.cases: CaseApplication = build_application(self.case_settings, self.common)
        self.contact_service = build_contact(ContactSettings(database_url=contact_url),
                                     common=self.common, clock=self.clock)
        self.billing_service = build_billing(BillingSettings(database_url=billing_url),
                                             common=self.common, clock=self.clock)
        self.case_asgi = case_app(self.case_settings, self.common, application=self.cases)
        self.clients = {
            "case": TestClient(self.case_asgi),
            "contact": TestClient(contact_app(common=self.common, service=self.contact_service)),
            "billing": TestClient(billing_app(common=self.common, service=self.billing_service)),
        }
        self.n = 0

    def close(self) -> None:
        """Release every connection."""
        for client in self.clients.values():
            client.close()
        self.contact_service.close()
        self.billing_service.close()
        self.cases.close()

    # ------------------------------------------------------------------ the case log

    @property
    def projections(self) -> list[ProjectionStore]:
        """The contact-log and billing-ledger stores."""
        return [self.contact_service.contact_log, self.billing_service.ledger]

    def feed(self, page: int = 500) -> None:
        """Apply everything new in the case log to both services' projections."""
        for store in self.projections:
            after = max(0, store.position("feed"))
            while batch := self.cases.events_after(after, page):
                store.apply("feed", 0, [Delivery(e.position, e) for e in batch])
                after = batch[-1].position

    def place(self, *, agency: str = "AG-A", placed: str = "2026-01-05",
              amount: str = "10000.00", bucket: str = "M2", creditor: str = "BANK",
              term_end: str = "2026-12-31", national_id: str | None = None) -> UUID:
        """Place one account; returns its case id."""
        self.n += 1
        receipt, _ = placement.place(self.cases, PlacementBatch(
            creditor_id=creditor, placement_ref=f"P{self.n}", received_at=at(placed, 9),
            request_sha256=f"s{self.n}",
            accounts=[AccountInput(
                index=0, account_ref=f"ACC-{self.n:03d}", currency="CNY",
                balances={"principal": Decimal(amount)}, dpd=DPD[bucket], agency_id=agency,
                term_end=date.fromisoformat(term_end),
                debtor=DebtorInput(name="张三", national_id=national_id or f"ID-{self.n}",
                                   phones=("+8613911112222",), address=None, email=None,
                                   timezone="Asia/Shanghai"))]), actor="test")
        return UUID(receipt["accepted"][0]["case_id"])

    def run(self, case_id: UUID, command: Any) -> Any:
        """Run a domain command on a case, as the case service's routes do."""
        return self.cases.execute(case_id, command, expected_version=None,
                                  authorize=lambda _: None)

    def contact(self, case_id: UUID, contact_id: str, when: datetime, *,
                party: str = "debtor", outcome: str = "conversation") -> None:
        """Record a phone contact by the agency holding the case."""
        self.run(case_id, lambda c: c.record_contact(
            contact_id=contact_id, channel="phone", direction="outbound", party=party,
            outcome=outcome, action_code="TALK", agent_id="agent-1", recording_ref=None,
            contact_point=None, occurred_at=when, note=None, actor="test"))

    def pay(self, case_id: UUID, reference: str, amount: str, when: datetime, *,
            source: str = "agency") -> None:
        """Record a payment."""
        self.run(case_id, lambda c: c.receive_payment(
            reference=reference, amount=Decimal(amount), currency="CNY", source=source,
            received_at=when, method="bank_transfer", actor="test"))

    def reverse(self, case_id: UUID, reference: str, when: datetime) -> None:
        """Reverse a whole payment."""
        self.run(case_id, lambda c: c.reverse_payment(
            reference=reference, amount=None, reason="bounced", reversed_at=when, actor="test"))

    def promise(self, case_id: UUID, promise_id: str, amount: str, when: datetime,
                due: str) -> None:
        """Record a promise to pay."""
        self.run(case_id, lambda c: c.promise_to_pay(
            promise_id=promise_id, amount=Decimal(amount), due_date=date.fromisoformat(due),
            promised_at=when, actor="test"))

    def reassign(self, case_id: UUID, agency: str, when: datetime) -> None:
        """Move the case to another agency."""
        self.run(case_id, lambda c: c.reassign(
            to_agency_id=agency, reason="rotation", term_end=None, reassigned_at=when,
            actor="test"))

    # ------------------------------------------------------------------ HTTP

    def get(self, service: str, who: str, path: str, **params: Any) -> Any:
        """GET on a service as `who`; asserts a 200 and returns the JSON."""
        response = self.clients[service].get(
            path, params=params, headers={"Authorization": f"Bearer {self.keys[who]}"})
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, service: str, who: str, path: str, body: dict[str, Any]) -> Any:
        """POST JSON on a service as `who`; returns the response."""
        return self.clients[service].post(
            path, json=body, headers={"Authorization": f"Bearer {self.keys[who]}"})

    def put(self, service: str, who: str, path: str, body: dict[str, Any]) -> Any:
        """PUT JSON on a service as `who`; returns the response."""
        return self.clients[service].put(
            path, json=body, headers={"Authorization": f"Bearer {self.keys[who]}"})
