"""Fixtures of the billing tests: a real case application producing events, the billing service
on SQLite or PostgreSQL (TEST_DATABASE_URL; a fresh schema per test, dropped afterwards), and
API keys for every role.

`World.sync()` applies the case log to the billing-ledger projection as a consumer would.
`World.clock` is the billing service's one clock (a `ManualClock`, at 2026-12-01 00:00 UTC
unless a test moves it); the service's default zone is CASETRAIL_DEFAULT_TIMEZONE's default,
Asia/Shanghai.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from billing_service.bootstrap import BillingService, build
from billing_service.config import BillingSettings
from billing_service.entrypoints.app import create_app
from case_service.application import (
    AccountInput,
    CaseApplication,
    DebtorInput,
    PlacementBatch,
    placement,
)
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from casetrail.clock import ManualClock
from casetrail.crypto import MasterKey
from casetrail.projections.store import Delivery
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, fresh_database
from fastapi.testclient import TestClient

KEYS = {"bank": (Role.CREDITOR, "BANK"), "bank2": (Role.CREDITOR, "BANK2"),
        "agency": (Role.AGENCY, "AG-A"), "agency_b": (Role.AGENCY, "AG-B"),
        "auditor": (Role.AUDITOR, None), "admin": (Role.ADMIN, None)}
DPD = {"M1": 15, "M2": 45, "M3": 75, "M4+": 120}


def at(day: str, hour: int = 10) -> datetime:
    """An instant on a UTC day (10:00 unless told)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def billing_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty billing database on each backend."""
    with fresh_database(request.param, tmp_path, "billing") as url:
        yield url


class World:
    """A case application (the event source), a billing service, and a key per role."""

    def __init__(self, tmp_path: Path, billing_url: str):
        self.keys = {name: generate_key(role) for name, (role, _) in KEYS.items()}
        self.common = CommonSettings(
            api_keys=json.dumps([KeyEntry(n, hash_key(self.keys[n]), r, t).to_json()
                                 for n, (r, t) in KEYS.items()]),
            master_key=MasterKey.generate_b64())
        self.cases: CaseApplication = build_application(
            CaseSettings(database_url=f"sqlite:///{tmp_path}/case.db"), self.common)
        self.clock = ManualClock(at("2026-12-01", 0))
        self.service: BillingService = build(BillingSettings(database_url=billing_url),
                                             common=self.common, clock=self.clock)
        self.client = TestClient(create_app(common=self.common, service=self.service))
        self.n = 0

    # ------------------------------------------------------------------ case events

    def place(self, *, bucket: str = "M2", amount: str = "10000.00", agency: str = "AG-A",
              placed: str = "2026-01-05", term_end: str = "2026-03-31",
              creditor: str = "BANK", currency: str = "CNY", hour: int = 9) -> UUID:
        """Place one account (at 09:00 UTC unless told); returns its case id."""
        self.n += 1
        receipt, _ = placement.place(self.cases, PlacementBatch(
            creditor_id=creditor, placement_ref=f"P{self.n}", received_at=at(placed, hour),
            request_sha256=f"s{self.n}",
            accounts=[AccountInput(
                index=0, account_ref=f"ACC-{self.n:03d}", currency=currency,
                balances={"principal": Decimal(amount)}, dpd=DPD[bucket], agency_id=agency,
                term_end=date.fromisoformat(term_end),
                debtor=DebtorInput(name="Wang Fang", national_id=f"ID-{self.n}",
                                   phones=("+8613911112222",), address=None, email=None,
                                   timezone="Asia/Shanghai"))]), actor="test")
        return UUID(receipt["accepted"][0]["case_id"])

    def _run(self, case_id: UUID, command: Any) -> None:
        self.cases.execute(case_id, command, expected_version=None, authorize=lambda _: None)

    def pay(self, case_id: UUID, reference: str, amount: str, day: str, *,
            source: str = "agency", hour: int = 10) -> None:
        """Record a payment received on a UTC day."""
        self._run(case_id, lambda c: c.receive_payment(
            reference=reference, amount=Decimal(amount), currency=c.currency, source=source,
            received_at=at(day, hour), method="bank_transfer", actor="test"))

    def reverse(self, case_id: UUID, reference: str, day: str, amount: str | None = None
                ) -> None:
        """Reverse (part of) a payment on a UTC day."""
        self._run(case_id, lambda c: c.reverse_payment(
            reference=reference, amount=None if amount is None else Decimal(amount),
            reason="bounced", reversed_at=at(day, 12), actor="test"))

    def recall(self, case_id: UUID, day: str) -> None:
        """The creditor takes the case back."""
        self._run(case_id, lambda c: c.recall(reason="rotation", recalled_at=at(day, 8),
                                              actor="test"))

    def reassign(self, case_id: UUID, agency: str, day: str, term_end: str) -> None:
        """Move the case to another agency with a new term."""
        self._run(case_id, lambda c: c.reassign(
            to_agency_id=agency, reason="rotation", term_end=date.fromisoformat(term_end),
            reassigned_at=at(day, 8), actor="test"))

    def promise(self, case_id: UUID, promise_id: str, amount: str, day: str, due: str) -> None:
        """Record a promise to pay."""
        self._run(case_id, lambda c: c.promise_to_pay(
            promise_id=promise_id, amount=Decimal(amount), due_date=date.fromisoformat(due),
            promised_at=at(day, 9), actor="test"))

    def break_promise(self, case_id: UUID, promise_id: str, day: str) -> None:
        """Mark a promise broken after its due date."""
        self._run(case_id, lambda c: c.break_promise(promise_id=promise_id, as_of=at(day),
                                                     actor="test"))

    def sync(self) -> None:
        """Apply everything new in the case log to the billing-ledger projection."""
        after = max(0, self.service.ledger.position("feed"))
        while batch := self.cases.events_after(after, 500):
            self.service.ledger.apply("feed", 0, [Delivery(e.position, e) for e in batch])
            after = batch[-1].position

    # ------------------------------------------------------------------ HTTP

    def headers(self, who: str) -> dict[str, str]:
        """The Authorization header of a key."""
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def get(self, who: str, path: str, **params: Any) -> Any:
        """GET as `who`."""
        return self.client.get(path, params=params, headers=self.headers(who))

    def post(self, who: str, path: str, body: dict[str, Any]) -> Any:
        """POST JSON as `who`."""
        return self.client.post(path, json=body, headers=self.headers(who))

    def put(self, who: str, path: str, body: dict[str, Any]) -> Any:
        """PUT JSON as `who`."""
        return self.client.put(path, json=body, headers=self.headers(who))

    @staticmethod
    def contract_body(**overrides: Any) -> dict[str, Any]:
        """A usual contract: M1 12 %, M2 18 %, M3 25 %, M4+ 35 %, from 2026-01-01, no tail,
        no minimum fee, no tax."""
        body: dict[str, Any] = {
            "effective_from": "2026-01-01", "currency": "CNY",
            "rates": {"M1": "0.12", "M2": "0.18", "M3": "0.25", "M4+": "0.35"},
            "tail_days": 0, "creditor_direct_commissionable": True, "minimum_fee": "0",
            "tax_rate": "0"}
        body.update(overrides)
        return body

    @staticmethod
    def lines(invoice: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
        """(kind, amount, commission, commissionable) per line: the arithmetic at a glance."""
        return [(line["kind"], line["amount"], line["commission"], line["commissionable"])
                for line in invoice["lines"]]

    def contract(self, body: dict[str, Any], *, creditor: str = "BANK", agency: str = "AG-A",
                 who: str = "bank") -> dict[str, Any]:
        """Record a contract version (must succeed)."""
        response = self.put(who, f"/v1/contracts/{creditor}/{agency}", body)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    def bill(self, start: str, end: str, *, creditor: str = "BANK", agency: str = "AG-A",
             who: str = "bank", expect: int = 201) -> dict[str, Any]:
        """Run billing for a period (must answer `expect`)."""
        response = self.post(who, "/v1/billing-runs", {
            "creditor_id": creditor, "agency_id": agency, "period_start": start,
            "period_end": end})
        assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def world(tmp_path: Path, billing_db: str) -> Iterator[World]:
    """A world on a fresh billing database."""
    w = World(tmp_path, billing_db)
    yield w
    w.service.close()
    w.cases.close()
