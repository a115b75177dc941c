# ruff: noqa: RUF001  (Chinese text: its full-width punctuation is meant)
"""End to end, issue 21, the billing side: party records, legal fees, a ledger rebuild.

Every service as a process (case, contact, billing, the contact-log and billing-ledger
consumers, the relay on Kafka), HTTP in, documents out: the settlement certificate printing
the parties kept by the billing service, a law firm's stage fees and commission on what a
billing run would bill, an invoice in JSON, CSV and PDF with its frozen parties, and a rebuild
of the billing ledger that verifies and leaves the invoice and the preview as they were
(docs/billing.md "Legal fees", "Billing runs", docs/parties.md, docs/operations-guide.md).

A run is refused until its period has ended (422 `period_not_ended`) and no fact can be dated
before its case's placement, so today's lines are read from the preview of the period that
includes today (`provisional`), and the invoice exported is the run of yesterday, which ended.
At the end, `casetrail billing run` two days ahead (`CASETRAIL_CLOCK_OFFSET=P2D`) bills today:
the invoice with the stage fees is the one the preview showed, to the hash.
"""

from __future__ import annotations

import csv
import hashlib
import io
import signal
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pypdfium2
import pytest

from tests.e2e.harness import System
from tests.e2e.test_operations import (
    Run,
    clear_of_midnight,
    created,
    eventually,
    iso,
    now,
    rebuild,
    start,
)

pytestmark = pytest.mark.e2e

CREDITOR, AGENCY, OTHER = "BANK-E2E", "AG-E2E", "AG-OTHER"
ZONE = "Asia/Shanghai"
BANK_TAX_ID, AGENCY_TAX_ID, FIRM_TAX_ID = (
    "91110000100006485K", "91350100M000100Y43", "9144030071526726XG")
BANK = {"legal_name": "某某银行股份有限公司", "registered_address": "北京市西城区金融大街 1 号",
        "tax_id": BANK_TAX_ID,
        "bank_account": {"bank_name": "某某银行总行营业部", "account_name": "某某银行股份有限公司",
                         "account_number": "110060149018000123"},
        "contact_email": "ap@bank.example"}
AGENCY_PARTY = {"legal_name": "华信资产管理（福建）有限公司",
                "registered_address": "福建省福州市鼓楼区五四路 158 号", "tax_id": AGENCY_TAX_ID,
                "bank_account": {"bank_name": "招商银行福州分行",
                                 "account_name": "华信资产管理（福建）有限公司",
                                 "account_number": "5919 0212 3410 601"},
                "contact_email": "finance@huaxin.example"}
FIRM_PARTY = {"legal_name": "北京某某律师事务所", "registered_address": "北京市朝阳区建国路 8 号",
              "tax_id": FIRM_TAX_ID,
              "bank_account": {"bank_name": "工商银行北京分行",
                               "account_name": "北京某某律师事务所",
                               "account_number": "0200 0012 3456 789"},
              "contact_email": "billing@lawfirm.example"}
RULES: dict[str, Any] = {
    "buckets": {"M3": [{"agency_id": AGENCY, "weight": 1}]}, "timezone": ZONE,
    "settlement_limits": {"max_discount_pct": "20", "max_deferral_days": 60}}
FEES = {"filed": "800.00", "judgment": "1200.00"}
DOCKET = "(2026)京0105民初7号"


def today() -> date:
    return datetime.now(ZoneInfo(ZONE)).date()


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def pdf_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        text = "\n".join(document[i].get_textpage().get_text_range()
                         for i in range(len(document)))
        return " ".join(text.split())
    finally:
        document.close()


class Billing:
    """The billing process and its ledger consumer's ops endpoints, beside a Run."""

    def __init__(self, run: Run, url: str, ops: str):
        self.run, self.url, self.ops = run, url, ops

    def client(self, who: str) -> httpx.Client:
        return self.run._client(self.url, who)

    def consumed(self) -> int:
        try:
            metrics = httpx.get(f"{self.ops}/metrics", timeout=5).text
        except httpx.HTTPError:
            return -1
        total = 0
        for line in metrics.splitlines():
            if line.startswith(("casetrail_consumer_events_applied_total",
                                "casetrail_consumer_duplicates_total")) \
                    and 'projection="billing-ledger"' in line:
                total += int(float(line.rsplit(" ", 1)[1]))
        return total


