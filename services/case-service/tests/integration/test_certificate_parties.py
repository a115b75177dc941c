# ruff: noqa: RUF001  (Chinese text: its full-width punctuation is meant)
"""The settlement certificate prints the parties' legal details from the billing service's
party records (a real billing app, on its own database), read with the caller's own key: the
creditor and the agency with legal name, unified social credit code and address, and the
record versions in its basis line. The same versions give the same bytes; a new version of
a record gives a new document; no billing service answering is a 503, not a certificate
without its parties."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from billing_service.config import BillingSettings
from billing_service.entrypoints.app import create_app as billing_app
from case_service.adapters.parties import PartiesClient
from case_service.application import CaseApplication
from casetrail.settings import CommonSettings
from fastapi.testclient import TestClient

BANK = {"legal_name": "某某银行股份有限公司", "registered_address": "北京市西城区金融大街 1 号",
        "tax_id": "91110000100006485K",
        "bank_account": {"bank_name": "某某银行总行营业部", "account_name": "某某银行股份有限公司",
                         "account_number": "110060149018000123"},
        "contact_email": "ap@bank.example"}
AGENCY = {"legal_name": "华信资产管理（福建）有限公司",
          "registered_address": "福建省福州市鼓楼区五四路 158 号", "tax_id": "91350100M000100Y43",
          "bank_account": {"bank_name": "招商银行福州分行",
                           "account_name": "华信资产管理（福建）有限公司",
                           "account_number": "5919 0212 3410 601"},
          "contact_email": "finance@huaxin.example"}


def pdf_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        text = "\n".join(document[i].get_textpage().get_text_range()
                          for i in range(len(document)))
        return " ".join(text.split())  # wrapped lines joined
    finally:
        document.close()


@pytest.fixture
def billing(tmp_path: Path, common: CommonSettings, api_keys: dict[str, str],
            application: CaseApplication) -> TestClient:
    """The billing service on SQLite with the same keys; the case service reads its parties."""
    client = TestClient(billing_app(BillingSettings(
        database_url=f"sqlite:///{tmp_path}/billing.db"), common), base_url="http://billing")
    parties = PartiesClient("http://billing")
    parties.client = client
    application.parties = parties
    return client


def settled(as_: Any, placed: str) -> None:
    bank, agency = as_("bank1"), as_("agency_a")
    assert bank.put("/v1/creditors/BANK1/allocation-rules", {
        "buckets": {}, "timezone": "Asia/Shanghai",
        "settlement_limits": {"max_discount_pct": "25", "max_deferral_days": 60}}
    ).status_code == 200
    due = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
    base = f"/v1/cases/{placed}/settlements"
    assert agency.post(base, {"settlement_id": "S1", "kind": "settlement", "amount": "800.00",
                              "due_date": due}).status_code == 201
    assert bank.post(f"{base}/S1/approval", {}).status_code == 201
    assert agency.post(f"/v1/cases/{placed}/payments", {
        "reference": "PAY-1", "amount": "800.00", "currency": "CNY", "source": "agency",
        "received_at": datetime.now(UTC).isoformat()}).status_code == 201


def test_the_certificate_prints_the_parties_of_their_records(
        as_: Any, api_keys: dict[str, str], placed: str, billing: TestClient) -> None:
    keys = {"X-API-Key": api_keys["bank1"]}
    assert billing.put("/v1/parties/creditor/BANK1", json=BANK, headers=keys).status_code == 201
    assert billing.put("/v1/parties/agency/AG-A", json=AGENCY, headers={
        "X-API-Key": api_keys["agency_a"]}).status_code == 201
    settled(as_, placed)
    first = as_("bank1").get(f"/v1/cases/{placed}/certificate")
    assert first.status_code == 200, first.text
    text = pdf_text(first.content)
    for printed in ("某某银行股份有限公司", "91110000100006485K", "北京市西城区金融大街",
                    "华信资产管理（福建）有限公司", "91350100M000100Y43",
                    "creditor record version 1", "agency record version 1"):
        assert printed in text, printed
    assert "110060149018000123" not in text  # a certificate prints no bank account
    digest = hashlib.sha256(first.content).hexdigest()
    assert first.headers["x-content-sha256"] == digest
    # the agency reads the creditor's public part: the same document
    again = as_("agency_a").get(f"/v1/cases/{placed}/certificate")
    assert hashlib.sha256(again.content).hexdigest() == digest
    moved = billing.put("/v1/parties/creditor/BANK1", json={
        **BANK, "registered_address": "北京市西城区金融大街 2 号"}, headers=keys)
    assert moved.status_code == 201
    renewed = as_("bank1").get(f"/v1/cases/{placed}/certificate")
    assert "金融大街 2 号" in pdf_text(renewed.content)
    assert "creditor record version 2" in pdf_text(renewed.content)
    assert renewed.headers["x-content-sha256"] != digest


def test_without_a_record_the_certificate_names_the_ids(
        as_: Any, placed: str, billing: TestClient) -> None:
    settled(as_, placed)
    answer = as_("bank1").get(f"/v1/cases/{placed}/certificate")
    assert answer.status_code == 200
    text = pdf_text(answer.content)
    assert "BANK1" in text
    assert "record version" not in text


def test_no_billing_service_answering_is_a_503(as_: Any, placed: str,
                                               application: CaseApplication) -> None:
    application.parties = PartiesClient("http://127.0.0.1:9", timeout=1.0)
    settled(as_, placed)
    answer = as_("bank1").get(f"/v1/cases/{placed}/certificate")
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "parties_unavailable"
