"""The collection workflows on a case, one POST per step (docs/operations-guide.md):
complaints (投诉), field visits (外访) and settlements, reductions and deferrals approved by the
creditor; and the settlement certificate (结清证明). Every step is idempotent on its own
reference (a repeat answers 200 with `recorded: false`), refused with 409 when the case's
state forbids it, and scoped to the caller's tenant.

Roles: complaints are recorded and handled by the agency holding the case or by the
creditor; a visit is requested, made and reported by the agency and approved or rejected by
an agency supervisor's key (not a collector's); a settlement is proposed by the agency and
approved or rejected by the creditor, within the limits of its rules. Admins may do any."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from casetrail.security import Principal, Role
from casetrail.web import (
    ApiError,
    IdentifierPath,
    acting_collector,
    error_responses,
    require_roles,
)
from fastapi import APIRouter, Request, Response

from case_service.application import views, workflows
from case_service.application.commands import now_or
from case_service.entrypoints.deps import AppDep, PrincipalDep
from case_service.entrypoints.routes.cases import COMMAND_RESPONSES, run
from case_service.entrypoints.schemas import (
    CommandOut,
    ComplaintAcknowledgementIn,
    ComplaintIn,
    ComplaintInvestigationIn,
    ComplaintResolutionIn,
    LegalDocumentIn,
    LitigationStageIn,
    PiiRevealIn,
    PiiRevealOut,
    SettlementApprovalIn,
    SettlementIn,
    SettlementRejectionIn,
    VisitApprovalIn,
    VisitOutcomeIn,
    VisitRejectionIn,
    VisitReportIn,
    VisitRequestIn,
)

router = APIRouter(prefix="/v1/cases", tags=["workflows"])

A, C, D = Role.AGENCY, Role.CREDITOR, Role.ADMIN
STEP: dict[str, Any] = {"response_model": CommandOut, "status_code": 201,
                        "responses": COMMAND_RESPONSES}


def require_supervisor(caller: Principal) -> None:
    """Only an agency supervisor's key (or an admin) approves what supervisors approve."""
    require_roles(caller, A, D)
    if not caller.supervises:
        raise ApiError(403, "supervisor_required",
                       "a collector's key cannot approve: use the agency supervisor's key")


# ----------------------------------------------------------------------------- complaints


@router.post("/{case_id}/complaints", summary="Record a complaint", **STEP)
async def receive_complaint(case_id: UUID, body: ComplaintIn, app: AppDep,
                            caller: PrincipalDep, response: Response) -> CommandOut:
    """A complaint received; each step's deadline and whether it holds outbound contact come
    from the creditor's rules (`complaints` in its allocation rules) and are recorded with
    it. Idempotent by complaint_id."""
    return await run(app, case_id, caller, body, response, lambda case: case.receive_complaint(
        complaint_id=body.complaint_id, channel=body.channel.value,
        category=body.category.value, received_at=now_or(app, body.received_at),
        note=body.note, rules=workflows.complaint_rules(app, case), actor=caller.actor),
        A, C, D)


@router.post("/{case_id}/complaints/{complaint_id}/acknowledgement",
             summary="Acknowledge a complaint", **STEP)
async def acknowledge_complaint(case_id: UUID, complaint_id: IdentifierPath,
                                body: ComplaintAcknowledgementIn, app: AppDep,
                                caller: PrincipalDep, response: Response) -> CommandOut:
    """The complainant was told the complaint is being handled (late if past its
    deadline: recorded so, never refused)."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.acknowledge_complaint(
        complaint_id=complaint_id, acknowledged_at=now_or(app, body.acknowledged_at),
        actor=caller.actor), A, C, D)


@router.post("/{case_id}/complaints/{complaint_id}/investigation",
             summary="Record a complaint's investigation", **STEP)
async def investigate_complaint(case_id: UUID, complaint_id: IdentifierPath,
                                body: ComplaintInvestigationIn, app: AppDep,
                                caller: PrincipalDep, response: Response) -> CommandOut:
    """What the investigation found (after the acknowledgement)."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.investigate_complaint(
        complaint_id=complaint_id, finding=body.finding,
        investigated_at=now_or(app, body.investigated_at), actor=caller.actor), A, C, D)


@router.post("/{case_id}/complaints/{complaint_id}/resolution",
             summary="Resolve a complaint", **STEP)