def start_all(system: System, *, relay: bool, transport: str, billing_db: str
              ) -> tuple[Run, Billing]:
    """Billing first (the case service prints its parties), then case and contact with their
    consumers (test_operations.start), then the billing-ledger consumer."""
    system.env["BILLING_DATABASE_URL"] = billing_db
    system.cli("migrate", "billing")
    billing_url = system.serve("billing")
    system.env["CASE_BILLING_URL"] = billing_url
    run = start(system, relay=relay, transport=transport)
    ops = system.start_worker("billing-consumer", "consume", "billing-ledger")
    return run, Billing(run, billing_url, ops)


# ---------------------------------------------------------------------------- 1. parties


def parties(run: Run, billing: Billing) -> str:
    """Each party puts its own record; the settled case's certificate prints them. Returns
    the certificate's hash."""
    created(billing.client("creditor").put(f"/v1/parties/creditor/{CREDITOR}", json=BANK))
    created(billing.client("agency").put(f"/v1/parties/agency/{AGENCY}", json=AGENCY_PARTY))
    created(billing.client("other_agency").put(f"/v1/parties/agency/{OTHER}",
                                               json=FIRM_PARTY))
    assert billing.client("agency").put(f"/v1/parties/agency/{OTHER}",
                                        json=AGENCY_PARTY).status_code == 403

    creditor, agency = run.case("creditor"), run.case("agency")
    ok(creditor.put(f"/v1/creditors/{CREDITOR}/allocation-rules", json=RULES))
    placed = ok(creditor.post("/v1/placements", json={"placement_ref": "BILL-1", "accounts": [{
        "account_ref": f"BILL-{name}", "agency_id": AGENCY, "currency": "CNY",
        "balances": {"principal": amount}, "dpd": 75,
        "debtor": {"name": debtor, "national_id": f"11010119900101{i:04d}",
                   "phones": [f"+86 139 0000 {i:04d}"], "timezone": ZONE}}
        for i, (name, amount, debtor) in enumerate(
            [("settle", "1000.00", "刘洋"), ("legal", "5000.00", "李娜")])]}), 201)
    run.ids = {row["account_ref"].removeprefix("BILL-"): row["case_id"]
               for row in placed["accepted"]}
    assert set(run.ids) == {"settle", "legal"}, placed

    case_id = run.ids["settle"]
    due = (today() + timedelta(days=20)).isoformat()
    base = f"/v1/cases/{case_id}/settlements"
    created(agency.post(base, json={"settlement_id": "S1", "kind": "settlement",
                                    "amount": "800.00", "due_date": due}))
    created(creditor.post(f"{base}/S1/approval", json={}))
    created(agency.post(f"/v1/cases/{case_id}/payments", json={
        "reference": "PAY-S1", "amount": "800.00", "currency": "CNY", "source": "agency",
        "received_at": iso(now())}))

    first = creditor.get(f"/v1/cases/{case_id}/certificate")
    assert first.status_code == 200, first.text
    digest = hashlib.sha256(first.content).hexdigest()
    assert first.headers["x-content-sha256"] == digest
    text = pdf_text(first.content)
    for printed in ("某某银行股份有限公司", BANK_TAX_ID, "北京市西城区金融大街",
                    "华信资产管理（福建）有限公司", AGENCY_TAX_ID,
                    "creditor record version 1", "agency record version 1"):
        assert printed in text, (printed, text)
    assert "110060149018000123" not in text  # no bank account on a certificate
    again = creditor.get(f"/v1/cases/{case_id}/certificate")
    assert again.headers["x-content-sha256"] == digest
    assert hashlib.sha256(again.content).hexdigest() == digest
    by_agency = agency.get(f"/v1/cases/{case_id}/certificate")
    assert by_agency.status_code == 200, by_agency.text
    assert by_agency.headers["x-content-sha256"] == digest
    return digest


# -------------------------------------------------------------------------- 2. legal fees


