# ruff: noqa: RUF001  (Chinese text: its full-width punctuation is meant)
"""The reports to the creditor as PDF (催收报告, 三次电话未接通报告): Simplified Chinese labels
first, English after, every glyph from the embedded Noto Sans SC subset
(casetrail.pdf_fonts), as the case service's settlement certificate.

Reproducible: ReportLab's invariant mode, and nothing on the page that the report does not
hold (no clock), so the same report gives the same bytes.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from casetrail.pdf_fonts import BOLD, FONT, register_fonts
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

INK, MUTED, RULE, BAND = (colors.HexColor(c) for c in ("#1a1a1a", "#5f6368", "#c8ccd0",
                                                        "#eef1f4"))
PERIOD_TITLES = {"daily": ("催收日报", "Daily collection report"),
                 "weekly": ("催收周报", "Weekly collection report"),
                 "monthly": ("催收月报", "Monthly collection report")}
LEVEL_ZH = {"first_action": "首次行动", "initial_calls": "首轮电话", "follow_up_calls": "跟进电话",
            "field_visit_request": "外访申请", "field_visit": "外访", "revisit": "再次外访",
            "progress_entry": "进展当日录入", "visit_performed": "外访按期执行",
            "visit_approval": "外访事前审批", "visit_report": "外访报告当日录入",
            "event_report": "重大事项半小时内报告"}
OUTCOME_ZH = {"conversation": "通话", "no_answer": "无人接听", "busy": "占线",
              "voicemail": "语音信箱", "wrong_number": "号码错误", "invalid_number": "空号",
              "refused": "拒绝", "delivered": "已送达", "undeliverable": "无法送达",
              "debtor_not_found": "未见债务人", "debtor_met": "见到债务人"}
CHANNEL_ZH = {"phone": "电话", "sms": "短信", "email": "电子邮件", "letter": "信函",
              "visit": "外访"}
STATUS_ZH = {"met": "达标 met", "breached": "违约 breached", "pending": "待定 pending"}


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()  # before any paragraph is made: they look their fonts up
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=13, textColor=INK,
                          wordWrap="CJK")
    return {"title": ParagraphStyle("title", base, fontName=BOLD, fontSize=18, leading=24,
                                    alignment=1),
            "subtitle": ParagraphStyle("subtitle", base, fontSize=10, textColor=MUTED,
                                       alignment=1),
            "heading": ParagraphStyle("heading", base, fontName=BOLD, fontSize=11, leading=16,
                                      spaceBefore=6, spaceAfter=3),
            "body": base,
            "label": ParagraphStyle("label", base, textColor=MUTED),
            "small": ParagraphStyle("small", base, fontSize=7.5, leading=10, textColor=MUTED)}


def _named(names: dict[str, str], code: str) -> str:
    """A code with its Chinese name first, when there is one."""
    return f"{names[code]} {code}" if code in names else code


def _table(rows: list[list[str]], widths: list[float], s: dict[str, ParagraphStyle],
           header: bool = False) -> Table:
    table = Table([[Paragraph(escape(str(cell)), s["label"] if i == 0 and not header
                              else s["body"]) for i, cell in enumerate(row)] for row in rows],
                  colWidths=[w * mm for w in widths], repeatRows=1 if header else 0)
    style = [("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
    style.append(("BACKGROUND", (0, 0), (-1, 0), BAND) if header
                 else ("BACKGROUND", (0, 0), (0, -1), BAND))
    table.setStyle(TableStyle(style))
    return table


def _document(story: list[Flowable], title: str) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, invariant=1, initialFontName=FONT,
                            leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=title, author="casetrail",
                            creator="casetrail", lang="zh-CN")
    doc.build(story)
    return buffer.getvalue()


def _basis(generated_from: Any) -> str:
    if isinstance(generated_from, list):
        parts = [f"{g['source']}/{g['partition']}@{g['position']}" for g in generated_from]
        return ", ".join(parts) or "-"
    return ", ".join(f"{k} {v}" for k, v in generated_from.items())


def agency_report_pdf(report: dict[str, Any]) -> bytes:
    """An agency's daily, weekly or monthly report (`report`: its JSON form)."""
    s = _styles()
    zh, en = PERIOD_TITLES[report["period"]]
    head = [
        ["受托机构 Agency", report["agency_id"]],
        ["委托方 Creditor", report["creditor_id"] or "全部 all"],
        ["报告期 Period", f"{report['label']}（{report['first_day']} 至 {report['last_day']}，"
                       f"{report['timezone']}）"],
        ["起止 Instants", f"[{report['from']}, {report['to']})"],
    ]
    c = report["contacts"]
    figures = [
        ["作业案件数 Cases worked", str(report["cases_worked"])],
        ["联络总数 Contacts", str(c["total"])],
        ["承诺还款 Promises made", str(report["promises"]["made"])],
        ["承诺兑现 Promises kept", str(report["promises"]["kept"])],
        ["承诺违约 Promises broken", str(report["promises"]["broken"])],
        ["收到还款笔数 Payments received", str(report["payments"]["received"])],
        *([f"回收金额 Amounts collected ({currency})", amount]
          for currency, amount in report["payments"]["amounts_collected"].items()),
    ]
    k = report["complaints"]
    per = k["per_1000_cases"]
    complaint_rows = [
        ["收到投诉 Received", str(k["received"])], ["已解决 Resolved", str(k["resolved"])],
        ["期末未结 Open at end", str(k["open"])], ["逾期 Overdue", str(k["overdue"])],
        ["每千案件投诉 Per 1,000 cases",
         f"{per['value'] if per['value'] is not None else '-'}"
         f"（{per['numerator']} / {per['denominator']}）"],
    ]
    breakdown = [["结果 Outcome", "数量 Count"]] + [
        [_named(OUTCOME_ZH, name), str(n)] for name, n in c["by_outcome"].items()]
    channels = [["渠道 Channel", "数量 Count"]] + [
        [_named(CHANNEL_ZH, name), str(n)] for name, n in c["by_channel"].items()]
    codes = [["行动代码 Action code", "联络 Contacts", "本人联络 Right-party", "承诺 Promises"]] + [
        [code, str(v["contacts"]), str(v["right_party_contacts"]), str(v["promises"])]
        for code, v in c["by_action_code"].items()]
    sl = report["service_levels"]
    levels = [["服务标准 Service level", STATUS_ZH["met"], STATUS_ZH["breached"],
               STATUS_ZH["pending"]]] + [
        [_named(LEVEL_ZH, name), str(v["met"]), str(v["breached"]), str(v["pending"])]
        for name, v in sl["levels"].items()]
    story: list[Flowable] = [
        Paragraph(zh, s["title"]), Paragraph(en, s["subtitle"]), Spacer(1, 6 * mm),
        _table(head, [45, 129], s), Paragraph("主要数据 Figures", s["heading"]),
        _table(figures, [70, 104], s), Paragraph("联络结果 Contacts by outcome", s["heading"]),
        _table(breakdown, [87, 87], s, header=True),
        Paragraph("联络渠道 Contacts by channel", s["heading"]),
        _table(channels, [87, 87], s, header=True),
        Paragraph("行动代码 Contacts by action code", s["heading"]),
        _table(codes, [54, 40, 40, 40], s, header=True),
        Paragraph("投诉 Complaints", s["heading"]), _table(complaint_rows, [70, 104], s),
        Paragraph(f"服务标准结果 Service levels（截至 as of {sl['as_of']}，"
                  f"{sl['cases_judged']} 个案件 cases）", s["heading"]),
        _table(levels, [60, 38, 38, 38], s, header=True), Spacer(1, 6 * mm),
        Paragraph(escape(f"依据 Basis: contact log {_basis(report['generated_from'])}. "
                         "同一输入生成相同文件 The same read model gives the same bytes."),
                  s["small"])]
    return _document(story, f"{zh} {en} {report['agency_id']} {report['label']}")


