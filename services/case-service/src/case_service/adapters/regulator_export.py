"""Regulator export: a case history as JSON Lines with inclusion proofs, and a PDF timeline.

Per case, `<case_id>.jsonl` holds the signed checkpoint on its first line, then every stored
event (stored bytes in base64) with its leaf index and inclusion proof: exactly what
`python -m casetrail.merkle verify-export FILE --public-key HEX` checks offline. `<case_id>.pdf`
is the same history for a person: one line per event, in order, with what happened and
whether it is proven by the checkpoint.

Reproducible: the same log and checkpoint give the same bytes (sorted JSON keys; reportlab's
invariant mode; the checkpoint's time, not the clock, on the document).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from casetrail.merkle import CaseStatement, Checkpoint
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"  # a CID font every PDF reader has: Chinese names render without files
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def jsonl(entries: Sequence[dict[str, Any]], checkpoint: Checkpoint, public_key: bytes,
          statement: CaseStatement | None = None) -> bytes:
    """The verifiable export: the checkpoint line (with the signed case statement: how many
    events the case has under the checkpoint), then one line per event."""
    head = {**checkpoint.to_json(), "public_key": public_key.hex()}
    if statement is not None:
        head["case_statement"] = statement.to_json()
    lines = [json.dumps(head, sort_keys=True, separators=(",", ":"))]
    lines += [json.dumps(e, sort_keys=True, separators=(",", ":")) for e in entries]
    return ("\n".join(lines) + "\n").encode()


def _summary(data: dict[str, Any]) -> str:
    shown = []
    for key, value in data.items():
        if key in ("debtor", "allocation", "balances") and isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items()
                              if k not in ("erased",) and v not in (None, [], ""))
        if value in (None, [], "", {}):
            continue
        shown.append(f"{key.replace('_', ' ')}: {value}")
    text = "; ".join(shown)
    return text if len(text) <= 600 else text[:597] + "..."


def timeline_pdf(case_id: str, view: dict[str, Any], history: Sequence[dict[str, Any]],
                 entries: Sequence[dict[str, Any]], checkpoint: Checkpoint) -> bytes:
    """A case's history as a PDF a person can read."""
    proven = {e["position"]: e["proof"] is not None for e in entries}
    small = ParagraphStyle("small", fontName=FONT, fontSize=7.5, leading=9.5)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    title = ParagraphStyle("title", fontName=FONT, fontSize=15, leading=19, spaceAfter=4)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, invariant=1, leftMargin=14 * mm,
                            rightMargin=14 * mm, topMargin=14 * mm, bottomMargin=14 * mm,
                            title=f"Case history {case_id}", author="casetrail",
                            creator="casetrail audit export")
    story: list[Any] = [
        Paragraph("Case history", title),
        Paragraph(f"Case {case_id} &nbsp; account {view['account_ref']} &nbsp; creditor "
                  f"{view['creditor_id']} &nbsp; agency {view['agency_id']}", body),
        Paragraph(f"Placed {view['placed_at']} &nbsp; placed amount {view['placed_amount']} "
                  f"{view['currency']} &nbsp; outstanding {view['outstanding']} &nbsp; status "
                  f"{view['status']}", body),
        Paragraph(f"Proven against the signed checkpoint of {checkpoint.tree_size} events "
                  f"(root {checkpoint.root.hex()[:32]}..., {checkpoint.issued_at}, key "
                  f"{checkpoint.key_id}). Verify the .jsonl file beside this one with "
                  "<i>python -m casetrail.merkle verify-export</i>.", small),
        Spacer(1, 4 * mm),
    ]
    rows: list[list[Any]] = [[Paragraph(h, small) for h in
                              ("v", "position", "recorded (UTC)", "event", "what", "proof")]]
    for event in history:
        mark = "included" if proven.get(event["position"]) else "after checkpoint"
        rows.append([Paragraph(str(event["version"]), small),
                     Paragraph(str(event["position"]), small),
                     Paragraph(event["recorded_at"][:19].replace("T", " "), small),
                     Paragraph(event["type"], small),
                     Paragraph(_escape(_summary({"actor": event["actor"], **event["data"]})),
                               small),
                     Paragraph(mark, small)])
    table = Table(rows, colWidths=[8 * mm, 14 * mm, 26 * mm, 28 * mm, 88 * mm, 18 * mm],
                  repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story.append(table)
    doc.build(story)
    return buffer.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def export_case(app: Any, case_id: str, checkpoint: Checkpoint, folder: Path
                ) -> tuple[Path, Path]:
    """Write `<case_id>.jsonl` and `<case_id>.pdf` into `folder`."""
    entries = app.audit.case_proofs(case_id, checkpoint)
    history = app.history(UUID(case_id), unmask=True)  # regulators read the debtor in clear
    view = app.case_view(app.get_case(UUID(case_id)), unmask=True)
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"{case_id}.jsonl"
    data.write_bytes(jsonl(entries, checkpoint, app.audit.public_key,
                           app.audit.case_statement(case_id, checkpoint, entries)))
    pdf = folder / f"{case_id}.pdf"
    pdf.write_bytes(timeline_pdf(case_id, view, history, entries, checkpoint))
    return data, pdf
