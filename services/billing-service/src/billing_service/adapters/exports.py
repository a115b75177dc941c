"""Invoices and credit notes as files: the lines as CSV, and the document as a one-look PDF
(reportlab). Both state the document type and the time zone of its days.

The PDF is reproducible: reportlab's invariant mode fixes the timestamps and document id, and
everything printed comes from the stored invoice, so the same invoice renders to the same bytes.
Its title is bilingual (发票 / Invoice, 贷项通知单 / Credit note). Every glyph, Latin and Chinese
(a creditor's or agency's name may be Chinese), comes from one embedded, subset font, Noto Sans
SC (`casetrail.pdf_fonts`, installed by the project), so every reader shows the same page.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from casetrail.money import MINOR_UNITS
from casetrail.pdf_fonts import BOLD, FONT, register_fonts
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from billing_service.domain.contracts import percent

CSV_COLUMNS = ("line_no", "kind", "occurred_on", "case_id", "account_ref", "bucket",
               "reference", "source", "amount", "commissionable", "rate", "rule",
               "contract_version", "commission_unrounded", "commission", "explanation",
               "position", "entry", "document_type", "document_number", "timezone")
KIND_WORDS = {"payment": "Payment", "reversal": "Reversal", "minimum_fee": "Minimum fee"}
TITLES = {"invoice": ("发票", "Invoice"), "credit_note": ("贷项通知单", "Credit note")}


def invoice_csv(invoice: Mapping[str, Any]) -> str:
    """The document's lines, one CSV row each, with a header row; every row names the
    document (type and number) and the zone of its `occurred_on` days."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    document = {"document_type": invoice["document_type"],
                "document_number": invoice["invoice_id"], "timezone": invoice["timezone"]}
    for line in invoice["lines"]:
        row = {**line, **document, "rate": line["rate"] if line["rate"] is not None
               else ("blended" if line["portions"] else "")}
        writer.writerow(["" if row.get(c) is None else _cell(row[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # A cell a spreadsheet would run as a formula is neutralised (CSV injection).
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def _styles() -> dict[str, ParagraphStyle]:
    """ReportLab's sample styles, set in the embedded font."""
    register_fonts()
    sample = getSampleStyleSheet()
    return {name: ParagraphStyle(f"{name}-embedded", parent=sample[name],
                                 fontName=BOLD if name in ("Title", "Heading3") else FONT)
            for name in ("Title", "Normal", "BodyText", "Heading3")}


def invoice_pdf(invoice: Mapping[str, Any], lines_shown: int = 30) -> bytes:
    """A one-look invoice or credit note: its type, parties, period and zone, the amount due
    (or credited) and the content hash on the first page; then the lines (the first
    `lines_shown`, then a summary by type and bucket) and the breakdown of the totals."""
    buffer = io.BytesIO()
    number = invoice["invoice_id"]
    credit = invoice["document_type"] == "credit_note"
    chinese, english = TITLES[invoice["document_type"]]
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, invariant=1, leftMargin=16 * mm, rightMargin=16 * mm,
        topMargin=14 * mm, bottomMargin=18 * mm, title=f"{english} {number}",
        author="casetrail billing", creator="casetrail billing", initialFontName=FONT,
        subject=f"Commission {english.lower()}")
    styles = _styles()
    small = ParagraphStyle("small", parent=styles["BodyText"], fontSize=7.5, leading=9)
    right = ParagraphStyle("right", parent=small, alignment=TA_RIGHT)
    currency, totals = invoice["currency"], invoice["totals"]
    lines = [line for line in invoice["lines"] if line["kind"] != "minimum_fee"]
    tax_label = f"Tax ({percent(Decimal(totals['tax_rate']))})"

    purpose = ("credit of a collection agency's success fees: the period's clawbacks exceed "
               "its fees" if credit else "success fee of a collection agency")
    story: list[Any] = [
        Paragraph(f"{chinese} / {english}", styles["Title"]),
        Paragraph(f"<b>{escape(number)}</b> &nbsp; {purpose}", styles["Normal"]),
        Spacer(1, 4 * mm),
        _grid([
            [f"{english} number", number, "Issue date", invoice["issue_date"]],
            ["Creditor", invoice["creditor_id"], "Currency", currency],
            ["Agency", invoice["agency_id"], "Contract version",
             f"v{invoice['terms']['contract_version']}"],
            ["Period", f"{invoice['period_start']} to {invoice['period_end']} (inclusive)",
             "Days in", invoice["timezone"]],
            ["Data as of", f"log position {invoice['data_as_of']['position']}", "Document",
             english],
            ["Subtotal", f"{currency} {totals['subtotal']}", tax_label,
             f"{currency} {totals['tax']}"],
            ["Total", f"{currency} {totals['total']}", "Lines", str(len(lines))],
        ], widths=[28 * mm, 62 * mm, 28 * mm, 60 * mm]),
        Spacer(1, 2 * mm),
        Paragraph(f"Content hash (SHA-256): {invoice['content_hash']}", small),
        Spacer(1, 5 * mm),
        Paragraph(f"Lines ({len(lines)})", styles["Heading3"]),
    ]
    shown = lines[:lines_shown]
    rows: list[list[Any]] = [["#", "Date", "Account", "Reference", "Type", "Amount", "Rate",
                              "Rule / note", "Commission"]]
    for line in shown:
        kind = KIND_WORDS.get(line["kind"], line["kind"])
        if line["source"] == "creditor_direct":
            kind += " (direct)"
        note = line["rule"] if line["commissionable"] else f"no commission: {line['explanation']}"
        rows.append([str(line["line_no"]), line["occurred_on"] or "",
                     Paragraph(escape(line["account_ref"] or ""), small),
                     Paragraph(escape(line["reference"] or ""), small), kind,
                     Paragraph(line["amount"], right), _rate(line),
                     Paragraph(escape(note or ""), small), Paragraph(line["commission"], right)])
    more = len(lines) - len(shown)
    if more:
        rest = sum((Decimal(line["commission"]) for line in lines[len(shown):]), Decimal(0))
        rows.append(["", "", Paragraph(f"... and {more} more lines (every line is in the CSV "
                                       "export); their commission:", small),
                     "", "", "", "", "", Paragraph(f"{rest:.{_places(currency)}f}", right)])
    if not lines:
        rows.append(["", "", Paragraph("No payments or reversals to bill in this period.",
                                       small), "", "", "", "", "", ""])
    table = Table(rows, repeatRows=1, colWidths=[8 * mm, 18 * mm, 22 * mm, 22 * mm, 20 * mm,
                                                 19 * mm, 11 * mm, 39 * mm, 19 * mm])
    style = _table_style()
    if more or not lines:
        style.add("SPAN", (2, -1), (7, -1))
    table.setStyle(style)
    story.append(table)
    if more:
        story += [Spacer(1, 5 * mm), KeepTogether([
            Paragraph("Summary by type and bucket", styles["Heading3"]),
            _summary(lines, currency, right)])]
    story += [Spacer(1, 6 * mm), KeepTogether([_totals(totals, invoice, currency, tax_label)])]
    story += [Spacer(1, 6 * mm), Paragraph(
        f"Days are days in {escape(invoice['timezone'])}, the contract's time zone. "
        "Commission is rounded half-up to the minor unit on each line; totals are sums of the "
        "rounded lines. A payment reversed after it was invoiced is credited on a later "
        f"document; this {english.lower()} is never edited. "
        + ("A period whose lines net to a credit is a credit note, with no minimum fee. "
           if credit else "")
        + "The content hash covers the document type, parties, period, zone, lines and "
        "totals.", small)]

    def footer(canvas: Canvas, _: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(16 * mm, 10 * mm, f"{number}  -  page {canvas.getPageNumber()}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _places(currency: str) -> int:
    return MINOR_UNITS.get(currency, 2)


def _rate(line: Mapping[str, Any]) -> str:
    if line["rate"] is not None and line["commissionable"]:
        return percent(Decimal(line["rate"]))
    return "blended" if line["portions"] and line["rate"] is None else ""


def _grid(rows: list[list[str]], widths: list[float]) -> Table:
    table = Table(rows, colWidths=widths)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("FONT", (0, 0), (0, -1), BOLD, 8.5),
        ("FONT", (2, 0), (2, -1), BOLD, 8.5),
        ("FONT", (1, -1), (1, -1), BOLD, 10),
        ("LINEABOVE", (0, -2), (-1, -2), 0.5, colors.grey),
        ("BOX", (0, 0), (-1, -1), 0.5, colors.grey),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f7")),
        ("BACKGROUND", (2, 0), (2, -1), colors.HexColor("#eef2f7")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    return table


def _table_style() -> TableStyle:
    return TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 7.5),
        ("FONT", (0, 0), (-1, 0), BOLD, 7.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f3a5f")),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f5f7fa")]),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (5, 0), (6, -1), "RIGHT"),
        ("ALIGN", (8, 0), (8, -1), "RIGHT"),
    ])


