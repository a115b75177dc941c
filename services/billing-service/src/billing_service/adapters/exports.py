# ruff: noqa: RUF001  (Chinese text: its full-width punctuation is meant)
"""Invoices and credit notes as files: the lines as CSV, and the document as a one-look PDF
(reportlab). Both state the document type and the time zone of its days, the parties (the
issuing agency and the billed creditor, as the document froze them), the issue and due dates
and the payment instructions.

The PDF reads as a Chinese commercial invoice: the bilingual title and 结算单 subtitle, the
开票方 / 付款方 blocks (name, 统一社会信用代码, address, bank account, email), the number,
issue date and 到期日, the lines, the totals (价税合计) and the 付款说明. A document issued
before party records existed prints 未登记 (not recorded) in the party blocks.

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
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
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

from billing_service.domain.contracts import STAGE_NAMES, percent

CSV_COLUMNS = ("line_no", "kind", "occurred_on", "case_id", "account_ref", "bucket",
               "reference", "source", "amount", "commissionable", "rate", "rule",
               "contract_version", "commission_unrounded", "commission", "explanation",
               "position", "entry", "document_type", "document_number", "timezone",
               "issue_date", "due_date", "issuer_legal_name", "issuer_tax_id",
               "billed_legal_name", "billed_tax_id", "pay_to_bank", "pay_to_account_name",
               "pay_to_account_number", "payment_reference", "stage", "docket_no")
KIND_WORDS = {"payment": "Payment", "reversal": "Reversal", "minimum_fee": "Minimum fee",
              "stage_fee": "诉讼阶段费用 Stage fee"}
TITLES = {"invoice": ("发票", "Invoice"), "credit_note": ("贷项通知单", "Credit note")}
SUBTITLES = {"invoice": "佣金服务费结算单 · Commission settlement statement",
             "credit_note": "佣金服务费红字结算单 · Commission credit statement"}
NOT_RECORDED = "未登记 / not recorded"


def invoice_csv(invoice: Mapping[str, Any]) -> str:
    """The document's lines, one CSV row each, with a header row; every row names the
    document (type and number), the zone of its `occurred_on` days, its issue and due dates,
    the parties' legal names and tax ids and where to pay, quoting what (empty where the
    document states none)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    parties = invoice.get("parties") or {}
    issuer, billed = parties.get("issuer") or {}, parties.get("billed") or {}
    payment = invoice.get("payment") or {}
    pay_to = payment.get("pay_to") or {}
    document = {"document_type": invoice["document_type"],
                "document_number": invoice["invoice_id"], "timezone": invoice["timezone"],
                "issue_date": invoice.get("issue_date"), "due_date": invoice.get("due_date"),
                "issuer_legal_name": issuer.get("legal_name"),
                "issuer_tax_id": issuer.get("tax_id"),
                "billed_legal_name": billed.get("legal_name"),
                "billed_tax_id": billed.get("tax_id"), "pay_to_bank": pay_to.get("bank_name"),
                "pay_to_account_name": pay_to.get("account_name"),
                "pay_to_account_number": pay_to.get("account_number"),
                "payment_reference": payment.get("reference")}
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
    subtitle = ParagraphStyle("subtitle", parent=styles["Normal"], fontSize=11, leading=14,
                              alignment=TA_CENTER, spaceAfter=4)
    right = ParagraphStyle("right", parent=small, alignment=TA_RIGHT)
    currency, totals = invoice["currency"], invoice["totals"]
    lines = [line for line in invoice["lines"] if line["kind"] != "minimum_fee"]
    tax_label = f"Tax ({percent(Decimal(totals['tax_rate']))})"

    purpose = ("credit of a collection agency's success fees: the period's clawbacks exceed "
               "its fees" if credit else "success fee of a collection agency")
    if "stage_fees" in totals and not credit:
        purpose += " and a law firm's litigation stage fees (诉讼阶段费用)"
    due = invoice.get("due_date")
    terms_days = (invoice.get("payment") or {}).get("terms_days")
    story: list[Any] = [
        Paragraph(f"{chinese} / {english}", styles["Title"]),
        Paragraph(SUBTITLES[invoice["document_type"]], subtitle),
        Paragraph(f"<b>{escape(number)}</b> &nbsp; {purpose}", styles["Normal"]),
        Spacer(1, 3 * mm),
        _parties(invoice, credit, small),
        Spacer(1, 3 * mm),
        _grid([
            ["单据号码 Number", number, "开票日期 Issue date", invoice["issue_date"]],
            ["结算期间 Period",
             f"{invoice['period_start']} to {invoice['period_end']} (inclusive)",
             "到期日 Due date",
             f"{due} ({terms_days} 天 days)" if due else NOT_RECORDED],
            ["币种 Currency", currency, "合同版本 Contract",
             f"v{invoice['terms']['contract_version']}"],
            ["日期时区 Days in", invoice["timezone"], "数据截至 Data as of",
             f"log position {invoice['data_as_of']['position']}"],
            ["金额 Subtotal", f"{currency} {totals['subtotal']}", f"税额 {tax_label}",
             f"{currency} {totals['tax']}"],
            ["价税合计 Total", f"{currency} {totals['total']}", "明细行数 Lines", str(len(lines))],
        ], widths=[34 * mm, 58 * mm, 34 * mm, 52 * mm]),
        Spacer(1, 2 * mm),
        Paragraph(f"Content hash (SHA-256): {invoice['content_hash']}", small),
        Spacer(1, 5 * mm),
        Paragraph(f"明细 Lines ({len(lines)})", styles["Heading3"]),
    ]
    shown = lines[:lines_shown]
    rows: list[list[Any]] = [["#", "Date", "Account", "Reference", "Type", "Amount", "Rate",
                              "Rule / note", "Commission"]]
    for line in shown:
        kind = KIND_WORDS.get(line["kind"], line["kind"])
        if line["source"] == "creditor_direct":
            kind += " (direct)"
        note = line["rule"] if line["commissionable"] else f"no commission: {line['explanation']}"
        if line["kind"] == "stage_fee":
            kind = Paragraph(escape(_stage_kind(line)), small)
            note = line["rule"] if line["commissionable"] else f"no fee: {line['explanation']}"
            if line.get("docket_no"):
                note = f"{note}; 案号 docket {line['docket_no']}"
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
    story += [Spacer(1, 5 * mm), KeepTogether(_payment(invoice, styles["Heading3"], small))]
    story += [Spacer(1, 6 * mm), Paragraph(
        f"Days are days in {escape(invoice['timezone'])}, the contract's time zone. "
        "Commission is rounded half-up to the minor unit on each line; totals are sums of the "
        "rounded lines. A payment reversed after it was invoiced is credited on a later "
        f"document; this {english.lower()} is never edited. "
        + ("A period whose lines net to a credit is a credit note, with no minimum fee. "
           if credit else "")
        + "The content hash covers the document type, parties (the party record versions it "
        "was issued with), payment terms, period, zone, lines and totals.", small)]

    def footer(canvas: Canvas, _: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(16 * mm, 10 * mm, f"{number}  -  page {canvas.getPageNumber()}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _stage_kind(line: Mapping[str, Any]) -> str:
    """A stage-fee line's type: the stage's fee in Chinese and English (立案费 Filed)."""
    stage = line.get("stage") or ""
    return f"{STAGE_NAMES.get(stage, '诉讼阶段费用')} {stage.capitalize()}".strip()


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
    rows = [["佣金 Commission earned", totals["earned_commission"]]]
    if "stage_fees" in totals:
        rows.append([f"其中诉讼阶段费用 of which stage fees "
                     f"({totals['stage_fee_lines']} lines)", totals["stage_fees"]])
    if Decimal(totals["earlier_invoice_credits"]) != 0:
        rows.append(["冲回 Credits for payments invoiced earlier",
                     totals["earlier_invoice_credits"]])
    if Decimal(totals["minimum_fee_top_up"]) != 0:
        rows.append([f"保底补足 Minimum fee top-up (minimum {invoice['terms']['minimum_fee']})",
                     totals["minimum_fee_top_up"]])
    rows += [["金额 Subtotal", totals["subtotal"]],
             [f"税额 {tax_label}", totals["tax"]],
             [f"价税合计 Total ({currency})", f"{currency} {totals['total']}"]]
    table = Table(rows, colWidths=[80 * mm, 40 * mm], hAlign="RIGHT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 9),
        ("FONT", (0, -1), (-1, -1), BOLD, 10.5),
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
        ("LINEABOVE", (0, -3), (-1, -3), 0.4, colors.grey),
        ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#eef2f7")),
    ]))
    return table


