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
    acting_collector,
    error_responses,
    require_roles,
)
from fastapi import APIRouter, Query, Response

from case_service.application import commands, listing, registry, views
from case_service.application.cases import CaseApplication, CommandResult
from case_service.application.commands import now_or
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


def answer(result: CommandResult, response: Response) -> CommandOut:
    """A command's answer: 201 if it recorded something, 200 if it repeated one recorded."""
    response.status_code = 201 if result.recorded else 200
    return CommandOut(case_id=str(result.case_id), version=result.version, status=result.status,
                      outstanding=result.outstanding, recorded=result.recorded,
                      events=result.events)


async def run(app: CaseApplication, case_id: UUID, caller: Principal, body: CommandIn,
              response: Response, command: Callable[[Case], Any], *roles: Role) -> CommandOut:
    """Record a fact (an aggregate command) for a caller of one of `roles`: the load and
    the command on a worker thread, the commit awaited on the loop (`execute_async`)."""
    require_roles(caller, *roles)
    return answer(await commands.record_async(app, caller, case_id, command,
                                              expected_version=body.expected_version),
                  response)


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
    rows, next_cursor, judged = listing.list_cases(
        app, filters={"creditor_id": creditor_id, "assigned_agency_id": agency_id,
                      "status": status.value if status else None, "bucket": bucket},
        after=cursor, limit=limit, current_bucket=current_bucket)
    items = [{k: v for k, v in row.items() if k != "placed_position"} for row in rows]
    return {"items": items, "next_cursor": next_cursor, "current_bucket": judged}


@router.get("/{case_id}", summary="A case's current state", response_model=CaseOut,
            response_model_exclude_unset=True, responses=error_responses(404))
def get_case(case_id: UUID, app: AppDep, caller: PrincipalDep,
             as_of: Annotated[Instant | None, Query()] = None) -> dict[str, Any]:
    """The current state, or with `as_of` the state at that past instant."""
    return views.read_case(app, caller, case_id, as_of)


@router.get("/{case_id}/history", summary="Every event of a case", response_model=HistoryOut,
            response_model_exclude_unset=True, responses=error_responses(404))
def get_history(case_id: UUID, app: AppDep, caller: PrincipalDep,
                as_of: Annotated[Instant | None, Query()] = None) -> dict[str, Any]:
    """Events with position, version, type, data, recorded time and actor; with `as_of`, also
    the state at that instant and only the events recorded by then."""
    return views.read_history(app, caller, case_id, as_of)


# ------------------------------------------------------------------------------------ commands


@router.post("/{case_id}/contacts", response_model=CommandOut, status_code=201,
             responses={**COMMAND_RESPONSES, **error_responses(
                 403, 404, 409, _404="`case_not_found`: no such case visible to this key",
                 _409="`version_conflict` (with `current_version`), `case_closed`, "
                      "`case_recalled`, `invalid_transition`, or `debtor_erased`: a "
                      "`contact_point` for a debtor whose personal data was erased (send "
                      "the contact without it)")})
async def record_contact(case_id: UUID, body: ContactIn, app: AppDep, caller: PrincipalDep,
                         response: Response) -> CommandOut:
    """Record a contact attempt; idempotent by contact_id; flagged if it broke a rule. For a
    debtor erased on request, a `contact_point` is refused (409 `debtor_erased`). A
    collector's key bound to a collector records its contacts as that collector's
    (`agent_id` defaults to it; another is 403 `not_your_collector`)."""
    require_roles(caller, A, D)
    return answer(await commands.record_contact_async(
        app, caller, case_id, expected_version=body.expected_version,
        contact_id=body.contact_id, number=body.contact_point, channel=body.channel.value,
        direction=body.direction.value, party=body.party.value, outcome=body.outcome.value,
        action_code=body.action_code,
        agent_id=acting_collector(caller, body.agent_id, "body.agent_id"),
        recording_ref=body.recording_ref, occurred_at=body.occurred_at, note=body.note),
        response)


@router.post("/{case_id}/promises", response_model=CommandOut, status_code=201,
             responses={**COMMAND_RESPONSES, 201: {"description": "recorded", "links": {
                 **CASE_LINKS, "BreakPromise": link(
                     "/v1/cases/{case_id}/promises/{promise_id}/broken", case_id=CASE,
                     promise_id="$request.body#/promise_id")}}})
async def promise_to_pay(case_id: UUID, body: PromiseIn, app: AppDep, caller: PrincipalDep,
                         response: Response) -> CommandOut:
    """Record a promise to pay (PTP)."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.promise_to_pay(
        promise_id=body.promise_id, amount=body.amount, due_date=body.due_date,
        promised_at=now_or(app, body.promised_at), actor=caller.actor), A, D)


@router.post("/{case_id}/promises/{promise_id}/broken", response_model=CommandOut,
             status_code=201, responses=COMMAND_RESPONSES)
async def break_promise(case_id: UUID, promise_id: IdentifierPath, body: BreakPromiseIn,
                        app: AppDep, caller: PrincipalDep, response: Response) -> CommandOut:
    """Mark a promise broken once its due date has passed unpaid."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.break_promise(
        promise_id=promise_id, as_of=now_or(app, body.as_of), actor=caller.actor), A, C, D)


@router.post("/{case_id}/payments", response_model=CommandOut, status_code=201,
             responses={**COMMAND_RESPONSES, 201: {"description": "recorded", "links": {
                 **CASE_LINKS, "ReversePayment": link(
                     "/v1/cases/{case_id}/payments/{reference}/reversal", case_id=CASE,
                     reference="$request.body#/reference")}}})
