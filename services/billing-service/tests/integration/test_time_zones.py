"""Issue 19 for billing: days in the contract's stated zone, one clock, runs only for periods
that have happened, and credit notes. Each test reproduces a defect of the code before it
(UTC billing days, invoices for unfinished periods, a minimum fee on a credit, a net credit
titled "Invoice"). Runs on SQLite and on PostgreSQL (TEST_DATABASE_URL).

The service's default zone is Asia/Shanghai (UTC+8, no daylight saving time): midnight there is
16:00 UTC the day before.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pypdfium2
import sqlalchemy as sa
from billing_service.adapters.records import contracts, invoice_lines, invoices
from casetrail.projections.rebuild import rebuild_from_log

if TYPE_CHECKING:
    from conftest import World

PAY, REV, MIN = "payment", "reversal", "minimum_fee"
BEFORE_ZONES = Path(__file__).parent / "data" / "invoice_before_zones.json"


def instant(text: str) -> datetime:
    """An instant from ISO-8601 text with an offset."""
    return datetime.fromisoformat(text).astimezone(UTC)


def run(world: World, start: str, end: str, who: str = "bank", agency: str = "AG-A") -> Any:
    """POST a billing run; the raw response."""
    return world.post(who, "/v1/billing-runs", {"creditor_id": "BANK", "agency_id": agency,
                                                "period_start": start, "period_end": end})


def preview(world: World, start: str, end: str) -> dict[str, Any]:
    """GET the preview of a period (must answer 200)."""
    response = world.get("bank", "/v1/billing-runs/preview", creditor_id="BANK",
                         agency_id="AG-A", period_start=start, period_end=end)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def refused(response: Any, status: int, code: str, path: str) -> None:
    """The shared error envelope with this code, naming the field."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert path in [f["path"] for f in error.get("fields", [])], error


def stored_rows(world: World) -> tuple[int, int]:
    """How many documents and billed lines the service has stored."""
    with world.service.engine.connect() as conn:
        return (conn.execute(sa.select(sa.func.count()).select_from(invoices)).scalar_one(),
                conn.execute(sa.select(sa.func.count()).select_from(invoice_lines))
                .scalar_one())


# ---------------------------------------------------------------------- days in the zone


def test_a_payment_at_7_in_the_morning_of_the_1st_in_beijing_is_billed_in_the_month_of_the_1st(
        world: World) -> None:
    case = world.place(bucket="M2", agency="AG-A")
    other = world.place(bucket="M2", agency="AG-B")
    world.contract(world.contract_body(), agency="AG-A")  # no zone: the service's default
    # 2026-02-01 07:00 in Beijing is 2026-01-31 23:00 UTC.
    world.pay(case, "PAY-0701", "1000.00", "2026-01-31", hour=23)
    world.pay(other, "PAY-UTC", "1000.00", "2026-01-31", hour=23)
    world.sync()

    january = world.bill("2026-01-01", "2026-01-31")
    february = world.bill("2026-02-01", "2026-02-28")

    # Asia/Shanghai contract: the payment's day is 02-01, so February bills it (the code
    # before billed it in January: its UTC day).
    assert january["lines"] == []
    assert [(line["reference"], line["occurred_on"], line["occurred_at"], line["commission"])
            for line in february["lines"]] == [
        ("PAY-0701", "2026-02-01", "2026-01-31T23:00:00+00:00", "180.00")]
    assert january["timezone"] == february["timezone"] == "Asia/Shanghai"
    versions = world.get("bank", "/v1/contracts/BANK/AG-A").json()["versions"]
    assert [v["timezone"] for v in versions] == ["Asia/Shanghai"]  # stated in the version
    # A contract that states UTC keeps UTC days: the same instant is January's.
    world.contract(world.contract_body(timezone="UTC"), agency="AG-B")
    utc_january = world.bill("2026-01-01", "2026-01-31", agency="AG-B")
    assert [(line["reference"], line["occurred_on"]) for line in utc_january["lines"]] == [
        ("PAY-UTC", "2026-01-31")]
    assert utc_january["timezone"] == "UTC"


