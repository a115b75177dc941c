"""Contact permission (asked before every contact), violations, and policy packs/assignments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from casetrail.crypto import contact_point_ref
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
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from contact_service.adapters.policies import RetroactiveAssignment, load_case
from contact_service.domain.policy import ContactRequest, PackNotInForce, PolicyPack
from contact_service.entrypoints.deps import PrincipalDep, ServiceDep

router = APIRouter(prefix="/v1", tags=["compliance"])

Channel = Literal["phone", "sms", "email", "letter", "visit"]
Party = Literal["debtor", "third_party"]

# A projection trails the case log by a few events, never by this many versions of one case:
# a `min_version` further ahead than this was not read from the case service, and waiting
# for it would never end.
MAX_VERSIONS_AHEAD = 1000


def visible(caller: Principal, case: dict[str, Any] | None) -> bool:
    """Whether the caller may see this case: its creditor, its current agency, or an auditor."""
    if case is None:
        return False
    scope = caller.tenant_scope()
    return all(case[column] == value for column, value in scope.items())


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
    when = (at or service.now()).astimezone(UTC)

    def decide() -> dict[str, Any]:
        with service.engine.connect() as conn:
            case = load_case(conn, case_id)
            if not visible(caller, case):
                raise ApiError(404, "case_not_found", f"no case {case_id} visible to this key")
            assert case is not None
            if min_version is not None and min_version > case["version"] + MAX_VERSIONS_AHEAD:
                raise ApiError(422, "validation_error", f"min_version {min_version} is more "
                               f"than {MAX_VERSIONS_AHEAD} versions ahead of the case's "
                               f"version {case['version']}: it cannot come from the case "
                               "service", current_version=case["version"], fields=[
                                   {"path": "query.min_version", "type": "value_error",
                                    "message": "too far ahead of the case's version"}])
            if min_version is not None and case["version"] < min_version:
                raise ApiError(503, "projection_behind",
                               f"the contact log has case version {case['version']}, not yet "
                               f"{min_version}; retry shortly", current_version=case["version"],
                               headers={"Retry-After": "1"})
            point = None if contact_point is None else contact_point_ref(
                service.master, case["debtor_id"], contact_point)
            try:
                decision = service.policies.permission(conn, case, ContactRequest(
                    channel=channel, party=party, at=when, contact_point=point))
            except PackNotInForce as exc:
                raise ApiError(422, "pack_not_in_force", str(exc), fields=[
                    {"path": "query.at", "message": str(exc), "type": "value_error"}]) from None
        return {"case_id": case_id, "channel": channel, "party": party, "at": when,
                **decision.model_dump(),
                "data_as_of": {"case_version": case["version"], "position": case["position"]}}

    return await run_in_threadpool(decide)


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
    rows, next_after = await run_in_threadpool(
        service.queries.list_violations, tenant=caller.tenant_scope(),
        filters={"agency_id": agency_id, "creditor_id": creditor_id, "rule_id": rule_id,
                 "kind": kind, "case_id": case_id},
        since=since, until=until, after=after, limit=limit)
    return {"violations": rows, "next_after": next_after}


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
def policy_packs(service: ServiceDep, caller: PrincipalDep) -> dict[str, Any]:
    """Every version of every pack, with its rules (packs are data files, not code)."""
    registry = service.policies.registry
    return {"default_pack": service.policies.default_pack, "packs": [
        pack.model_dump(mode="json") for pack_id in registry.pack_ids
        for pack in registry.versions(pack_id)]}


class AssignmentIn(BaseModel):
    """Choose the pack a creditor's cases are judged by, from now (or a later time) on."""

    model_config = {"extra": "forbid"}

    pack_id: str = Field(min_length=1, max_length=100)
    effective_from: Instant | None = Field(
        default=None, description="default now; never in the past (never retroactive)")


def _creditor(caller: Principal, creditor_id: str, *, write: bool) -> None:
    allowed = (Role.CREDITOR, Role.ADMIN) if write else (Role.CREDITOR, Role.ADMIN, Role.AUDITOR)
    require_roles(caller, *allowed)
    if caller.role is Role.CREDITOR and caller.tenant != creditor_id:
        raise ApiError(403, "forbidden", "a creditor key manages only its own policy")


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
    _creditor(caller, creditor_id, write=True)
    try:
        return service.policies.assign(service.engine, creditor_id, body.pack_id,
                                       body.effective_from, caller.actor)
    except RetroactiveAssignment as exc:
        raise ApiError(422, "retroactive_assignment", str(exc), fields=[
            {"path": "body.effective_from", "message": str(exc), "type": "value_error"}]) from None
    except LookupError as exc:
        raise ApiError(422, "unknown_policy_pack", str(exc), fields=[
            {"path": "body.pack_id", "message": str(exc), "type": "value_error"}]) from None
    except sa.exc.IntegrityError:
        # (creditor, effective_from) is the key: an assignment from that instant exists.
        if body.effective_from is None:  # a concurrent "from now" took the very microsecond
            return assign_policy(creditor_id, body, service, caller, response)
        start = body.effective_from.isoformat()
        existing = next((a for a in service.policies.assignments(service.engine, creditor_id)
                         if a["effective_from"] == start), None)
        if existing is None or existing["pack_id"] != body.pack_id:
            raise ApiError(409, "assignment_conflict",
                           f"another policy pack is assigned to {creditor_id} from {start}"
                           ) from None
        response.status_code = 200
        return existing


@router.get("/creditors/{creditor_id}/policy", summary="A creditor's policy assignments",
            response_model=CreditorPolicyOut, responses=error_responses(403))
def creditor_policy(creditor_id: IdentifierPath, service: ServiceDep, caller: PrincipalDep
                    ) -> dict[str, Any]:
    """Every assignment, oldest first, and the pack in force now."""
    _creditor(caller, creditor_id, write=False)
    with service.engine.connect() as conn:
        try:
            pack = service.policies.pack_for(conn, creditor_id, service.now())
        except PackNotInForce:
            pack = None
    return {"creditor_id": creditor_id,
            "assignments": service.policies.assignments(service.engine, creditor_id),
            "in_force": None if pack is None else {"pack_id": pack.id, "version": pack.version}}