def three_calls_pdf(report: dict[str, Any]) -> bytes:
    """The three-calls-failed report of one case (`report`: its JSON form)."""
    s = _styles()
    head = [
        ["案件 Case", report["case_id"]], ["委托方 Creditor", report["creditor_id"]],
        ["受托机构 Agency", report["agency_id"]],
        ["委派时间 Assigned at", report["assigned_at"]],
        ["报告应提交时间 Due at", f"{report['due_at']}（{report['due_at_local']}）"],
    ]
    attempts = [["序号 No.", "时间 When", "渠道 Channel", "结果 Outcome", "行动代码 Code"]] + [
        [str(i), a["occurred_at"], _named(CHANNEL_ZH, a["channel"]),
         _named(OUTCOME_ZH, a["outcome"]), a["action_code"]]
        for i, a in enumerate(report["attempts"], start=1)]
    story: list[Flowable] = [
        Paragraph("三次电话未接通报告", s["title"]),
        Paragraph("Report: the first three calls failed", s["subtitle"]), Spacer(1, 6 * mm),
        _table(head, [45, 129], s), Paragraph("电话尝试 Call attempts", s["heading"]),
        _table(attempts, [18, 56, 28, 36, 36], s, header=True), Spacer(1, 4 * mm),
        Paragraph("规则：本次委派后的前三次外呼电话均未联系到债务人本人（第三次外呼时及之前无任何"
                  "与债务人本人的电话通话），即应提交本报告；提交时间为第三次外呼的时间。",
                  s["small"]),
        Paragraph(escape(f"Rule: {report['rule']}"), s["small"]), Spacer(1, 3 * mm),
        Paragraph(escape(f"依据 Basis: {_basis(report['generated_from'])}."), s["small"])]
    return _document(story, f"三次电话未接通报告 {report['case_id']}")


