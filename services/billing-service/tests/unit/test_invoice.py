"""Invoice totals, the minimum fee, tax rounding and the content hash (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from billing_service.domain.contracts import ContractTerms, ContractVersion
from billing_service.domain.errors import InvalidPeriod
from billing_service.domain.invoice import (
    CREDIT_NOTE,
    INVOICE,
    Period,
    SelectedLine,
    build_invoice,
    content_hash,
    document_type,
    invoice_number,
)
from billing_service.domain.ledger import LedgerLine

D = Decimal
JANUARY = Period(date(2026, 1, 1), date(2026, 1, 31))


def terms(minimum_fee: str = "0", tax_rate: str = "0", timezone: str = "Asia/Shanghai"
          ) -> ContractVersion:
    return ContractVersion("BANK", "AG-A", 1, ContractTerms(
        effective_from=date(2026, 1, 1), currency="CNY", rates={"M2": D("0.18")},
        minimum_fee=D(minimum_fee), tax_rate=D(tax_rate), timezone=timezone),
        "2026-01-01T00:00:00+00:00", "t")


def line(entry: str, commission: str, kind: str = "payment") -> LedgerLine:
    amount = D(commission) / D("0.18")
    return LedgerLine(
        entry=entry, kind=kind, position=1, case_id="c1", account_ref="A", bucket="M2",
        reference=entry, source="agency", occurred_at="2026-01-10T10:00:00+00:00",
        occurred_on=date(2026, 1, 10), amount=amount, commissionable=True, portions=(),
        commission_unrounded=D(commission), commission=D(commission), rule="bucket M2 rate 18%",
        contract_version=1, explanation="within the placement term (ends 2026-03-31)")


def build(selected: list[SelectedLine], **contract: str) -> dict[str, object]:
    number = invoice_number("BANK", "AG-A", 7, document_type(selected))
    return build_invoice(number=number, creditor_id="BANK",
                         agency_id="AG-A", period=JANUARY, terms=terms(**contract),
                         selected=selected)


def test_an_invoice_number_names_the_pair_and_its_sequence() -> None:
    assert invoice_number("BANK", "AG-A", 7) == "INV-BANK-AG-A-00007"


def test_a_period_without_activity_is_billed_the_minimum_fee() -> None:
    content = build([], minimum_fee="500.00", tax_rate="0.06")
    totals = content["totals"]
    assert isinstance(totals, dict)
    # top-up 500.00; tax 30.00; total 530.00
    assert (totals["minimum_fee_top_up"], totals["subtotal"], totals["tax"],
            totals["total"]) == ("500.00", "500.00", "30.00", "530.00")


def test_an_old_clawback_is_deducted_after_the_minimum_fee() -> None:
    content = build([SelectedLine(line("p2", "600.00"), False),
                     SelectedLine(line("r1", "-150.00", "reversal"), True)],
                    minimum_fee="500.00", tax_rate="0.06")
    totals = content["totals"]
    assert isinstance(totals, dict)
    # earned 600.00 >= 500.00: no top-up; subtotal 600 - 150 = 450.00; tax 27.00
    assert (totals["earned_commission"], totals["earlier_invoice_credits"],
            totals["minimum_fee_top_up"], totals["subtotal"], totals["tax"]) == (
        "600.00", "-150.00", "0.00", "450.00", "27.00")


def test_tax_on_a_credit_is_rounded_half_up_away_from_zero() -> None:
    content = build([SelectedLine(line("r1", "-0.25", "reversal"), True)], tax_rate="0.06")
    totals = content["totals"]
    assert isinstance(totals, dict)
    # -0.25 x 0.06 = -0.015 -> -0.02; total -0.27
    assert (totals["tax"], totals["total"]) == ("-0.02", "-0.27")


def test_the_content_hash_ignores_key_order_but_not_content() -> None:
    content = build([SelectedLine(line("p1", "18.00"), False)])
    reordered = dict(reversed(list(content.items())))
    assert content_hash(reordered) == content_hash(content)
    changed = {**content, "period_end": "2026-01-30"}
    assert content_hash(changed) != content_hash(content)


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidPeriod) as refused:
        Period(date(2026, 2, 1), date(2026, 1, 31)).check()
    assert refused.value.path == "period_end"
    assert Period(date(2026, 1, 1), date(2026, 1, 1)).check()  # one day is a period


def test_a_period_that_nets_to_a_credit_is_a_credit_note_without_the_minimum_fee() -> None:
    selected = [SelectedLine(line("p2", "30.00"), False),
                SelectedLine(line("r1", "-180.00", "reversal"), True)]
    content = build(selected, minimum_fee="500.00", tax_rate="0.06")
    totals = content["totals"]
    assert isinstance(totals, dict)
    # The lines net to 30.00 - 180.00 = -150.00 before any minimum fee: a credit note, with
    # no top-up (the code before topped it up to 500.00 and called it an invoice).
    # Subtotal -150.00; tax -9.00; total -159.00.
    assert (content["document_type"], content["invoice_number"]) == (
        "credit_note", "CN-BANK-AG-A-00007")
    assert [entry["kind"] for entry in content["lines"]] == ["payment", "reversal"]  # type: ignore[index]
    assert (totals["minimum_fee_top_up"], totals["subtotal"], totals["tax"],
            totals["total"]) == ("0.00", "-150.00", "-9.00", "-159.00")


def test_lines_netting_to_zero_or_more_make_an_invoice_topped_up_to_the_minimum_fee() -> None:
    even = [SelectedLine(line("p2", "180.00"), False),
            SelectedLine(line("r1", "-180.00", "reversal"), True)]
    assert document_type(even) == document_type([]) == INVOICE
    content = build(even, minimum_fee="500.00")
    totals = content["totals"]
    assert isinstance(totals, dict)
    # earned 180.00 (the earlier clawback does not count as earned): top-up 320.00;
    # subtotal 180 - 180 + 320 = 320.00
    assert (content["document_type"], totals["minimum_fee_top_up"], totals["subtotal"]) == (
        "invoice", "320.00", "320.00")


def test_credit_notes_have_a_number_sequence_of_their_own() -> None:
    assert invoice_number("BANK", "AG-A", 1, CREDIT_NOTE) == "CN-BANK-AG-A-00001"
    assert invoice_number("BANK", "AG-A", 1, INVOICE) == "INV-BANK-AG-A-00001"
    credit = [SelectedLine(line("r1", "-18.00", "reversal"), True)]
    with pytest.raises(ValueError, match="not the number of a credit note"):
        build_invoice(number=invoice_number("BANK", "AG-A", 1), creditor_id="BANK",
                      agency_id="AG-A", period=JANUARY, terms=terms(), selected=credit)


def test_the_document_type_and_zone_are_in_the_hashed_content() -> None:
    selected = [SelectedLine(line("p1", "18.00"), False)]
    content = build(selected)
    assert (content["document_type"], content["timezone"]) == ("invoice", "Asia/Shanghai")
    in_utc = build_invoice(number=invoice_number("BANK", "AG-A", 7), creditor_id="BANK",
                           agency_id="AG-A", period=JANUARY, terms=terms(timezone="UTC"),
                           selected=selected)
    assert content_hash(in_utc) != content_hash(content)


def test_a_document_issued_before_zones_recomputes_in_its_own_form() -> None:
    credit = [SelectedLine(line("r1", "-180.00", "reversal"), True)]
    legacy = build_invoice(number=invoice_number("BANK", "AG-A", 2), creditor_id="BANK",
                           agency_id="AG-A", period=JANUARY, terms=terms(minimum_fee="500.00"),
                           selected=credit, legacy=True)
    totals = legacy["totals"]
    assert isinstance(totals, dict)
    # As the code before issued it: no type or zone, and the minimum fee topped up.
    assert "document_type" not in legacy
    assert "timezone" not in legacy
    assert (totals["minimum_fee_top_up"], totals["subtotal"]) == ("500.00", "320.00")


def test_a_period_is_the_instants_of_its_days_in_a_zone() -> None:
    window = JANUARY.window(ZoneInfo("Asia/Shanghai"))
    assert (window.start.astimezone(UTC), window.end.astimezone(UTC)) == (
        datetime(2025, 12, 31, 16, tzinfo=UTC), datetime(2026, 1, 31, 16, tzinfo=UTC))
    assert JANUARY.window(UTC).end == datetime(2026, 2, 1, tzinfo=UTC)
