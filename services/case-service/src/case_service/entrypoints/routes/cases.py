"""Case queries and one POST per command under /v1/cases/{case_id}/..."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from casetrail.security import Principal, Role
from casetrail.web import (
    ApiError,
    IdentifierPath,
    Instant,
    Position,
    error_responses,
    require_roles,
)
from fastapi import APIRouter, Query, Response

from case_service.application import CaseApplication, CaseNotFound, CommandResult
from case_service.domain.case import Case
from case_service.domain.values import CaseStatus, PaymentSource
from case_service.entrypoints.deps import AppDep, PrincipalDep
from case_service.entrypoints.schemas import (
    BreakPromiseIn,
    CaseOut,
    CasePage,
    CeaseContactIn,
    CloseIn,
    CommandIn,
    CommandOut,
    ContactIn,
    DisputeIn,
    DisputeResolutionIn,
    EscalationIn,
    HardshipIn,
    HistoryOut,
    PaymentIn,
    PlanIn,
    PromiseIn,
    ReassignIn,
    RecallIn,
    ReversalIn,
    now_or,
)

router = APIRouter(prefix="/v1/cases", tags=["cases"])

A, C, D = Role.AGENCY, Role.CREDITOR, Role.ADMIN

def link(path: str, method: str = "post", **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to the operation at `path` (`/v1/cases/{case_id}`), its parameters
    taken from this exchange (`case_id="$response.body#/case_id"`)."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}


CASE = "$response.body#/case_id"
# Where a command's answer leads: the case it changed, and what else can be done to it.
CASE_LINKS = {
    "GetCase": link("/v1/cases/{case_id}", "get", case_id=CASE),
    "GetHistory": link("/v1/cases/{case_id}/history", "get", case_id=CASE),
    "RecordContact": link("/v1/cases/{case_id}/contacts", case_id=CASE),
    "ReceivePayment": link("/v1/cases/{case_id}/payments", case_id=CASE),
    "PromiseToPay": link("/v1/cases/{case_id}/promises", case_id=CASE),
}

# What every command may answer besides 201: a replay, and the errors of the error map.
COMMAND_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"description": "recorded", "links": CASE_LINKS},
    200: {"model": CommandOut, "description": "a repeat of a command already recorded "
                                               "(`recorded: false`); nothing new was recorded"},
    **error_responses(403, 404, 409, _404="`case_not_found`: no such case visible to this key",
                      _409="`version_conflict` (with `current_version`), `case_closed`, "
                           "`case_recalled`, `invalid_transition` or a reference conflict"),
}


def visible(caller: Principal, case: Case, *, write: bool) -> bool:
    """Tenant scoping: creditors see their cases, agencies the cases assigned to them now."""
    if caller.role in (Role.ADMIN, Role.AUDITOR):
        return True
    if caller.role is Role.CREDITOR:
        return case.creditor_id == caller.tenant
    if case.assigned_agency_id == caller.tenant:
        return True
    # The agency that held a case when it closed can still read it, never write it.
    return not write and case.closed and case.agency_id == caller.tenant


def authorizer(caller: Principal) -> Callable[[Case], None]:
    """The authorize callback for a write: unknown to this caller reads as 404."""

    def authorize(case: Case) -> None:
        if not visible(caller, case, write=True):
            raise CaseNotFound(str(case.id))

    return authorize


def run(app: CaseApplication, case_id: UUID, caller: Principal, body: CommandIn,
        response: Response, command: Callable[[Case], Any], *roles: Role) -> CommandOut:
    """Execute a command for a caller and shape the answer (201 if recorded, 200 if repeated)."""
    require_roles(caller, *roles)
    result: CommandResult = app.execute(case_id, command, expected_version=body.expected_version,
                                        authorize=authorizer(caller))
    response.status_code = 201 if result.recorded else 200
    return CommandOut(case_id=str(result.case_id), version=result.version, status=result.status,
                      outstanding=result.outstanding, recorded=result.recorded,
                      events=result.events)


# ------------------------------------------------------------------------------------- queries


@router.get("", summary="List cases (filtered, paginated)", response_model=CasePage,
            responses=error_responses(403))
def list_cases(
    app: AppDep, caller: PrincipalDep,
    creditor_id: str | None = None, agency_id: str | None = None,
    status: CaseStatus | None = None, bucket: str | None = None,
    current_bucket: Annotated[str | None, Query(
        max_length=16, description="the aging bucket today (the creditor's day and scheme; "
        "`paid`: nothing owed); needs a creditor (a creditor key, or creditor_id)")] = None,
    cursor: Position = 0, limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Cases in placement order; pass `next_cursor` back as `cursor` for the next page.
    `bucket` is the bucket at placement; each item also says its DPD and bucket today."""
    if caller.role is Role.CREDITOR:
        if creditor_id not in (None, caller.tenant):
            raise ApiError(403, "forbidden", "a creditor key lists only its own cases")
        creditor_id = caller.tenant
    if caller.role is Role.AGENCY:
        if agency_id not in (None, caller.tenant):
            raise ApiError(403, "forbidden", "an agency key lists only its own cases")
        agency_id = caller.tenant
    try:
        rows, next_cursor, judged = app.list_cases(
            filters={"creditor_id": creditor_id, "assigned_agency_id": agency_id,
                     "status": status.value if status else None, "bucket": bucket},
            after=cursor, limit=limit, current_bucket=current_bucket)
    except ValueError as exc:
        raise ApiError(422, "invalid_current_bucket", str(exc), fields=[{
            "path": "query.current_bucket", "message": str(exc), "type": "value_error"}]
        ) from None
    items = [{k: v for k, v in row.items() if k != "placed_position"} for row in rows]
    return {"items": items, "next_cursor": next_cursor, "current_bucket": judged}