async def resolve_complaint(case_id: UUID, complaint_id: IdentifierPath,
                            body: ComplaintResolutionIn, app: AppDep, caller: PrincipalDep,
                            response: Response) -> CommandOut:
    """How the complaint ended (after the investigation, unless withdrawn); its contact
    hold ends."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.resolve_complaint(
        complaint_id=complaint_id, outcome=body.outcome.value, note=body.note,
        resolved_at=now_or(app, body.resolved_at), actor=caller.actor), A, C, D)


# ----------------------------------------------------------------------------- field visits


@router.post("/{case_id}/visits", summary="Request a field visit", **STEP)
async def request_visit(case_id: UUID, body: VisitRequestIn, app: AppDep,
                        caller: PrincipalDep, response: Response) -> CommandOut:
    """A field visit requested; due within 7 days. Refused after a cease-contact request
    or while a complaint holds contact."""
    return await run(app, case_id, caller, body, response, lambda case: case.request_visit(
        visit_id=body.visit_id, reason=body.reason, urgent=body.urgent,
        requested_at=now_or(app, body.requested_at), actor=caller.actor), A, D)


@router.post("/{case_id}/visits/{visit_id}/approval", summary="Approve a field visit",
             **STEP)
async def approve_visit(case_id: UUID, visit_id: IdentifierPath, body: VisitApprovalIn,
                        app: AppDep, caller: PrincipalDep, response: Response) -> CommandOut:
    """The agency supervisor approves a visit (after the fact for an urgent one)."""
    require_supervisor(caller)
    return await run(app, case_id, caller, body, response, lambda case: case.approve_visit(
        visit_id=visit_id, approved_at=now_or(app, body.approved_at), actor=caller.actor),
        A, D)


@router.post("/{case_id}/visits/{visit_id}/rejection", summary="Reject a field visit", **STEP)
async def reject_visit(case_id: UUID, visit_id: IdentifierPath, body: VisitRejectionIn,
                       app: AppDep, caller: PrincipalDep, response: Response) -> CommandOut:
    """The agency supervisor rejects a visit not yet made."""
    require_supervisor(caller)
    return await run(app, case_id, caller, body, response, lambda case: case.reject_visit(
        visit_id=visit_id, reason=body.reason, rejected_at=now_or(app, body.rejected_at),
        actor=caller.actor), A, D)


@router.post("/{case_id}/visits/{visit_id}/outcome", summary="Record a visit made", **STEP)
async def perform_visit(case_id: UUID, visit_id: IdentifierPath, body: VisitOutcomeIn,
                        app: AppDep, caller: PrincipalDep, response: Response) -> CommandOut:
    """A visit that was made, with the hashes and references of its recordings and photos
    (approved first unless urgent). A collector's key bound to a collector records only its
    own visits (`visitor_id` another: 403 `not_your_collector`)."""
    return await run(app, case_id, caller, body, response, lambda case: case.perform_visit(
        visit_id=visit_id, performed_at=body.performed_at, outcome=body.outcome.value,
        visitor_id=acting_collector(caller, body.visitor_id, "body.visitor_id"),
        evidence=[e.model_dump(mode="json") for e in body.evidence], actor=caller.actor),
        A, D)


@router.post("/{case_id}/visits/{visit_id}/report", summary="Report a visit made", **STEP)
async def report_visit(case_id: UUID, visit_id: IdentifierPath, body: VisitReportIn,
                       app: AppDep, caller: PrincipalDep, response: Response) -> CommandOut:
    """The report of a visit made."""
    return await run(app, case_id, caller, body, response, lambda case: case.report_visit(
        visit_id=visit_id, summary=body.summary, reported_at=now_or(app, body.reported_at),
        actor=caller.actor), A, D)


# ----------------------------------------------------------------------------- settlements


@router.post("/{case_id}/settlements", summary="Propose a settlement, reduction or deferral",
             **STEP)
async def propose_settlement(case_id: UUID, body: SettlementIn, app: AppDep,
                             caller: PrincipalDep, response: Response) -> CommandOut:
    """The agency proposes terms; nothing binds until the creditor approves. One proposal
    or binding term at a time."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.propose_settlement(
        settlement_id=body.settlement_id, kind=body.kind.value, amount=body.amount,
        due_date=body.due_date, proposed_at=now_or(app, body.proposed_at),
        actor=caller.actor), A, D)


@router.post("/{case_id}/settlements/{settlement_id}/approval",
             summary="Approve a proposal (creditor)", **STEP)
