"""Invoices and credit notes: as JSON, the lines as CSV, or a PDF a person would accept."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from casetrail.web import IDENTIFIER_PATTERN, error_responses
from fastapi import APIRouter, Header, Query, Response
from fastapi.concurrency import run_in_threadpool

from billing_service.entrypoints.deps import PrincipalDep, ServiceDep
from billing_service.entrypoints.errors import billing_errors
from billing_service.entrypoints.schemas import InvoiceOut, InvoicePage

router = APIRouter(prefix="/v1", tags=["invoices"])

Format = Literal["json", "csv", "pdf"]


@router.get("/invoices", summary="Invoices visible to the caller", response_model=InvoicePage)
def list_invoices(
    service: ServiceDep, caller: PrincipalDep,
    creditor_id: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    agency_id: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    after: Annotated[str | None, Query(description="the last invoice_id of the previous page",
                                       max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Summaries in number order; creditors see their own, agencies theirs."""
    return service.invoices.page(caller.tenant_scope(), creditor_id=creditor_id,
                                 agency_id=agency_id, after=after, limit=limit)


@router.get("/invoices/{invoice_id}", summary="An invoice (JSON, CSV of the lines, or PDF)",
            response_model=InvoiceOut, response_model_exclude_unset=True, responses={
                200: {"description": "the invoice as JSON, its lines as CSV, or a PDF",
                      "content": {"text/csv": {"schema": {"type": "string"}},
                                  "application/pdf": {"schema": {"type": "string",
                                                                 "format": "binary"}}}},
                **error_responses(404, _404="`invoice_not_found`: no such invoice visible "
                                  "to this key")})
async def get_invoice(
    invoice_id: str, service: ServiceDep, caller: PrincipalDep,
    format: Annotated[Format | None, Query(
        description="json (default), csv or pdf; else chosen by the Accept header")] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    """The stored invoice or credit note (`document_type`), exactly as issued."""
    with billing_errors():
        invoice = await run_in_threadpool(service.invoices.open, invoice_id,
                                          caller.tenant_scope())
    chosen = format or _negotiate(accept or "")
    headers = {"X-Content-Hash": invoice["content_hash"],
               "X-Document-Type": invoice["document_type"]}
    if chosen == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{invoice_id}.csv"'
        return Response(service.invoices.csv(invoice), media_type="text/csv; charset=utf-8",
                        headers=headers)
    if chosen == "pdf":
        pdf = await run_in_threadpool(service.invoices.pdf, invoice)
        headers["Content-Disposition"] = f'inline; filename="{invoice_id}.pdf"'
        return Response(pdf, media_type="application/pdf", headers=headers)
    return invoice


def _negotiate(accept: str) -> Format:
    """The export an Accept header asks for (JSON unless CSV or PDF is named)."""
    wanted = accept.lower()
    if "text/csv" in wanted:
        return "csv"
    if "application/pdf" in wanted:
        return "pdf"
    return "json"
