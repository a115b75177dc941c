"""Billing scenarios end to end: case events from the real case application, the billing-ledger
projection, contracts and billing runs over HTTP. Every expected invoice is worked out by hand
in the comments (rates: M1 12 %, M2 18 %, M3 25 %, M4+ 35 % unless a test says otherwise).
Runs on SQLite and on PostgreSQL (TEST_DATABASE_URL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from case_service.application.views import history as case_history
from casetrail.projections.rebuild import rebuild_from_log

if TYPE_CHECKING:
    from conftest import World

PAY, REV, MIN = "payment", "reversal", "minimum_fee"


def invoice(world: World, invoice_id: str, who: str = "bank") -> dict[str, Any]:
    response = world.get(who, f"/v1/invoices/{invoice_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_tiers_pay_each_slice_of_a_payment_at_its_bracket_rate(world: World) -> None:
    first = world.place(bucket="M3", amount="30000.00")
    second = world.place(bucket="M3", amount="5000.00")
    world.pay(first, "PAY-1", "6000.00", "2026-01-10")
    world.pay(first, "PAY-2", "6000.00", "2026-01-20")
    world.pay(first, "PAY-3", "1000.00", "2026-01-25")
    world.pay(second, "PAY-4", "500.00", "2026-01-26")
    world.sync()
    world.contract(world.contract_body(
        rates={"M1": "0.12", "M2": "0.18", "M4+": "0.35"},
        tiers={"M3": [{"up_to": "10000", "rate": "0.20"}, {"up_to": None, "rate": "0.15"}]}))

    result = world.bill("2026-01-01", "2026-01-31")

    # PAY-1: recovered 0 -> 6000, all in tier 1:             6000 x 0.20 = 1200.00
    # PAY-2: recovered 6000 -> 12000: 4000 x 0.20 + 2000 x 0.15 = 800 + 300 = 1100.00
    # PAY-3: recovered 12000 -> 13000, all in tier 2:         1000 x 0.15 =  150.00
    # PAY-4: another case, its own brackets, tier 1:           500 x 0.20 =  100.00
    # subtotal 2550.00, no tax
    assert world.lines(result) == [(PAY, "6000.00", "1200.00", True),
                                   (PAY, "6000.00", "1100.00", True),
                                   (PAY, "1000.00", "150.00", True),
                                   (PAY, "500.00", "100.00", True)]
    spanning = result["lines"][1]
    assert spanning["rate"] is None  # blended: two brackets
    assert spanning["rule"] == ("tier 1 of M3 (20%) on 4000.00 + tier 2 of M3 (15%) on 2000.00")
    assert [(p["amount"], p["rate"]) for p in spanning["portions"]] == [
        ("4000", "0.2"), ("2000", "0.15")]
    assert result["lines"][2]["rule"] == "tier 2 of M3 (15%)"
    assert result["totals"]["subtotal"] == "2550.00"
    assert result["totals"]["total"] == "2550.00"


def test_term_and_tail_edges(world: World) -> None:
    # Case A: term ends 2026-01-31, contract tail 10 days -> last commissionable day 02-10.
    # Case B: term to 06-30 but recalled on 02-03 -> tail ends 02-13.
    a = world.place(bucket="M2", term_end="2026-01-31")
    b = world.place(bucket="M1", term_end="2026-06-30")
    world.contract(world.contract_body(tail_days=10))
    world.pay(a, "A-LAST-TERM-DAY", "100.00", "2026-01-31")
    world.pay(a, "A-FIRST-DAY-AFTER", "100.00", "2026-02-01")
    world.recall(b, "2026-02-03")
    world.pay(a, "A-LAST-TAIL-DAY", "100.00", "2026-02-10")
    world.pay(a, "A-AFTER-TAIL", "100.00", "2026-02-11")
    world.pay(b, "B-LAST-TAIL-DAY", "200.00", "2026-02-13")
    world.pay(b, "B-AFTER-TAIL", "200.00", "2026-02-14")
    world.sync()

    result = world.bill("2026-01-01", "2026-02-28")

    # A 01-31 last day of the term:        100 x 0.18 = 18.00
    # A 02-01 tail day 1:                  100 x 0.18 = 18.00
    # A 02-10 tail day 10 (the last):      100 x 0.18 = 18.00
    # A 02-11 after the tail:                             0.00
    # B 02-13 tail day 10 after recall:    200 x 0.12 = 24.00
    # B 02-14 after the tail:                             0.00
    # subtotal 18 + 18 + 18 + 24 = 78.00
    assert world.lines(result) == [(PAY, "100.00", "18.00", True),
                                   (PAY, "100.00", "18.00", True),
                                   (PAY, "100.00", "18.00", True),
                                   (PAY, "100.00", "0.00", False),
                                   (PAY, "200.00", "24.00", True),
                                   (PAY, "200.00", "0.00", False)]
    notes = [line["explanation"] for line in result["lines"]]
    assert notes[0] == "within the placement term (ends 2026-01-31)"
    assert notes[1] == "in the tail: day 1 of 10 after the term end on 2026-01-31"
    assert notes[2] == "in the tail: day 10 of 10 after the term end on 2026-01-31"
    assert notes[3] == ("outside the placement term + tail: term end on 2026-01-31, tail of 10 "
                        "days ended 2026-02-10")
    assert notes[4] == "in the tail: day 10 of 10 after the recall on 2026-02-03"
    assert notes[5].startswith("outside the placement term + tail: recall on 2026-02-03")
    assert result["totals"]["subtotal"] == "78.00"


def test_a_reversal_after_invoicing_is_a_credit_on_the_next_invoice(world: World) -> None:
    case = world.place(bucket="M2")
    world.contract(world.contract_body(tax_rate="0.06"))
    world.pay(case, "PAY-1", "2000.00", "2026-01-10")
    world.pay(case, "PAY-2", "500.00", "2026-01-20")
    world.sync()
    january = world.bill("2026-01-01", "2026-01-31")
    # 2000 x 0.18 = 360.00; 500 x 0.18 = 90.00; subtotal 450.00; tax 6 % = 27.00; total 477.00
    assert world.lines(january) == [(PAY, "2000.00", "360.00", True),
                                    (PAY, "500.00", "90.00", True)]
    assert (january["totals"]["subtotal"], january["totals"]["tax"],
            january["totals"]["total"]) == ("450.00", "27.00", "477.00")

    world.reverse(case, "PAY-1", "2026-02-05")              # bounced after being invoiced
    world.pay(case, "PAY-3", "1000.00", "2026-02-10")
    world.reverse(case, "PAY-2", "2026-02-12", "200.00")    # partly charged back
    world.reverse(case, "PAY-3", "2026-02-20", "100.00")    # reversed in its own period
    world.sync()
    february = world.bill("2026-02-01", "2026-02-28")

    # PAY-1 reversed in full: claw back at the 18 % it was billed at:   -360.00
    # PAY-3:                                           1000 x 0.18 =    180.00
    # PAY-2, 200 of it reversed:                        200 x 0.18 =    -36.00
    # PAY-3, 100 of it reversed in the same run (nets):  100 x 0.18 =    -18.00
    # subtotal -234.00; tax 0.06 x -234.00 = -14.04; total -248.04 (a net credit: a credit
    # note, numbered in its own sequence)
    assert (february["document_type"], february["invoice_id"]) == (
        "credit_note", "CN-BANK-AG-A-00001")
    assert world.lines(february) == [(REV, "-2000.00", "-360.00", True),
                                     (PAY, "1000.00", "180.00", True),
                                     (REV, "-200.00", "-36.00", True),
                                     (REV, "-100.00", "-18.00", True)]
    assert february["lines"][0]["rule"] == "clawback at bucket M2 rate 18%"
    assert february["lines"][0]["reference"] == "PAY-1"
    assert (february["totals"]["earlier_invoice_credits"], february["totals"]["subtotal"],
            february["totals"]["tax"], february["totals"]["total"]) == (
        "-396.00", "-234.00", "-14.04", "-248.04")
    # The January invoice is never edited.
    assert invoice(world, january["invoice_id"]) == january
    assert world.bill("2026-01-01", "2026-01-31", expect=200) == january
    # Each entry is billed once: March has nothing left to bill.
    march = world.bill("2026-03-01", "2026-03-31")
    assert march["lines"] == []
    assert march["totals"]["total"] == "0.00"
    assert (march["document_type"], march["invoice_id"]) == ("invoice", "INV-BANK-AG-A-00002")


def test_creditor_direct_payments_follow_the_contract(world: World) -> None:
    at_a = world.place(bucket="M2", agency="AG-A")
    at_b = world.place(bucket="M4+", agency="AG-B")
    world.contract(world.contract_body(creditor_direct_commissionable=False), agency="AG-A")
    world.contract(world.contract_body(creditor_direct_commissionable=True), agency="AG-B")
    world.pay(at_a, "DIRECT-A", "1000.00", "2026-01-10", source="creditor_direct")
    world.pay(at_a, "AGENCY-A", "500.00", "2026-01-11")
    world.reverse(at_a, "DIRECT-A", "2026-01-12")
    world.pay(at_b, "DIRECT-B", "1000.00", "2026-01-10", source="creditor_direct")
    world.sync()

    for_a = world.bill("2026-01-01", "2026-01-31", agency="AG-A")
    for_b = world.bill("2026-01-01", "2026-01-31", agency="AG-B")

    # AG-A: direct 1000 earns nothing under its contract; 500 x 0.18 = 90.00; the reversal of
    # the direct payment claws back nothing (it earned nothing). Subtotal 90.00.
    assert world.lines(for_a) == [(PAY, "1000.00", "0.00", False),
                                  (PAY, "500.00", "90.00", True),
                                  (REV, "-1000.00", "0.00", False)]
    assert for_a["lines"][0]["explanation"] == (
        "creditor-direct payment, not commissionable under contract v1")
    assert for_a["totals"]["subtotal"] == "90.00"
    # AG-B: direct money counts: 1000 x 0.35 = 350.00.
    assert world.lines(for_b) == [(PAY, "1000.00", "350.00", True)]
    assert for_b["lines"][0]["explanation"].startswith("creditor-direct payment; within")
    assert for_b["invoice_id"] == "INV-BANK-AG-B-00001"


def test_a_contract_change_mid_period_bills_each_payment_under_its_version(
        world: World) -> None:
    case = world.place(bucket="M2", placed="2026-01-02")
    world.contract(world.contract_body(effective_from="2026-01-05"))
    world.contract(world.contract_body(effective_from="2026-01-16",
                                       rates={"M2": "0.20"}, tax_rate="0.06"))
    world.pay(case, "PAY-EARLY", "1000.00", "2026-01-03")   # before any version
    world.pay(case, "PAY-V1", "1000.00", "2026-01-15")
    world.pay(case, "PAY-V2", "1000.00", "2026-01-16")
    world.sync()

    result = world.bill("2026-01-01", "2026-01-31")

    # 01-03: no contract in force                      0.00
    # 01-15: version 1, 1000 x 0.18 =                180.00
    # 01-16: version 2, 1000 x 0.20 =                200.00
    # subtotal 380.00; tax (version 2 is in force on 01-31) 6 % = 22.80; total 402.80
    assert world.lines(result) == [(PAY, "1000.00", "0.00", False),
                                   (PAY, "1000.00", "180.00", True),
                                   (PAY, "1000.00", "200.00", True)]
    assert [line["contract_version"] for line in result["lines"]] == [None, 1, 2]
    assert result["lines"][0]["explanation"] == "no contract in force on 2026-01-03"
    assert result["terms"]["contract_version"] == 2
    assert (result["totals"]["subtotal"], result["totals"]["tax"],
            result["totals"]["total"]) == ("380.00", "22.80", "402.80")
    versions = world.get("bank", "/v1/contracts/BANK/AG-A").json()["versions"]
    assert [(v["version"], v["effective_from"], v["rates"]) for v in versions] == [
        (1, "2026-01-05", {"M1": "0.12", "M2": "0.18", "M3": "0.25", "M4+": "0.35"}),
        (2, "2026-01-16", {"M2": "0.2"})]


def test_partial_payments_are_each_a_line(world: World) -> None:
    case = world.place(bucket="M1", amount="5000.00")
    world.contract(world.contract_body())
    world.pay(case, "PART-1", "1234.56", "2026-01-06")
    world.pay(case, "PART-2", "765.44", "2026-01-13")
    world.pay(case, "PART-3", "3000.00", "2026-01-20")
    world.sync()

    result = world.bill("2026-01-01", "2026-01-31")

    # 1234.56 x 0.12 = 148.1472 -> 148.15
    #  765.44 x 0.12 =  91.8528 ->  91.85
    # 3000.00 x 0.12 = 360.00
    # subtotal 148.15 + 91.85 + 360.00 = 600.00
    assert world.lines(result) == [(PAY, "1234.56", "148.15", True),
                                   (PAY, "765.44", "91.85", True),
                                   (PAY, "3000.00", "360.00", True)]
    assert [line["commission_unrounded"] for line in result["lines"]] == [
        "148.1472", "91.8528", "360"]
    assert result["totals"]["commissionable_amount"] == "5000.00"
    assert result["totals"]["subtotal"] == "600.00"


def test_rounding_is_half_up_per_line_and_totals_are_sums_of_rounded_lines(
        world: World) -> None:
    case = world.place(bucket="M1")
    world.contract(world.contract_body(rates={"M1": "0.125"}, tax_rate="0.06"))
    for n, amount in enumerate(["1.00", "1.00", "1.00", "100.10"]):
        world.pay(case, f"PAY-{n}", amount, "2026-01-10")
    world.sync()

    result = world.bill("2026-01-01", "2026-01-31")

    # 1.00 x 0.125 = 0.125 -> 0.13 (half-up), three times
    # 100.10 x 0.125 = 12.5125 -> 12.51
    # subtotal 0.13 x 3 + 12.51 = 12.90 (rounding the sum 12.8875 would give 12.89)
    # tax 12.90 x 0.06 = 0.774 -> 0.77; total 13.67
    assert world.lines(result) == [(PAY, "1.00", "0.13", True)] * 3 + [
        (PAY, "100.10", "12.51", True)]
    assert [line["commission_unrounded"] for line in result["lines"]] == [
        "0.125", "0.125", "0.125", "12.5125"]
    assert (result["totals"]["subtotal"], result["totals"]["tax"],
            result["totals"]["total"]) == ("12.90", "0.77", "13.67")


def test_the_minimum_fee_tops_up_what_the_period_earned(world: World) -> None:
    case = world.place(bucket="M2")
    world.contract(world.contract_body(minimum_fee="500.00", tax_rate="0.06"))
    world.pay(case, "PAY-1", "1000.00", "2026-01-10")
    world.sync()

    january = world.bill("2026-01-01", "2026-01-31")
    # earned 1000 x 0.18 = 180.00 < 500.00 -> top-up 320.00; subtotal 500.00;
    # tax 30.00; total 530.00
    assert world.lines(january) == [(PAY, "1000.00", "180.00", True),
                                    (MIN, "0.00", "320.00", True)]
    assert january["lines"][1]["rule"] == "minimum fee 500.00 per invoice (contract v1)"
    assert (january["totals"]["minimum_fee_top_up"], january["totals"]["subtotal"],
            january["totals"]["tax"], january["totals"]["total"]) == (
        "320.00", "500.00", "30.00", "530.00")

    february = world.bill("2026-02-01", "2026-02-28")
    # nothing earned: top-up 500.00; subtotal 500.00; tax 30.00; total 530.00
    assert world.lines(february) == [(MIN, "0.00", "500.00", True)]
    assert february["totals"]["total"] == "530.00"

    world.reverse(case, "PAY-1", "2026-03-02")
    world.sync()
    march = world.bill("2026-03-01", "2026-03-31")
    # Issue 19: March's only line is the clawback of January's 180.00, so the period nets to
    # a credit (-180.00 before any minimum fee): a credit note, with no minimum fee (this
    # test expected a 500.00 top-up and an invoice of 339.20 before). Subtotal -180.00;
    # tax 0.06 x -180.00 = -10.80; total -190.80.
    assert march["document_type"] == "credit_note"
    assert march["invoice_id"] == "CN-BANK-AG-A-00001"
    assert world.lines(march) == [(REV, "-1000.00", "-180.00", True)]
    assert (march["totals"]["minimum_fee_top_up"], march["totals"]["subtotal"],
            march["totals"]["tax"], march["totals"]["total"]) == (
        "0.00", "-180.00", "-10.80", "-190.80")


def test_reposting_a_run_returns_the_stored_invoice(world: World) -> None:
    case = world.place()
    world.contract(world.contract_body())
    world.pay(case, "PAY-1", "1000.00", "2026-01-10")
    world.sync()
    first = world.bill("2026-01-01", "2026-01-31", expect=201)
    world.pay(case, "PAY-LATE", "1000.00", "2026-01-20")  # reported after the run
    world.sync()

    again = world.bill("2026-01-01", "2026-01-31", expect=200)
    by_agency = world.bill("2026-01-01", "2026-01-31", who="agency", expect=200)

    assert again == first == by_agency
    assert first["invoice_id"] == "INV-BANK-AG-A-00001"
    # A later payment dated inside an invoiced period is carried into the next run.
    february = world.bill("2026-02-01", "2026-02-28")
    assert february["invoice_id"] == "INV-BANK-AG-A-00002"
    assert [(line["reference"], line["occurred_on"], line["commission"])
            for line in february["lines"]] == [("PAY-LATE", "2026-01-20", "180.00")]


def test_overlapping_or_earlier_periods_are_refused(world: World) -> None:
    world.place()
    world.contract(world.contract_body())
    world.sync()
    world.bill("2026-02-01", "2026-02-28")

    overlapping = world.post("bank", "/v1/billing-runs", {
        "creditor_id": "BANK", "agency_id": "AG-A", "period_start": "2026-02-15",
        "period_end": "2026-03-15"})
    earlier = world.post("bank", "/v1/billing-runs", {
        "creditor_id": "BANK", "agency_id": "AG-A", "period_start": "2026-01-01",
        "period_end": "2026-01-31"})

    assert overlapping.status_code == earlier.status_code == 409
    assert overlapping.json()["error"]["code"] == "period_already_invoiced"
    assert earlier.json()["error"]["fields"][0]["path"] == "body.period_start"


def test_a_rebuild_from_the_log_reproduces_every_invoice_hash(world: World) -> None:
    first = world.place(bucket="M3", amount="30000.00")
    second = world.place(bucket="M1", term_end="2026-01-31")
    world.contract(world.contract_body(
        tail_days=5, minimum_fee="100.00", tax_rate="0.06",
        tiers={"M3": [{"up_to": "10000", "rate": "0.20"}, {"up_to": None, "rate": "0.15"}]}))
    world.pay(first, "PAY-1", "8000.00", "2026-01-10")
    world.pay(first, "PAY-2", "4000.00", "2026-01-20")
    world.pay(second, "PAY-3", "333.33", "2026-02-03", source="creditor_direct")
    world.sync()
    january = world.bill("2026-01-01", "2026-01-31")
    world.reverse(first, "PAY-2", "2026-02-02", "1500.00")
    world.reassign(second, "AG-B", "2026-02-04", "2026-12-31")
    world.pay(second, "PAY-4", "100.00", "2026-02-05")
    world.sync()
    february = world.bill("2026-02-01", "2026-02-28")
    # January: PAY-1 8000, all in tier 1: 8000 x 0.20 = 1600.00; PAY-2 4000 takes the case
    # from 8000 to 12000: 2000 x 0.20 + 2000 x 0.15 = 700.00. Subtotal 2300.00, tax 138.00.
    assert [line["commission"] for line in january["lines"]] == ["1600.00", "700.00"]
    assert january["totals"]["total"] == "2438.00"
    # February: PAY-3 (creditor-direct, counts) on the M1 case is on tail day 3 of 5 after its
    # 01-31 term end: 333.33 x 0.12 = 39.9996 -> 40.00. 1500 of PAY-2 reversed leaves from its
    # top slice (tier 2): -1500 x 0.15 = -225.00. (PAY-4 is AG-B's.) The lines net to
    # 40 - 225 = -185.00, a credit: a credit note with no minimum fee (issue 19; before, a
    # 60.00 top-up made it an "invoice" of -132.50). Subtotal -185.00; tax -11.10; total
    # -196.10.
    assert february["document_type"] == "credit_note"
    assert [line["commission"] for line in february["lines"]] == ["40.00", "-225.00"]
    assert (february["totals"]["subtotal"], february["totals"]["total"]) == (
        "-185.00", "-196.10")
    # More events after both runs: they must not change what the old runs recompute to.
    world.pay(first, "PAY-5", "50.00", "2026-01-31")
    world.recall(first, "2026-01-15")  # recorded late, dated before PAY-2

    # A dispute: a type billing does not handle, which a rebuild from the log skips unread.
    world._run(second, lambda c: c.dispute(
        reason="not mine", disputed_at=datetime(2026, 2, 6, 10, tzinfo=UTC), actor="test"))
    last = world.cases.events_after(0, 1000)[-1]
    assert last.type == "Disputed"

    world.service.ledger.reset()  # drop the read model and its positions
    # Contracts and invoices are the service's own records: a rebuild keeps them.
    assert len(world.get("bank", "/v1/contracts/BANK/AG-A").json()["versions"]) == 1
    assert len(world.get("bank", "/v1/invoices").json()["invoices"]) == 2
    # Rebuild it from the whole log, in pages of 3 decoding only the types billing handles.
    assert rebuild_from_log(world.service.ledger,
                            lambda after, _, types: world.cases.log_page(after, 3, types)
                            ) == last.position
    assert world.service.ledger.position("feed") == last.position

    for issued in (january, february):
        checked = world.get("auditor", "/v1/billing-runs/preview", creditor_id="BANK",
                            agency_id="AG-A", period_start=issued["period_start"],
                            period_end=issued["period_end"]).json()
        assert checked["stored"] is True
        assert checked["matches"] is True
        assert checked["content_hash"] == checked["stored_hash"] == issued["content_hash"]
        assert checked["stored_content_intact"] is True
        assert checked["content"] == {k: issued[k] for k in checked["content"]}


def test_money_received_while_another_agency_held_the_case_is_that_agency_s(
        world: World) -> None:
    case = world.place(bucket="M2", agency="AG-A")
    world.contract(world.contract_body(), agency="AG-A")
    world.contract(world.contract_body(), agency="AG-B")
    world.pay(case, "JAN", "1000.00", "2026-01-20")
    world.reassign(case, "AG-B", "2026-02-01", "2026-12-31")
    world.pay(case, "FEB", "1000.00", "2026-02-10")
    # Recorded after the reassignment, but received while AG-A held the case: the case
    # credits it to AG-A (PaymentReceived.agency_id), decided once; billing applies that.
    world.pay(case, "LATE-JAN", "500.00", "2026-01-25")
    world.sync()

    for_a = world.bill("2026-01-01", "2026-02-28", agency="AG-A")
    for_b = world.bill("2026-01-01", "2026-02-28", agency="AG-B")

    # AG-A held the case until 02-01: JAN 1000 x 0.18 = 180.00, LATE-JAN 500 x 0.18 = 90.00
    assert [(line["reference"], line["commission"]) for line in for_a["lines"]] == [
        ("JAN", "180.00"), ("LATE-JAN", "90.00")]
    # AG-B: FEB 1000 x 0.18 = 180.00 only.
    assert [(line["reference"], line["commission"], line["commissionable"])
            for line in for_b["lines"]] == [("FEB", "180.00", True)]
    history = case_history(world.cases, case, unmask=False)
    late = next(e for e in history if e["data"].get("reference") == "LATE-JAN")
    assert (late["data"]["agency_id"], late["data"]["assignment"]) == ("AG-A", 1)
