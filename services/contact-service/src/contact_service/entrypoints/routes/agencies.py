"""An agency's settings: the time zone of its worklist, service-level days and QA months
(who may do what: `application/settings.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from casetrail.clock import check_zone
from casetrail.web import IdentifierPath, Instant, error_responses
from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import AfterValidator, BaseModel, Field

from contact_service.entrypoints.deps import PrincipalDep, ServiceDep

router = APIRouter(prefix="/v1", tags=["agencies"])

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
    settings, recorded = await run_in_threadpool(
        service.agencies.set_timezone, caller, agency_id, body.timezone, body.effective_from)
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
    return await run_in_threadpool(service.agencies.settings, caller, agency_id)
