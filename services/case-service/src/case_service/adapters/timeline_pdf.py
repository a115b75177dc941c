# ruff: noqa: RUF001  (Chinese text: its full-width punctuation is meant)
"""The regulator's PDF timeline of one case: a document a person can read and check.

Three parts, Simplified Chinese first with English beside it:
1. the case header: creditor, account, agency, debtor (as the export may show them: the
   regulator reads the debtor in clear; an erased debtor shows as erased), currency, placed
   amount, status and term;
2. the timeline: one row per event, in order, with the business time in the debtor's zone and
   in UTC, what happened in plain words, the amount, who recorded it, and whether the signed
   checkpoint proves it;
3. the verification statement: the checkpoint (tree size, root hash, time, key id, public key
   and its fingerprint) and how to check the JSON Lines file beside this one.

Every glyph comes from one embedded, subset font (casetrail.pdf_fonts: Noto Sans SC), Latin
included, so no reader needs a font of its own. Reproducible: the same history and checkpoint
give the same bytes (invariant mode; the checkpoint's time on the document, not the clock).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from casetrail.merkle import Checkpoint
from casetrail.pdf_fonts import BOLD, FONT, register_fonts
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
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

from case_service.adapters.integration import OCCURRED_AT_FIELD

INK, MUTED, RULE, BAND, ALERT = (colors.HexColor(c) for c in (
    "#1a1a1a", "#5f6368", "#c8ccd0", "#eef1f4", "#a4262c"))




# ------------------------------------------------------------------------------ plain words

STATUS = {"placed": ("已委托", "placed"), "active": ("催收中", "active"),
          "promised": ("已承诺还款", "promised to pay"),
          "arrangement": ("还款计划执行中", "on a repayment plan"),
          "disputed": ("争议中", "disputed"), "recalled": ("已撤回", "recalled"),
          "closed": ("已结案", "closed")}
CHANNEL = {"phone": ("电话", "phone call"), "sms": ("短信", "SMS"),
           "email": ("电子邮件", "email"), "letter": ("信函", "letter"),
           "visit": ("上门外访", "field visit")}
DIRECTION = {"outbound": ("呼出", "outbound"), "inbound": ("呼入", "inbound")}
PARTY = {"debtor": ("债务人本人", "the debtor"), "third_party": ("第三方", "a third party"),
         "none": ("无人应答", "nobody")}
OUTCOME = {"conversation": ("有效通话", "conversation"), "no_answer": ("无人接听", "no answer"),
           "busy": ("忙线", "busy"), "voicemail": ("语音信箱", "voicemail"),
           "wrong_number": ("号码错误", "wrong number"),
           "invalid_number": ("空号", "invalid number"), "refused": ("拒绝沟通", "refused"),
           "delivered": ("已送达", "delivered"), "undeliverable": ("无法送达", "undeliverable"),
           "debtor_not_found": ("未找到债务人", "debtor not found"),
           "debtor_met": ("见到债务人", "debtor met")}
FLAG = {"after_cease_contact": ("债务人要求停止联系之后",
                                "after the debtor asked to cease contact"),
        "case_recalled": ("案件已撤回", "case recalled"),
        "case_closed": ("案件已结案", "case closed"),
        "dispute_hold": ("异议处理期间", "while a dispute was open"),
        "complaint_hold": ("投诉处理期间", "while a complaint held contact"),
        "after_recall": ("撤回之后", "after recall"), "after_close": ("结案之后", "after closure"),
        "overpayment": ("超额还款", "overpayment"),
        "before_placement": ("委托之前", "before the placement")}
SOURCE = {"agency": ("经催收机构", "through the agency"),
          "creditor_direct": ("直接付给债权人", "paid to the creditor directly")}
ESCALATION = {"field_visit": ("上门外访", "field visit"), "legal": ("法律程序", "legal action"),
              "supervisor": ("主管复核", "supervisor review")}
RESOLUTION = {"upheld": ("异议成立", "upheld"), "rejected": ("异议驳回", "rejected")}
CLOSE_REASON = {"paid_in_full": ("全额还清", "paid in full"), "settled": ("和解结清", "settled"),
                "uncollectible": ("无法收回", "uncollectible"), "recalled": ("已撤回", "recalled"),
                "term_expired": ("委托期满", "term expired")}
RECALL_REASON = {"term_ended": ("委托期满", "term ended"), "complaint": ("投诉", "complaint"),
                 "rotation": ("轮换机构", "rotation"),
                 "paid_directly": ("已直接还款", "paid directly"), "other": ("其他", "other")}
CEASE_CHANNEL = {"written": ("书面", "in writing"), "verbal": ("口头", "verbally"),
                 "email": ("电子邮件", "by email")}
ROLE = {"agency": ("催收机构", "agency"), "creditor": ("债权人", "creditor"),
        "admin": ("管理员", "admin"), "auditor": ("审计员", "auditor")}
BALANCE = {"principal": ("本金", "principal"), "interest": ("利息", "interest"),
           "fees": ("费用", "fees"), "penalties": ("罚息", "penalties")}


def _words(table: dict[str, tuple[str, str]], key: Any) -> tuple[str, str]:
    """Chinese and English for a code; an unknown code is shown as it is, in both."""
    return table.get(str(key), (str(key), str(key)))


def money(amount: Any, currency: str) -> str:
    """`12,000.00 CNY`: grouped thousands, the scale as recorded (at least two places)."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return f"{amount} {currency}"
    exponent = value.as_tuple().exponent
    places = max(2, -exponent if isinstance(exponent, int) else 2)
    return f"{value:,.{places}f} {currency}"