@router.get("/{case_id}", summary="A case's current state", response_model=CaseOut,
            response_model_exclude_unset=True, responses=error_responses(404))
def get_case(case_id: UUID, app: AppDep, caller: PrincipalDep,
             as_of: Annotated[Instant | None, Query()] = None) -> dict[str, Any]:
    """The current state, or with `as_of` the state at that past instant."""
    case = app.get_case(case_id)
    if not visible(caller, case, write=False):
        raise CaseNotFound(str(case_id))
    if as_of is not None:
        version = app.version_as_of(case_id, as_of)
        if version == 0:
            raise ApiError(404, "case_not_found", f"case {case_id} did not exist at {as_of}")
        case = app.get_case(case_id, version=version)
    return app.case_view(case, unmask=caller.sees_pii_unmasked)


@router.get("/{case_id}/history", summary="Every event of a case", response_model=HistoryOut,
            response_model_exclude_unset=True, responses=error_responses(404))
def get_history(case_id: UUID, app: AppDep, caller: PrincipalDep,
                as_of: Annotated[Instant | None, Query()] = None) -> dict[str, Any]:
    """Events with position, version, type, data, recorded time and actor; with `as_of`, also
    the state at that instant and only the events recorded by then."""
    case = app.get_case(case_id)
    if not visible(caller, case, write=False):
        raise CaseNotFound(str(case_id))
    events = app.history(case_id, unmask=caller.sees_pii_unmasked)
    result: dict[str, Any] = {"case_id": str(case_id), "events": events}
    if as_of is not None:
        version = app.version_as_of(case_id, as_of)
        result["events"] = [e for e in events if e["version"] <= version]
        result["as_of"] = as_of.isoformat()
        result["state"] = (app.case_view(app.get_case(case_id, version=version),
                                         unmask=caller.sees_pii_unmasked) if version else None)
    return result


# ------------------------------------------------------------------------------------ commands


@router.post("/{case_id}/contacts", response_model=CommandOut, status_code=201,
             responses={**COMMAND_RESPONSES, **error_responses(
                 403, 404, 409, _404="`case_not_found`: no such case visible to this key",
                 _409="`version_conflict` (with `current_version`), `case_closed`, "
                      "`case_recalled`, `invalid_transition`, or `debtor_erased`: a "
                      "`contact_point` for a debtor whose personal data was erased (send "
                      "the contact without it)")})