def legal_fees(run: Run, billing: Billing) -> None:
    """AG-OTHER a law firm with a stage-fee contract; the case handed over, filed, judged
    and paid."""
    law_firm, creditor = run.case("other_agency"), run.case("creditor")
    created(law_firm.put(f"/v1/agencies/{OTHER}/profile",
                         json={"kind": "law_firm", "display_name": "E2E 律师事务所"}))
    contract = {"effective_from": (today() - timedelta(days=1)).isoformat(), "currency": "CNY",
                "timezone": ZONE, "rates": {"M3": "0.20"}, "stage_fees": FEES,
                "tax_rate": "0.06"}
    version = created(billing.client("creditor").put(f"/v1/contracts/{CREDITOR}/{OTHER}",
                                                     json=contract))
    assert version["version"] == 1, version
    listed = ok(billing.client("creditor").get(f"/v1/contracts/{CREDITOR}/{OTHER}"))
    assert [{k: Decimal(v) for k, v in ver["stage_fees"].items()}
            for ver in listed["versions"]] == [{k: Decimal(v) for k, v in FEES.items()}]

    case_id = run.ids["legal"]
    created(creditor.post(f"/v1/cases/{case_id}/reassignment",
                          json={"to_agency_id": OTHER, "reason": "litigation"}),
            "Reassigned", "HandedToLawFirm")
    base = f"/v1/cases/{case_id}/litigation"
    created(law_firm.post(base, json={"stage_ref": "LIT-1", "stage": "filed",
                                      "occurred_at": iso(now()), "court": "北京市朝阳区人民法院",
                                      "docket_no": DOCKET}), "LitigationStageRecorded")
    created(law_firm.post(base, json={"stage_ref": "LIT-2", "stage": "judgment",
                                      "occurred_at": iso(now()), "docket_no": DOCKET}),
            "LitigationStageRecorded")
    created(law_firm.post(f"/v1/cases/{case_id}/payments", json={
        "reference": "PAY-LF", "amount": "1000.00", "currency": "CNY", "source": "agency",
        "received_at": iso(now())}))


def preview(billing: Billing, start_day: date, end_day: date) -> dict[str, Any]:
    got: dict[str, Any] = ok(billing.client("creditor").get("/v1/billing-runs/preview", params={
        "creditor_id": CREDITOR, "agency_id": OTHER, "period_start": start_day.isoformat(),
        "period_end": end_day.isoformat()}))
    return got


def lines(content: dict[str, Any]) -> list[tuple[str, str | None, str, str]]:
    return [(line["kind"], line["reference"], line["amount"], line["commission"])
            for line in content["lines"]]


EXPECTED_LINES = [("stage_fee", "LIT-1", "800.00", "800.00"),
                  ("stage_fee", "LIT-2", "1200.00", "1200.00"),
                  ("payment", "PAY-LF", "1000.00", "200.00")]


def check_parties(content: dict[str, Any]) -> None:
    issuer, billed = content["parties"]["issuer"], content["parties"]["billed"]
    assert (issuer["party_kind"], issuer["party_id"], issuer["version"],
            issuer["legal_name"], issuer["tax_id"]) == (
        "agency", OTHER, 1, FIRM_PARTY["legal_name"], FIRM_TAX_ID), issuer
    assert (billed["party_kind"], billed["party_id"], billed["version"],
            billed["legal_name"], billed["tax_id"]) == (
        "creditor", CREDITOR, 1, BANK["legal_name"], BANK_TAX_ID), billed


def billed_today(run: Run, billing: Billing) -> dict[str, Any]:
    """Once the ledger consumer has every event: today's lines in the preview; a run of
    today refused; yesterday's run an invoice with the parties, in JSON, CSV and PDF."""
    logged = sum(len(run.history(name)) for name in run.ids)
    eventually(run.system, billing.consumed, lambda n: n >= logged)
    day = today()
    seen = eventually(run.system, lambda: preview(billing, day, day),
                      lambda p: len(p["content"]["lines"]) == 3)
    assert (seen["provisional"], seen["stored"], seen["matches"], seen["timezone"]) == (
        True, False, None, ZONE), seen
    content = seen["content"]
    assert lines(content) == EXPECTED_LINES, content["lines"]
    filed = content["lines"][0]
    assert (filed["stage"], filed["docket_no"], filed["case_id"], filed["entry"],
            filed["occurred_on"]) == ("filed", DOCKET, run.ids["legal"],
                                      f"stage_fee:{run.ids['legal']}:LIT-1", day.isoformat())
    assert filed["rule"] == "stage fee 立案费 filed 800.00 (contract v1)"
    totals = content["totals"]
    # 800.00 + 1200.00 + 1000.00 x 0.20 = 2200.00; tax 6 % 132.00; total 2332.00
    assert (totals["stage_fee_lines"], totals["stage_fees"], totals["earned_commission"],
            totals["subtotal"], totals["tax"], totals["total"],
            totals["commissionable_amount"]) == (
        2, "2000.00", "2200.00", "2200.00", "132.00", "2332.00", "1000.00"), totals
    check_parties(content)

    runs = billing.client("creditor")
    refused = runs.post("/v1/billing-runs", json={
        "creditor_id": CREDITOR, "agency_id": OTHER, "period_start": day.isoformat(),
        "period_end": day.isoformat()})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "period_not_ended", refused.text

    yesterday = (day - timedelta(days=1)).isoformat()
    invoice = ok(runs.post("/v1/billing-runs", json={
        "creditor_id": CREDITOR, "agency_id": OTHER, "period_start": yesterday,
        "period_end": yesterday}), 201)
    assert (invoice["document_type"], invoice["lines"], invoice["totals"]["total"]) == (
        "invoice", [], "0.00"), invoice
    check_parties(invoice)
    payment = invoice["payment"]
    assert (payment["payer"], payment["payee"], payment["pay_to"]["account_number"],
            payment["reference"]) == ("creditor", "agency",
                                      "020000123456789",  # stored without its spaces
                                      invoice["invoice_id"]), payment
    # the preview after it: the next number, the same lines and totals
    after = preview(billing, day, day)
    assert (after["invoice_id"], seen["invoice_id"]) == (
        f"INV-{CREDITOR}-{OTHER}-00002", f"INV-{CREDITOR}-{OTHER}-00001"), after
    assert (lines(after["content"]), after["content"]["totals"]) == (EXPECTED_LINES, totals)
    return {"preview": after, "invoice": read_invoice(billing, invoice["invoice_id"])}


