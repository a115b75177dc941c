# ruff: noqa: RUF001  (Chinese text: its full-width punctuation is meant)
"""Party records and what documents freeze of them: the unified social credit code's check
character (GB 32100-2015), the details' rules, and the parties and payment block of an
invoice or credit note (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from billing_service.domain.contracts import ContractTerms, ContractVersion
from billing_service.domain.errors import InvalidParty
from billing_service.domain.invoice import (
    CREDIT_NOTE,
    INVOICE,
    Period,
    SelectedLine,
    build_invoice,
    content_hash,
    invoice_number,
)
from billing_service.domain.ledger import LedgerLine
from billing_service.domain.parties import (
    AGENCY,
    CREDITOR,
    BankAccount,
    PartyDetails,
    PartyVersion,
    check_tax_id,
    due_date,
    payment_instructions,
    tax_id_check_character,
)

D = Decimal
JANUARY = Period(date(2026, 1, 1), date(2026, 1, 31))
AGENCY_TAX_ID, BANK_TAX_ID = "91350100M000100Y43", "91110000100006485K"


def agency_details(**changes: Any) -> PartyDetails:
    details = PartyDetails(
        legal_name="某某资产管理有限公司", legal_name_en="Mouzhou Asset Management Co., Ltd.",
        registered_address="福建省福州市鼓楼区五四路 100 号", tax_id=AGENCY_TAX_ID,
        bank_account=BankAccount("招商银行福州分行", "某某资产管理有限公司", "591902123410601"),
        contact_email="finance@agency.example", payment_terms_days=45)
    return replace(details, **changes)


def bank_details() -> PartyDetails:
    return PartyDetails(
        legal_name="某某银行股份有限公司", registered_address="北京市西城区金融大街 1 号",
        tax_id=BANK_TAX_ID,
        bank_account=BankAccount("某某银行总行营业部", "某某银行股份有限公司",
                                 "110060149018000123"),
        contact_email="ap@bank.example")


def version(kind: str, party_id: str, details: PartyDetails, number: int = 1) -> PartyVersion:
    return PartyVersion(kind, party_id, number, details.check(kind),
                        "2026-01-01T00:00:00+00:00", "t")


AG_A = version(AGENCY, "AG-A", agency_details())
BANK = version(CREDITOR, "BANK", bank_details())


# ------------------------------------------------------------------ the tax id (GB 32100-2015)

@pytest.mark.parametrize("code", [AGENCY_TAX_ID, BANK_TAX_ID, "9144030071526726XG"])
def test_a_unified_social_credit_code_with_its_check_character_is_accepted(code: str) -> None:
    assert check_tax_id(code) == code
    assert tax_id_check_character(code[:17]) == code[17]


def test_a_code_is_upper_cased_and_trimmed() -> None:
    assert check_tax_id(" 9144030071526726xg ") == "9144030071526726XG"


def test_a_check_character_of_31_is_0() -> None:
    # The first 17 characters whose weighted sum is a multiple of 31 check to "0", not "31".
    first17 = next(f"9111000010000{n:04d}" for n in range(10000)
                   if tax_id_check_character(f"9111000010000{n:04d}") == "0")
    assert check_tax_id(first17 + "0") == first17 + "0"


@pytest.mark.parametrize("code", [
    "911100001000064855",    # wrong check character (K)
    "91350100M000100Y44",    # one off
    "91350100M000100Y4",     # 17 characters
    "91350100M000100Y433",   # 19 characters
    "91350100M0001O0Y43",    # O is not in the alphabet
    "91350100I000100Y43",    # nor I
    "913501Z0M000100Y43",    # the division (3rd-8th) is digits
    "",
])
def test_a_code_of_the_wrong_shape_or_check_character_is_refused(code: str) -> None:
    with pytest.raises(InvalidParty) as refused:
        check_tax_id(code)
    assert refused.value.path == "tax_id"


def test_a_transposition_is_caught_by_the_check_character() -> None:
    swapped = AGENCY_TAX_ID[:3] + AGENCY_TAX_ID[4] + AGENCY_TAX_ID[3] + AGENCY_TAX_ID[5:]
    with pytest.raises(InvalidParty):
        check_tax_id(swapped)


# ------------------------------------------------------------------ the details

def test_details_are_normalised_when_checked() -> None:
    details = agency_details(tax_id="91350100m000100y43", bank_account=BankAccount(
        "招商银行", "某某资产管理有限公司", "5919 0212-3410 601")).check(AGENCY)
    assert details.tax_id == AGENCY_TAX_ID
    assert details.bank_account.account_number == "591902123410601"


@pytest.mark.parametrize(("changes", "path"), [
    ({"legal_name": "Mouzhou Asset Management"}, "legal_name"),
    ({"contact_email": "finance.agency.example"}, "contact_email"),
    ({"contact_email": "finance@localhost"}, "contact_email"),
    ({"tax_id": "91350100M000100Y40"}, "tax_id"),
    ({"payment_terms_days": 400}, "payment_terms_days"),
    ({"bank_account": BankAccount("招商银行", "某某", "12-34")}, "bank_account.account_number"),
])
def test_details_that_can_never_be_right_are_refused_at_their_field(
        changes: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidParty) as refused:
        agency_details(**changes).check(AGENCY)
    assert refused.value.path == path


def test_only_an_agency_states_payment_terms() -> None:
    with pytest.raises(InvalidParty) as refused:
        replace(bank_details(), payment_terms_days=10).check(CREDITOR)
    assert refused.value.path == "payment_terms_days"


def test_details_round_trip_through_json() -> None:
    assert PartyDetails.from_json(AG_A.details.to_json()) == AG_A.details


def test_another_tenant_sees_no_bank_account_and_no_email() -> None:
    public = AG_A.public_json()
    assert "bank_account" not in public
    assert "contact_email" not in public
    assert public["tax_id"] == AGENCY_TAX_ID
    assert public["legal_name"] == "某某资产管理有限公司"


# ------------------------------------------------------------------ the document model

def terms() -> ContractVersion:
    return ContractVersion("BANK", "AG-A", 1, ContractTerms(
        effective_from=date(2026, 1, 1), currency="CNY", rates={"M2": D("0.18")},
        timezone="Asia/Shanghai"), "2026-01-01T00:00:00+00:00", "t")


def line(entry: str, commission: str, kind: str = "payment") -> SelectedLine:
    return SelectedLine(LedgerLine(
        entry=entry, kind=kind, position=1, case_id="c1", account_ref="A", bucket="M2",
        reference=entry, source="agency", occurred_at="2026-01-10T10:00:00+00:00",
        occurred_on=date(2026, 1, 10), amount=D(commission) / D("0.18"), commissionable=True,
        portions=(), commission_unrounded=D(commission), commission=D(commission),
        rule="bucket M2 rate 18%", contract_version=1, explanation="in term"),
        earlier_credit=kind == "reversal")


def document(parties: tuple[PartyVersion | None, PartyVersion | None] | None,
             selected: list[SelectedLine] | None = None,
             kind: str = INVOICE) -> dict[str, Any]:
    return build_invoice(number=invoice_number("BANK", "AG-A", 1, kind), creditor_id="BANK",
                         agency_id="AG-A", period=JANUARY, terms=terms(),
                         selected=selected or [line("P1", "360.00")], parties=parties)


def test_an_invoice_freezes_both_parties_and_is_paid_into_the_agency_s_account() -> None:
    content = document((AG_A, BANK))
    assert content["parties"]["issuer"]["legal_name"] == "某某资产管理有限公司"
    assert content["parties"]["issuer"]["version"] == 1
    assert content["parties"]["billed"]["tax_id"] == BANK_TAX_ID
    assert content["payment"] == {
        "terms_days": 45, "payer": CREDITOR, "payee": AGENCY,
        "pay_to": {"bank_name": "招商银行福州分行", "account_name": "某某资产管理有限公司",
                   "account_number": "591902123410601"},
        "reference": "INV-BANK-AG-A-00001"}


def test_a_new_party_version_changes_the_content_hash_of_a_new_document_only() -> None:
    moved = version(AGENCY, "AG-A", agency_details(registered_address="福州市台江区 8 号"), 2)
    before, after = document((AG_A, BANK)), document((moved, BANK))
    assert content_hash(before) != content_hash(after)
    assert content_hash(document((AG_A, BANK))) == content_hash(before)  # reproducible


def test_a_document_without_party_records_is_due_in_30_days_with_no_account() -> None:
    content = document((None, None))
    assert content["parties"] == {"issuer": None, "billed": None}
    assert content["payment"]["terms_days"] == 30
    assert content["payment"]["pay_to"] is None
    due = due_date(date(2026, 2, 1), content)
    assert due == date(2026, 3, 3)
    text = payment_instructions(content, due)
    assert text is not None
    assert "未登记" in text
    assert "INV-BANK-AG-A-00001" in text


def test_a_document_issued_before_parties_states_none() -> None:
    content = document(None)
    assert "parties" not in content
    assert "payment" not in content
    assert due_date(date(2026, 2, 1), content) is None
    assert payment_instructions(content, None) is None


def test_a_credit_note_is_paid_back_into_the_creditor_s_account() -> None:
    content = document((AG_A, BANK), [line("R1", "-360.00", "reversal")], CREDIT_NOTE)
    assert content["document_type"] == CREDIT_NOTE
    assert (content["payment"]["payer"], content["payment"]["payee"]) == (AGENCY, CREDITOR)
    assert content["payment"]["pay_to"]["account_number"] == "110060149018000123"
    text = payment_instructions(content, due_date(date(2026, 2, 1), content))
    assert text is not None
    assert "CNY 360.00" in text
    assert "110060149018000123" in text
    assert "请开票方于 2026-03-18 前" in text  # 45 days, the issuing agency's terms


def test_payment_instructions_name_the_account_the_due_date_and_the_number() -> None:
    content = document((AG_A, BANK))
    text = payment_instructions(content, due_date(date(2026, 2, 1), content))
    assert text == (
        "请付款方于 2026-03-18 前将 CNY 360.00 汇至：开户行 招商银行福州分行，户名 "
        "某某资产管理有限公司，账号 591902123410601。汇款时请在附言中注明单据号码 "
        "INV-BANK-AG-A-00001。\n"
        "Please pay CNY 360.00 by 2026-03-18 (45 days after issue) to 招商银行福州分行, "
        "account name 某某资产管理有限公司, account number 591902123410601; the billed party "
        "quotes INV-BANK-AG-A-00001 as the payment reference.")
