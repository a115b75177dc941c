"""Contact permission (asked before every contact), violations, and policy packs/assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from casetrail.web import IdentifierPath, Instant, Position, error_responses
from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from contact_service.application.compliance import MAX_VERSIONS_AHEAD
from contact_service.domain.policy import PolicyPack
from contact_service.entrypoints.deps import PrincipalDep, ServiceDep

router = APIRouter(prefix="/v1", tags=["compliance"])

Channel = Literal["phone", "sms", "email", "letter", "visit"]
Party = Literal["debtor", "third_party"]


class DenialOut(BaseModel):
    """A rule that says no, and why."""

    rule_id: str
    kind: str
    reason: str


class PermissionOut(BaseModel):
    """The answer a dialer acts on."""

    case_id: str
    channel: str
    party: str
    at: datetime
    allowed: bool
    denials: list[DenialOut]
    notes: list[str]
    earliest_allowed_at: datetime | None = Field(
        description="the first instant every rule would allow it; null if none ever will")
    pack_id: str
    pack_version: int
    data_as_of: dict[str, Any] = Field(
        description="the case version and log position this answer is based on")


@router.get("/cases/{case_id}/contact-permission", response_model=PermissionOut,
            summary="May this contact be made now?", responses=error_responses(
                404, 422, 503, _404="`case_not_found`: no such case visible to this key",
                _422="`validation_error`, or `pack_not_in_force`: no version of the "
                     "creditor's policy pack is in force at `at`",
                _503="`projection_behind`: the contact log has not yet reached "
                     "`min_version` (retry after Retry-After); or `storage_unavailable`"))
async def contact_permission(
    case_id: str, service: ServiceDep, caller: PrincipalDep,
    channel: Channel, party: Party = "debtor",
    at: Annotated[Instant | None, Query(description="default: now")] = None,
    contact_point: Annotated[str | None, Query(
        max_length=200,
        description="the number/address to use (per-number caps); never stored")] = None,
    min_version: Annotated[int | None, Query(
        ge=1, le=2**31 - 1, description="answer only once the case is projected up to this "
        "version (read your own writes); 503 with Retry-After until then; 422 if it is "
        f"more than {MAX_VERSIONS_AHEAD} versions ahead of the projected case")] = None,
) -> dict[str, Any]:
    """Every rule of the creditor's policy pack in force at `at`, judged against the debtor's
    recorded contacts. The data is the contact log projection: it trails the case log by the
    consumer lag (typically well under a second); `data_as_of` says how far it has got."""
    return await run_in_threadpool(
        service.compliance.contact_permission, caller, case_id, channel=channel, party=party,
        at=at, contact_point=contact_point, min_version=min_version)


class ViolationOut(BaseModel):
    """A contact that broke a rule when it happened."""

    position: int
    event_id: str
    case_id: str
    creditor_id: str
    agency_id: str
    contact_id: str
    agent_id: str | None
    occurred_at: str
    rule_id: str
    kind: str
    pack_id: str
    pack_version: int
    reason: str


class ViolationPage(BaseModel):
    """A page of violations; pass `next_after` as `after` for the next one."""

    violations: list[ViolationOut]
    next_after: int | None


@router.get("/compliance/violations", response_model=ViolationPage,
            summary="Contacts that broke a rule")
async def list_violations(
    service: ServiceDep, caller: PrincipalDep,
    agency_id: str | None = None, creditor_id: str | None = None,
    rule_id: str | None = None, kind: str | None = None, case_id: str | None = None,
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
    after: Position = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Flagged contacts by agency, period and rule, each with the pack version that flagged it."""
    return await run_in_threadpool(
        service.compliance.violations, caller,
        filters={"agency_id": agency_id, "creditor_id": creditor_id, "rule_id": rule_id,
                 "kind": kind, "case_id": case_id},
        since=since, until=until, after=after, limit=limit)


class PolicyPacksOut(BaseModel):
    """Every version of every pack, and the pack of creditors with no assignment."""

    default_pack: str
    packs: list[PolicyPack]


class AssignmentOut(BaseModel):
    """A creditor's policy pack from an instant on."""

    model_config = {"extra": "allow"}

    creditor_id: str
    effective_from: str
    pack_id: str
    assigned_at: str
    actor: str


class PackInForceOut(BaseModel):
    """The pack version in force now."""

    pack_id: str
    version: int


class CreditorPolicyOut(BaseModel):
    """A creditor's assignments, oldest first, and the pack in force now."""

    creditor_id: str
    assignments: list[AssignmentOut]
    in_force: PackInForceOut | None = Field(
        description="null when no version of the pack is in force yet")


@router.get("/policy-packs", summary="The policy packs and their versions",
            response_model=PolicyPacksOut)
async def policy_packs(service: ServiceDep, caller: PrincipalDep) -> dict[str, Any]:
    """Every version of every pack, with its rules (packs are data files, not code)."""
    return service.compliance.policy_packs()


class AssignmentIn(BaseModel):
    """Choose the pack a creditor's cases are judged by, from now (or a later time) on."""

    model_config = {"extra": "forbid"}

    pack_id: str = Field(min_length=1, max_length=100)
    effective_from: Instant | None = Field(
        default=None, description="default now; never in the past (never retroactive)")


@router.post("/creditors/{creditor_id}/policy", status_code=201,
             summary="Assign a policy pack to a creditor", response_model=AssignmentOut,
             responses={200: {"model": AssignmentOut, "description": (
                 "the same assignment (same pack from the same instant) was recorded before")},
                 **error_responses(403, 409, _409="`assignment_conflict`: another pack is "
                                   "assigned from that very instant")})
def assign_policy(creditor_id: IdentifierPath, body: AssignmentIn, service: ServiceDep,
                  caller: PrincipalDep, response: Response) -> dict[str, Any]:
    """Append an assignment; earlier contacts stay judged by what was in force then. Posting
    the same pack from the same `effective_from` again is a replay (200)."""
    assignment, recorded = service.compliance.assign_policy(
        caller, creditor_id, body.pack_id, body.effective_from)
    if not recorded:
        response.status_code = 200
    return assignment


@router.get("/creditors/{creditor_id}/policy", summary="A creditor's policy assignments",
            response_model=CreditorPolicyOut, responses=error_responses(403))
def creditor_policy(creditor_id: IdentifierPath, service: ServiceDep, caller: PrincipalDep
                    ) -> dict[str, Any]:
    """Every assignment, oldest first, and the pack in force now."""
    return service.compliance.creditor_policy(caller, creditor_id)