def _summary(lines: list[Mapping[str, Any]], currency: str, right: ParagraphStyle) -> Table:
    groups: dict[tuple[str, str, bool], list[Decimal]] = defaultdict(
        lambda: [Decimal(0), Decimal(0), Decimal(0)])
    for line in lines:
        key = (line["kind"], line["bucket"] or "", bool(line["commissionable"]))
        group = groups[key]
        group[0] += 1
        group[1] += Decimal(line["amount"])
        group[2] += Decimal(line["commission"])
    places = _places(currency)
    rows: list[list[Any]] = [["Type", "Bucket", "Commission?", "Lines", "Amount", "Commission"]]
    for (kind, bucket, commissionable), (count, amount, commission) in sorted(groups.items()):
        rows.append([KIND_WORDS.get(kind, kind), bucket, "yes" if commissionable else "no",
                     str(count), Paragraph(f"{amount:.{places}f}", right),
                     Paragraph(f"{commission:.{places}f}", right)])
    table = Table(rows, repeatRows=1, hAlign="LEFT",
                  colWidths=[30 * mm, 20 * mm, 24 * mm, 16 * mm, 34 * mm, 34 * mm])
    style = _table_style()
    style.add("ALIGN", (3, 0), (5, -1), "RIGHT")
    table.setStyle(style)
    return table


def _totals(totals: Mapping[str, str], invoice: Mapping[str, Any], currency: str,
            tax_label: str) -> Table:
    rows = [["Commission earned", totals["earned_commission"]]]
    if Decimal(totals["earlier_invoice_credits"]) != 0:
        rows.append(["Credits for payments invoiced earlier", totals["earlier_invoice_credits"]])
    if Decimal(totals["minimum_fee_top_up"]) != 0:
        rows.append([f"Minimum fee top-up (minimum {invoice['terms']['minimum_fee']})",
                     totals["minimum_fee_top_up"]])
    rows += [["Subtotal", totals["subtotal"]],
             [tax_label, totals["tax"]],
             [f"Total ({currency})", f"{currency} {totals['total']}"]]
    table = Table(rows, colWidths=[70 * mm, 40 * mm], hAlign="RIGHT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 9),
        ("FONT", (0, -1), (-1, -1), BOLD, 10.5),
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
        ("LINEABOVE", (0, -3), (-1, -3), 0.4, colors.grey),
        ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#eef2f7")),
    ]))
    return table
