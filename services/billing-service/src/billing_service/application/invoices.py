"""Invoices and credit notes as issued: list those a caller may see, open one, and export it
(the lines as CSV, the document as PDF).

What a caller may see is its tenant scope (`Principal.tenant_scope()`: a creditor key its own
creditor_id, an agency key its agency_id, auditors and admins nothing); a document outside it
is as absent as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from billing_service.adapters.database import Database
from billing_service.adapters.exports import invoice_csv, invoice_pdf
from billing_service.adapters.invoices import InvoiceBook
from billing_service.domain.contracts import LEGACY_TIMEZONE
from billing_service.domain.errors import InvoiceNotFound
from billing_service.domain.invoice import INVOICE
from billing_service.domain.parties import due_date, payment_instructions

Scope = Mapping[str, str]  # column -> the only value the caller may see there


class Invoices:
    """Reads and exports stored documents (`pdf_lines_shown`: lines listed one by one)."""

    def __init__(self, database: Database, book: InvoiceBook, pdf_lines_shown: int = 30):
        self.database, self.book, self.pdf_lines_shown = database, book, pdf_lines_shown

    def page(self, scope: Scope, *, creditor_id: str | None, agency_id: str | None,
             after: str | None, limit: int) -> dict[str, Any]:
        """Summaries in number order, `limit` per page, within the caller's scope (a filter
        outside it finds nothing); `next_after` continues."""
        filters = {"creditor_id": creditor_id, "agency_id": agency_id}
        for column, value in scope.items():
            if filters[column] not in (None, value):
                return {"invoices": [], "next_after": None}
            filters[column] = value
        with self.database.reading() as conn:
            rows = self.book.summaries(conn, filters=filters, limit=limit + 1, after=after)
        page = rows[:limit]
        return {"invoices": page,
                "next_after": page[-1]["invoice_id"] if len(rows) > limit else None}

    def open(self, invoice_id: str, scope: Scope) -> dict[str, Any]:
        """The stored document, exactly as issued (`invoice_view`); InvoiceNotFound if there
        is none the caller may see."""
        with self.database.reading() as conn:
            record = self.book.get(conn, invoice_id)
        if record is None or not all(record[c] == v for c, v in scope.items()):
            raise InvoiceNotFound(f"no invoice {invoice_id} visible to this key")
        return invoice_view(record)

    @staticmethod
    def csv(invoice: Mapping[str, Any]) -> str:
        """The document's lines, one CSV row each (`adapters.exports.invoice_csv`)."""
        return invoice_csv(invoice)

    def pdf(self, invoice: Mapping[str, Any]) -> bytes:
        """The document as a PDF a person would accept (`adapters.exports.invoice_pdf`)."""
        return invoice_pdf(invoice, self.pdf_lines_shown)


def invoice_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The API form of a stored document: its content, hash, issue facts and data cut-off.
    A document issued before documents stated their type and zone was an invoice in UTC days:
    the view says so (outside its hash). The due date (issue date plus the payment terms the
    content froze) and the payment instructions are derived from what is hashed; a document
    issued before parties were recorded has neither (null)."""
    content = record["content"]
    stated = {"document_type": content.get("document_type", INVOICE),
              "timezone": content.get("timezone", LEGACY_TIMEZONE)}
    issued_on = datetime.fromisoformat(record["issued_at"]).astimezone(
        ZoneInfo(stated["timezone"])).date()
    due = due_date(issued_on, content)
    return {"invoice_id": record["invoice_id"], **stated, **content,
            "content_hash": record["content_hash"], "issued_at": record["issued_at"],
            "issue_date": issued_on.isoformat(),
            "due_date": None if due is None else due.isoformat(),
            "payment_instructions": payment_instructions(content, due),
            "issued_by": record["issued_by"],
            "data_as_of": {"position": record["as_of_position"],
                           "contract_version": record["as_of_contract_version"]}}
