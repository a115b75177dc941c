"""The creditor: upload a placement file (CSV, XLSX) and see each refused row against its
row and column; manage allocation rules; the portfolio dashboard and agency scorecards from
billing's figures; invoices with their lines and PDF."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.browser.conftest import only_console_requests, zh
from tests.browser.system import AGENCY_A, AGENCY_B, CREDITOR, ConsoleSystem

HEADER = "account_ref,agency_id,principal,interest,dpd,debtor_name,national_id,phones,timezone"


def money(value: str) -> str:
    return f"{float(value):,.2f}"


def test_a_placement_file_shows_each_refused_row_against_its_row_and_column(
        tabs: Any, system: ConsoleSystem, tmp_path: Path) -> None:
    csv = tmp_path / "placement.csv"
    csv.write_text("\n".join([
        HEADER,
        f"UP-001,{AGENCY_A},3000.00,10.00,35,周九,110101199001020001,+8613800000001,Asia/Shanghai",
        f"UP-002,{AGENCY_A},3000.00,,35,吴十,12,+8613800000002,Asia/Shanghai",
        f"UP-003,{AGENCY_B},,,abc,郑十一,110101199001020003,,Asia/Shanghai",
        f"UP-004,{AGENCY_B},,,12,王十三,110101199001020004,,Asia/Shanghai",
    ]) + "\n", encoding="utf-8")
    tab = tabs("creditor")
    tab.open("/placements")
    tab.page.fill("#placement_ref", "WEB-UPLOAD-1")
    tab.page.set_input_files("#file", str(csv))
    tab.page.click("#placement-form button[type=submit]")
    tab.page.wait_for_load_state()
    assert tab.text("#count-received") == "4"
    assert tab.text("#count-placed") == "1"
    assert tab.text("#count-rejected") == "3"
    errors = tab.page.locator("#row-errors tbody tr")
    found = {(errors.nth(i).get_attribute("data-row"), errors.nth(i).locator("td").nth(2)
              .inner_text()) for i in range(errors.count())}
    assert ("3", "national_id") in found
    assert ("4", "dpd") in found
    assert ("5", "principal") in found  # the service names it in a whole-row error
    assert {row for row, _ in found} == {"3", "4", "5"}  # the good row is not among them
    assert tab.page.locator("#accepted-rows tbody tr").count() == 1
    assert tab.axe() == []  # the receipt page too
    tab.shot("creditor-placement-errors-zh")
    # The same file under the same reference places nothing twice.
    tab.open("/placements")
    tab.page.fill("#placement_ref", "WEB-UPLOAD-1")
    tab.page.set_input_files("#file", str(csv))
    tab.page.click("#placement-form button[type=submit]")
    tab.page.wait_for_load_state()
    assert tab.text("#receipt .notice") == zh("placements.replayed")
    assert tab.text("#count-placed") == "1"


def test_an_xlsx_placement_is_placed_too(tabs: Any, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    sheet.append(["UP-XLSX-1", AGENCY_B, 4200.5, 0, 61, "冯十二", "110101199001030001",
                  "+8613800000011", "Asia/Shanghai"])
    out = io.BytesIO()
    book.save(out)
    tab = tabs("creditor", "en")
    tab.open("/placements")
    tab.page.fill("#placement_ref", "WEB-UPLOAD-XLSX")
    tab.page.set_input_files("#file", files=[{
        "name": "placement.xlsx", "buffer": out.getvalue(),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    tab.page.click("#placement-form button[type=submit]")
    tab.page.wait_for_load_state()
    assert tab.text("#count-placed") == "1", tab.text("main")
    assert tab.page.locator("#row-errors").count() == 0
    assert "M3" in tab.text("#accepted-rows tbody tr")  # 61 days past due


def test_allocation_rules_are_saved_as_a_new_version(tabs: Any, system: ConsoleSystem) -> None:
    rules = system.api("case", "creditor").get(f"/v1/creditors/{CREDITOR}/allocation-rules")
    before = rules.json()["version"]
    tab = tabs("creditor")
    tab.open("/allocation")
    assert tab.text("#rules-version") == zh("allocation.version", version=before)
    for i, (bucket, agency, weight) in enumerate([("M1", AGENCY_A, "70"), ("M1", AGENCY_B, "30"),
                                                 ("M2", AGENCY_B, "1")]):
        tab.page.fill(f"[name=bucket_{i}]", bucket)
        tab.page.fill(f"[name=agency_{i}]", agency)
        tab.page.fill(f"[name=weight_{i}]", weight)
    tab.page.click("#allocation-form button[type=submit]")
    tab.page.wait_for_load_state()
    assert tab.text("#saved") == "已保存新版本。"
    assert tab.text("#rules-version") == zh("allocation.version", version=before + 1)
    stored = system.api("case", "creditor").get(
        f"/v1/creditors/{CREDITOR}/allocation-rules").json()
    assert stored["buckets"] == {"M1": [{"agency_id": AGENCY_A, "weight": 70},
                                        {"agency_id": AGENCY_B, "weight": 30}],
                                 "M2": [{"agency_id": AGENCY_B, "weight": 1}]}
    tab.page.fill("[name=weight_0]", "seventy")  # refused by the case service, shown here
    tab.page.click("#allocation-form button[type=submit]")
    tab.page.wait_for_load_state()
    assert tab.page.locator(".alert").count() >= 1
    assert "weight" in tab.text(".alert")


def default_period() -> dict[str, str]:
    """The console's default period: twelve months to today, in its zone (Asia/Shanghai)."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    start = (today.replace(day=1) - timedelta(days=335)).replace(day=1)
    return {"from": start.isoformat(), "to": today.isoformat(), "timezone": "Asia/Shanghai"}


