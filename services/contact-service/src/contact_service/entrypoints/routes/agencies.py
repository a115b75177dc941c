"""An agency's settings: the time zone of its worklist, service-level days and QA months.

Who may do what: an agency key sets and reads its own agency's settings, an admin any
agency's; auditors read every agency's; a creditor reads those of an agency that holds or
has worked its cases (its service levels there are judged in that zone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from casetrail.clock import check_zone
from casetrail.security import Principal, Role
from casetrail.web import ApiError, IdentifierPath, Instant, error_responses, require_roles
from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import AfterValidator, BaseModel, Field

from contact_service.adapters.agency_settings import RetroactiveSetting, SettingConflict
from contact_service.adapters.qa_store import creditor_works_with_agency
from contact_service.bootstrap import ContactService
from contact_service.entrypoints.deps import PrincipalDep, ServiceDep

router = APIRouter(prefix="/v1", tags=["agencies"])

# Domain errors -> (status, code, the request field at fault).
ERRORS: dict[type[Exception], tuple[int, str, str]] = {
    RetroactiveSetting: (422, "retroactive_setting", "body.effective_from"),
    SettingConflict: (409, "setting_conflict", "body.effective_from"),
}


def api_error(exc: Exception) -> ApiError:
    """The API error for a domain error of this module's error map."""
    status, code, path = ERRORS[type(exc)]
    return ApiError(status, code, str(exc), fields=[
        {"path": path, "message": str(exc), "type": "value_error"}])


TimeZoneName = Annotated[str, Field(
    min_length=1, max_length=64, examples=["Asia/Shanghai", "America/New_York", "UTC"],
    description="an IANA time zone name"), AfterValidator(check_zone)]


class AgencySettingsIn(BaseModel):
    """Set an agency's time zone, from now (or a later instant) on."""

    model_config = {"extra": "forbid"}

    timezone: TimeZoneName
    effective_from: Instant | None = Field(
        default=None, description="default now; never in the past (a verdict already given "
                                  "for an earlier instant keeps its zone)")


class ZoneVersionOut(BaseModel):
    """One recorded version: a zone from an instant on, who set it and when."""

    effective_from: datetime
    timezone: str
    set_at: datetime
    actor: str


class AgencySettingsOut(BaseModel):
    """An agency's zone now, where it comes from, and every version, oldest first."""

    agency_id: str
    timezone: str = Field(description="the zone in force now")
    source: Literal["agency", "default"] = Field(
        description="`agency`: its own setting; `default`: none in force yet, so the "
                    "service's default (CASETRAIL_DEFAULT_TIMEZONE)")
    effective_from: datetime | None = Field(
        description="when the version in force took effect; null for the default")
    default_timezone: str
    as_of: datetime
    versions: list[ZoneVersionOut]


def _check_may_read(service: ContactService, caller: Principal, agency_id: str) -> None:
    require_roles(caller, Role.ADMIN, Role.AUDITOR, Role.AGENCY, Role.CREDITOR)
    if caller.role is Role.AGENCY and caller.tenant != agency_id:
        raise ApiError(403, "forbidden", "an agency key reads only its own settings")
    if caller.role is Role.CREDITOR:
        assert caller.tenant is not None
        with service.engine.connect() as conn:
            if not creditor_works_with_agency(conn, caller.tenant, agency_id):
                raise ApiError(403, "forbidden",
                               f"agency {agency_id} holds or has worked none of your cases")


def _settings_out(service: ContactService, agency_id: str) -> dict[str, Any]:
    now = service.now()
    versions = service.agencies.versions(agency_id)
    in_force = service.agencies.history(agency_id).version_at(now)
    return {"agency_id": agency_id,
            "timezone": service.agencies.default_timezone if in_force is None
            else in_force.timezone,
            "source": "default" if in_force is None else "agency",
            "effective_from": None if in_force is None else in_force.effective_from,
            "default_timezone": service.agencies.default_timezone, "as_of": now,
            "versions": versions}


@router.put("/agencies/{agency_id}/settings", status_code=201,
            response_model=AgencySettingsOut, summary="Set an agency's time zone",
            responses={
                201: {"description": "a new version was recorded"},
                200: {"model": AgencySettingsOut, "description": "nothing changed: that zone "
                      "is already set (from that instant, if one was given)"},
                **error_responses(403, 409, 422, _409="`setting_conflict`: another zone is "
                                  "set from that very instant",
                                  _422="`validation_error` (an unknown zone names "
                                       "`body.timezone`), or `retroactive_setting`: "
                                       "`effective_from` is in the past")})
async def put_agency_settings(agency_id: IdentifierPath, body: AgencySettingsIn,
                              response: Response, service: ServiceDep, caller: PrincipalDep
                              ) -> dict[str, Any]:
    """Append a version of the agency's settings: its worklist's days, its service-level days
    and its QA months are read in `timezone` from `effective_from` (default now) on. Earlier
    instants keep the zone that was in force then, so a verdict given before does not change.
    An agency key sets its own agency's, an admin any agency's."""
    require_roles(caller, Role.ADMIN, Role.AGENCY)
    if caller.role is Role.AGENCY and caller.tenant != agency_id:
        raise ApiError(403, "forbidden", "an agency key sets only its own settings")

    def put() -> tuple[dict[str, Any], bool]:
        try:
            _, recorded = service.agencies.set_timezone(
                agency_id, body.timezone, body.effective_from, caller.actor)
        except (RetroactiveSetting, SettingConflict) as exc:
            raise api_error(exc) from None
        return _settings_out(service, agency_id), recorded

    settings, recorded = await run_in_threadpool(put)
    if not recorded:
        response.status_code = 200
    return settings


@router.get("/agencies/{agency_id}/settings", response_model=AgencySettingsOut,
            summary="An agency's time zone and its versions", responses=error_responses(403))
async def get_agency_settings(agency_id: IdentifierPath, service: ServiceDep,
                              caller: PrincipalDep) -> dict[str, Any]:
    """The zone in force now (the agency's own, or the service's default when it has set none
    yet) and every version with who set it and when. Admins and auditors read every agency's,
    an agency key its own, a creditor key those of an agency that holds or has worked its
    cases."""

    def read() -> dict[str, Any]:
        _check_may_read(service, caller, agency_id)
        return _settings_out(service, agency_id)

    return await run_in_threadpool(read)
