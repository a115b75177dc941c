"""The agency registry: an agency's profile (collection agency or law firm), the collectors it
registers, and each creditor's qualification of an agency after due diligence. Records are
kept as versions: a PUT appends one (201), or answers 200 with `recorded: false` when the
content equals the current version; `expected_version` guards against lost updates (409).

Who may write: an agency's supervisor (not a collector) its own profile and collectors; a
creditor its own qualifications; admins any. Who may read: profiles, every key; collectors,
their agency, creditors, auditors; qualifications, the creditor, the agency qualified,
auditors."""

from __future__ import annotations

from typing import Any

from casetrail.security import Principal, Role
from casetrail.web import ApiError, IdentifierPath, error_responses, require_roles
from fastapi import APIRouter, Response

from case_service.application import registry
from case_service.domain.agencies import (
    AgencyProfile,
    ChecklistItem,
    Collector,
    Qualification,
    Training,
)
from case_service.entrypoints.deps import AppDep, PrincipalDep
from case_service.entrypoints.registry_schemas import (
    AgencyProfileIn,
    AgencyProfileOut,
    AgencyProfileVersionsOut,
    CollectorIn,
    CollectorOut,
    CollectorsOut,
    CollectorVersionsOut,
    QualificationIn,
    QualificationOut,
    QualificationsOut,
    QualificationVersionsOut,
)

router = APIRouter(prefix="/v1", tags=["agencies"])
WRITE = error_responses(403, 404, 409, _409="`version_conflict`: the record moved on; read "
                        "it again")


def writes(model: type) -> dict[int | str, dict[str, Any]]:
    """A PUT's answers: 201 a new version, 200 the same content as the current one."""
    return {200: {"model": model, "description": "the same content as the current version "
                  "(`recorded: false`): nothing new was recorded"}, **WRITE}
READ = error_responses(403, 404)


def _answered(response: Response, found: tuple[dict[str, Any], bool]) -> dict[str, Any]:
    view, created = found
    response.status_code = 201 if created else 200
    return {**view, "recorded": created}


def _own_agency(caller: Principal, agency_id: str, *, write: bool) -> None:
    """An agency key acts for its own agency only (a write: its supervisor's key)."""
    if caller.role is Role.ADMIN:
        return
    if caller.role is not Role.AGENCY or caller.tenant != agency_id:
        raise ApiError(403, "forbidden", f"only agency {agency_id} (or an admin) may do this")
    if write and not caller.supervises:
        raise ApiError(403, "supervisor_required",
                       "a collector's key cannot change the registry: use the supervisor's")


def _collector_reader(caller: Principal, agency_id: str) -> None:
    if caller.role is Role.AGENCY:
        _own_agency(caller, agency_id, write=False)
    else:
        require_roles(caller, Role.CREDITOR, Role.AUDITOR, Role.ADMIN)


def _own_creditor(caller: Principal, creditor_id: str) -> None:
    require_roles(caller, Role.CREDITOR, Role.ADMIN)
    if caller.role is Role.CREDITOR and caller.tenant != creditor_id:
        raise ApiError(403, "forbidden", "a creditor key acts only for its own creditor")


def _qualification_reader(caller: Principal, creditor_id: str, agency_id: str | None) -> None:
    if caller.role in (Role.AUDITOR, Role.ADMIN):
        return
    if caller.role is Role.AGENCY and agency_id is not None and caller.tenant == agency_id:
        return
    _own_creditor(caller, creditor_id)


# ------------------------------------------------------------------------------ profiles


@router.put("/agencies/{agency_id}/profile", response_model=AgencyProfileOut,
            status_code=201, summary="Set an agency's profile",
            responses=writes(AgencyProfileOut))
def put_profile(agency_id: IdentifierPath, body: AgencyProfileIn, app: AppDep,
                caller: PrincipalDep, response: Response) -> dict[str, Any]:
    """The agency's kind (`collection` or `law_firm`: a legal hand-off goes to a law firm)
    and display name."""
    _own_agency(caller, agency_id, write=True)
    return _answered(response, registry.set_profile(
        app, agency_id, AgencyProfile(kind=body.kind, display_name=body.display_name),
        caller.actor, expected_version=body.expected_version))


@router.get("/agencies/{agency_id}/profile", response_model=AgencyProfileOut,
            summary="An agency's profile", responses=READ)
def get_profile(agency_id: IdentifierPath, app: AppDep, caller: PrincipalDep
                ) -> dict[str, Any]:
    """The current version of the agency's profile (every key may read it)."""
    return registry.profile(app, agency_id)


@router.get("/agencies/{agency_id}/profile/versions", response_model=AgencyProfileVersionsOut,
            summary="Every version of an agency's profile", responses=READ)
def get_profile_versions(agency_id: IdentifierPath, app: AppDep, caller: PrincipalDep
                         ) -> dict[str, Any]:
    """Oldest first, with who recorded each and when."""
    return {"versions": registry.profile_versions(app, agency_id)}


# ------------------------------------------------------------------------------ collectors