async def approve_settlement(case_id: UUID, settlement_id: IdentifierPath,
                             body: SettlementApprovalIn, app: AppDep, caller: PrincipalDep,
                             response: Response) -> CommandOut:
    """The creditor approves, within its approval limits (409 `beyond_approval_limit`
    otherwise): a reduction is waived at once; a settlement closes the case as `settled`
    once the agreed amount is paid."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.approve_settlement(
        settlement_id=settlement_id, approved_at=now_or(app, body.approved_at),
        limits=workflows.settlement_limits(app, case), actor=caller.actor), C, D)


@router.post("/{case_id}/settlements/{settlement_id}/rejection",
             summary="Reject a proposal (creditor)", **STEP)
async def reject_settlement(case_id: UUID, settlement_id: IdentifierPath,
                            body: SettlementRejectionIn, app: AppDep, caller: PrincipalDep,
                            response: Response) -> CommandOut:
    """The creditor rejects a proposal."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.reject_settlement(
        settlement_id=settlement_id, reason=body.reason,
        rejected_at=now_or(app, body.rejected_at), actor=caller.actor), C, D)


@router.get("/{case_id}/certificate", summary="Settlement certificate (结清证明), PDF",
            response_class=Response, responses={
                200: {"content": {"application/pdf": {"schema": {
                    "type": "string", "format": "binary"}}},
                      "description": "the certificate; `X-Content-SHA256` is its hash"},
                **error_responses(404, 409, _409="`not_settled`: the case is not closed as "
                                  "paid in full or settled")})
def settlement_certificate(case_id: UUID, app: AppDep, caller: PrincipalDep,
                           request: Request) -> Response:
    """The certificate of a case closed as paid in full or settled: the same history (and
    the same versions of the parties' records) gives the same bytes, and the document names
    the SHA-256 of the events it rests on. With CASE_BILLING_URL set, it prints the
    creditor's and the agency's legal details from their party records, read with the
    caller's key (503 `parties_unavailable` when that service does not answer)."""
    require_roles(caller, A, C, D, Role.AUDITOR)
    pdf, digest = workflows.certificate(app, caller, case_id, presented_key(request))
    return Response(pdf, media_type="application/pdf", headers={
        "X-Content-SHA256": digest, "ETag": f'"{digest}"',
        "Content-Disposition": f'inline; filename="certificate-{case_id}.pdf"'})


def presented_key(request: Request) -> str | None:
    """The key the caller presented (to read on its behalf from another service)."""
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


# ----------------------------------------------------------------------------- PII reveals


@router.post("/{case_id}/pii-reveal", summary="Reveal the debtor's details (audited)",
             response_model=PiiRevealOut, status_code=201, responses={
                 **COMMAND_RESPONSES, 200: {"model": PiiRevealOut, "description": (
                     "a repeat of a reveal already recorded (`recorded: false`): the "
                     "details again, nothing new recorded")}})
async def reveal_pii(case_id: UUID, body: PiiRevealIn, app: AppDep, caller: PrincipalDep,
                     response: Response) -> dict[str, Any]:
    """A collector's key sees the debtor masked (name partly, numbers as hints); this opens
    the name, numbers, address and email for a stated reason, recorded on the case as
    `PiiRevealed` (the national id stays masked). Idempotent by reveal_id."""
    done = await run(app, case_id, caller, body, response, lambda case: case.reveal_pii(
        reveal_id=body.reveal_id, reason=body.reason, revealed_at=app.clock.now(),
        actor=caller.actor), A, C, D)
    return {**done.model_dump(), "debtor": views.revealed_debtor(app, case_id)}


# ----------------------------------------------------------------------------- legal (诉讼)


@router.post("/{case_id}/litigation", summary="Record a litigation stage", **STEP)
async def record_litigation_stage(case_id: UUID, body: LitigationStageIn, app: AppDep,
                                  caller: PrincipalDep, response: Response) -> CommandOut:
    """The law firm holding the case (after a reassignment to an agency of kind `law_firm`)
    records the lawsuit: `filed`, then `hearing`s and the `judgment`, then `enforcement`.
    A stage out of order, or on a case no law firm holds, is 409."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.record_litigation_stage(
        stage_ref=body.stage_ref, stage=body.stage.value, occurred_at=body.occurred_at,
        court=body.court, docket_no=body.docket_no, note=body.note, actor=caller.actor),
        A, D)


@router.post("/{case_id}/legal-documents", summary="Reference a legal document", **STEP)
async def reference_legal_document(case_id: UUID, body: LegalDocumentIn, app: AppDep,
                                   caller: PrincipalDep, response: Response) -> CommandOut:
    """A legal document (statement of claim, judgment, ...) referenced by its SHA-256: the
    case records the hash, kind, who and when, never the document. The law firm or the
    creditor, on a case handed to a law firm."""
    return await run(app, case_id, caller, body, response,
                     lambda case: case.reference_legal_document(
        document_id=body.document_id, kind=body.kind.value, sha256=body.sha256,
        referenced_at=now_or(app, body.referenced_at), note=body.note, actor=caller.actor),
        A, C, D)
