# ruff: noqa: RUF001  (Chinese text: its full-width punctuation is meant)
"""Party records over HTTP, on SQLite and PostgreSQL: versions, retries, the optimistic
`expected_version`, who may write and read what, 422s at their field; and invoices and
credit notes that freeze the party versions they were issued with (JSON, CSV, PDF text, and
the content hash a recomputation reproduces)."""

from __future__ import annotations

import csv
import io
import json
import threading
from typing import TYPE_CHECKING, Any

import pypdfium2
import pytest
import sqlalchemy as sa
from billing_service.adapters.records import invoices
from billing_service.domain.invoice import content_hash

if TYPE_CHECKING:
    from conftest import World

AGENCY_PATH, BANK_PATH = "/v1/parties/agency/AG-A", "/v1/parties/creditor/BANK"
AGENCY_TAX_ID, BANK_TAX_ID = "91350100M000100Y43", "91110000100006485K"


def agency_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legal_name": "华信资产管理（福建）有限公司",
        "legal_name_en": "Huaxin Asset Management (Fujian) Co., Ltd.",
        "registered_address": "福建省福州市鼓楼区五四路 158 号",
        "tax_id": AGENCY_TAX_ID,
        "bank_account": {"bank_name": "招商银行福州分行",
                         "account_name": "华信资产管理（福建）有限公司",
                         "account_number": "5919 0212 3410 601"},
        "contact_email": "finance@huaxin.example"}
    body.update(changes)
    return body


def bank_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legal_name": "某某银行股份有限公司", "registered_address": "北京市西城区金融大街 1 号",
        "tax_id": BANK_TAX_ID,
        "bank_account": {"bank_name": "某某银行总行营业部", "account_name": "某某银行股份有限公司",
                         "account_number": "110060149018000123"},
        "contact_email": "ap@bank.example"}
    body.update(changes)
    return body


def register(world: World, **agency: Any) -> None:
    assert world.put("agency", AGENCY_PATH, agency_body(**agency)).status_code == 201
    assert world.put("bank", BANK_PATH, bank_body()).status_code == 201


def billed(world: World, start: str = "2026-01-01", end: str = "2026-01-31",
           day: str = "2026-01-10") -> dict[str, Any]:
    case = world.place(bucket="M2")
    if not world.get("bank", "/v1/contracts/BANK/AG-A").json()["versions"]:
        world.contract(world.contract_body(tax_rate="0.06"))
    world.pay(case, f"PAY-{world.n}", "2000.00", day)
    world.sync()
    return world.bill(start, end)  # 2000 x 0.18 = 360.00, tax 21.60, total 381.60


def pdf_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return "\n".join(document[i].get_textpage().get_text_range()
                         for i in range(len(document)))
    finally:
        document.close()


def fields(response: Any) -> set[str]:
    return {f["path"] for f in response.json()["error"].get("fields", [])}


# ------------------------------------------------------------------ versions and retries

def test_each_change_is_a_new_version_and_the_same_body_again_is_a_no_op(world: World
                                                                         ) -> None:
    first = world.put("agency", AGENCY_PATH, agency_body())
    assert first.status_code == 201
    recorded = first.json()
    assert (recorded["version"], recorded["party_kind"], recorded["party_id"]) == (
        1, "agency", "AG-A")
    assert recorded["bank_account"]["account_number"] == "591902123410601"  # spaces dropped
    assert recorded["payment_terms_days"] is None  # the default, 30, applies
    assert recorded["actor"].startswith("agency:AG-A")

    again = world.put("agency", AGENCY_PATH, agency_body())
    assert again.status_code == 200
    assert again.json() == recorded

    moved = world.put("agency", AGENCY_PATH, agency_body(
        registered_address="福建省福州市台江区江滨中大道 8 号", payment_terms_days=45))
    assert moved.status_code == 201
    assert moved.json()["version"] == 2

    current = world.get("agency", AGENCY_PATH).json()
    assert (current["version"], current["registered_address"], current["payment_terms_days"]
            ) == (2, "福建省福州市台江区江滨中大道 8 号", 45)
    versions = world.get("agency", f"{AGENCY_PATH}/versions").json()
    assert [v["version"] for v in versions["versions"]] == [1, 2]
    assert versions["versions"][0]["registered_address"] == "福建省福州市鼓楼区五四路 158 号"