def test_the_portfolio_draws_billings_figures_by_bucket_agency_and_vintage(
        tabs: Any, system: ConsoleSystem) -> None:
    comparison = system.api("billing", "creditor").get(
        f"/v1/creditors/{CREDITOR}/agency-comparison", params=default_period()).json()
    placed = sum(float(a["placed_amount"]) for a in comparison["agencies"])
    collected = sum(float(a["recovered_amount"]) for a in comparison["agencies"])
    assert collected > 0  # the seeded payments count
    tab = tabs("creditor")
    tab.open("/portfolio")
    assert tab.text("#total-placed") == f"{placed:,.2f}"
    assert tab.text("#total-collected") == f"{collected:,.2f}"
    for chart in ("#chart-bucket", "#chart-agency", "#chart-liquidation"):
        tab.page.wait_for_selector(f"{chart}[data-rendered=true] svg")
    agencies = tab.page.locator("#table-agency tbody tr")
    assert agencies.count() == len(comparison["agencies"])
    assert "迁徙率" in tab.text("#roll-rates h2")
    roll = system.api("case", "creditor").get(
        f"/v1/creditors/{CREDITOR}/roll-rates", params=default_period()).json()
    rows = sum(len(a["buckets"]) for a in roll["agencies"])
    if rows:  # cases held at the start of the period: the chart and one row per bucket
        tab.page.wait_for_selector("#chart-roll[data-rendered=true] svg")
        assert tab.page.locator("#table-roll tbody tr").count() == rows
    else:  # the seeded cases were placed after the period's start: said, not drawn
        assert zh("portfolio.roll_rates_none", start=default_period()["from"]) == tab.text(
            "#roll-none")
    assert only_console_requests(tab) == []
    assert tab.problems == []
    tab.shot("creditor-portfolio-zh")


def test_scorecards_put_the_agencies_side_by_side(tabs: Any, system: ConsoleSystem) -> None:
    comparison = system.api("billing", "creditor").get(
        f"/v1/creditors/{CREDITOR}/agency-comparison", params=default_period()).json()
    tab = tabs("creditor", "en")
    tab.open("/scorecards")
    headers = tab.page.locator("#scorecard thead th").all_inner_texts()[1:]
    assert [h.split("\n")[0] for h in headers] == [a["agency_id"]
                                                   for a in comparison["agencies"]]
    assert sum("champion" in h for h in headers) == 1
    rate_row = tab.page.locator("#scorecard tbody tr", has_text="Recovery rate")
    shown = rate_row.locator("td").all_inner_texts()
    assert shown == [f"{float(a['recovery_rate']) * 100:.2f} %" for a in comparison["agencies"]]
    tab.page.wait_for_selector("#chart-agency[data-rendered=true] svg")


def test_invoices_show_their_lines_and_download_as_pdf(tabs: Any, system: ConsoleSystem,
                                                       tmp_path: Path) -> None:
    invoice = system.api("billing", "creditor").get(f"/v1/invoices/{system.invoice_id}").json()
    tab = tabs("creditor")
    tab.open("/invoices")
    tab.page.click(f"#invoice-table a:text-is('{system.invoice_id}')")
    tab.page.wait_for_load_state()
    assert tab.page.locator("#invoice-lines tbody tr").count() == len(invoice["lines"])
    assert money(invoice["totals"]["total"]) in tab.text("#invoice-total")
    with tab.page.expect_download() as download:
        tab.page.click("#invoice-pdf")
    pdf = tmp_path / "invoice.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
