"""Regulator export: a case history as JSON Lines with inclusion proofs (here), and a PDF
timeline (timeline_pdf.py); `application/audit.py` writes them per case.

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
from typing import Any

from casetrail.merkle import CaseStatement, Checkpoint


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
