"""Contact permission (asked before every contact), violations, and policy packs/assignments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from casetrail.crypto import contact_point_ref
from casetrail.security import Principal, Role
from casetrail.web import ApiError, require_roles
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel, Field

from contact_service.adapters.policies import RetroactiveAssignment, load_case
from contact_service.domain.policy import ContactRequest
from contact_service.entrypoints.deps import PrincipalDep, ServiceDep

router = APIRouter(prefix="/v1", tags=["compliance"])

Channel = Literal["phone", "sms", "email", "letter", "visit"]
Party = Literal["debtor", "third_party"]


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
            summary="May this contact be made now?")
async def contact_permission(
    case_id: str, service: ServiceDep, caller: PrincipalDep,
    channel: Channel, party: Party = "debtor",
    at: Annotated[AwareDatetime | None, Query(description="default: now")] = None,
    contact_point: Annotated[str | None, Query(
        description="the number/address to use (per-number caps); never stored")] = None,
    min_version: Annotated[int | None, Query(
        ge=1, description="answer only once the case is projected up to this version "
        "(read your own writes); 503 with Retry-After until then")] = None,
) -> dict[str, Any]:
    """Every rule of the creditor's policy pack in force at `at`, judged against the debtor's
    recorded contacts. The data is the contact log projection: it trails the case log by the
    consumer lag (typically well under a second); `data_as_of` says how far it has got."""
    when = (at or datetime.now(UTC)).astimezone(UTC)

    def decide() -> dict[str, Any]:
        with service.engine.connect() as conn:
            case = load_case(conn, case_id)
            if not visible(caller, case):
                raise ApiError(404, "case_not_found", f"no case {case_id} visible to this key")
            assert case is not None
            if min_version is not None and case["version"] < min_version:
                raise ApiError(503, "projection_behind",
                               f"the contact log has case version {case['version']}, not yet "
                               f"{min_version}; retry shortly", current_version=case["version"])
            point = None if contact_point is None else contact_point_ref(
                service.master, case["debtor_id"], contact_point)
            decision = service.policies.permission(conn, case, ContactRequest(
                channel=channel, party=party, at=when, contact_point=point))
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
    since: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    after: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Flagged contacts by agency, period and rule, each with the pack version that flagged it."""
    rows, next_after = await run_in_threadpool(
        service.queries.list_violations, tenant=caller.tenant_scope(),
        filters={"agency_id": agency_id, "creditor_id": creditor_id, "rule_id": rule_id,
                 "kind": kind, "case_id": case_id},
        since=since, until=until, after=after, limit=limit)
    return {"violations": rows, "next_after": next_after}


@router.get("/policy-packs", summary="The policy packs and their versions")
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
    effective_from: AwareDatetime | None = Field(
        default=None, description="default now; never in the past (never retroactive)")


def _creditor(caller: Principal, creditor_id: str, *, write: bool) -> None:
    allowed = (Role.CREDITOR, Role.ADMIN) if write else (Role.CREDITOR, Role.ADMIN, Role.AUDITOR)
    require_roles(caller, *allowed)
    if caller.role is Role.CREDITOR and caller.tenant != creditor_id:
        raise ApiError(403, "forbidden", "a creditor key manages only its own policy")


@router.post("/creditors/{creditor_id}/policy", status_code=201,
             summary="Assign a policy pack to a creditor")
def assign_policy(creditor_id: str, body: AssignmentIn, service: ServiceDep,
                  caller: PrincipalDep) -> dict[str, Any]:
    """Append an assignment; earlier contacts stay judged by what was in force then."""
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


@router.get("/creditors/{creditor_id}/policy", summary="A creditor's policy assignments")
def creditor_policy(creditor_id: str, service: ServiceDep, caller: PrincipalDep
                    ) -> dict[str, Any]:
    """Every assignment, oldest first, and the pack in force now."""
    _creditor(caller, creditor_id, write=False)
    with service.engine.connect() as conn:
        pack = service.policies.pack_for(conn, creditor_id, datetime.now(UTC))
    return {"creditor_id": creditor_id,
            "assignments": service.policies.assignments(service.engine, creditor_id),
            "in_force": {"pack_id": pack.id, "version": pack.version}}