def record_contact(case_id: UUID, body: ContactIn, app: AppDep, caller: PrincipalDep,
                   response: Response) -> CommandOut:
    """Record a contact attempt; idempotent by contact_id; flagged if it broke a rule. For a
    debtor erased on request, a `contact_point` is refused (409 `debtor_erased`)."""
    return run(app, case_id, caller, body, response, lambda case: case.record_contact(
        contact_id=body.contact_id, channel=body.channel.value, direction=body.direction.value,
        party=body.party.value, outcome=body.outcome.value, action_code=body.action_code,
        agent_id=body.agent_id, recording_ref=body.recording_ref,
        contact_point=app.contact_point(case, body.contact_point, body.contact_id),
        occurred_at=body.occurred_at, note=body.note,
        actor=caller.actor), A, D)


@router.post("/{case_id}/promises", response_model=CommandOut, status_code=201,
             responses={**COMMAND_RESPONSES, 201: {"description": "recorded", "links": {
                 **CASE_LINKS, "BreakPromise": link(
                     "/v1/cases/{case_id}/promises/{promise_id}/broken", case_id=CASE,
                     promise_id="$request.body#/promise_id")}}})
def promise_to_pay(case_id: UUID, body: PromiseIn, app: AppDep, caller: PrincipalDep,
                   response: Response) -> CommandOut:
    """Record a promise to pay (PTP)."""
    return run(app, case_id, caller, body, response, lambda case: case.promise_to_pay(
        promise_id=body.promise_id, amount=body.amount, due_date=body.due_date,
        promised_at=now_or(body.promised_at, app.clock), actor=caller.actor), A, D)


@router.post("/{case_id}/promises/{promise_id}/broken", response_model=CommandOut,
             status_code=201, responses=COMMAND_RESPONSES)
def break_promise(case_id: UUID, promise_id: IdentifierPath, body: BreakPromiseIn, app: AppDep,
                  caller: PrincipalDep, response: Response) -> CommandOut:
    """Mark a promise broken once its due date has passed unpaid."""
    return run(app, case_id, caller, body, response, lambda case: case.break_promise(
        promise_id=promise_id, as_of=now_or(body.as_of, app.clock), actor=caller.actor), A, C, D)


@router.post("/{case_id}/payments", response_model=CommandOut, status_code=201,
             responses={**COMMAND_RESPONSES, 201: {"description": "recorded", "links": {
                 **CASE_LINKS, "ReversePayment": link(
                     "/v1/cases/{case_id}/payments/{reference}/reversal", case_id=CASE,
                     reference="$request.body#/reference")}}})
def receive_payment(case_id: UUID, body: PaymentIn, app: AppDep, caller: PrincipalDep,
                    response: Response) -> CommandOut:
    """Record a payment; idempotent by reference. Agencies record what they collected,
    creditors what they received directly."""
    if caller.role is Role.AGENCY and body.source is not PaymentSource.AGENCY:
        raise ApiError(403, "forbidden", "agencies record agency-collected payments only")
    if caller.role is Role.CREDITOR and body.source is not PaymentSource.CREDITOR_DIRECT:
        raise ApiError(403, "forbidden", "creditors record creditor_direct payments only")
    return run(app, case_id, caller, body, response, lambda case: case.receive_payment(
        reference=body.reference, amount=body.amount, currency=body.currency,
        source=body.source.value, received_at=body.received_at, method=body.method,
        actor=caller.actor), A, C, D)


@router.post("/{case_id}/payments/{reference}/reversal", response_model=CommandOut,
             status_code=201, responses=COMMAND_RESPONSES)
def reverse_payment(case_id: UUID, reference: IdentifierPath, body: ReversalIn, app: AppDep,
                    caller: PrincipalDep, response: Response) -> CommandOut:
    """Reverse a bounced or charged-back payment (its commission is clawed back)."""
    return run(app, case_id, caller, body, response, lambda case: case.reverse_payment(
        reference=reference, amount=body.amount, reason=body.reason,
        reversed_at=now_or(body.reversed_at, app.clock), actor=caller.actor), A, C, D)