Line = tuple[str, str, str | None, list[str]]  # Chinese, English, amount, flags


def describe(kind: str, data: dict[str, Any], currency: str) -> Line:
    """What an event means, in plain words: (Chinese, English, amount shown, flags)."""
    flags = [f"{_words(FLAG, f)[0]} / {_words(FLAG, f)[1]}" for f in data.get("flags") or []]
    amount = data.get("amount")
    shown = money(amount, currency) if amount is not None else None
    describer = DESCRIBERS.get(kind)
    if describer is None:  # an event type this document does not know yet: its fields
        fields = ", ".join(f"{k}: {v}" for k, v in sorted(data.items())
                           if k not in ("actor", "debtor") and v not in (None, "", [], {}))
        return kind, f"{kind} ({fields})", shown, flags
    chinese, english, override = describer(data, currency)
    return chinese, english, override if override is not None else shown, flags


def _placed(d: dict[str, Any], currency: str) -> tuple[str, str, str | None]:
    total = sum((Decimal(str(v)) for v in (d.get("balances") or {}).values()), Decimal(0))
    parts_zh = "，".join(f"{_words(BALANCE, k)[0]} {money(v, currency)}"
                        for k, v in (d.get("balances") or {}).items())
    parts_en = ", ".join(f"{_words(BALANCE, k)[1]} {money(v, currency)}"
                         for k, v in (d.get("balances") or {}).items())
    return (f"债权人 {d.get('creditor_id')} 委托催收机构 {d.get('agency_id')} 催收，"
            f"逾期 {d.get('dpd')} 天 ({d.get('bucket')})\n{parts_zh}",
            f"Placed by {d.get('creditor_id')} with agency {d.get('agency_id')}, "
            f"{d.get('dpd')} days past due ({d.get('bucket')}); {parts_en}",
            money(total, currency))


