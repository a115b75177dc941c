"""Invoice exports: JSON by default, the lines as CSV, and a PDF a person would accept."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pypdfium2
from PIL import ImageStat

if TYPE_CHECKING:
    from conftest import World


def billed(world: World) -> dict[str, Any]:
    case = world.place(bucket="M2")
    world.contract(world.contract_body(tax_rate="0.06"))
    world.pay(case, "PAY-1", "2000.00", "2026-01-10")
    world.pay(case, "PAY-2", "500.00", "2026-01-20", source="creditor_direct")
    world.sync()
    # 2000 x 0.18 = 360.00; 500 x 0.18 = 90.00; subtotal 450.00; tax 27.00; total 477.00
    return world.bill("2026-01-01", "2026-01-31")


def test_an_invoice_is_json_by_default(world: World) -> None:
    issued = billed(world)
    response = world.get("agency", f"/v1/invoices/{issued['invoice_id']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == issued
    assert response.json()["totals"]["total"] == "477.00"


def test_the_lines_export_as_csv_by_accept_header_or_format(world: World) -> None:
    issued = billed(world)
    path = f"/v1/invoices/{issued['invoice_id']}"
    by_accept = world.client.get(path, headers={**world.headers("bank"), "Accept": "text/csv"})
    by_format = world.get("bank", path, format="csv")

    assert by_accept.status_code == by_format.status_code == 200
    assert by_accept.text == by_format.text
    assert by_accept.headers["content-type"].startswith("text/csv")
    assert by_accept.headers["x-content-hash"] == issued["content_hash"]
    rows = list(csv.DictReader(io.StringIO(by_accept.text)))
    assert [(r["line_no"], r["reference"], r["source"], r["amount"], r["rate"], r["commission"])
            for r in rows] == [("1", "PAY-1", "agency", "2000.00", "0.18", "360.00"),
                               ("2", "PAY-2", "creditor_direct", "500.00", "0.18", "90.00")]


def test_the_pdf_shows_number_total_and_hash_and_renders_the_same_every_time(
        world: World, tmp_path: Path) -> None:
    issued = billed(world)
    path = f"/v1/invoices/{issued['invoice_id']}"
    response = world.client.get(path, headers={**world.headers("auditor"),
                                                "Accept": "application/pdf"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.content

    document = pypdfium2.PdfDocument(pdf)
    page = document[0]
    width, height = page.get_size()
    image = page.render(scale=2).to_pil()
    image.save(tmp_path / "invoice-page-1.png")
    assert image.size == (round(width * 2), round(height * 2)) == (1191, 1684)  # A4 at 144 dpi
    grey = image.convert("L")
    assert grey.getextrema()[0] < 64  # there is dark ink on the page
    assert 120 < ImageStat.Stat(grey).mean[0] < 254  # mostly paper, not blank, not black
    text = page.get_textpage().get_text_range()
    assert "Invoice" in text
    assert issued["invoice_id"] in text
    assert "CNY 477.00" in text
    assert issued["content_hash"] in text
    assert "2026-01-01 to 2026-01-31" in text
    assert world.get("bank", path, format="pdf").content == pdf  # reproducible bytes


def test_a_long_invoice_lists_the_first_lines_and_a_summary(world: World) -> None:
    cases = [world.place(bucket=bucket) for bucket in ("M1", "M2", "M3")]
    world.contract(world.contract_body())
    for n in range(45):
        world.pay(cases[n % 3], f"PAY-{n:03d}", "100.00", "2026-01-10")
    world.sync()
    issued = world.bill("2026-01-01", "2026-01-31")

    pdf = world.get("bank", f"/v1/invoices/{issued['invoice_id']}", format="pdf").content
    document = pypdfium2.PdfDocument(pdf)
    first = document[0].get_textpage().get_text_range()
    everything = "\n".join(document[i].get_textpage().get_text_range()
                           for i in range(len(document)))

    # 15 payments per bucket of 100.00: M1 15 x 12.00, M2 15 x 18.00, M3 15 x 25.00 = 825.00
    assert issued["totals"]["total"] == "825.00"
    assert "CNY 825.00" in first
    assert issued["content_hash"] in first
    assert "PAY-029" in everything  # the first 30 lines (the party blocks push a few over)
    assert "PAY-030" not in everything
    assert "... and 15 more lines" in everything
    assert "Summary by type and bucket" in everything


def test_an_invoice_of_another_tenant_is_not_found(world: World) -> None:
    issued = billed(world)
    path = f"/v1/invoices/{issued['invoice_id']}"
    assert world.get("agency_b", path).status_code == 404
    assert world.get("bank2", path, format="pdf").status_code == 404
    assert world.get("bank", "/v1/invoices/INV-NOPE-00001").status_code == 404
    assert world.get("bank", path, format="xml").status_code == 422


def test_every_glyph_of_the_pdf_comes_from_an_embedded_subset_font(world: World,
                                                                    tmp_path: Path) -> None:
    import re

    issued = billed(world)
    response = world.client.get(f"/v1/invoices/{issued['invoice_id']}",
                                headers={**world.headers("bank"), "Accept": "application/pdf"})
    pdf = response.content
    objects = {int(n): body for n, body in
               re.findall(rb"(\d+) 0 obj\s*(.*?)\s*endobj", pdf, re.DOTALL)}
    fonts = []
    for body in objects.values():
        if re.search(rb"/Type\s*/Font\b", body) and b"/BaseFont" in body:
            name = re.search(rb"/BaseFont\s*/([^\s/>]+)", body)
            descriptor = re.search(rb"/FontDescriptor\s+(\d+) 0 R", body)
            embedded = bool(descriptor and re.search(
                rb"/FontFile[23]?\s+\d+ 0 R", objects.get(int(descriptor.group(1)), b"")))
            fonts.append((name.group(1).decode() if name else "?", embedded))
    assert fonts
    assert all(embedded and re.match(r"[A-Z]{6}\+NotoSansSC", name)
               for name, embedded in fonts), fonts
    # The Chinese title is text a reader can find, drawn in that font.
    text = pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range()
    assert "发票 / Invoice" in text