def test_term_ends_and_contract_versions_are_judged_on_the_contract_s_day(world: World) -> None:
    case = world.place(bucket="M2", term_end="2026-01-31")
    world.contract(world.contract_body(effective_from="2026-01-01", tax_rate="0.06"))
    world.contract(world.contract_body(effective_from="2026-01-20", rates={"M2": "0.20"},
                                       tax_rate="0.06"))
    # 2026-01-19 17:00 UTC is 01-20 01:00 in Beijing: version 2 (20 %) is in force.
    world.pay(case, "EARLY-20TH", "1000.00", "2026-01-19", hour=17)
    # 2026-01-31 17:00 UTC is 02-01 01:00 in Beijing: after the term's last day, no tail.
    world.pay(case, "AFTER-TERM", "1000.00", "2026-01-31", hour=17)
    world.sync()

    february = world.bill("2026-01-01", "2026-02-28")

    # 1000 x 0.20 = 200.00 (version 2 on 01-20); the 02-01 payment earns nothing.
    assert [(line["reference"], line["occurred_on"], line["contract_version"],
             line["commission"]) for line in february["lines"]] == [
        ("EARLY-20TH", "2026-01-20", 2, "200.00"), ("AFTER-TERM", "2026-02-01", 2, "0.00")]
    assert february["lines"][1]["explanation"] == (
        "outside the placement term + tail: term end on 2026-01-31, tail of 0 days ended "
        "2026-01-31")


def test_a_contract_keeps_one_time_zone_across_versions(world: World) -> None:
    first = world.put("bank", "/v1/contracts/BANK/AG-A",
                      world.contract_body(timezone="Asia/Shanghai"))
    other_zone = world.put("bank", "/v1/contracts/BANK/AG-A", world.contract_body(
        effective_from="2026-03-01", timezone="UTC"))
    unknown = world.put("bank", "/v1/contracts/BANK/AG-B",
                        world.contract_body(timezone="Mars/Olympus_Mons"))
    same_zone_by_default = world.put("bank", "/v1/contracts/BANK/AG-A", world.contract_body(
        effective_from="2026-03-01"))

    assert first.status_code == 201
    assert first.json()["timezone"] == "Asia/Shanghai"
    assert first.json()["recorded_at"] == "2026-12-01T00:00:00+00:00"  # the service's clock
    refused(other_zone, 422, "contract_timezone_changed", "body.timezone")
    assert "Asia/Shanghai" in other_zone.json()["error"]["message"]
    refused(unknown, 422, "validation_error", "body.timezone")
    assert same_zone_by_default.status_code == 201, same_zone_by_default.text
    explicit_null = world.put("bank", "/v1/contracts/BANK/AG-A", world.contract_body(
        effective_from="2026-04-01", timezone=None))  # null is "no zone": the default
    assert explicit_null.status_code == 201, explicit_null.text
    assert [v["timezone"] for v in world.get(
        "bank", "/v1/contracts/BANK/AG-A").json()["versions"]] == ["Asia/Shanghai"] * 3


# ---------------------------------------------------------------------- one clock, ended periods


def test_a_run_at_23_59_on_the_last_day_in_beijing_is_refused_and_at_midnight_allowed(
        world: World) -> None:
    case = world.place()
    world.contract(world.contract_body())
    world.pay(case, "PAY-1", "1000.00", "2026-01-10")
    world.sync()
    world.clock.set(instant("2026-01-31T23:59:00+08:00"))

    early = run(world, "2026-01-01", "2026-01-31")
    provisional = preview(world, "2026-01-01", "2026-01-31")

    # The code before issued INV-BANK-AG-A-00001 here, a day's payments early.
    refused(early, 422, "period_not_ended", "body.period_end")
    assert stored_rows(world) == (0, 0)  # nothing of the refused run is stored
    assert (provisional["stored"], provisional["provisional"], provisional["timezone"],
            provisional["period_ends_at"]) == (
        False, True, "Asia/Shanghai", "2026-01-31T16:00:00+00:00")
    assert [line["reference"] for line in provisional["content"]["lines"]] == ["PAY-1"]

    world.clock.set(instant("2026-02-01T00:00:00+08:00"))
    issued = world.bill("2026-01-01", "2026-01-31")
    assert issued["invoice_id"] == "INV-BANK-AG-A-00001"
    assert issued["content_hash"] == provisional["content_hash"]
    # Stamps come from the same clock; the issue day is a day in the contract's zone.
    assert (issued["issued_at"], issued["issue_date"]) == (
        "2026-01-31T16:00:00+00:00", "2026-02-01")
    checked = preview(world, "2026-01-01", "2026-01-31")
    assert (checked["stored"], checked["provisional"], checked["matches"]) == (
        True, False, True)