@router.post("/{case_id}/repayment-plans", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
def agree_plan(case_id: UUID, body: PlanIn, app: AppDep, caller: PrincipalDep,
               response: Response) -> CommandOut:
    """Record an agreed repayment plan."""
    return run(app, case_id, caller, body, response, lambda case: case.agree_repayment_plan(
        plan_id=body.plan_id, installments=[(i.due_date, i.amount) for i in body.installments],
        agreed_at=now_or(body.agreed_at, app.clock), actor=caller.actor), A, C, D)


@router.post("/{case_id}/disputes", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
def dispute(case_id: UUID, body: DisputeIn, app: AppDep, caller: PrincipalDep,
            response: Response) -> CommandOut:
    """Record the debtor's dispute; collection holds."""
    return run(app, case_id, caller, body, response, lambda case: case.dispute(
        reason=body.reason, disputed_at=now_or(body.disputed_at, app.clock),
        actor=caller.actor), A, C, D)


@router.post("/{case_id}/disputes/resolution", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
def resolve_dispute(case_id: UUID, body: DisputeResolutionIn, app: AppDep,
                    caller: PrincipalDep, response: Response) -> CommandOut:
    """Resolve the open dispute."""
    return run(app, case_id, caller, body, response, lambda case: case.resolve_dispute(
        outcome=body.outcome.value, note=body.note, resolved_at=now_or(body.resolved_at, app.clock),
        actor=caller.actor), C, D)


@router.post("/{case_id}/hardship", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
def flag_hardship(case_id: UUID, body: HardshipIn, app: AppDep, caller: PrincipalDep,
                  response: Response) -> CommandOut:
    """Flag a hardship claim."""
    return run(app, case_id, caller, body, response, lambda case: case.flag_hardship(
        reason=body.reason, flagged_at=now_or(body.flagged_at, app.clock),
        actor=caller.actor), A, C, D)


@router.post("/{case_id}/cease-contact", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
def cease_contact(case_id: UUID, body: CeaseContactIn, app: AppDep, caller: PrincipalDep,
                  response: Response) -> CommandOut:
    """Record the debtor's request to cease contact."""
    return run(app, case_id, caller, body, response, lambda case: case.request_cease_contact(
        requested_at=now_or(body.requested_at, app.clock), channel=body.channel, note=body.note,
        actor=caller.actor), A, C, D)


@router.post("/{case_id}/escalations", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
def escalate(case_id: UUID, body: EscalationIn, app: AppDep, caller: PrincipalDep,
             response: Response) -> CommandOut:
    """Escalate to a field visit, legal action or a supervisor."""
    return run(app, case_id, caller, body, response, lambda case: case.escalate(
        kind=body.kind.value, reason=body.reason, escalated_at=now_or(body.escalated_at, app.clock),
        actor=caller.actor), A, C, D)


@router.post("/{case_id}/recall", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
def recall(case_id: UUID, body: RecallIn, app: AppDep, caller: PrincipalDep,
           response: Response) -> CommandOut:
    """The creditor recalls the case."""
    return run(app, case_id, caller, body, response, lambda case: case.recall(
        reason=body.reason.value, recalled_at=now_or(body.recalled_at, app.clock),
        actor=caller.actor), C, D)


@router.post("/{case_id}/reassignment", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
def reassign(case_id: UUID, body: ReassignIn, app: AppDep, caller: PrincipalDep,
             response: Response) -> CommandOut:
    """Move the case to another agency."""
    return run(app, case_id, caller, body, response, lambda case: case.reassign(
        to_agency_id=body.to_agency_id, reason=body.reason, term_end=body.term_end,
        reassigned_at=now_or(body.reassigned_at, app.clock), actor=caller.actor), C, D)


@router.post("/{case_id}/closure", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
def close(case_id: UUID, body: CloseIn, app: AppDep, caller: PrincipalDep,
          response: Response) -> CommandOut:
    """Close the case with a reason."""
    return run(app, case_id, caller, body, response, lambda case: case.close(
        reason=body.reason.value, closed_at=now_or(body.closed_at, app.clock), note=body.note,
        actor=caller.actor), A, C, D)
