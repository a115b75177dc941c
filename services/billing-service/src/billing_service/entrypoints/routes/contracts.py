"""Commission contracts: a new version per change, every version listed."""

from __future__ import annotations

from typing import Any

from casetrail.web import IdentifierPath, error_responses
from fastapi import APIRouter, Response

from billing_service.entrypoints.access import contracts_access
from billing_service.entrypoints.deps import PrincipalDep, ServiceDep
from billing_service.entrypoints.errors import billing_errors
from billing_service.entrypoints.schemas import ContractIn, ContractOut, ContractVersionOut

router = APIRouter(prefix="/v1", tags=["contracts"])

TenantPath = IdentifierPath


@router.put("/contracts/{creditor_id}/{agency_id}", status_code=201,
            summary="Record a new contract version", response_model=ContractVersionOut,
            responses={200: {"model": ContractVersionOut, "description": "the same terms as "
                             "the latest version: a retry, answered with that version"},
                       **error_responses(403, 409, 422,
                                         _409="`contract_period_invoiced` or "
                                         "`contract_currency_changed`",
                                         _422="bad terms at their field; "
                                         "`contract_timezone_changed` (body.timezone): every "
                                         "version of a pair counts days in one zone")})
def put_contract(creditor_id: TenantPath, agency_id: TenantPath, body: ContractIn,
                 service: ServiceDep, caller: PrincipalDep, response: Response
                 ) -> dict[str, Any]:
    """Append a version effective from `effective_from` (201). Versions are never edited;
    the same terms as the latest version are a retry and return it (200). A version may not
    take effect inside a period already invoiced, nor change the pair's currency (409), nor
    its time zone (422). Without `timezone`, the service's default zone is recorded."""
    contracts_access(caller, creditor_id, write=True)
    with billing_errors("body"):
        version, created = service.contracts.record(
            creditor_id, agency_id, body.to_terms(service.default_timezone), caller.actor)
    if not created:
        response.status_code = 200
    return version.to_json()


@router.get("/contracts/{creditor_id}/{agency_id}", summary="A pair's contract versions",
            response_model=ContractOut, responses=error_responses(403))
def get_contract(creditor_id: TenantPath, agency_id: TenantPath, service: ServiceDep,
                 caller: PrincipalDep) -> dict[str, Any]:
    """Every version, oldest first (empty if the pair has no contract)."""
    contracts_access(caller, creditor_id, write=False)
    versions = service.contracts.list_versions(creditor_id, agency_id)
    return {"creditor_id": creditor_id, "agency_id": agency_id,
            "versions": [v.to_json() for v in versions]}