PARTY_ROWS = (("legal_name", "名称 Name"), ("legal_name_en", "英文名称 English name"),
              ("tax_id", "统一社会信用代码 Tax ID"), ("registered_address", "注册地址 Address"),
              ("bank_name", "开户行 Bank"), ("account_name", "户名 Account name"),
              ("account_number", "账号 Account no."), ("contact_email", "联系邮箱 Email"))


def _party_cell(party: Mapping[str, Any] | None, kind: str, party_id: str,
                style: ParagraphStyle, stated: bool) -> list[Any]:
    """The rows of one party block: the details as frozen, or 未登记."""
    who = f"{'债权方' if kind == 'creditor' else '催收机构'} {kind} {escape(party_id)}"
    if party is None:
        why = ("（开具时未登记法定信息）issued before party records were kept" if not stated
               else "（开具时该方未登记法定信息）no record of this party when issued")
        return [Paragraph(f"<b>{NOT_RECORDED}</b>", style), Paragraph(who, style),
                Paragraph(why, style)]
    flat = {**party, **(party.get("bank_account") or {})}
    rows = [Paragraph(f"<font color='#555555'>{label}</font>&nbsp; "
                      f"{'<b>' if key == 'legal_name' else ''}{escape(str(flat[key]))}"
                      f"{'</b>' if key == 'legal_name' else ''}", style)
            for key, label in PARTY_ROWS if flat.get(key)]
    rows.append(Paragraph(f"<font color='#555555'>登记版本 Record</font>&nbsp; {who}, "
                          f"v{party['version']}", style))
    return rows