async def receive_payment(case_id: UUID, body: PaymentIn, app: AppDep, caller: PrincipalDep,
                          response: Response) -> CommandOut:
    """Record a payment; idempotent by reference. Agencies record what they collected,
    creditors what they received directly."""
    if caller.role is Role.AGENCY and body.source is not PaymentSource.AGENCY:
        raise ApiError(403, "forbidden", "agencies record agency-collected payments only")
    if caller.role is Role.CREDITOR and body.source is not PaymentSource.CREDITOR_DIRECT:
        raise ApiError(403, "forbidden", "creditors record creditor_direct payments only")
    return await run(app, case_id, caller, body, response,
                     lambda case: case.receive_payment(
        reference=body.reference, amount=body.amount, currency=body.currency,
        source=body.source.value, received_at=body.received_at, method=body.method,
        actor=caller.actor), A, C, D)


@router.post("/{case_id}/payments/{reference}/reversal", response_model=CommandOut,
             status_code=201, responses=COMMAND_RESPONSES)
async def reverse_payment(case_id: UUID, reference: IdentifierPath, body: ReversalIn, app: AppDep,
                          caller: PrincipalDep, response: Response) -> CommandOut:
    """Reverse a bounced or charged-back payment (its commission is clawed back)."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.reverse_payment(
        reference=reference, amount=body.amount, reason=body.reason,
        reversed_at=now_or(app, body.reversed_at), actor=caller.actor), A, C, D)


@router.post("/{case_id}/repayment-plans", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
async def agree_plan(case_id: UUID, body: PlanIn, app: AppDep, caller: PrincipalDep,
                     response: Response) -> CommandOut:
    """Record an agreed repayment plan."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.agree_repayment_plan(
        plan_id=body.plan_id, installments=[(i.due_date, i.amount) for i in body.installments],
        agreed_at=now_or(app, body.agreed_at), actor=caller.actor), A, C, D)


@router.post("/{case_id}/disputes", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
async def dispute(case_id: UUID, body: DisputeIn, app: AppDep, caller: PrincipalDep,
                  response: Response) -> CommandOut:
    """Record the debtor's dispute; collection holds."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.dispute(
        reason=body.reason, disputed_at=now_or(app, body.disputed_at),
        actor=caller.actor), A, C, D)


@router.post("/{case_id}/disputes/resolution", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
async def resolve_dispute(case_id: UUID, body: DisputeResolutionIn, app: AppDep,
                          caller: PrincipalDep, response: Response) -> CommandOut:
    """Resolve the open dispute."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.resolve_dispute(
        outcome=body.outcome.value, note=body.note, resolved_at=now_or(app, body.resolved_at),
        actor=caller.actor), C, D)


@router.post("/{case_id}/hardship", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
async def flag_hardship(case_id: UUID, body: HardshipIn, app: AppDep, caller: PrincipalDep,
                        response: Response) -> CommandOut:
    """Flag a hardship claim."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.flag_hardship(
        reason=body.reason, flagged_at=now_or(app, body.flagged_at),
        actor=caller.actor), A, C, D)


@router.post("/{case_id}/cease-contact", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
async def cease_contact(case_id: UUID, body: CeaseContactIn, app: AppDep, caller: PrincipalDep,
                        response: Response) -> CommandOut:
    """Record the debtor's request to cease contact."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.request_cease_contact(
        requested_at=now_or(app, body.requested_at), channel=body.channel, note=body.note,
        actor=caller.actor), A, C, D)


@router.post("/{case_id}/escalations", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
async def escalate(case_id: UUID, body: EscalationIn, app: AppDep, caller: PrincipalDep,
                   response: Response) -> CommandOut:
    """Escalate to a field visit, legal action or a supervisor."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.escalate(
        kind=body.kind.value, reason=body.reason, escalated_at=now_or(app, body.escalated_at),
        actor=caller.actor), A, C, D)


@router.post("/{case_id}/recall", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
async def recall(case_id: UUID, body: RecallIn, app: AppDep, caller: PrincipalDep,
                 response: Response) -> CommandOut:
    """The creditor recalls the case."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.recall(
        reason=body.reason.value, recalled_at=now_or(app, body.recalled_at),
        actor=caller.actor, complaint_id=body.complaint_id), C, D)


@router.post("/{case_id}/reassignment", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
async def reassign(case_id: UUID, body: ReassignIn, app: AppDep, caller: PrincipalDep,
                   response: Response) -> CommandOut:
    """Move the case to another agency: with `require_qualified_agencies` in the creditor's
    rules, only one it qualified (409 `agency_not_qualified`); to an agency of kind
    `law_firm`, the legal hand-off (`HandedToLawFirm`)."""
    return await run(app, case_id, caller, body, response,
                     lambda case: registry.reassign(
        app, case, to_agency_id=body.to_agency_id, reason=body.reason, term_end=body.term_end,
        reassigned_at=now_or(app, body.reassigned_at), actor=caller.actor), C, D)


@router.post("/{case_id}/closure", response_model=CommandOut, status_code=201,
             responses=COMMAND_RESPONSES)
async def close(case_id: UUID, body: CloseIn, app: AppDep, caller: PrincipalDep,
                response: Response) -> CommandOut:
    """Close the case with a reason."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.close(
        reason=body.reason.value, closed_at=now_or(app, body.closed_at), note=body.note,
        actor=caller.actor), A, C, D)