def read_invoice(billing: Billing, invoice_id: str) -> dict[str, Any]:
    """The invoice as JSON, CSV and PDF: every form names the same content hash."""
    client = billing.client("creditor")
    path = f"/v1/invoices/{invoice_id}"
    body = ok(client.get(path))
    exported = client.get(path, params={"format": "csv"})
    assert exported.status_code == 200, exported.text
    assert exported.headers["x-content-hash"] == body["content_hash"]
    assert list(csv.DictReader(io.StringIO(exported.text))) == []  # no lines yesterday
    assert "stage" in exported.text.splitlines()[0].split(",")
    pdf = client.get(path, params={"format": "pdf"})
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["x-content-hash"] == body["content_hash"]
    text = "".join(pdf_text(pdf.content).split())
    for words in ("开票方", "付款方", FIRM_PARTY["legal_name"], BANK["legal_name"],
                  FIRM_TAX_ID, BANK_TAX_ID):
        assert words in text, (words, text)
    assert ok(billing.client("other_agency").get(path))["content_hash"] == body["content_hash"]
    assert billing.client("agency").get(path).status_code == 404  # not AG-E2E's
    return {"json": body, "csv": exported.content, "pdf": hashlib.sha256(pdf.content).hexdigest()}


# ----------------------------------------------------------------------------- 3. rebuild


def rebuilt(run: Run, billing: Billing, before: dict[str, Any]) -> None:
    consumer = run.system.process("billing-consumer")
    consumer.send_signal(signal.SIGTERM)
    assert consumer.wait(timeout=30) == 0, run.system.log("billing-consumer")
    for transport in (run.transport, "log"):
        out = rebuild(run, "billing-ledger", "--verify", "--transport", transport)
        assert "verified" in out, out
        assert "DIFFERS" not in out, out
    reread(billing, before)
    rebuild(run, "billing-ledger", "--swap", "--transport", run.transport)
    reread(billing, before)


def reread(billing: Billing, before: dict[str, Any]) -> None:
    """The invoice, its recomputation, a repeated run and today's preview: as before."""
    invoice = before["invoice"]["json"]
    assert read_invoice(billing, invoice["invoice_id"]) == before["invoice"]
    day = today()
    yesterday = (day - timedelta(days=1)).isoformat()
    stored = ok(billing.client("auditor").get("/v1/billing-runs/preview", params={
        "creditor_id": CREDITOR, "agency_id": OTHER, "period_start": yesterday,
        "period_end": yesterday}))
    assert (stored["stored"], stored["matches"], stored["stored_content_intact"],
            stored["content_hash"], stored["provisional"]) == (
        True, True, True, invoice["content_hash"], False), stored
    repeated = ok(billing.client("creditor").post("/v1/billing-runs", json={
        "creditor_id": CREDITOR, "agency_id": OTHER, "period_start": yesterday,
        "period_end": yesterday}))  # 200: the stored document, unchanged
    assert (repeated["invoice_id"], repeated["content_hash"]) == (
        invoice["invoice_id"], invoice["content_hash"])
    again = preview(billing, day, day)
    assert again["content_hash"] == before["preview"]["content_hash"]
    assert again["content"] == before["preview"]["content"]