@router.put("/agencies/{agency_id}/collectors/{collector_id}", response_model=CollectorOut,
            status_code=201, summary="Register or update a collector",
            responses=writes(CollectorOut))
def put_collector(agency_id: IdentifierPath, collector_id: IdentifierPath, body: CollectorIn,
                  app: AppDep, caller: PrincipalDep, response: Response) -> dict[str, Any]:
    """Once an agency registered a collector, its contacts name one in `agent_id`, active
    and qualified on the contact's day (else 422 `unknown_collector` / 409
    `collector_not_qualified`). A collector who leaves is given status `left`, never
    deleted."""
    _own_agency(caller, agency_id, write=True)
    collector = Collector(name=body.name, status=body.status,
                          training=tuple(Training(t.course, t.completed_on)
                                         for t in body.training),
                          qualified_until=body.qualified_until)
    return _answered(response, registry.set_collector(
        app, agency_id, collector_id, collector, caller.actor,
        expected_version=body.expected_version))


@router.get("/agencies/{agency_id}/collectors", response_model=CollectorsOut,
            summary="An agency's collectors", responses=READ)
def get_collectors(agency_id: IdentifierPath, app: AppDep, caller: PrincipalDep
                   ) -> dict[str, Any]:
    """The current version of each collector, by collector id."""
    _collector_reader(caller, agency_id)
    return {"collectors": registry.collectors(app, agency_id)}


@router.get("/agencies/{agency_id}/collectors/{collector_id}", response_model=CollectorOut,
            summary="A collector", responses=READ)
def get_collector(agency_id: IdentifierPath, collector_id: IdentifierPath, app: AppDep,
                  caller: PrincipalDep) -> dict[str, Any]:
    """The collector's current version."""
    _collector_reader(caller, agency_id)
    return registry.collector(app, agency_id, collector_id)


@router.get("/agencies/{agency_id}/collectors/{collector_id}/versions",
            response_model=CollectorVersionsOut, summary="Every version of a collector",
            responses=READ)
def get_collector_versions(agency_id: IdentifierPath, collector_id: IdentifierPath,
                           app: AppDep, caller: PrincipalDep) -> dict[str, Any]:
    """Oldest first, with who recorded each and when."""
    _collector_reader(caller, agency_id)
    return {"versions": registry.collector_versions(app, agency_id, collector_id)}


# ------------------------------------------------------------------------------ qualification


@router.put("/creditors/{creditor_id}/qualifications/{agency_id}",
            response_model=QualificationOut, status_code=201,
            summary="Record a qualification of an agency",
            responses=writes(QualificationOut))
def put_qualification(creditor_id: IdentifierPath, agency_id: IdentifierPath,
                      body: QualificationIn, app: AppDep, caller: PrincipalDep,
                      response: Response) -> dict[str, Any]:
    """The creditor's due diligence on the agency: checklist, score, status and the days the
    approval runs. With `require_qualified_agencies` in the creditor's rules, placements,
    reassignments and reallocations go only to agencies approved and unexpired that day."""
    _own_creditor(caller, creditor_id)
    qualification = Qualification(
        checklist=tuple(ChecklistItem(c.item, c.passed, c.note) for c in body.checklist),
        score=body.score, status=body.status, approved_on=body.approved_on,
        expires_on=body.expires_on)
    view = _answered(response, registry.set_qualification(
        app, creditor_id, agency_id, qualification, caller.actor,
        expected_version=body.expected_version))
    return registry.with_validity(app, creditor_id, view)


@router.get("/creditors/{creditor_id}/qualifications", response_model=QualificationsOut,
            summary="A creditor's qualifications of agencies", responses=READ)
def get_qualifications(creditor_id: IdentifierPath, app: AppDep, caller: PrincipalDep
                       ) -> dict[str, Any]:
    """The current qualification of each agency the creditor recorded one for."""
    _qualification_reader(caller, creditor_id, None)
    return {"qualifications": [registry.with_validity(app, creditor_id, v)
                               for v in registry.qualifications(app, creditor_id)]}


@router.get("/creditors/{creditor_id}/qualifications/{agency_id}",
            response_model=QualificationOut, summary="A qualification", responses=READ)
def get_qualification(creditor_id: IdentifierPath, agency_id: IdentifierPath, app: AppDep,
                      caller: PrincipalDep) -> dict[str, Any]:
    """The current version, and whether it is valid today."""
    _qualification_reader(caller, creditor_id, agency_id)
    found = registry.qualification(app, creditor_id, agency_id)
    return registry.with_validity(app, creditor_id, found)


@router.get("/creditors/{creditor_id}/qualifications/{agency_id}/versions",
            response_model=QualificationVersionsOut,
            summary="Every version of a qualification",
            responses=READ)
def get_qualification_versions(creditor_id: IdentifierPath, agency_id: IdentifierPath,
                               app: AppDep, caller: PrincipalDep) -> dict[str, Any]:
    """Oldest first, with who recorded each and when."""
    _qualification_reader(caller, creditor_id, agency_id)
    return {"versions": registry.qualification_versions(app, creditor_id, agency_id)}
