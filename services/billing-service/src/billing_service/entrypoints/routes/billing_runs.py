"""Billing runs: one invoice per creditor-agency pair and period, stored once."""

from __future__ import annotations

from typing import Annotated, Any

from casetrail.web import Day, IdentifierQuery, error_responses
from fastapi import APIRouter, Query, Response

from billing_service.domain.invoice import Period
from billing_service.entrypoints.access import pair_access
from billing_service.entrypoints.deps import PrincipalDep, ServiceDep
from billing_service.entrypoints.errors import billing_errors
from billing_service.entrypoints.schemas import BillingRunIn, InvoiceOut, PreviewOut

router = APIRouter(prefix="/v1", tags=["billing runs"])


@router.post("/billing-runs", status_code=201, summary="Run billing for a pair and period",
             response_model=InvoiceOut, response_model_exclude_unset=True, responses={
                 201: {"description": "the invoice, stored", "links": {"GetInvoice": {
                     "operationRef": "#/paths/~1v1~1invoices~1{invoice_id}/get",
                     "parameters": {"invoice_id": "$response.body#/invoice_id"}}}},
                 200: {"model": InvoiceOut, "description": "the invoice stored for the same "
                       "pair and period before"},
                 **error_responses(403, 409, 422, _409="`no_contract`, or "
                                   "`period_already_invoiced` (a later period was billed)",
                                   _422="`validation_error`; `period_not_ended` "
                                   "(body.period_end): the period's last day has not ended "
                                   "in the contract's zone; `period_not_begun` "
                                   "(body.period_start)")})
def run_billing(body: BillingRunIn, service: ServiceDep, caller: PrincipalDep,
                response: Response) -> dict[str, Any]:
    """Compute and store the invoice, or the credit note if the period's lines net to a
    credit (201). Posting the same pair and period again returns the stored document
    unchanged (200). Only a period that has ended in the contract's zone is billed (422
    `period_not_ended` before: preview it instead); nothing about a refused run is stored. A
    period must start after the pair's last invoiced period (409); lines dated earlier that
    were never invoiced are carried into it."""
    pair_access(caller, body.creditor_id, body.agency_id, write=True)
    with billing_errors("body"):
        invoice, created = service.runs.run(body.creditor_id, body.agency_id, body.period,
                                            caller.actor)
    if not created:
        response.status_code = 200
    return invoice


@router.get("/billing-runs/preview", summary="Recompute a run without storing it",
            response_model=PreviewOut, response_model_exclude_unset=True,
            responses=error_responses(
                403, 409, _409="`no_contract` for the pair"))
def preview_billing(
    service: ServiceDep, caller: PrincipalDep,
    creditor_id: IdentifierQuery, agency_id: IdentifierQuery,
    period_start: Annotated[Day, Query()], period_end: Annotated[Day, Query()],
) -> dict[str, Any]:
    """For an invoiced period: the invoice recomputed from the data and contracts it was
    made from, with `matches` telling whether the content hash is the stored one (it is,
    also after the read model was rebuilt from the log). Otherwise: what a run would bill
    now, `provisional` while the period has not ended in the contract's zone."""
    pair_access(caller, creditor_id, agency_id, write=False)
    with billing_errors("query"):
        return service.runs.preview(creditor_id, agency_id, Period(period_start, period_end))
