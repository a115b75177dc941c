"""Invoice totals, the minimum fee, tax rounding and the content hash (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from billing_service.domain.contracts import ContractTerms, ContractVersion
from billing_service.domain.errors import InvalidPeriod
from billing_service.domain.invoice import (
    Period,
    SelectedLine,
    build_invoice,
    content_hash,
    invoice_number,
)
from billing_service.domain.ledger import LedgerLine

D = Decimal
JANUARY = Period(date(2026, 1, 1), date(2026, 1, 31))


def terms(minimum_fee: str = "0", tax_rate: str = "0") -> ContractVersion:
    return ContractVersion("BANK", "AG-A", 1, ContractTerms(
        effective_from=date(2026, 1, 1), currency="CNY", rates={"M2": D("0.18")},
        minimum_fee=D(minimum_fee), tax_rate=D(tax_rate)), "2026-01-01T00:00:00+00:00", "t")


def line(entry: str, commission: str, kind: str = "payment") -> LedgerLine:
    amount = D(commission) / D("0.18")
    return LedgerLine(
        entry=entry, kind=kind, position=1, case_id="c1", account_ref="A", bucket="M2",
        reference=entry, source="agency", occurred_at="2026-01-10T10:00:00+00:00",
        occurred_on=date(2026, 1, 10), amount=amount, commissionable=True, portions=(),
        commission_unrounded=D(commission), commission=D(commission), rule="bucket M2 rate 18%",
        contract_version=1, explanation="within the placement term (ends 2026-03-31)")


def build(selected: list[SelectedLine], **contract: str) -> dict[str, object]:
    return build_invoice(number=invoice_number("BANK", "AG-A", 7), creditor_id="BANK",
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
