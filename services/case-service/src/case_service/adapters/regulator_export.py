"""Regulator export: a case history as JSON Lines with inclusion proofs, and a PDF timeline.

Per case, `<case_id>.jsonl` holds the signed checkpoint on its first line, then every stored
event (stored bytes in base64) with its leaf index and inclusion proof: exactly what
`python -m casetrail.merkle verify-export FILE --public-key HEX` checks offline. `<case_id>.pdf`
is the same history for a person (timeline_pdf.py): the case header, one row per event in
plain words (Chinese and English) with its time in the debtor's zone and UTC and whether the
checkpoint proves it, and a verification statement, in an embedded font.

Reproducible: the same log and checkpoint give the same bytes (sorted JSON keys; reportlab's
invariant mode; the checkpoint's time, not the clock, on the document).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from casetrail.merkle import CaseStatement, Checkpoint

from case_service.adapters.timeline_pdf import timeline_pdf


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
    pdf.write_bytes(timeline_pdf(case_id, view, history, entries, checkpoint,
                                 app.audit.public_key))
    return data, pdf
