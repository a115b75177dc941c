"""Invoices and credit notes as stored: once, never edited, with an index of the ledger
entries they billed. Both kinds share the `invoices` table and the pair's `seq` (the order of
its runs); each kind is numbered in a sequence of its own (INV-..., CN-...)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from casetrail.projections.store import insert_rows
from sqlalchemy.engine import Connection

from billing_service.adapters.records import invoice_lines, invoices
from billing_service.domain.invoice import (
    CREDIT_NOTE,
    InvoiceDraft,
    Period,
    document_type_of,
    invoice_number,
)
from billing_service.domain.ledger import LedgerLine

SUMMARY_COLUMNS = ("invoice_id", "creditor_id", "agency_id", "seq", "period_start",
                   "period_end", "currency", "subtotal", "tax", "total", "content_hash",
                   "issued_at", "issued_by")


class InvoiceBook:
    """Stores and reads the rows of `invoices` and `invoice_lines`."""

    def store(self, conn: Connection, draft: InvoiceDraft, issued_at: str, issued_by: str
              ) -> dict[str, Any]:
        """Store an invoice and index its lines (in the caller's transaction); returns the
        stored record as `get` reads it back. A unique-key violation (IntegrityError,
        WriteConflict at `Database.writing`) means another run stored this period, this
        number, or one of these entries first.

        Each line is serialised once: its text is the `line` column and, joined, the lines
        of the stored content. On PostgreSQL the lines are sent with COPY."""
        content, currency = draft.content, draft.content["currency"]
        totals = content["totals"]
        texts = [json.dumps(line, sort_keys=True, ensure_ascii=False)
                 for line in content["lines"]]
        record: dict[str, Any] = {
            "invoice_id": draft.invoice_id, "creditor_id": draft.creditor_id,
            "agency_id": draft.agency_id, "seq": draft.seq,
            "period_start": draft.period.start.isoformat(),
            "period_end": draft.period.end.isoformat(), "currency": currency,
            "subtotal": totals["subtotal"], "tax": totals["tax"], "total": totals["total"],
            "content": stored_text(content, texts), "content_hash": draft.content_hash,
            "as_of_position": draft.as_of_position,
            "as_of_contract_version": draft.as_of_contract_version,
            "issued_at": issued_at, "issued_by": issued_by}
        conn.execute(invoices.insert().values(record))
        rows = [{"invoice_id": draft.invoice_id, "line_no": line["line_no"],
                 "creditor_id": draft.creditor_id, "agency_id": draft.agency_id,
                 "seq": draft.seq, "entry": line["entry"], "kind": line["kind"],
                 "case_id": line["case_id"], "reference": line["reference"],
                 "position": line["position"], "commission": line["commission"],
                 "line": text}
                for line, text in zip(content["lines"], texts, strict=True)]
        if rows:
            try:
                insert_rows(conn, invoice_lines, rows)
            except conn.dialect.loaded_dbapi.IntegrityError as exc:  # from COPY
                raise sa.exc.IntegrityError("COPY invoice_lines", None, exc) from exc
        return _record(record)

    def get(self, conn: Connection, invoice_id: str) -> dict[str, Any] | None:
        """One invoice with its content, or None."""
        row = conn.execute(sa.select(invoices).where(
            invoices.c.invoice_id == invoice_id)).mappings().first()
        return None if row is None else _record(row)

    def by_period(self, conn: Connection, creditor_id: str, agency_id: str, period: Period
                  ) -> dict[str, Any] | None:
        """The pair's invoice for exactly this period, or None."""
        t = invoices
        row = conn.execute(sa.select(t).where(
            t.c.creditor_id == creditor_id, t.c.agency_id == agency_id,
            t.c.period_start == period.start.isoformat(),
            t.c.period_end == period.end.isoformat())).mappings().first()
        return None if row is None else _record(row)

    def latest(self, conn: Connection, creditor_id: str, agency_id: str
               ) -> dict[str, Any] | None:
        """The pair's most recent invoice (highest number), without content."""
        t = invoices
        row = conn.execute(sa.select(*(t.c[c] for c in SUMMARY_COLUMNS)).where(
            t.c.creditor_id == creditor_id, t.c.agency_id == agency_id)
            .order_by(t.c.seq.desc()).limit(1)).mappings().first()
        return None if row is None else dict(row)

    def last_invoiced_day(self, conn: Connection, creditor_id: str, agency_id: str
                          ) -> date | None:
        """The last day of the latest period invoiced for a pair, if any."""
        t = invoices
        value = conn.execute(sa.select(sa.func.max(t.c.period_end)).where(
            t.c.creditor_id == creditor_id, t.c.agency_id == agency_id)).scalar()
        return None if value is None else date.fromisoformat(value)

    def next_seq(self, conn: Connection, creditor_id: str, agency_id: str) -> int:
        """The sequence number the pair's next document (invoice or credit note) gets."""
        t = invoices
        value = conn.execute(sa.select(sa.func.max(t.c.seq)).where(
            t.c.creditor_id == creditor_id, t.c.agency_id == agency_id)).scalar()
        return 1 if value is None else int(value) + 1

    def number(self, conn: Connection, creditor_id: str, agency_id: str, document_type: str,
               seq: int) -> str:
        """The number of the pair's document at `seq` if it is of `document_type`: one more
        than the documents of that type before it (invoices and credit notes each count
        their own)."""
        t = invoices
        credit_notes = t.c.invoice_id.startswith("CN-", autoescape=True)
        count = conn.execute(sa.select(sa.func.count()).select_from(t).where(
            t.c.creditor_id == creditor_id, t.c.agency_id == agency_id, t.c.seq < seq,
            credit_notes if document_type == CREDIT_NOTE else sa.not_(credit_notes))).scalar()
        return invoice_number(creditor_id, agency_id, int(count or 0) + 1, document_type)

    def billed_lines(self, conn: Connection, creditor_id: str, agency_id: str, *,
                     before_seq: int) -> dict[str, LedgerLine]:
        """Every ledger entry the pair's invoices numbered below `before_seq` billed, as
        billed."""
        t = invoice_lines
        rows = conn.execute(sa.select(t.c.entry, t.c.line).where(
            t.c.creditor_id == creditor_id, t.c.agency_id == agency_id,
            t.c.seq < before_seq, t.c.case_id.is_not(None)))
        return {entry: LedgerLine.from_json(json.loads(line)) for entry, line in rows}

    def summaries(self, conn: Connection, *, filters: Mapping[str, str | None], limit: int,
                  after: str | None) -> list[dict[str, Any]]:
        """Invoice summaries matching column filters, in number order."""
        t = invoices
        query = sa.select(*(t.c[c] for c in SUMMARY_COLUMNS)).where(
            *(t.c[c] == v for c, v in filters.items() if v is not None))
        if after is not None:
            query = query.where(t.c.invoice_id > after)
        rows = conn.execute(query.order_by(t.c.invoice_id).limit(limit)).mappings().all()
        return [{**r, "document_type": document_type_of(r["invoice_id"])} for r in rows]


def stored_text(content: dict[str, Any], line_texts: list[str]) -> str:
    """`json.dumps(content, sort_keys=True, ensure_ascii=False)` (the stored form), with its
    lines given as already serialised in that form."""
    text = json.dumps({**content, "lines": _LINES_MARK}, sort_keys=True, ensure_ascii=False)
    mark = json.dumps(_LINES_MARK)
    if text.count(mark) != 1:
        return json.dumps(content, sort_keys=True, ensure_ascii=False)
    return text.replace(mark, "[" + ", ".join(line_texts) + "]")


_LINES_MARK = "\x00lines\x00"


def _record(row: Any) -> dict[str, Any]:
    record = dict(row)
    record["content"] = json.loads(record["content"])
    return record
