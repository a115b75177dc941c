# ruff: noqa: RUF001  (Chinese text: its full-width punctuation is meant)
"""The settlement certificate (结清证明) of a case closed as paid in full or settled: the
document a debtor asks for once the debt is done with.

It states who owed what to whom, what was paid, what the creditor waived under which
approved settlement, and when the case was closed; and it names the facts it rests on (the
case, its version, and the SHA-256 of its events as recorded), so anyone holding the case
history can check it. Reproducible: the same history gives the same bytes (invariant mode;
the closing time on the document, never the clock). Every glyph comes from the embedded
Noto Sans SC subset (casetrail.pdf_fonts).
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from casetrail.pdf_fonts import BOLD, FONT, register_fonts
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

INK, MUTED, RULE, BAND = (colors.HexColor(c) for c in ("#1a1a1a", "#5f6368", "#c8ccd0",
                                                        "#eef1f4"))
REASON = {"paid_in_full": ("全额还款结清", "paid in full"),
          "settled": ("按批准的和解方案结清", "settled under approved terms")}


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=10, leading=15, textColor=INK,
                          wordWrap="CJK")
    return {"title": ParagraphStyle("title", base, fontName=BOLD, fontSize=20, leading=26,
                                    alignment=1),
            "subtitle": ParagraphStyle("subtitle", base, fontSize=10, textColor=MUTED,
                                       alignment=1),
            "body": base,
            "label": ParagraphStyle("label", base, fontSize=9, textColor=MUTED),
            "small": ParagraphStyle("small", base, fontSize=8, leading=11, textColor=MUTED)}


def _money(value: str, currency: str) -> str:
    return f"{currency} {value}"


def _party(record: dict[str, Any] | None, party_id: str) -> str:
    """A party as a document names it: legal name, tax id and address from its record (the
    id alone without one)."""
    if not record:
        return party_id
    lines = [f"{record.get('legal_name')}（{party_id}）"]
    if record.get("legal_name_en"):
        lines.append(str(record["legal_name_en"]))
    lines.append(f"统一社会信用代码 {record.get('tax_id')}")
    lines.append(f"住所 {record.get('registered_address')}")
    return "\n".join(lines)


def certificate_pdf(view: dict[str, Any], *, number: str, facts_sha256: str,
                    issued_at: datetime,
                    parties: dict[str, dict[str, Any] | None] | None = None) -> bytes:
    """The certificate of a closed case (`view`: the case as views.case_view shows it);
    `parties`: the creditor's and the agency's records, printed when given."""
    parties = parties or {}
    creditor_party, agency_party = parties.get("creditor"), parties.get("agency")
    register_fonts()
    s = _styles()
    zone = ZoneInfo(view["aging"]["timezone"] if view.get("aging") else "UTC")
    currency = view["currency"]
    debtor = view.get("debtor") or {}
    if debtor.get("erased"):
        who = "已应债务人请求删除个人信息 / personal data erased on request"
    else:
        who = f"{debtor.get('name', '')}（证件号 {debtor.get('national_id', '')}）"
    closed_local = datetime.fromisoformat(view["closed_at"]).astimezone(zone)
    reason_zh, reason_en = REASON.get(view["close_reason"], (view["close_reason"],) * 2)
    settled = [st for st in view.get("settlements", [])
               if st["kind"] == "settlement" and st["state"] == "fulfilled"]
    rows = [
        ("证明编号 Certificate no.", number),
        ("委托方 Creditor", _party(creditor_party, view["creditor_id"])),
        ("受托机构 Agency", _party(agency_party, view["agency_id"])),
        ("账户 Account", view["account_ref"]),
        ("债务人 Debtor", who),
        ("委托金额 Placed amount", _money(view["placed_amount"], currency)),
        ("已还金额 Paid", _money(view["paid_total"], currency)),
        ("减免金额 Waived", _money(view.get("waived_total", "0"), currency)),
        ("剩余欠款 Outstanding", _money(view["outstanding"], currency)),
        ("结清方式 How it ended", f"{reason_zh} / {reason_en}"),
        ("结清日期 Closed on", f"{closed_local:%Y-%m-%d %H:%M} ({zone.key})"),
    ]
    if settled:
        st = settled[-1]
        rows.append(("和解方案 Settlement",
                     f"{st['settlement_id']}：应还 {_money(st['amount'], currency)}，"
                     f"减免 {_money(st['discount'], currency)}"))
    table = Table([[Paragraph(escape(k), s["label"]),
                    Paragraph(escape(v).replace("\n", "<br/>"), s["body"])]
                   for k, v in rows], colWidths=[52 * mm, 118 * mm])
    table.setStyle(TableStyle([
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (0, -1), BAND), ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5)]))
    creditor_label = escape(creditor_party["legal_name"] if creditor_party
                            else view["creditor_id"])
    statement = (
        f"兹证明：债务人于上述账户项下对委托方 {creditor_label} 的债务已于 "
        f"{closed_local:%Y年%m月%d日} {escape(reason_zh)}，截至该日剩余欠款为零。本证明依据"
        "案件事件记录出具，记录不可篡改，可经审计日志核验。")
    statement_en = (
        f"This certifies that the debt under the account above, owed to "
        f"{creditor_label}, ended on {closed_local:%Y-%m-%d} "
        f"({escape(reason_en)}) with nothing outstanding. It rests on the case's recorded "
        "events, which the audit log lets anyone verify.")
    versions = "".join(f"; {kind} record version {record.get('version')}"
                       for kind, record in (("creditor", creditor_party),
                                            ("agency", agency_party)) if record)
    basis = (f"依据 Basis: case {escape(view['case_id'])}, version {view['version']}; "
             f"events SHA-256 {facts_sha256}{versions}. Issued "
             f"{issued_at.astimezone(zone):%Y-%m-%d} ({zone.key}) by casetrail.")

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, invariant=1, initialFontName=FONT,
                            leftMargin=20 * mm, rightMargin=20 * mm, topMargin=22 * mm,
                            bottomMargin=20 * mm, title=f"结清证明 Settlement certificate {number}",
                            author="casetrail", creator="casetrail", lang="zh-CN")
    doc.build([Paragraph("结清证明", s["title"]),
               Paragraph("Certificate of settlement", s["subtitle"]), Spacer(1, 10 * mm),
               table, Spacer(1, 8 * mm), Paragraph(statement, s["body"]), Spacer(1, 3 * mm),
               Paragraph(statement_en, s["small"]), Spacer(1, 10 * mm),
               Paragraph(basis, s["small"])])
    return buffer.getvalue()
