"""Agency performance and the creditor's agency comparison, worked out by hand."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import World

JANUARY = {"period": "2026-01", "as_of": "2026-03-31"}


@pytest.fixture
def portfolio(world: World) -> World:
    """January placements of BANK with AG-A (two) and AG-B (one), one of BANK2 with AG-A,
    and a February placement with AG-A that January's figures leave out."""
    world.contract(world.contract_body(), agency="AG-A")  # M2 18 %, M3 25 %
    world.contract(world.contract_body(rates={"M2": "0.20"}), agency="AG-B")
    a1 = world.place(bucket="M2", amount="10000.00", agency="AG-A", placed="2026-01-05")
    a2 = world.place(bucket="M3", amount="5000.00", agency="AG-A", placed="2026-01-10")
    b1 = world.place(bucket="M2", amount="10000.00", agency="AG-B", placed="2026-01-06")
    x1 = world.place(bucket="M2", amount="2000.00", agency="AG-A", placed="2026-01-07",
                     creditor="BANK2")
    a3 = world.place(bucket="M1", amount="3000.00", agency="AG-A", placed="2026-02-02")
    world.promise(a1, "P1", "1000.00", "2026-01-15", "2026-01-25")
    world.pay(a1, "A1-JAN", "1000.00", "2026-01-20")       # keeps P1
    world.promise(a2, "P2", "500.00", "2026-01-20", "2026-02-01")
    world.pay(b1, "B1-JAN", "500.00", "2026-01-25")
    world.pay(x1, "X1-JAN", "1000.00", "2026-01-08")
    world.pay(a3, "A3-FEB", "100.00", "2026-02-03")
    world.break_promise(a2, "P2", "2026-02-05")
    world.pay(a1, "A1-FEB", "2000.00", "2026-02-10")
    world.reverse(a1, "A1-FEB", "2026-02-15", "500.00")
    world.pay(a2, "A2-MAR", "1000.00", "2026-03-05")
    world.pay(a2, "A2-APR", "1000.00", "2026-04-02")       # after as_of: not counted
    world.sync()
    return world


def test_an_agency_sees_recovery_fees_promises_and_curves_of_its_vintage(
        portfolio: World) -> None:
    report = portfolio.get("bank", "/v1/agencies/AG-A/performance", **JANUARY).json()

    # BANK's January placements with AG-A: A1 (M2, 10000) and A2 (M3, 5000) -> placed 15000
    # received 1000 + 2000 + 1000 = 4000; reversed 500; recovered 3500
    assert (report["creditor_id"], report["placements"], report["placed_amount"],
            report["received_amount"], report["reversed_amount"],
            report["recovered_amount"]) == ("BANK", 2, "15000.00", "4000.00", "500.00",
                                            "3500.00")
    assert report["recovery_rate"] == "0.2333"   # 3500 / 15000
    assert report["reversal_rate"] == "0.1250"   # 500 / 4000
    # commission 1000 x 0.18 + 2000 x 0.18 - 500 x 0.18 + 1000 x 0.25 = 180+360-90+250 = 700
    assert (report["commission"], report["commissionable_recovered"],
            report["average_fee_rate"]) == ("700.00", "3500.00", "0.2000")
    # Promises settled in January (casetrail.figures): P1 kept on 01-20; P2 broke in
    # February, so it counts in February's figures, not January's.
    assert report["promises"] == {"kept": 1, "broken": 0, "open": 0}
    assert report["promise_kept_rate"] == "1.0000"
    # Cases AG-A held in January: A1, A2 (BANK's; the report is scoped to the caller's).
    assert report["cases_assigned"] == 2
    assert [(b["bucket"], b["placed_amount"], b["recovered_amount"], b["recovery_rate"])
            for b in report["by_bucket"]] == [("M2", "10000.00", "2500.00", "0.2500"),
                                              ("M3", "5000.00", "1000.00", "0.2000")]
    [vintage] = report["by_vintage"]
    assert vintage["vintage"] == "2026-01"
    # month 0 (Jan): 1000; month 1 (Feb): +2000 - 500 -> 2500; month 2 (Mar): +1000 -> 3500
    assert [(p["months_since_placement"], p["recovered_amount"], p["liquidation_rate"])
            for p in vintage["liquidation_curve"]] == [
        (0, "1000.00", "0.0667"), (1, "2500.00", "0.1667"), (2, "3500.00", "0.2333")]


def test_each_caller_sees_only_its_own_slice(portfolio: World) -> None:
    def report(who: str, agency: str = "AG-A", **params: Any) -> Any:
        return portfolio.get(who, f"/v1/agencies/{agency}/performance", **JANUARY, **params)

    everything = report("auditor").json()
    # all creditors: + X1 (BANK2, 2000 placed, 1000 paid, no contract): placed 17000,
    # recovered 4500 -> 0.2647; fee rate still 700 / 3500
    assert (everything["placements"], everything["placed_amount"],
            everything["recovered_amount"], everything["recovery_rate"],
            everything["average_fee_rate"]) == (3, "17000.00", "4500.00", "0.2647", "0.2000")
    assert report("agency").json() == everything
    assert report("bank2").json()["placed_amount"] == "2000.00"
    assert report("auditor", creditor_id="BANK2").json()["recovery_rate"] == "0.5000"
    assert report("agency_b").status_code == 403
    assert report("bank", creditor_id="BANK2").status_code == 403
    by_days = portfolio.get("bank", "/v1/agencies/AG-A/performance", as_of="2026-03-31",
                            **{"from": "2026-01-01", "to": "2026-01-31"}).json()
    assert by_days == report("bank").json()


def test_a_creditor_compares_its_agencies_side_by_side(portfolio: World) -> None:
    comparison = portfolio.get("bank", "/v1/creditors/BANK/agency-comparison",
                               **JANUARY).json()
    # AG-A: 3500 / 15000 = 0.2333; AG-B: 500 / 10000 = 0.0500 at 500 x 0.20 / 500 = 0.2000
    assert comparison["champion"] == "AG-A"
    assert [(a["agency_id"], a["role"], a["recovery_rate"], a["average_fee_rate"])
            for a in comparison["agencies"]] == [("AG-A", "champion", "0.2333", "0.2000"),
                                                 ("AG-B", "challenger", "0.0500", "0.2000")]
    assert portfolio.get("auditor", "/v1/creditors/BANK/agency-comparison",
                         **JANUARY).json() == comparison
    assert portfolio.get("bank2", "/v1/creditors/BANK/agency-comparison",
                         **JANUARY).status_code == 403
    assert portfolio.get("agency", "/v1/creditors/BANK/agency-comparison",
                         **JANUARY).status_code == 403
