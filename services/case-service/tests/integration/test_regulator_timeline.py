"""The regulator's PDF timeline is a document a regulator can read: a case header, the case
as a timeline in plain words (Chinese first, English beside it) with local and UTC times, a
verification statement, and every glyph from an embedded, subset font. Checked by reading
the PDF's own font objects and by rendering its first page to pixels."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from case_service.application import CaseApplication
from case_service.application.audit import export_case
from case_service.application.views import case_view

NOW = datetime.now(UTC).replace(microsecond=0)


def at(days: float, hour: int = 0) -> str:
    return (NOW - timedelta(days=days)).replace(hour=hour, minute=30).isoformat()


def place_earlier(application: CaseApplication, days: int = 12) -> str:
    """The README's example account, placed `days` ago (as a batch received then)."""
    from decimal import Decimal

    from case_service.application.placement import (
        AccountInput,
        DebtorInput,
        PlacementBatch,
        place,
    )

    debtor = DebtorInput(name="张三", national_id="110101199001011234",
                         phones=("+86 138 0000 0000",), address="北京市朝阳区某路 1 号",
                         email=None, timezone="Asia/Shanghai")
    account = AccountInput(index=0, account_ref="CC-0001", currency="CNY", dpd=45,
                           balances={"principal": Decimal("12000.00"),
                                     "interest": Decimal("350.20"), "fees": Decimal("50.00")},
                           debtor=debtor, agency_id="AG-A", product="credit_card")
    batch = PlacementBatch(creditor_id="BANK1", placement_ref="P-2026-11-001",
                           received_at=NOW - timedelta(days=days, hours=3),
                           request_sha256="0" * 64, accounts=[account])
    receipt, _ = place(application, batch, actor="creditor:BANK1:bank1")
    case_id: str = receipt["accepted"][0]["case_id"]
    return case_id


@pytest.fixture
def story(as_: Any, application: CaseApplication) -> str:
    """A case placed 12 days ago with a story after it; returns its id."""
    case_id = place_earlier(application)
    build_story(as_, case_id)
    return case_id


def build_story(as_: Any, placed: str) -> None:
    """A case with most kinds of event: contacts (one breaking a rule), a promise, payments,
    a reversal, a dispute, a cease-contact request and an escalation."""
    agency, bank = as_("agency_a"), as_("bank1")
    due = (date.today() + timedelta(days=20)).isoformat()
    steps = [
        (agency, "contacts", {"contact_id": "c1", "channel": "phone", "party": "debtor",
                              "outcome": "conversation", "action_code": "PTP",
                              "contact_point": "+86 139-1234-5678", "occurred_at": at(9, 2)}),
        (agency, "promises", {"promise_id": "ptp-1", "amount": "500.00", "due_date": due,
                              "promised_at": at(9, 2)}),
        (agency, "payments", {"reference": "PAY-1", "amount": "300.00",
                              "received_at": at(7, 6), "method": "bank_transfer"}),
        (bank, "payments/PAY-1/reversal", {"reason": "bank returned the transfer",
                                           "reversed_at": at(6, 1)}),
        (agency, "contacts", {"contact_id": "c2", "channel": "sms", "party": "debtor",
                              "outcome": "delivered", "action_code": "REMIND",
                              "occurred_at": at(5, 1)}),
        (bank, "cease-contact", {"channel": "written", "requested_at": at(4, 3)}),
        (agency, "contacts", {"contact_id": "c3", "channel": "phone", "party": "third_party",
                              "outcome": "refused", "action_code": "TPC",
                              "occurred_at": at(3, 12)}),
        (bank, "disputes", {"reason": "amount of fees", "disputed_at": at(2, 4)}),
        (bank, "escalations", {"kind": "supervisor", "reason": "contact after cease request",
                               "escalated_at": at(1, 5)}),
    ]
    for caller, path, body in steps:
        response = caller.post(f"/v1/cases/{placed}/{path}", json=body)
        assert response.status_code in (200, 201), (path, response.text)


def export(application: CaseApplication, placed: str, folder: Path) -> Path:
    checkpoint = application.audit.checkpoint()
    _, pdf = export_case(application, placed, checkpoint, folder)
    return pdf


def pdf_fonts(pdf: bytes) -> list[dict[str, Any]]:
    """Every font object of the PDF and whether its program is embedded, as pdffonts tells:
    a FontDescriptor with FontFile/FontFile2/FontFile3, and a subset tag ABCDEF+ in its name."""
    objects = {int(n): body for n, body in
               re.findall(rb"(\d+) 0 obj\s*(.*?)\s*endobj", pdf, re.DOTALL)}
    fonts = []
    for body in objects.values():
        if not re.search(rb"/Type\s*/Font\b", body) or b"/BaseFont" not in body:
            continue
        name = re.search(rb"/BaseFont\s*/([^\s/>]+)", body)
        descriptor = re.search(rb"/FontDescriptor\s+(\d+) 0 R", body)
        embedded = False
        if descriptor:
            embedded = bool(re.search(rb"/FontFile[23]?\s+\d+ 0 R",
                                      objects.get(int(descriptor.group(1)), b"")))
        fonts.append({"name": name.group(1).decode() if name else "?", "embedded": embedded,
                      "subset": bool(name and re.match(rb"[A-Z]{6}\+", name.group(1)))})
    return fonts


def ink_rows(image: Any) -> list[int]:
    """Rows of a greyscale crop with any dark pixel."""
    width, height = image.size
    pixels = image.load()
    return [y for y in range(height) if any(pixels[x, y] < 128 for x in range(width))]