def test_a_utc_contract_ends_its_period_at_utc_midnight(world: World) -> None:
    world.place()
    world.contract(world.contract_body(timezone="UTC"))
    world.sync()
    world.clock.set(instant("2026-01-31T23:59:59+00:00"))  # 02-01 07:59 in Beijing
    refused(run(world, "2026-01-01", "2026-01-31"), 422, "period_not_ended", "body.period_end")
    world.clock.set(instant("2026-02-01T00:00:00+00:00"))
    assert world.bill("2026-01-01", "2026-01-31")["timezone"] == "UTC"


def test_a_run_for_a_far_future_period_is_refused_and_blocks_nothing(world: World) -> None:
    case = world.place()
    world.contract(world.contract_body())
    world.pay(case, "PAY-JAN", "1000.00", "2026-01-10")
    world.pay(case, "PAY-FEB", "500.00", "2026-02-05")
    world.sync()
    world.clock.set(instant("2026-02-10T12:00:00+08:00"))

    far = run(world, "2199-12-01", "2199-12-31")
    next_month = run(world, "2026-03-01", "2026-03-31")
    this_month = run(world, "2026-02-01", "2026-02-28")

    refused(far, 422, "period_not_begun", "body.period_start")
    refused(next_month, 422, "period_not_begun", "body.period_start")
    refused(this_month, 422, "period_not_ended", "body.period_end")
    assert stored_rows(world) == (0, 0)
    assert world.get("bank", "/v1/invoices").json()["invoices"] == []
    # Nothing stands in the way: January now, February once it has ended, each numbered as
    # if the refused runs had never been asked for.
    january = world.bill("2026-01-01", "2026-01-31")
    world.clock.set(instant("2026-03-01T00:00:00+08:00"))
    february = world.bill("2026-02-01", "2026-02-28")
    assert [(d["invoice_id"], [line["reference"] for line in d["lines"]])
            for d in (january, february)] == [("INV-BANK-AG-A-00001", ["PAY-JAN"]),
                                              ("INV-BANK-AG-A-00002", ["PAY-FEB"])]


# ---------------------------------------------------------------------- credit notes


def test_a_period_that_nets_to_a_credit_is_a_credit_note_in_every_export(
        world: World) -> None:
    case = world.place(bucket="M2")
    world.contract(world.contract_body(minimum_fee="500.00", tax_rate="0.06"))
    world.pay(case, "PAY-1", "1000.00", "2026-01-10")
    world.sync()
    january = world.bill("2026-01-01", "2026-01-31")
    world.reverse(case, "PAY-1", "2026-02-03")
    world.sync()

    february = world.bill("2026-02-01", "2026-02-28")
    march = world.bill("2026-03-01", "2026-03-31")

    # January: 1000 x 0.18 = 180.00, topped up to the 500.00 minimum; tax 30.00: 530.00.
    assert (january["document_type"], january["invoice_id"], january["totals"]["total"]) == (
        "invoice", "INV-BANK-AG-A-00001", "530.00")
    # February: only the clawback of January's 180.00: the lines net to -180.00, a credit.
    # A credit note, numbered in its own sequence, with no minimum fee (the code before
    # topped it up to 500.00 and issued "Invoice" INV-BANK-AG-A-00002 for 339.20).
    # Tax 0.06 x -180.00 = -10.80; total -190.80.
    assert (february["document_type"], february["invoice_id"]) == (
        "credit_note", "CN-BANK-AG-A-00001")
    assert world.lines(february) == [(REV, "-1000.00", "-180.00", True)]
    assert (february["totals"]["minimum_fee_top_up"], february["totals"]["subtotal"],
            february["totals"]["tax"], february["totals"]["total"]) == (
        "0.00", "-180.00", "-10.80", "-190.80")
    # March: nothing to bill nets to zero, not to a credit: an invoice of the minimum fee,
    # the pair's second invoice (the credit note did not take an invoice number).
    assert (march["document_type"], march["invoice_id"], world.lines(march)) == (
        "invoice", "INV-BANK-AG-A-00002", [(MIN, "0.00", "500.00", True)])
    # Re-running the period returns the stored credit note.
    assert world.bill("2026-02-01", "2026-02-28", expect=200) == february
    listed = world.get("auditor", "/v1/invoices").json()["invoices"]
    assert [(i["invoice_id"], i["document_type"]) for i in listed] == [
        ("CN-BANK-AG-A-00001", "credit_note"), ("INV-BANK-AG-A-00001", "invoice"),
        ("INV-BANK-AG-A-00002", "invoice")]

    path = f"/v1/invoices/{february['invoice_id']}"
    assert world.get("agency", path).json() == february
    as_csv = world.get("bank", path, format="csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["document_type"], r["document_number"], r["timezone"], r["commission"])
            for r in rows] == [("credit_note", "CN-BANK-AG-A-00001", "Asia/Shanghai",
                                "-180.00")]
    assert as_csv.headers["x-document-type"] == "credit_note"
    pdf = world.get("bank", path, format="pdf")
    assert pdf.headers["x-document-type"] == "credit_note"
    text = pypdfium2.PdfDocument(pdf.content)[0].get_textpage().get_text_range()
    assert "贷项通知单 / Credit note" in text
    assert "发票" not in text
    assert "Invoice" not in text
    assert "CN-BANK-AG-A-00001" in text
    assert "CNY -190.80" in text
    assert "Asia/Shanghai" in text
    invoice_text = pypdfium2.PdfDocument(world.get(
        "bank", f"/v1/invoices/{january['invoice_id']}", format="pdf").content)[0] \
        .get_textpage().get_text_range()
    assert "发票 / Invoice" in invoice_text
    assert "Credit note" not in invoice_text