def a_new_party_version(run: Run, billing: Billing, before: dict[str, Any]
                        ) -> dict[str, Any]:
    """The creditor moves: version 2 of its record. The issued invoice keeps version 1 (the
    same bytes and hash); the certificate and what a run would bill now name version 2."""
    moved = created(billing.client("creditor").put(f"/v1/parties/creditor/{CREDITOR}", json={
        **BANK, "registered_address": "北京市西城区金融大街 2 号"}))
    assert moved["version"] == 2, moved
    invoice = before["invoice"]["json"]
    assert read_invoice(billing, invoice["invoice_id"]) == before["invoice"]
    assert invoice["parties"]["billed"]["version"] == 1
    certificate = run.case("creditor").get(f"/v1/cases/{run.ids['settle']}/certificate")
    assert certificate.status_code == 200, certificate.text
    text = pdf_text(certificate.content)
    assert "creditor record version 2" in text, text
    assert "金融大街 2 号" in text, text
    assert certificate.headers["x-content-sha256"] != before["certificate"]
    day = today()
    now_billed = preview(billing, day, day)
    assert now_billed["content"]["parties"]["billed"]["version"] == 2
    assert lines(now_billed["content"]) == EXPECTED_LINES
    return now_billed


def invoiced_once_the_day_ended(run: Run, billing: Billing, previewed: dict[str, Any]
                                ) -> None:
    """Two days on (the billing CLI with CASETRAIL_CLOCK_OFFSET=P2D, docs/time.md), today has
    ended: its run issues the invoice the preview showed, the law firm's stage fees on it,
    byte for byte the content (and hash) previewed."""
    day = today().isoformat()
    args = ("billing", "run", "--creditor", CREDITOR, "--agency", OTHER, "--from", day,
            "--to", day)
    assert run.system.cli(*args, check=False).returncode == 2  # not yet, by the real clock
    done = run.system.cli(*args, check=False, CASETRAIL_CLOCK_OFFSET="P2D")
    assert done.returncode == 0, done.stdout + done.stderr
    printed = dict(line.split(None, 1) if not line.startswith("content hash")
                   else ("content hash", line.removeprefix("content hash").strip())
                   for line in done.stdout.splitlines() if line.strip())
    number = f"INV-{CREDITOR}-{OTHER}-00002"
    assert printed["invoice"] == f"{number} (issued now)", done.stdout
    assert printed["total"] == "CNY 2332.00", done.stdout
    assert printed["content hash"] == previewed["content_hash"], done.stdout
    client = billing.client("creditor")
    invoice = ok(client.get(f"/v1/invoices/{number}"))
    assert lines(invoice) == EXPECTED_LINES
    assert (invoice["content_hash"], invoice["totals"]["stage_fees"],
            invoice["parties"]["billed"]["version"]) == (
        previewed["content_hash"], "2000.00", 2), invoice
    pdf = client.get(f"/v1/invoices/{number}", params={"format": "pdf"})
    assert pdf.status_code == 200, pdf.text
    text = "".join(pdf_text(pdf.content).split())
    for words in ("立案费", "判决费", DOCKET, previewed["content_hash"][:16]):
        assert words in text, (words, text)


def run_billing(system: System, *, relay: bool, transport: str, billing_db: str) -> None:
    clear_of_midnight()
    run, billing = start_all(system, relay=relay, transport=transport, billing_db=billing_db)
    certificate = parties(run, billing)
    legal_fees(run, billing)
    before = billed_today(run, billing)
    rebuilt(run, billing, before)
    previewed = a_new_party_version(run, billing, {**before, "certificate": certificate})
    invoiced_once_the_day_ended(run, billing, previewed)
    for client in run.clients.values():
        client.close()


def test_billing_from_http_to_the_invoice_on_the_embedded_transport(embedded: System) -> None:
    run_billing(embedded, relay=False, transport="feed",
                billing_db=f"sqlite:///{embedded.tmp}/billing.db")


@pytest.mark.kafka
def test_billing_from_http_to_the_invoice_through_kafka(
        on_kafka: System, pg_schemas: Callable[[str], str]) -> None:
    run_billing(on_kafka, relay=True, transport="kafka", billing_db=pg_schemas("e2e_billing"))
