"""Makes the databases of tests/migrations/data: what casetrail wrote before its schemas had
migrations (main at c0694df, 2026-12-06), so `test_upgrade_from_old_main.py` can upgrade
them to head and check nothing is lost.

Run it with the code of that commit, not today's:

    git worktree add /tmp/oldmain c0694df
    cd /tmp/oldmain && UV_PROJECT_ENVIRONMENT=/tmp/oldmain/.venv uv sync --frozen --all-packages
    /tmp/oldmain/.venv/bin/python <this file> <out folder> [postgresql://... base URL]

It writes case.sql, contact.sql and billing.sql (SQLite dumps) and, given a PostgreSQL
server, case.pg.sql, contact.pg.sql and billing.pg.sql (pg_dump of one schema each, the
schema named oldmain_<service> so a test can rename it).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from billing_service.bootstrap import build as build_billing
from billing_service.config import BillingSettings
from billing_service.entrypoints.app import create_app as billing_app
from case_service.application import AccountInput, DebtorInput, PlacementBatch
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from casetrail.projections.store import Delivery
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from contact_service.bootstrap import build as build_contact
from contact_service.config import ContactSettings
from contact_service.entrypoints.app import create_app as contact_app
from fastapi.testclient import TestClient

AT = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)
# Fixed keys (test data only), so the upgraded databases open with today's code: the same
# master key unwraps the debtors' data keys, the same signing key verifies the checkpoint.
MASTER_KEY = "b2xkLW1haW4tZml4dHVyZS1tYXN0ZXIta2V5LTMyYiE="
AUDIT_KEY = "11" * 32
KEYS = {"bank": (Role.CREDITOR, "BANK"), "admin": (Role.ADMIN, None),
        "agency": (Role.AGENCY, "AG-A")}


def make(urls: dict[str, str]) -> None:
    keys = {n: generate_key(r) for n, (r, _) in KEYS.items()}
    common = CommonSettings(
        api_keys=json.dumps([KeyEntry(n, hash_key(keys[n]), r, t).to_json()
                             for n, (r, t) in KEYS.items()]),
        master_key=MASTER_KEY, audit_signing_key=AUDIT_KEY)
    cases = build_application(CaseSettings(database_url=urls["case"]), common)
    cases.set_allocation_rules("BANK", {"buckets": {"M2": [{"agency_id": "AG-A",
                                                            "weight": 1}]}}, "admin")
    receipt, _ = cases.place(PlacementBatch(
        creditor_id="BANK", placement_ref="P-OLD", received_at=AT, request_sha256="old",
        accounts=[AccountInput(
            index=i, account_ref=f"OLD-{i}", currency="CNY",
            balances={"principal": Decimal("1000.00")}, dpd=45, agency_id=None,
            term_end=date(2027, 6, 30),
            debtor=DebtorInput(name="张三", national_id=f"ID-OLD-{i}", phones=("+8613800000000",),
                               address=None, email=None, timezone="Asia/Shanghai"))
            for i in range(3)]), actor="creditor:BANK:bank")
    ids = [uuid.UUID(r["case_id"]) for r in receipt["accepted"]]

    def run(case_id: uuid.UUID, command: Any) -> None:
        cases.execute(case_id, command, expected_version=None, authorize=lambda _: None)

    run(ids[0], lambda c: c.record_contact(
        contact_id="K1", channel="phone", direction="outbound", party="debtor",
        outcome="conversation", action_code="PTP", agent_id="agent-1", recording_ref="r1",
        contact_point=cases.contact_point(c, "+8613800000000"), occurred_at=AT + timedelta(hours=1),
        note=None, actor="agency:AG-A:agency"))
    run(ids[0], lambda c: c.promise_to_pay(promise_id="P1", amount=Decimal("300.00"),
                                           due_date=date(2026, 10, 9),
                                           promised_at=AT + timedelta(hours=2), actor="agency"))
    run(ids[0], lambda c: c.receive_payment(reference="PAY-1", amount=Decimal("300.00"),
                                            currency="CNY", source="agency",
                                            received_at=AT + timedelta(days=1), method=None,
                                            actor="agency"))
    run(ids[0], lambda c: c.reverse_payment(reference="PAY-1", amount=None, reason="bounced",
                                            reversed_at=AT + timedelta(days=2), actor="bank"))
    run(ids[1], lambda c: c.reassign(to_agency_id="AG-B", reason="rotation", term_end=None,
                                     reassigned_at=AT + timedelta(days=3), actor="bank"))
    run(ids[2], lambda c: c.recall(reason="rotation", recalled_at=AT + timedelta(days=4),
                                   actor="bank"))
    cases.audit.checkpoint()
    events = cases.events_after(0, 1000)

    contact = build_contact(ContactSettings(database_url=urls["contact"]), common=common)
    client = TestClient(contact_app(common=common, service=contact))
    headers = {"Authorization": f"Bearer {keys['admin']}"}
    assert client.post("/v1/creditors/BANK/policy", json={"pack_id": "cn-gbt-45251-2025"},
                       headers=headers).status_code == 201
    contact.contact_log.apply("feed", 0, [Delivery(e.position, e) for e in events])
    sample = client.post("/v1/qa/samples", json={"agency_id": "AG-A", "month": "2026-10",
                                                 "seed": "old"}, headers=headers)
    assert sample.status_code == 201, sample.text

    billing = build_billing(BillingSettings(database_url=urls["billing"]))
    client = TestClient(billing_app(common=common, service=billing))
    headers = {"Authorization": f"Bearer {keys['bank']}"}
    for agency in ("AG-A", "AG-B"):
        assert client.put(f"/v1/contracts/BANK/{agency}", headers=headers, json={
            "effective_from": "2026-01-01", "currency": "CNY", "rates": {"M2": "0.18"},
            "tail_days": 10, "creditor_direct_commissionable": True, "minimum_fee": "0",
            "tax_rate": "0.06"}).status_code == 201
    billing.ledger.apply("feed", 0, [Delivery(e.position, e) for e in events])
    run_ = client.post("/v1/billing-runs", headers=headers, json={
        "creditor_id": "BANK", "agency_id": "AG-A", "period_start": "2026-10-01",
        "period_end": "2026-10-31"})
    assert run_.status_code == 201, run_.text
    cases.close()
    contact.close()
    billing.close()


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    urls = {name: f"sqlite:///{out}/{name}.db" for name in ("case", "contact", "billing")}
    make(urls)
    for name in urls:
        with sqlite3.connect(out / f"{name}.db") as db:
            (out / f"{name}.sql").write_text("\n".join(db.iterdump()) + "\n", encoding="utf-8")
        for suffix in ("", "-wal", "-shm"):
            (out / f"{name}.db{suffix}").unlink(missing_ok=True)
    if len(sys.argv) > 2:
        base = sys.argv[2]
        urls = {name: f"{base}?schema=oldmain_{name}" for name in urls}
        make(urls)
        for name in urls:
            dump = subprocess.run(["pg_dump", "--no-owner", "--no-privileges",
                                   "--schema", f"oldmain_{name}", base.replace(
                                       "postgresql://", "postgresql://", 1)],
                                  check=True, capture_output=True, text=True).stdout
            (out / f"{name}.pg.sql").write_text(dump, encoding="utf-8")


if __name__ == "__main__":
    main()