def test_a_credit_note_recomputes_to_its_hash_after_a_rebuild(world: World) -> None:
    case = world.place(bucket="M2")
    world.contract(world.contract_body(minimum_fee="100.00", tax_rate="0.06"))
    world.pay(case, "PAY-1", "2000.00", "2026-01-10")
    world.sync()
    world.bill("2026-01-01", "2026-01-31")
    world.reverse(case, "PAY-1", "2026-02-03", "1500.00")
    world.pay(case, "PAY-2", "100.00", "2026-02-04")
    world.sync()
    # -1500 x 0.18 = -270.00; 100 x 0.18 = 18.00: nets to -252.00, a credit note.
    credit = world.bill("2026-02-01", "2026-02-28")
    assert (credit["invoice_id"], credit["totals"]["subtotal"]) == (
        "CN-BANK-AG-A-00001", "-252.00")
    world.pay(case, "PAY-LATE", "10000.00", "2026-02-20")  # after the run: carried forward

    world.service.ledger.reset()
    last = world.cases.events_after(0, 1000)[-1]
    assert rebuild_from_log(world.service.ledger,
                            lambda after, _, types: world.cases.log_page(after, 2, types)
                            ) == last.position
    checked = preview(world, "2026-02-01", "2026-02-28")
    assert (checked["invoice_id"], checked["matches"], checked["stored_content_intact"]) == (
        "CN-BANK-AG-A-00001", True, True)
    assert checked["content"]["document_type"] == "credit_note"


# ---------------------------------------------------------------------- before zones


