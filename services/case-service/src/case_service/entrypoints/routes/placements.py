"""Placement intake and allocation rules."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from casetrail.security import Principal, Role
from casetrail.web import (
    ApiError,
    Day,
    IdentifierPath,
    OrjsonBodyRoute,
    error_responses,
    field_errors,
    require_roles,
)
from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from case_service.application import aging, allocation, placement
from case_service.application.placement import (
    AccountInput,
    DebtorInput,
    PlacementBatch,
    canonical_json,
    request_digest,
)
from case_service.entrypoints.deps import AppDep, PrincipalDep
from case_service.entrypoints.report_schemas import ProvisioningOut
from case_service.entrypoints.routes.cases import CASE_LINKS, link
from case_service.entrypoints.schemas import (
    AccountIn,
    AllocationRulesIn,
    AllocationRulesOut,
    PlacementIn,
    PlacementReceipt,
    RollRatesOut,
)

router = APIRouter(prefix="/v1", tags=["placements"], route_class=OrjsonBodyRoute)
_account = TypeAdapter(AccountIn)


def creditor_for(caller: Principal, requested: str | None) -> str:
    """The creditor a write acts for: a creditor key's own tenant, or the one an admin names."""
    if caller.role is Role.CREDITOR:
        if requested is not None and requested != caller.tenant:
            raise ApiError(403, "forbidden", "a creditor key acts only for its own creditor")
        assert caller.tenant is not None
        return caller.tenant
    if requested is None:
        raise ApiError(422, "validation_error", "creditor_id is required",
                       fields=[{"path": "body.creditor_id", "message": "Field required",
                                "type": "missing"}])
    return requested


def placement_content(body: PlacementIn) -> dict[str, Any]:
    """What a placement's digest covers: `body.model_dump(mode="json")`, without copying
    10,000 rows (the accounts are the parsed JSON already)."""
    return {"creditor_id": body.creditor_id, "placement_ref": body.placement_ref,
            "accounts": body.accounts}


@router.post("/placements", status_code=201, summary="Place a batch of accounts (≤ 10,000)",
             response_class=JSONResponse, responses={
                 201: {"model": PlacementReceipt, "description": "the receipt", "links": {
                     "GetReceipt": link("/v1/placements/{placement_ref}", "get",
                                        placement_ref="$response.body#/placement_ref"),
                     **{name: {**spec, "parameters": {
                         "case_id": "$response.body#/accepted/0/case_id"}}
                        for name, spec in CASE_LINKS.items()}}},
                 200: {"model": PlacementReceipt, "description": (
                     "the stored receipt of the same placement sent before "
                     "(`Idempotent-Replay: true`)"),
                     "headers": {"Idempotent-Replay": {"schema": {"type": "string"},
                                                       "description": "true"}}},
                 **error_responses(403, 409, _409="`placement_conflict`: this placement_ref "
                                   "was already received with other content")})
def post_placement(body: PlacementIn, app: AppDep, caller: PrincipalDep) -> Response:
    """Open one case per account. Idempotent by (creditor, placement_ref) and by
    (creditor, account_ref). Bad rows are rejected with their index and field errors; the
    rest are placed. The receipt says when the batch was received and acknowledged."""
    received_at = app.clock.now()
    require_roles(caller, Role.CREDITOR, Role.ADMIN)
    creditor_id = creditor_for(caller, body.creditor_id)
    accounts: list[AccountInput] = []
    rejected: list[dict[str, Any]] = []
    for index, row in enumerate(body.accounts):
        try:
            account = _account.validate_python(row)
        except ValidationError as exc:
            ref = row.get("account_ref") if isinstance(row, dict) else None
            rejected.append({"index": index, "account_ref": ref if isinstance(ref, str) else None,
                             "errors": field_errors(exc.errors())})
            continue
        debtor = account.debtor
        accounts.append(AccountInput(
            index=index, account_ref=account.account_ref, currency=account.currency,
            balances=dict(account.balances), dpd=account.dpd, agency_id=account.agency_id,
            term_end=account.term_end, product=account.product,
            debtor=DebtorInput(name=debtor.name, national_id=debtor.national_id,
                               phones=tuple(debtor.phones), address=debtor.address,
                               email=debtor.email, timezone=debtor.timezone)))
    batch = PlacementBatch(
        creditor_id=creditor_id, placement_ref=body.placement_ref, received_at=received_at,
        request_sha256=request_digest(canonical_json(placement_content(body))),
        accounts=accounts, rejected=rejected)
    receipt, replayed = placement.place(app, batch, caller.actor)
    # Serialized directly: FastAPI's generic encoder costs more than the write for 10,000 rows.
    return Response(orjson.dumps(receipt), status_code=200 if replayed else 201,
                    media_type="application/json",
                    headers={"Idempotent-Replay": "true"} if replayed else None)


@router.get("/placements/{placement_ref}", summary="A placement's receipt",
            response_model=PlacementReceipt, response_model_exclude_unset=True,
            responses=error_responses(403, 404))