def _parties(invoice: Mapping[str, Any], credit: bool, style: ParagraphStyle) -> Table:
    """The 开票方 / 付款方 blocks side by side."""
    stated = "parties" in invoice
    parties = invoice.get("parties") or {}
    issuer_title = ("开票方（退款方） Issuer, refunds" if credit
                    else "开票方（收款方） Issuer, payee")
    billed_title = ("受票方（收款方） Billed party, payee" if credit
                    else "付款方 Billed party, payer")
    head = ParagraphStyle("party-head", parent=style, fontName=BOLD, fontSize=9, leading=11,
                          textColor=colors.white)
    table = Table([
        [Paragraph(issuer_title, head), Paragraph(billed_title, head)],
        [_party_cell(parties.get("issuer"), "agency", invoice["agency_id"], style, stated),
         _party_cell(parties.get("billed"), "creditor", invoice["creditor_id"], style,
                     stated)],
    ], colWidths=[89 * mm, 89 * mm])
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 7.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f3a5f")),
        ("BOX", (0, 0), (0, -1), 0.5, colors.grey),
        ("BOX", (1, 0), (1, -1), 0.5, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 1), (-1, 1), 4),
        ("BOTTOMPADDING", (0, 1), (-1, 1), 5),
    ]))
    return table


def _payment(invoice: Mapping[str, Any], heading: ParagraphStyle,
             style: ParagraphStyle) -> list[Any]:
    """付款说明: who pays whom, into which account, by when, quoting the number."""
    instructions = invoice.get("payment_instructions")
    if instructions is None:
        text = (f"{NOT_RECORDED}: this document was issued before party records and payment "
                "terms were kept; ask the issuer for its bank account and quote "
                f"{escape(invoice['invoice_id'])}.")
    else:
        text = "<br/>".join(escape(part) for part in instructions.split("\n"))
    body = ParagraphStyle("payment", parent=style, fontSize=8.5, leading=12)
    box = Table([[Paragraph(text, body)]], colWidths=[178 * mm])
    box.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("BOX", (0, 0), (-1, -1), 0.8, colors.HexColor("#1f3a5f")),
        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f5f7fa")),
        ("TOPPADDING", (0, 0), (-1, -1), 5), ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
    ]))
    return [Paragraph("付款说明 Payment instructions", heading), box]