def _contacted(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    channel, direction = _words(CHANNEL, d.get("channel")), _words(DIRECTION, d.get("direction"))
    party, outcome = _words(PARTY, d.get("party")), _words(OUTCOME, d.get("outcome"))
    point = d.get("contact_point") or d.get("contact_point_hint")
    via_zh = f"\n号码 {point}" if point else ""
    via_en = f", number {point}" if point else ""
    return (f"{direction[0]}{channel[0]}，联系对象：{party[0]}，结果：{outcome[0]}"
            f" ({d.get('action_code')}){via_zh}",
            f"{direction[1].capitalize()} {channel[1]} to {party[1]}: {outcome[1]} "
            f"({d.get('action_code')}){via_en}", None)


def _payment(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    source = _words(SOURCE, d.get("source"))
    method = f" ({d['method']})" if d.get("method") else ""
    return (f"收到还款，{source[0]}{method}\n流水号 {d.get('reference')}",
            f"Payment received ({source[1]}"
            f"{', ' + d['method'] if d.get('method') else ''}), reference {d.get('reference')}",
            None)


def _reversal(d: dict[str, Any], currency: str) -> tuple[str, str, str | None]:
    return (f"还款冲正，流水号 {d.get('reference')}\n原因：{d.get('reason')}",
            f"Payment {d.get('reference')} reversed: {d.get('reason')}",
            f"−{money(d.get('amount'), currency)}")


def _promise(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    return (f"债务人承诺于 {d.get('due_date')} 前还款 ({d.get('promise_id')})",
            f"Debtor promised to pay by {d.get('due_date')} ({d.get('promise_id')})", None)


def _kept(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    return (f"承诺已兑现 ({d.get('promise_id')})",
            f"Promise kept ({d.get('promise_id')})", None)


def _broken(d: dict[str, Any], currency: str) -> tuple[str, str, str | None]:
    return (f"承诺未兑现 ({d.get('promise_id')})，差额 {money(d.get('shortfall'), currency)}",
            f"Promise broken ({d.get('promise_id')}), short by "
            f"{money(d.get('shortfall'), currency)}", None)


def _reopened(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    return (f"还款被冲正，承诺重新待兑现 ({d.get('promise_id')})",
            f"Promise reopened by a reversal ({d.get('promise_id')})", None)


def _plan(d: dict[str, Any], currency: str) -> tuple[str, str, str | None]:
    installments = d.get("installments") or []
    first = installments[0]["due_date"] if installments else "-"
    last = installments[-1]["due_date"] if installments else "-"
    return (f"达成还款计划：{len(installments)} 期，{first} 至 {last}",
            f"Repayment plan agreed: {len(installments)} installments, {first} to {last}",
            money(d.get("total"), currency))


def _disputed(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    return (f"债务人对债务提出异议：{d.get('reason')}",
            f"The debtor disputes the debt: {d.get('reason')}", None)


def _resolved(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    outcome = _words(RESOLUTION, d.get("outcome"))
    note = f"：{d['note']}" if d.get("note") else ""
    return (f"异议处理完毕：{outcome[0]}{note}",
            f"Dispute resolved: {outcome[1]}{': ' + d['note'] if d.get('note') else ''}", None)


def _hardship(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    return (f"标记经济困难：{d.get('reason')}", f"Hardship flagged: {d.get('reason')}", None)


def _cease(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    how = _words(CEASE_CHANNEL, d.get("channel"))
    return (f"债务人{how[0]}要求停止联系", f"The debtor asked {how[1]} to cease contact",
            None)


def _escalated(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    kind = _words(ESCALATION, d.get("kind"))
    return (f"升级处理：{kind[0]}\n原因：{d.get('reason')}",
            f"Escalated to {kind[1]}: {d.get('reason')}", None)


def _recalled(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    reason = _words(RECALL_REASON, d.get("reason"))
    return (f"债权人从催收机构 {d.get('agency_id')} 撤回案件\n原因：{reason[0]}",
            f"Recalled by the creditor from agency {d.get('agency_id')}: {reason[1]}", None)


def _reassigned(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    return (f"案件由 {d.get('from_agency_id')} 转至 {d.get('to_agency_id')}，"
            f"新委托期限至 {d.get('term_end')}\n原因：{d.get('reason')}",
            f"Reassigned from {d.get('from_agency_id')} to {d.get('to_agency_id')}, "
            f"term to {d.get('term_end')}: {d.get('reason')}", None)


LITIGATION_STAGE = {"filed": ("立案", "filed"), "hearing": ("开庭", "hearing"),
                    "judgment": ("判决", "judgment"), "enforcement": ("强制执行", "enforcement")}


def _closed(d: dict[str, Any], currency: str) -> tuple[str, str, str | None]:
    reason = _words(CLOSE_REASON, d.get("reason"))
    return (f"结案：{reason[0]}\n结案时未还 {money(d.get('outstanding'), currency)}",
            f"Closed: {reason[1]}, {money(d.get('outstanding'), currency)} still owed", None)


COMPLAINT_CATEGORY = {"conduct": ("催收行为", "conduct"), "frequency": ("联系频率", "frequency"),
                      "privacy": ("隐私", "privacy"), "amount": ("金额", "amount"),
                      "third_party": ("联系第三方", "third parties"), "other": ("其他", "other")}
COMPLAINT_OUTCOME = {"upheld": ("投诉成立", "upheld"),
                     "partially_upheld": ("部分成立", "partially upheld"),
                     "not_upheld": ("投诉不成立", "not upheld"),
                     "withdrawn": ("投诉人撤回", "withdrawn")}
COMPLAINT_STEP = {"acknowledge": ("受理确认", "acknowledgement"),
                  "investigate": ("调查", "investigation"), "resolve": ("处理完结", "resolution")}
VISIT_OUTCOME = {"found": ("见到债务人", "debtor found"), "not_found": ("未找到债务人",
                                                                     "debtor not found"),
                 "untraceable": ("确认失联", "untraceable")}
SETTLEMENT_KIND = {"settlement": ("一次性结清", "settlement"), "reduction": ("减免", "reduction"),
                   "deferral": ("延期还款", "deferral")}


def _late(d: dict[str, Any]) -> tuple[str, str]:
    return ("（逾期）", " (late)") if d.get("late") else ("", "")


def _complaint(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    category = _words(COMPLAINT_CATEGORY, d.get("category"))
    hold_zh = "，投诉处理期间暂停外呼" if d.get("contact_hold") else ""
    hold_en = "; outbound contact held while open" if d.get("contact_hold") else ""
    return (f"收到投诉 {d.get('complaint_id')}：{category[0]}{hold_zh}\n"
            f"处理时限 {str(d.get('resolve_by', ''))[:10]}",
            f"Complaint {d.get('complaint_id')} received: {category[1]}{hold_en}", None)


def _complaint_step(zh: str, en: str) -> Callable[[dict[str, Any], str],
                                                  tuple[str, str, str | None]]:
    def describe(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
        late = _late(d)
        extra = f"：{d['finding']}" if d.get("finding") else ""
        return (f"投诉 {d.get('complaint_id')} {zh}{late[0]}{extra}",
                f"Complaint {d.get('complaint_id')} {en}{late[1]}", None)
    return describe


def _complaint_resolved(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    outcome, late = _words(COMPLAINT_OUTCOME, d.get("outcome")), _late(d)
    return (f"投诉 {d.get('complaint_id')} 处理完结：{outcome[0]}{late[0]}",
            f"Complaint {d.get('complaint_id')} resolved: {outcome[1]}{late[1]}", None)


def _complaint_missed(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    step = _words(COMPLAINT_STEP, d.get("step"))
    return (f"投诉 {d.get('complaint_id')} 的{step[0]}超过时限",
            f"Complaint {d.get('complaint_id')}: {step[1]} deadline missed", None)


def _visit(zh: str, en: str) -> Callable[[dict[str, Any], str], tuple[str, str, str | None]]:
    def describe(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
        urgent = ("（紧急）", " (urgent)") if d.get("urgent") else ("", "")
        after = ("（事后补批）", " (after the fact)") if d.get("after_the_fact") else ("", "")
        reason = f"\n原因：{d['reason']}" if d.get("reason") else ""
        return (f"外访 {d.get('visit_id')} {zh}{urgent[0]}{after[0]}{reason}",
                f"Field visit {d.get('visit_id')} {en}{urgent[1]}{after[1]}", None)
    return describe


def _visit_performed(d: dict[str, Any], _: str) -> tuple[str, str, str | None]:
    outcome, late = _words(VISIT_OUTCOME, d.get("outcome")), _late(d)
    evidence = len(d.get("evidence") or [])
    return (f"外访 {d.get('visit_id')} 已执行：{outcome[0]}{late[0]}，证据 {evidence} 份，"
            f"外访人员 {d.get('visitor_id')}",
            f"Field visit {d.get('visit_id')} made: {outcome[1]}{late[1]}, "
            f"{evidence} piece(s) of evidence, by {d.get('visitor_id')}", None)


def _settlement(d: dict[str, Any], currency: str) -> tuple[str, str, str | None]:
    kind = _words(SETTLEMENT_KIND, d.get("kind"))
    due = f"，还款期限 {d['due_date']}" if d.get("due_date") else ""
    return (f"提出{kind[0]}方案 {d.get('settlement_id')}{due}，"
            f"减免 {money(d.get('discount'), currency)}",
            f"{kind[1].capitalize()} {d.get('settlement_id')} proposed"
            f"{', due ' + d['due_date'] if d.get('due_date') else ''}", money(
                d.get("amount"), currency))


def _settlement_step(zh: str, en: str) -> Callable[[dict[str, Any], str],
                                                   tuple[str, str, str | None]]:
    def describe(d: dict[str, Any], currency: str) -> tuple[str, str, str | None]:
        reason = f"\n原因：{d['reason']}" if d.get("reason") else ""
        waived = d.get("waived")
        amount = money(waived, currency) if waived not in (None, "0") else None
        return (f"方案 {d.get('settlement_id')} {zh}{reason}",
                f"Proposal {d.get('settlement_id')} {en}", amount)
    return describe


DESCRIBERS: dict[str, Callable[[dict[str, Any], str], tuple[str, str, str | None]]] = {
    "ComplaintReceived": _complaint,
    "ComplaintAcknowledged": _complaint_step("已受理确认", "acknowledged"),
    "ComplaintInvestigated": _complaint_step("调查完毕", "investigated"),
    "ComplaintResolved": _complaint_resolved, "ComplaintDeadlineMissed": _complaint_missed,
    "VisitRequested": _visit("申请外访", "requested"),
    "VisitApproved": _visit("经主管批准", "approved by the supervisor"),
    "VisitRejected": _visit("被主管驳回", "rejected by the supervisor"),
    "VisitPerformed": _visit_performed,
    "VisitReported": _visit("外访报告已提交", "reported"),
    "SettlementProposed": _settlement,
    "SettlementApproved": _settlement_step("经债权人批准", "approved by the creditor"),
    "SettlementRejected": _settlement_step("被债权人拒绝", "rejected by the creditor"),
    "SettlementFulfilled": _settlement_step("已履行完毕", "fulfilled"),
    "SettlementDefaulted": _settlement_step("到期未履行", "defaulted"),
    "PiiRevealed": lambda d, _: (f"催收员查看债务人完整信息\n原因：{d.get('reason')}",
                                 f"A collector revealed the debtor's details: "
                                 f"{d.get('reason')}", None),
    "HandedToLawFirm": lambda d, _: (f"移交律师事务所 {d.get('law_firm_id')} 诉讼\n原因："
                                     f"{d.get('reason')}",
                                     f"Handed to law firm {d.get('law_firm_id')}: "
                                     f"{d.get('reason')}", None),
    "LitigationStageRecorded": lambda d, _: (
        f"诉讼进展：{_words(LITIGATION_STAGE, d.get('stage'))[0]}"
        f"{'（' + str(d.get('court')) + '）' if d.get('court') else ''}"
        f"{'，案号 ' + str(d.get('docket_no')) if d.get('docket_no') else ''}",
        f"Litigation: {_words(LITIGATION_STAGE, d.get('stage'))[1]}"
        f"{' (' + str(d.get('court')) + ')' if d.get('court') else ''}"
        f"{', docket ' + str(d.get('docket_no')) if d.get('docket_no') else ''}", None),
    "LegalDocumentReferenced": lambda d, _: (
        f"法律文书登记：{d.get('kind')}\nSHA-256 {str(d.get('sha256'))[:16]}…",
        f"Legal document referenced: {d.get('kind')}, SHA-256 "
        f"{str(d.get('sha256'))[:16]}...", None),
    "ReallocatedByScorecard": lambda d, _: (
        "按考核结果轮换：" + "，".join(
            f"{a.get('agency_id')} 回收率 {a.get('recovery_rate') or '—'}"
            f"（{'冠军' if a.get('role') == 'champion' else '挑战者'}，权重 {a.get('weight')}）"
            for a in (d.get("scorecard") or {}).get("agencies", [])),
        "Rotated by scorecard: " + ", ".join(
            f"{a.get('agency_id')} recovery {a.get('recovery_rate') or '-'} "
            f"({a.get('role')}, weight {a.get('weight')})"
            for a in (d.get("scorecard") or {}).get("agencies", [])), None),
    "Placed": _placed, "Contacted": _contacted, "PaymentReceived": _payment,
    "PaymentReversed": _reversal, "PromisedToPay": _promise, "PromiseKept": _kept,
    "PromiseBroken": _broken, "PromiseReopened": _reopened, "RepaymentPlanAgreed": _plan,
    "Disputed": _disputed, "DisputeResolved": _resolved, "HardshipFlagged": _hardship,
    "CeaseContactRequested": _cease, "Escalated": _escalated, "Recalled": _recalled,
    "Reassigned": _reassigned, "Closed": _closed,
}


def actor_words(actor: str | None) -> tuple[str, str]:
    """`agency:AG-A:key-1` → 催收机构 AG-A / agency AG-A (key key-1)."""
    if not actor:
        return "系统", "system"
    role, _, rest = actor.partition(":")
    tenant, _, key_id = rest.partition(":")
    zh, en = _words(ROLE, role)
    who = "" if tenant in ("", "*") else f" {tenant}"
    return f"{zh}{who}", f"{en}{who}" + (f" (key {key_id})" if key_id else "")


def zone_of(name: str | None) -> ZoneInfo:
    """The debtor's zone, or UTC when none is known."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


LATE = timedelta(hours=1)  # a fact recorded later than this after it happened shows both


def _instant(moment: Any) -> datetime:
    instant = datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def when(moment: str, zone: ZoneInfo) -> tuple[str, str]:
    """An instant in the stated zone and in UTC, to the minute."""
    instant = _instant(moment)
    return (instant.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M"))


def fingerprint(public_key: bytes) -> str:
    """SHA-256 of the raw public key, in groups of four hex digits."""
    digest = hashlib.sha256(public_key).hexdigest()
    return " ".join(digest[i:i + 4] for i in range(0, len(digest), 4))


# ------------------------------------------------------------------------------ layout


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=8, leading=11, textColor=INK,
                          wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", base, fontName=BOLD, fontSize=16, leading=21),
        "subtitle": ParagraphStyle("subtitle", base, fontSize=9, leading=13, textColor=MUTED),
        "h2": ParagraphStyle("h2", base, fontName=BOLD, fontSize=11, leading=15,
                             spaceBefore=8, spaceAfter=4),
        "label": ParagraphStyle("label", base, fontSize=7.5, leading=10, textColor=MUTED),
        "value": ParagraphStyle("value", base, fontSize=8.5, leading=11.5),
        "cell": base,
        "small": ParagraphStyle("small", base, fontSize=7, leading=9.5, textColor=MUTED),
        "head": ParagraphStyle("head", base, fontName=BOLD, fontSize=7.5, leading=10),
        "amount": ParagraphStyle("amount", base, alignment=TA_RIGHT),
        "flag": ParagraphStyle("flag", base, fontSize=7, leading=9.5, textColor=ALERT),
        "mono": ParagraphStyle("mono", base, fontSize=7.5, leading=10),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(text, style)


def _lines(text: str) -> str:
    """Escaped text with its line breaks kept (a CJK line never starts with a stray mark)."""
    return "<br/>".join(escape(line) for line in text.split("\n"))


def _both(chinese: str, english: str, s: dict[str, ParagraphStyle]) -> list[Paragraph]:
    return [_p(escape(chinese), s["cell"]), _p(escape(english), s["small"])]


def _header(case_id: str, view: dict[str, Any], zone: ZoneInfo,
            s: dict[str, ParagraphStyle]) -> list[Any]:
    debtor = view.get("debtor") or {}
    if debtor.get("erased"):
        who_zh, who_en = "已应债务人请求删除个人信息", "personal data erased on request"
    else:
        who_zh = f"{debtor.get('name', '')}（证件号 {debtor.get('national_id', '')}）"
        who_en = f"{debtor.get('name', '')}, national id {debtor.get('national_id', '')}"
    currency = str(view.get("currency", ""))
    status = _words(STATUS, view.get("status"))
    balances_zh = "，".join(f"{_words(BALANCE, k)[0]} {money(v, currency)}"
                           for k, v in (view.get("balances") or {}).items())
    balances_en = ", ".join(f"{_words(BALANCE, k)[1]} {money(v, currency)}"
                            for k, v in (view.get("balances") or {}).items())
    placed_local, placed_utc = when(str(view["placed_at"]), zone)
    assigned = view.get("assigned_agency_id")
    agency_en = (f"{view.get('agency_id')} (holds it now)" if assigned
                 else f"{view.get('agency_id')} (last held it; none holds it now)")
    fields = [
        ("债权人", "Creditor", str(view.get("creditor_id")), None),
        ("账户编号", "Account ref", str(view.get("account_ref")),
         f"委托批次 placement {view.get('placement_ref')}"),
        ("催收机构", "Agency", str(view.get("agency_id")), agency_en),
        ("债务人", "Debtor", who_zh, f"{who_en}; {debtor.get('debtor_id', '')}"),
        ("币种", "Currency", currency, None),
        ("委托金额", "Placed amount", money(view.get("placed_amount"), currency),
         f"{balances_zh} / {balances_en}"),
        ("已还 / 未还", "Paid / owed",
         f"{money(view.get('paid_total'), currency)} / "
         f"{money(view.get('outstanding'), currency)}", None),
        ("状态", "Status", f"{status[0]} {status[1]}", None),
        ("委托期限", "Term", f"{placed_local} 至 to {view.get('term_end')}",
         f"委托时间 placed {placed_local} ({zone.key}) = {placed_utc} UTC"),
        ("时区", "Times shown in",
         f"{zone.key}（债务人所在时区 the debtor's zone）与 and UTC", None),
    ]
    cells = []
    for chinese, english, value, note in fields:
        label = _p(f"{escape(chinese)}<br/>{escape(english)}", s["label"])
        shown = [_p(escape(value), s["value"])]
        if note:
            shown.append(_p(escape(note), s["small"]))
        cells.append((label, shown))
    rows = [[*cells[i], *(cells[i + 1] if i + 1 < len(cells) else ("", ""))]
            for i in range(0, len(cells), 2)]
    table = Table(rows, colWidths=[24 * mm, 67 * mm, 24 * mm, 67 * mm])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
    ]))
    return [
        _p("催收案件时间线 <font size=11 color='#5f6368'>Collection case timeline</font>",
           s["title"]),
        _p(f"监管报送文件 Regulator export · 案件编号 Case {escape(case_id)}", s["subtitle"]),
        Spacer(1, 3 * mm),
        _p("案件概况 <font color='#5f6368'>Case</font>", s["h2"]),
        table,
    ]


def _timeline(history: Sequence[dict[str, Any]], proven: dict[int | None, bool], zone: ZoneInfo,
              currency: str, s: dict[str, ParagraphStyle]) -> list[Any]:
    head = [_p(h, s["head"]) for h in (
        "序号<br/>No.", f"时间 Time<br/>{escape(zone.key)} / UTC", "事件 What happened",
        "金额 Amount", "操作方 Recorded by", "证明 Proof")]
    rows: list[list[Any]] = [head]
    flagged_rows = []
    for event in history:
        data = dict(event.get("data") or {})
        kind = str(event["type"])
        moment = data.get(OCCURRED_AT_FIELD.get(kind, "")) or event["recorded_at"]
        local, utc = when(str(moment), zone)
        chinese, english, amount, flags = describe(kind, data, currency)
        what: list[Any] = [_p(_lines(chinese), s["cell"]),
                           _p(f"{escape(english)} <font color='#9aa0a6'>[{escape(kind)}]</font>",
                              s["small"])]
        if flags:
            what.append(_p("违规标记 Flags: " + escape("; ".join(flags)), s["flag"]))
            flagged_rows.append(len(rows))
        time_cell = [_p(local, s["cell"]), _p(f"{utc} UTC", s["small"])]
        if _instant(event["recorded_at"]) - _instant(moment) > LATE:  # recorded late: say when
            time_cell.append(_p(f"记录于 recorded<br/>{when(str(event['recorded_at']), zone)[1]}"
                                " UTC", s["small"]))
        by_zh, by_en = actor_words(event.get("actor"))
        is_proven = proven.get(event.get("position"), False)
        proof = (_p("已证明<br/>included", s["cell"]) if is_proven
                 else _p("检查点之后<br/>after checkpoint", s["flag"]))
        rows.append([
            _p(str(event["version"]), s["cell"]), time_cell, what,
            _p(escape(amount or "—"), s["amount"]),
            [_p(escape(by_zh), s["cell"]), _p(escape(by_en), s["small"])],
            [proof, _p(f"位置 position {event.get('position')}", s["small"])],
        ])
    table = Table(rows, colWidths=[8 * mm, 29 * mm, 74 * mm, 24 * mm, 25 * mm, 22 * mm],
                  repeatRows=1)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("BACKGROUND", (0, 0), (-1, 0), BAND),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    style += [("LINEBEFORE", (0, r), (0, r), 2, ALERT) for r in flagged_rows]
    table.setStyle(TableStyle(style))
    return [_p("事件时间线 <font color='#5f6368'>Timeline</font>", s["h2"]), table]


def _verification(case_id: str, history: Sequence[dict[str, Any]],
                  proven: dict[int | None, bool], checkpoint: Checkpoint, public_key: bytes,
                  s: dict[str, ParagraphStyle]) -> list[Any]:
    included = sum(1 for e in history if proven.get(e.get("position")))
    after = len(history) - included
    root = checkpoint.root.hex()
    statement_zh = (f"本案件共 {len(history)} 个事件，其中 {included} 个已包含在下述签名检查点中"
                    + (f"，{after} 个记录于该检查点之后，尚未被其证明" if after else "")
                    + "。任何被修改、删除、插入或重排的事件都会使验证失败。")
    statement_en = (f"This case has {len(history)} events; {included} "
                    f"{'is' if included == 1 else 'are'} included in the signed checkpoint below"
                    + (f", {after} {'was' if after == 1 else 'were'} recorded after it and "
                       f"{'is' if after == 1 else 'are'} not yet proven by it" if after else "")
                    + ". Any event altered, deleted, inserted or reordered fails the check.")
    facts = [
        ("检查点树大小", "Checkpoint tree size", f"{checkpoint.tree_size} 个事件 events"),
        ("根哈希", "Root hash (SHA-256, RFC 6962)", f"{root[:32]}<br/>{root[32:]}"),
        ("签名时间", "Signed at", _signed_at(checkpoint.issued_at)),
        ("密钥编号", "Key id", escape(str(checkpoint.key_id))),
        ("公钥", "Public key (Ed25519)", f"{public_key.hex()[:32]}<br/>{public_key.hex()[32:]}"),
        ("公钥指纹", "Public key fingerprint (SHA-256)", fingerprint(public_key)),
    ]
    rows = [[_p(f"{escape(zh)}<br/>{escape(en)}", s["label"]), _p(value, s["mono"])]
            for zh, en, value in facts]
    table = Table(rows, colWidths=[45 * mm, 137 * mm])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
    ]))
    how_zh = ("验证方法：(1) 核对公钥指纹与另行公布的指纹一致；(2) 核对检查点的树大小与根哈希"
              "与在数据库之外公布的检查点一致；(3) 用独立的验证程序检查本文件旁的 "
              f"{case_id}.jsonl，例如：")
    how_en = ("How to verify: (1) the fingerprint matches the one published out of band; (2) "
              "the tree size and root match a checkpoint published outside the database; "
              f"(3) {case_id}.jsonl, beside this file, passes an independent verifier, e.g.:")
    command = (f"python -m casetrail.merkle verify-export {case_id}.jsonl "
               f"--public-key {public_key.hex()}")
    return [KeepTogether([
        _p("验证声明 <font color='#5f6368'>Verification statement</font>", s["h2"]),
        _p(escape(statement_zh), s["value"]), _p(escape(statement_en), s["small"]),
        Spacer(1, 2 * mm), table, Spacer(1, 2 * mm),
        _p(escape(how_zh), s["value"]), _p(escape(how_en), s["small"]),
        _command_box(command, s),
        _p(escape("它重新计算每个事件的哈希、逐一检查包含证明，并校验检查点签名；"
                  "全部通过时退出码为 0。"), s["value"]),
        _p(escape("It recomputes each event's leaf hash, checks every inclusion proof against "
                  "the root and the checkpoint's signature, and exits 0 only when all hold."),
           s["small"]),
    ])]


def _signed_at(issued_at: Any) -> str:
    """The checkpoint's time, to the second, in UTC."""
    try:
        instant = datetime.fromisoformat(str(issued_at).replace("Z", "+00:00"))
    except ValueError:
        return escape(str(issued_at))
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _command_box(command: str, s: dict[str, ParagraphStyle]) -> Table:
    box = Table([[_p(escape(command), s["mono"])]], colWidths=[182 * mm])
    box.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), BAND),
                             ("FONTNAME", (0, 0), (-1, -1), FONT),
                             ("TOPPADDING", (0, 0), (-1, -1), 4),
                             ("BOTTOMPADDING", (0, 0), (-1, -1), 4)]))
    return box


def _page_footer(case_id: str, checkpoint: Checkpoint, canvas: Canvas, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 7)
    canvas.setFillColor(MUTED)
    canvas.setStrokeColor(RULE)
    canvas.line(doc.leftMargin, 11 * mm, A4[0] - doc.rightMargin, 11 * mm)
    canvas.drawString(doc.leftMargin, 7.5 * mm,
                      f"案件 Case {case_id} · 检查点 checkpoint {checkpoint.tree_size} · "
                      f"casetrail audit export")
    canvas.drawRightString(A4[0] - doc.rightMargin, 7.5 * mm,
                           f"第 {doc.page} 页 Page {doc.page}")
    canvas.restoreState()


def timeline_pdf(case_id: str, view: dict[str, Any], history: Sequence[dict[str, Any]],
                 entries: Sequence[dict[str, Any]], checkpoint: Checkpoint,
                 public_key: bytes) -> bytes:
    """A case's history as a PDF a regulator can read: header, timeline, verification."""
    register_fonts()
    s = _styles()
    zone = zone_of((view.get("debtor") or {}).get("timezone"))
    proven: dict[int | None, bool] = {e["position"]: e.get("proof") is not None
                                      for e in entries}
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, invariant=1, initialFontName=FONT,
                            leftMargin=14 * mm, rightMargin=14 * mm, topMargin=13 * mm,
                            bottomMargin=16 * mm, title=f"催收案件时间线 Case timeline {case_id}",
                            author="casetrail", creator="casetrail audit export",
                            subject=f"checkpoint {checkpoint.tree_size}", lang="zh-CN")
    story = [*_header(case_id, view, zone, s),
             *_timeline(history, proven, zone, str(view.get("currency", "")), s),
             *_verification(case_id, history, proven, checkpoint, public_key, s)]
    footer = partial(_page_footer, case_id, checkpoint)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