def get_placement(placement_ref: IdentifierPath, app: AppDep, caller: PrincipalDep,
                  creditor_id: str | None = None) -> dict[str, Any]:
    """The stored receipt of a placement."""
    require_roles(caller, Role.CREDITOR, Role.ADMIN, Role.AUDITOR)
    creditor = caller.tenant if caller.role is Role.CREDITOR else creditor_id
    if creditor is None:
        raise ApiError(422, "validation_error", "creditor_id query parameter is required",
                       fields=[{"path": "query.creditor_id", "message": "Field required",
                                "type": "missing"}])
    return placement.receipt(app, creditor, placement_ref)


@router.put("/creditors/{creditor_id}/allocation-rules", summary="Set allocation rules",
            response_model=AllocationRulesOut, responses=error_responses(
                403, 409, _409="`version_conflict`: the rules changed meanwhile; retry"))
def put_rules(creditor_id: IdentifierPath, body: AllocationRulesIn, app: AppDep,
              caller: PrincipalDep) -> dict[str, Any]:
    """Store a new version of the creditor's bucket → agency split."""
    require_roles(caller, Role.CREDITOR, Role.ADMIN)
    creditor_for(caller, creditor_id)
    return allocation.set_allocation_rules(app, creditor_id, body.model_dump(),
                                           caller.actor).to_json()


@router.get("/creditors/{creditor_id}/allocation-rules", summary="Current allocation rules",
            response_model=AllocationRulesOut, responses=error_responses(403))
def get_rules(creditor_id: IdentifierPath, app: AppDep, caller: PrincipalDep) -> dict[str, Any]:
    """The creditor's current allocation rules (version 0: none set)."""
    require_roles(caller, Role.CREDITOR, Role.ADMIN, Role.AUDITOR)
    if caller.role is Role.CREDITOR:
        creditor_for(caller, creditor_id)
    return allocation.allocation_rules(app, creditor_id).to_json()


@router.get("/creditors/{creditor_id}/roll-rates", summary="Roll rates (bucket migration)",
            response_model=RollRatesOut, response_model_by_alias=True,
            responses=error_responses(403))
def roll_rates(
    creditor_id: IdentifierPath, app: AppDep, caller: PrincipalDep,
    first: Annotated[Day, Query(alias="from", description="first day (the creditor's)")],
    last: Annotated[Day, Query(alias="to", description="last day, included")],
) -> dict[str, Any]:
    """How the creditor's cases moved between aging buckets from the start of `from` to the
    end of `to`, by the agency that held each case at the start: cases and balance per
    bucket at the start, where they ended, the roll-forward and cure rates. Days are the
    creditor's (its rules' time zone), and the response says which zone."""
    require_roles(caller, Role.CREDITOR, Role.ADMIN, Role.AUDITOR)
    if caller.role is Role.CREDITOR:
        creditor_for(caller, creditor_id)
    if last < first:
        raise ApiError(422, "invalid_period", "the period ends before it starts", fields=[{
            "path": "query.to", "message": "must not be before `from`", "type": "value_error"}])
    return aging.roll_rates(app, creditor_id, first, last)


@router.get("/creditors/{creditor_id}/provisioning",
            summary="Provisioning report (bad-debt provision by aging bucket)",
            response_model=ProvisioningOut, responses={
                200: {"description": "the report as JSON, or as CSV with `format=csv` "
                                     "(UTF-8 with a byte-order mark, so Excel reads Chinese)",
                      "content": {"text/csv": {"schema": {"type": "string"}}}},
                **error_responses(403)})
def provisioning(
    creditor_id: IdentifierPath, app: AppDep, caller: PrincipalDep,
    as_of: Annotated[Day, Query(description="the day (the creditor's) whose end the book is "
                                            "taken at; not in the future")],
    format: Annotated[Literal["json", "csv"], Query(
        description="json (default), or csv: a header row, then the lines")] = "json",
) -> Any:
    """What the creditor's book owed at the end of `as_of`, by aging bucket in its scheme,
    times each bucket's provision rate (计提坏账准备金), per currency, with totals, the
    coverage ratio and a breakdown by the agency holding each case then (`creditor` once
    recalled). Cases closed by then as paid in full, settled or written off are left out;
    recalled ones stay. The rates are the rules' in force at the end of `as_of`
    (`rules_version`, `rules_in_force_at`). Days are
    the creditor's (its rules' time zone), and the response says which zone."""
    require_roles(caller, Role.CREDITOR, Role.ADMIN, Role.AUDITOR)
    if caller.role is Role.CREDITOR:
        creditor_for(caller, creditor_id)
    now, zone, _ = allocation.today(app, creditor_id)
    if as_of > now:
        raise ApiError(422, "invalid_as_of", f"as_of is after the creditor's today ({now}, "
                       f"{zone})", fields=[{"path": "query.as_of", "message": "must not be in "
                                            "the future", "type": "value_error"}])
    report = aging.provisioning(app, creditor_id, as_of)
    if format == "csv":
        return Response(("\ufeff" + aging.provisioning_csv(report)).encode(),
                        media_type="text/csv; charset=utf-8", headers={
                            "Content-Disposition": "attachment; filename="
                            f'"provisioning-{creditor_id}-{as_of.isoformat()}.csv"'})
    return report