def test_a_stale_expected_version_is_a_409_and_a_retry_of_a_success_is_not(world: World
                                                                           ) -> None:
    assert world.put("bank", BANK_PATH, bank_body(expected_version=0)).status_code == 201
    # The retry of that write carries the version it read (0): still the same details, a 200.
    assert world.put("bank", BANK_PATH, bank_body(expected_version=0)).status_code == 200
    stale = world.put("bank", BANK_PATH, bank_body(contact_email="ar@bank.example",
                                                   expected_version=0))
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "party_version_conflict"
    assert world.get("bank", BANK_PATH).json()["version"] == 1
    fresh = world.put("bank", BANK_PATH, bank_body(contact_email="ar@bank.example",
                                                   expected_version=1))
    assert fresh.status_code == 201
    assert fresh.json()["version"] == 2


def test_of_two_racing_writers_reading_the_same_version_one_wins_and_one_gets_409(
        world: World) -> None:
    assert world.put("bank", BANK_PATH, bank_body()).status_code == 201
    barrier, answers = threading.Barrier(2), []

    def write(email: str) -> None:
        barrier.wait()
        answers.append(world.put("bank", BANK_PATH, bank_body(
            contact_email=email, expected_version=1)).status_code)

    writers = [threading.Thread(target=write, args=(f"{n}@bank.example",)) for n in "ab"]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert sorted(answers) == [201, 409]
    assert [v["version"] for v in world.get("bank", f"{BANK_PATH}/versions").json()[
        "versions"]] == [1, 2]


# ------------------------------------------------------------------ who may write and read

def test_a_key_maintains_only_its_own_record_and_admins_any(world: World) -> None:
    assert world.put("bank", BANK_PATH, bank_body()).status_code == 201
    assert world.put("bank", "/v1/parties/creditor/BANK2", bank_body()).status_code == 403
    assert world.put("bank", AGENCY_PATH, agency_body()).status_code == 403
    assert world.put("agency", "/v1/parties/agency/AG-B", agency_body()).status_code == 403
    assert world.put("agency", BANK_PATH, bank_body()).status_code == 403
    assert world.put("auditor", AGENCY_PATH, agency_body()).status_code == 403
    assert world.put("admin", AGENCY_PATH, agency_body()).status_code == 201
    assert world.put("admin", "/v1/parties/creditor/BANK2", bank_body()).status_code == 201


def test_another_tenant_reads_only_the_public_part_of_the_other_side(world: World) -> None:
    register(world)
    own = world.get("bank", BANK_PATH).json()
    assert own["bank_account"]["account_number"] == "110060149018000123"
    assert own["contact_email"] == "ap@bank.example"

    agency_seen_by_bank = world.get("bank", AGENCY_PATH)
    assert agency_seen_by_bank.status_code == 200
    public = agency_seen_by_bank.json()
    assert public["tax_id"] == AGENCY_TAX_ID
    assert public["legal_name"] == "华信资产管理（福建）有限公司"
    assert not {"bank_account", "contact_email", "actor"} & public.keys()
    versions = world.get("bank", f"{AGENCY_PATH}/versions").json()["versions"]
    assert not {"bank_account", "contact_email"} & versions[0].keys()
    assert "bank_account" not in world.get("agency", BANK_PATH).json()

    assert world.get("bank2", BANK_PATH).status_code == 403  # another creditor's
    assert world.get("agency_b", AGENCY_PATH).status_code == 403  # another agency's
    assert world.get("agency_b", f"{AGENCY_PATH}/versions").status_code == 403
    for who in ("auditor", "admin"):
        assert world.get(who, AGENCY_PATH).json()["bank_account"]["bank_name"] == "招商银行福州分行"


def test_a_party_without_a_record_is_404_and_has_no_versions(world: World) -> None:
    missing = world.get("bank", "/v1/parties/agency/AG-Z")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "party_not_found"
    assert world.get("bank", "/v1/parties/agency/AG-Z/versions").json()["versions"] == []


# ------------------------------------------------------------------ 422 at the field

@pytest.mark.parametrize(("body", "path"), [
    (agency_body(tax_id="91350100M000100Y44"), "body.tax_id"),
    (agency_body(tax_id="91350100M000100Y"), "body.tax_id"),
    (agency_body(tax_id="91350100M0001O0Y43"), "body.tax_id"),
    (agency_body(contact_email="finance"), "body.contact_email"),
    (agency_body(legal_name="Huaxin Asset Management"), "body.legal_name"),
    (agency_body(legal_name=""), "body.legal_name"),
    (agency_body(registered_address=""), "body.registered_address"),
    (agency_body(bank_account={"bank_name": "招商银行", "account_name": "华信",
                               "account_number": "12"}), "body.bank_account.account_number"),
    (agency_body(bank_account={"bank_name": "招商银行", "account_name": "华信"}),
     "body.bank_account.account_number"),
    (agency_body(payment_terms_days=-1), "body.payment_terms_days"),
    (agency_body(payment_terms_days="30"), "body.payment_terms_days"),
    (agency_body(expected_version=-1), "body.expected_version"),
    (agency_body(phone="123"), "body.phone"),
])
def test_bad_details_are_422_at_their_field(world: World, body: dict[str, Any], path: str
                                            ) -> None:
    response = world.put("agency", AGENCY_PATH, body)
    assert response.status_code == 422, response.text
    assert path in fields(response), response.json()
    assert world.get("agency", AGENCY_PATH).status_code == 404  # nothing was recorded