def runs(rows: list[int]) -> int:
    """How many separate bands a set of row numbers forms."""
    return sum(1 for i, y in enumerate(rows) if i == 0 or y != rows[i - 1] + 1)


def test_every_font_of_the_timeline_is_embedded_and_subset(
        story: str, application: CaseApplication, tmp_path: Path) -> None:
    pdf = export(application, story, tmp_path).read_bytes()
    fonts = pdf_fonts(pdf)
    assert fonts, "the PDF names no font"
    assert all(f["embedded"] and f["subset"] for f in fonts), fonts
    assert {f["name"].split("+", 1)[1].split("-")[0] for f in fonts} == {"NotoSansSC"}
    if shutil.which("pdffonts"):  # poppler's own reading, where it is installed
        listing = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True,
                                 check=True).stdout.decode().splitlines()[2:]
        assert listing
        for line in listing:
            emb, sub = line.split()[-5:-3]
            assert (emb, sub) == ("yes", "yes"), line


def test_the_chinese_name_renders_as_glyphs_not_boxes_or_blanks(
        as_: Any, placed: str, application: CaseApplication, tmp_path: Path) -> None:
    import pypdfium2

    pdf = export(application, placed, tmp_path)
    page = pypdfium2.PdfDocument(pdf.read_bytes())[0]
    text = page.get_textpage()
    content = text.get_text_range()
    assert "张三" in content
    scale = 6
    image = page.render(scale=scale).to_pil().convert("L")
    image.save(tmp_path / "timeline.png")
    height = page.get_height()
    start = content.index("张三")
    crops = []
    for i in (start, start + 1):
        left, bottom, right, top = text.get_charbox(i)
        crop = image.crop((int(left * scale) - 2, int((height - top) * scale) - 2,
                           int(right * scale) + 2, int((height - bottom) * scale) + 2))
        crops.append(crop)
        assert ink_rows(crop), "the glyph area is blank: no font drew it"
    zhang, san = crops
    assert zhang.tobytes() != san.tobytes(), "both glyphs look alike: a missing-glyph box"
    # 三 is three horizontal strokes; a missing-glyph box is one outline, 张 is many strokes.
    assert runs(ink_rows(san)) == 3
    assert runs(ink_rows(zhang)) == 1


def test_the_timeline_reads_as_a_document_with_header_events_and_verification(
        story: str, application: CaseApplication, tmp_path: Path) -> None:
    import pypdfium2

    placed = story
    pdf = export(application, placed, tmp_path)
    document = pypdfium2.PdfDocument(pdf.read_bytes())
    text = "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    flat = re.sub(r"\s+", " ", text)
    checkpoint = application.audit.latest_checkpoint()
    assert checkpoint is not None
    # header
    for words in ("催收案件时间线", "Collection case timeline", "债权人", "Creditor", "BANK1",
                  "CC-0001", "AG-A", "张三", "CNY", "12,400.20 CNY", "委托金额", "Placed amount",
                  "状态", "Status", "Term", placed):
        assert words in flat, words
    # timeline in plain words, both languages, local and UTC times, amounts and actors
    for words in ("事件时间线", "Timeline", "呼出电话", "有效通话", "Outbound phone call",
                  "承诺于", "Debtor promised to pay", "收到还款", "Payment received",
                  "300.00 CNY", "还款冲正", "reversed", "要求停止联系", "cease contact",
                  "违规标记", "after the debtor asked to cease contact", "提出异议",
                  "升级处理", "主管复核", "催收机构 AG-A", "债权人 BANK1", "Asia/Shanghai",
                  "UTC", "已证明", "included"):
        assert words in flat, words
    from uuid import UUID

    placed_at = case_view(application, application.get_case(UUID(placed)),
                          unmask=True)["placed_at"]
    instant = datetime.fromisoformat(placed_at)
    assert instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M") in flat
    assert (instant + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") in flat  # Asia/Shanghai
    # verification statement
    public_key = application.audit.public_key
    for words in ("验证声明", "Verification statement", str(checkpoint.tree_size),
                  checkpoint.root.hex()[:32], checkpoint.root.hex()[32:], checkpoint.key_id,
                  "verify-export", public_key.hex()[:32]):
        assert words in flat, words
    assert not re.search(r"\w+_\w+: ", flat), "raw field dumps left in the document"


def test_the_pdf_is_reproducible_and_uses_no_font_the_reader_must_have(
        story: str, application: CaseApplication, tmp_path: Path) -> None:
    placed = story
    checkpoint = application.audit.checkpoint()
    _, first = export_case(application, placed, checkpoint, tmp_path / "a")
    _, again = export_case(application, placed, checkpoint, tmp_path / "b")
    assert first.read_bytes() == again.read_bytes()
    assert b"STSong" not in first.read_bytes()  # a CID font left to the reader's machine
    assert b"/Helvetica" not in first.read_bytes()  # a base-14 font, never embedded


def test_an_erased_debtor_reads_as_erased_in_the_timeline(
        as_: Any, placed: str, application: CaseApplication, tmp_path: Path) -> None:
    import pypdfium2

    debtor_id = as_("auditor").get(f"/v1/cases/{placed}").json()["debtor"]["debtor_id"]
    assert application.vault.erase(debtor_id) is True
    pdf = export(application, placed, tmp_path)
    text = pypdfium2.PdfDocument(pdf.read_bytes())[0].get_textpage().get_text_range()
    flat = re.sub(r"\s+", " ", text)
    assert "已应债务人请求删除个人信息" in flat
    assert "erased on request" in flat
    assert "张三" not in flat
