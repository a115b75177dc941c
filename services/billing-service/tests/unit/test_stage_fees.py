"""Legal fees (诉讼费用): a law firm's fixed fee per litigation stage, on hand-made facts (no
database). The fee is the one the contract version in force on the stage's day (in the
contract's zone) sets; a stage recorded by another firm is not on this firm's ledger; with no
version in force, or none that prices the stage, a zero line says why (as a payment with no
contract in force)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from billing_service.domain.contracts import ContractTerms, ContractVersion
from billing_service.domain.errors import InvalidTerms
from billing_service.domain.invoice import Period, SelectedLine, build_invoice, select_lines
from billing_service.domain.ledger import (
    STAGE_FEE,
    Assignment,
    CaseFacts,
    LedgerLine,
    StageFact,
    case_ledger,
    stage_entry,
)

D = Decimal
FEES = {"filed": D("800.00"), "judgment": D("1200.00"), "enforcement": D("500.00")}


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def terms(effective_from: date = date(2026, 1, 1), **more: object) -> ContractTerms:
    fields: dict[str, object] = {"effective_from": effective_from, "currency": "CNY",
                                 "rates": {}, "stage_fees": FEES, "timezone": "Asia/Shanghai",
                                 **more}
    return ContractTerms(**fields).check()  # type: ignore[arg-type]


def version(n: int, t: ContractTerms) -> ContractVersion:
    return ContractVersion("BANK", "LF-1", n, t, "2026-01-01T00:00:00+00:00", "test")


def stage(ref: str, name: str, day: str, *, firm: str = "LF-1", hour: int = 10,
          docket: str | None = "(2026)京0105民初123号", position: int = 10) -> StageFact:
    return StageFact(ref, name, at(day, hour), "朝阳区人民法院", docket, firm, position)


def case(*stages: StageFact) -> CaseFacts:
    return CaseFacts(
        case_id="c1", creditor_id="BANK", account_ref="ACC-1", bucket="M4+", currency="CNY",
        placed_amount=D("50000"), placed_at=at("2026-01-05", 9),
        assignments=(Assignment(1, "AG-A", at("2026-01-05", 9), date(2026, 3, 31),
                                at("2026-02-01", 8), "reassigned"),
                     Assignment(2, "LF-1", at("2026-02-01", 8), date(2026, 12, 31))),
        stages=stages)


def test_terms_with_stage_fees_only_are_valid_and_round_trip() -> None:
    t = terms()
    assert t.to_json()["stage_fees"] == {"enforcement": "500", "filed": "800",
                                         "judgment": "1200"}
    assert ContractTerms.from_json(t.to_json()) == t
    old = {k: v for k, v in t.to_json().items() if k != "stage_fees"}
    assert ContractTerms.from_json(old).stage_fees == {}  # versions before stage fees


@pytest.mark.parametrize(("fees", "path"), [
    ({"appeal": D("100")}, "stage_fees.appeal"),
    ({"filed": D("-1")}, "stage_fees.filed"),
    ({"filed": D("1.005")}, "stage_fees.filed"),
])
def test_bad_stage_fees_are_refused_at_their_path(fees: dict[str, Decimal], path: str) -> None:
    with pytest.raises(InvalidTerms) as refused:
        terms(stage_fees=fees)
    assert refused.value.path == path


def test_neither_rates_nor_tiers_nor_stage_fees_is_refused() -> None:
    with pytest.raises(InvalidTerms) as refused:
        terms(stage_fees={})
    assert refused.value.path == "rates"


def test_each_stage_is_billed_its_fee_once_on_the_recording_firm_s_ledger() -> None:
    facts = case(stage("S1", "filed", "2026-02-03", position=11),
                 stage("S2", "hearing", "2026-03-10", position=12, docket=None),
                 stage("S3", "judgment", "2026-04-20", position=13),
                 stage("S4", "enforcement", "2026-05-06", position=14))
    lines = case_ledger(facts, "LF-1", [version(1, terms())])
    assert [(line.kind, line.reference, line.stage, line.commission, line.commissionable)
            for line in lines] == [
        (STAGE_FEE, "S1", "filed", D("800.00"), True),
        (STAGE_FEE, "S2", "hearing", D("0"), False),   # no hearing fee in the contract
        (STAGE_FEE, "S3", "judgment", D("1200.00"), True),
        (STAGE_FEE, "S4", "enforcement", D("500.00"), True)]
    assert lines[0].entry == stage_entry("c1", "S1") == "stage_fee:c1:S1"
    assert lines[0].rule == "stage fee 立案费 filed 800.00 (contract v1)"
    assert lines[0].docket_no == "(2026)京0105民初123号"
    assert lines[0].explanation == ("filed stage recorded by LF-1 on 2026-02-03, docket "
                                    "(2026)京0105民初123号")
    assert lines[1].explanation == ("hearing stage recorded 2026-03-10: no fee for the "
                                    "hearing stage under contract v1")
    # Another firm, and a collection agency, see none of it.
    assert case_ledger(facts, "LF-2", [version(1, terms())]) == []
    assert case_ledger(facts, "AG-A", [version(1, terms())]) == []


def test_the_version_in_force_on_the_stage_s_day_in_the_contract_zone_prices_it() -> None:
    # 2026-02-28 17:00 UTC is 03-01 01:00 in Asia/Shanghai: v2 (from 03-01) prices it.
    v1, v2 = terms(), terms(date(2026, 3, 1), stage_fees={"filed": D("900.00")})
    late = stage("S1", "filed", "2026-02-28", hour=17)
    [line] = case_ledger(case(late), "LF-1", [version(1, v1), version(2, v2)])
    assert (line.occurred_on, line.commission, line.contract_version) == (
        date(2026, 3, 1), D("900.00"), 2)


def test_a_stage_before_the_contract_takes_effect_is_a_zero_line() -> None:
    early = stage("S1", "filed", "2026-02-03")
    [line] = case_ledger(case(early), "LF-1", [version(1, terms(date(2026, 3, 1)))])
    assert (line.commission, line.commissionable, line.contract_version) == (D(0), False, None)
    assert line.explanation.endswith("no contract in force on 2026-02-03")


def test_a_billed_stage_stands_as_billed_and_is_not_selected_again() -> None:
    facts = case(stage("S1", "filed", "2026-02-03"))
    [line] = case_ledger(facts, "LF-1", [version(1, terms())])
    again = LedgerLine.from_json(line.to_json("CNY"))
    assert again == line
    relisted = case_ledger(facts, "LF-1", [version(1, terms(stage_fees={"filed": D("1")}))],
                           billed={line.entry: again})
    assert relisted == [line]
    assert select_lines(relisted, {line.entry}, Period(date(2026, 2, 1), date(2026, 2, 28))
                        ) == []


def test_stage_fees_count_in_subtotal_tax_and_total_like_commission() -> None:
    t = terms(tax_rate=D("0.06"))
    facts = case(stage("S1", "filed", "2026-02-03", position=11),
                 stage("S3", "judgment", "2026-02-20", position=12))
    ledger = case_ledger(facts, "LF-1", [version(1, t)])
    content = build_invoice(number="INV-BANK-LF-1-00001", creditor_id="BANK",
                            agency_id="LF-1", period=Period(date(2026, 2, 1), date(2026, 2, 28)),
                            terms=version(1, t),
                            selected=[SelectedLine(line, False) for line in ledger])
    # 800.00 + 1200.00 = 2000.00; tax 6 % = 120.00; total 2120.00
    assert content["totals"]["stage_fee_lines"] == 2
    assert content["totals"]["stage_fees"] == "2000.00"
    assert (content["totals"]["subtotal"], content["totals"]["tax"],
            content["totals"]["total"]) == ("2000.00", "120.00", "2120.00")
    assert [(line["stage"], line["docket_no"], line["commission"])
            for line in content["lines"]] == [
        ("filed", "(2026)京0105民初123号", "800.00"),
        ("judgment", "(2026)京0105民初123号", "1200.00")]