def test_payment_terms_on_a_creditor_record_and_an_unknown_kind_are_422(world: World) -> None:
    terms = world.put("bank", BANK_PATH, bank_body(payment_terms_days=10))
    assert terms.status_code == 422
    assert fields(terms) == {"body.payment_terms_days"}
    kind = world.put("admin", "/v1/parties/debtor/D1", bank_body())
    assert kind.status_code == 422
    assert any(path.startswith("path.party_kind") for path in fields(kind)), kind.json()


# ------------------------------------------------------------------ documents

def test_an_invoice_shows_the_parties_dates_and_payment_instructions(world: World) -> None:
    register(world, payment_terms_days=45)
    issued = billed(world)
    number = issued["invoice_id"]
    assert issued["parties"]["issuer"]["legal_name"] == "华信资产管理（福建）有限公司"
    assert issued["parties"]["issuer"]["version"] == 1
    assert issued["parties"]["billed"]["tax_id"] == BANK_TAX_ID
    # Issued at 2026-12-01 00:00 UTC: 08:00 in Shanghai, the contract's zone.
    assert (issued["issue_date"], issued["due_date"]) == ("2026-12-01", "2027-01-15")
    assert issued["payment"]["pay_to"]["account_number"] == "591902123410601"
    assert issued["payment"]["reference"] == number
    assert issued["payment_instructions"].startswith(
        "请付款方于 2027-01-15 前将 CNY 381.60 汇至：开户行 招商银行福州分行")
    assert number in issued["payment_instructions"]
    assert world.get("bank", f"/v1/invoices/{number}").json() == issued

    rows = list(csv.DictReader(io.StringIO(world.get("bank", f"/v1/invoices/{number}",
                                                     format="csv").text)))
    assert {(r["issue_date"], r["due_date"], r["issuer_legal_name"], r["issuer_tax_id"],
             r["billed_legal_name"], r["billed_tax_id"], r["pay_to_account_number"],
             r["payment_reference"]) for r in rows} == {
        ("2026-12-01", "2027-01-15", "华信资产管理（福建）有限公司", AGENCY_TAX_ID,
         "某某银行股份有限公司", BANK_TAX_ID, "591902123410601", number)}

    pdf = world.get("bank", f"/v1/invoices/{number}", format="pdf").content
    assert b"Helvetica" not in pdf  # every glyph from the embedded Noto Sans SC
    text = pdf_text(pdf)
    for shown in ("发票 / Invoice", "结算单", "开票方", "付款方",
                  "华信资产管理（福建）有限公司", "某某银行股份有限公司", AGENCY_TAX_ID,
                  BANK_TAX_ID, "福建省福州市鼓楼区五四路 158 号", "到期日", "2027-01-15",
                  "付款说明", "591902123410601", "价税合计"):
        assert shown in text, shown


def test_an_issued_invoice_keeps_the_party_versions_it_was_issued_with(world: World) -> None:
    register(world)
    january = billed(world)
    moved = world.put("agency", AGENCY_PATH, agency_body(
        registered_address="福建省福州市台江区江滨中大道 8 号",
        bank_account={"bank_name": "中国银行福州分行",
                      "account_name": "华信资产管理（福建）有限公司",
                      "account_number": "409876543210"}))
    assert moved.json()["version"] == 2

    again = world.get("agency", f"/v1/invoices/{january['invoice_id']}").json()
    assert again == january
    assert again["content_hash"] == january["content_hash"]
    assert again["parties"]["issuer"]["registered_address"] == "福建省福州市鼓楼区五四路 158 号"
    text = pdf_text(world.get("bank", f"/v1/invoices/{january['invoice_id']}",
                              format="pdf").content)
    assert "福建省福州市鼓楼区五四路 158 号" in text
    assert "591902123410601" in text
    assert "江滨中大道" not in text
    assert "409876543210" not in text

    # Recomputed from its cut-off and the versions it froze, it hashes the same.
    checked = world.get("auditor", "/v1/billing-runs/preview", creditor_id="BANK",
                        agency_id="AG-A", period_start="2026-01-01",
                        period_end="2026-01-31").json()
    assert checked["matches"] is True
    assert checked["stored_content_intact"] is True
    assert checked["content"]["parties"] == january["parties"]

    # The next document is issued with the new version.
    february = billed(world, "2026-02-01", "2026-02-28", "2026-02-10")
    assert february["parties"]["issuer"]["version"] == 2
    assert february["payment"]["pay_to"]["account_number"] == "409876543210"
    assert "江滨中大道" in pdf_text(world.get("bank", f"/v1/invoices/{february['invoice_id']}",
                                         format="pdf").content)