def test_an_invoice_issued_before_contracts_stated_a_zone_still_verifies_in_utc(
        world: World) -> None:
    """The records of `data/invoice_before_zones.json` were written by the billing code of
    commit 444c70b (before issue 19) for this same history: a contract version without a
    zone, and January's invoice with PAY-2 at 2026-01-31 20:00 UTC (02-01 in Beijing)."""
    case = world.place(bucket="M2")
    world.pay(case, "PAY-1", "1000.00", "2026-01-10")
    world.pay(case, "PAY-2", "500.00", "2026-01-31", hour=20)
    world.sync()
    records = json.loads(BEFORE_ZONES.read_text())
    with world.service.engine.begin() as conn:
        for table in (contracts, invoices, invoice_lines):
            conn.execute(table.insert(), records[table.name])

    version = world.get("bank", "/v1/contracts/BANK/AG-A").json()["versions"][0]
    checked = preview(world, "2026-01-01", "2026-01-31")
    shown = world.get("bank", "/v1/invoices/INV-BANK-AG-A-00001").json()

    assert version["timezone"] == "UTC"  # what it was billed in
    assert (checked["matches"], checked["stored_content_intact"], checked["timezone"]) == (
        True, True, "UTC")
    assert checked["content_hash"] == records["invoices"][0]["content_hash"]
    assert (shown["document_type"], shown["timezone"]) == ("invoice", "UTC")
    assert [line["occurred_on"] for line in shown["lines"]] == ["2026-01-10", "2026-01-31"]
    # The pair counts days in UTC: a version must say so, and its next run does too.
    refused(world.put("bank", "/v1/contracts/BANK/AG-A", world.contract_body(
        effective_from="2026-03-01", tax_rate="0.06")),
        422, "contract_timezone_changed", "body.timezone")
    assert world.put("bank", "/v1/contracts/BANK/AG-A", world.contract_body(
        effective_from="2026-03-01", tax_rate="0.06", timezone="UTC")).status_code == 201
    february = world.bill("2026-02-01", "2026-02-28")
    assert (february["invoice_id"], february["timezone"], february["lines"]) == (
        "INV-BANK-AG-A-00002", "UTC", [])


# ---------------------------------------------------------------------- performance


def test_performance_counts_days_in_the_stated_zone_and_says_which(world: World) -> None:
    world.contract(world.contract_body())
    # Placed 2026-01-31 20:00 UTC: 02-01 04:00 in Beijing.
    late_night = world.place(bucket="M2", amount="10000.00", placed="2026-01-31", hour=20)
    # Paid 2026-02-28 17:00 UTC: 03-01 01:00 in Beijing.
    world.pay(late_night, "PAY-EDGE", "1000.00", "2026-02-28", hour=17)
    world.sync()
    world.clock.set(instant("2026-02-28T20:00:00+00:00"))  # 03-01 04:00 in Beijing

    beijing = world.get("bank", "/v1/agencies/AG-A/performance", period="2026-02").json()
    utc_feb = world.get("bank", "/v1/agencies/AG-A/performance", period="2026-02",
                        timezone="UTC").json()
    utc_jan = world.get("bank", "/v1/agencies/AG-A/performance", period="2026-01",
                        timezone="UTC").json()

    # In Beijing the case was placed in February and paid on 03-01, today there (as_of).
    assert (beijing["timezone"], beijing["as_of"], beijing["placements"],
            beijing["received_amount"]) == ("Asia/Shanghai", "2026-03-01", 1, "1000.00")
    assert [v["vintage"] for v in beijing["by_vintage"]] == ["2026-02"]
    assert [(p["months_since_placement"], p["recovered_amount"])
            for p in beijing["by_vintage"][0]["liquidation_curve"]] == [
        (0, "0.00"), (1, "1000.00")]
    # In UTC it was placed in January (February has no placement), and paid on 02-28.
    assert (utc_feb["timezone"], utc_feb["as_of"], utc_feb["placements"]) == (
        "UTC", "2026-02-28", 0)
    assert (utc_jan["placements"], utc_jan["received_amount"]) == (1, "1000.00")
    assert [(p["months_since_placement"], p["recovered_amount"])
            for p in utc_jan["by_vintage"][0]["liquidation_curve"]] == [
        (0, "0.00"), (1, "1000.00")]
    # As of 02-28 in Beijing, the payment (03-01 there) has not been received yet.
    as_of_28th = world.get("bank", "/v1/agencies/AG-A/performance", period="2026-02",
                           as_of="2026-02-28").json()
    assert (as_of_28th["received_amount"], as_of_28th["commission"]) == ("0.00", "0.00")
    comparison = world.get("bank", "/v1/creditors/BANK/agency-comparison",
                           period="2026-02").json()
    assert (comparison["timezone"], comparison["champion"]) == ("Asia/Shanghai", "AG-A")
    assert world.get("bank", "/v1/creditors/BANK/agency-comparison", period="2026-02",
                     timezone="UTC").json()["agencies"] == []
    refused(world.get("bank", "/v1/agencies/AG-A/performance", period="2026-02",
                      timezone="Atlantis/Capital"), 422, "validation_error", "query.timezone")