def three_calls_list_pdf(listed: dict[str, Any]) -> bytes:
    """An agency's cases whose three-calls-failed report is due (`listed`: its JSON form):
    one line per case, by due time, with its three failed attempts."""
    s = _styles()
    head = [["受托机构 Agency", listed["agency_id"]],
            ["委托方 Creditor", listed["creditor_id"] or "全部 all"],
            ["案件数 Cases", str(len(listed["cases"]))]]
    rows = [["案件 Case", "委托方 Creditor", "应提交 Due at", "序号 No.", "时间 When",
             "结果 Outcome"]]
    for case in listed["cases"]:
        for i, attempt in enumerate(case["attempts"], start=1):
            first = i == 1
            rows.append([case["case_id"] if first else "", case["creditor_id"] if first else "",
                         case["due_at_local"] if first else "", str(i), attempt["occurred_at"],
                         _named(OUTCOME_ZH, attempt["outcome"])])
    story: list[Flowable] = [
        Paragraph("三次电话未接通案件清单", s["title"]),
        Paragraph("Cases whose first three calls failed", s["subtitle"]), Spacer(1, 6 * mm),
        _table(head, [45, 129], s),
        Paragraph("案件 Cases（按应提交时间 by due time）", s["heading"]),
        _table(rows, [40, 18, 28, 10, 46, 32], s, header=True) if listed["cases"]
        else Paragraph("无 None.", s["body"]), Spacer(1, 4 * mm),
        Paragraph(escape(f"Rule: {listed['rule']}"), s["small"]), Spacer(1, 3 * mm),
        Paragraph(escape(f"依据 Basis: {_basis(listed['generated_from'])}. "
                         "同一输入生成相同文件 The same read model gives the same bytes."),
                  s["small"])]
    return _document(story, f"三次电话未接通案件清单 {listed['agency_id']}")