def test_a_rebuilt_ledger_reissues_the_same_hash_with_the_frozen_parties(world: World
                                                                         ) -> None:
    register(world)
    january = billed(world)
    world.put("bank", BANK_PATH, bank_body(registered_address="上海市浦东新区世纪大道 100 号"))
    world.service.ledger.reset()
    world.sync()
    checked = world.get("auditor", "/v1/billing-runs/preview", creditor_id="BANK",
                        agency_id="AG-A", period_start="2026-01-01",
                        period_end="2026-01-31").json()
    assert checked["matches"] is True
    assert checked["content_hash"] == january["content_hash"]
    assert checked["content"]["parties"]["billed"]["registered_address"] == (
        "北京市西城区金融大街 1 号")


def test_an_invoice_of_unregistered_parties_says_not_recorded_and_is_due_in_30_days(
        world: World) -> None:
    issued = billed(world)
    assert issued["parties"] == {"issuer": None, "billed": None}
    assert issued["payment"]["terms_days"] == 30
    assert issued["payment"]["pay_to"] is None
    assert issued["due_date"] == "2026-12-31"
    text = pdf_text(world.get("bank", f"/v1/invoices/{issued['invoice_id']}",
                              format="pdf").content)
    assert "未登记" in text
    assert "AG-A" in text
    assert "BANK" in text
    assert "付款说明" in text
    # Registering afterwards changes nothing on it.
    register(world)
    assert world.get("bank", f"/v1/invoices/{issued['invoice_id']}").json() == issued


def test_an_invoice_issued_before_parties_existed_still_renders_and_checks(world: World
                                                                           ) -> None:
    register(world)
    issued = billed(world)
    # What an invoice issued before this release stored: no parties, no payment block.
    old = {k: v for k, v in world.get("bank", f"/v1/invoices/{issued['invoice_id']}").json()[
        "parties"].items()}
    assert old  # it has them now; strip them as the older release never wrote them
    with world.service.engine.begin() as conn:
        stored = json.loads(conn.execute(sa.select(invoices.c.content)).scalar_one())
        del stored["parties"], stored["payment"]
        conn.execute(invoices.update().values(
            content=json.dumps(stored, sort_keys=True, ensure_ascii=False),
            content_hash=content_hash(stored)))

    view = world.get("bank", f"/v1/invoices/{issued['invoice_id']}").json()
    assert "parties" not in view
    assert view["due_date"] is None
    assert view["payment_instructions"] is None
    text = pdf_text(world.get("bank", f"/v1/invoices/{issued['invoice_id']}",
                              format="pdf").content)
    assert "未登记" in text
    assert "CNY 381.60" in text
    rows = list(csv.DictReader(io.StringIO(world.get(
        "bank", f"/v1/invoices/{issued['invoice_id']}", format="csv").text)))
    assert rows[0]["issuer_legal_name"] == ""
    assert rows[0]["due_date"] == ""
    checked = world.get("auditor", "/v1/billing-runs/preview", creditor_id="BANK",
                        agency_id="AG-A", period_start="2026-01-01",
                        period_end="2026-01-31").json()
    assert checked["matches"] is True  # recomputed without parties, as it was issued


def test_a_credit_note_is_paid_back_into_the_creditor_s_account(world: World) -> None:
    register(world)
    case = world.place(bucket="M2")
    world.contract(world.contract_body())
    world.pay(case, "PAY-1", "2000.00", "2026-01-10")
    world.sync()
    world.bill("2026-01-01", "2026-01-31")
    world.reverse(case, "PAY-1", "2026-02-05")
    world.sync()
    credit = world.bill("2026-02-01", "2026-02-28")
    assert credit["document_type"] == "credit_note"
    assert (credit["payment"]["payer"], credit["payment"]["payee"]) == ("agency", "creditor")
    assert credit["payment"]["pay_to"]["account_number"] == "110060149018000123"
    assert credit["payment_instructions"].startswith("请开票方于 2026-12-31 前将 CNY 360.00")
    text = pdf_text(world.get("bank", f"/v1/invoices/{credit['invoice_id']}",
                              format="pdf").content)
    assert "贷项通知单" in text
    assert "受票方" in text
    assert "110060149018000123" in text
