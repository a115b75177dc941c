"""Service levels per case (met, breached, pending) and the agents' worklist, scoped to the
caller (computed on request: `application/service_levels.py`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from casetrail.web import Day, Instant
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from contact_service.entrypoints.deps import PrincipalDep, ServiceDep

router = APIRouter(prefix="/v1", tags=["service-levels"])


class ServiceLevelOut(BaseModel):
    """One service level of one case."""

    service_level: str
    status: str = Field(description="met | breached | pending | not_applicable")
    due_at: datetime | None
    met_at: datetime | None = Field(description="when it was fulfilled on time")
    completed_at: datetime | None = Field(description="when it was fulfilled, on time or late")
    triggered_at: datetime | None = Field(description="the fact that started the clock")
    outstanding: bool = Field(description="the required action is still to be done")
    requirement: str = Field(description="what the service level asks")
    explanation: str
    reason: str | None = Field(default=None, description=(
        "a breach's code: `visit_late`, `visit_not_approved`, `report_late` for the visit "
        "service levels, the level's name for the others; null unless breached"))


class HoldOut(BaseModel):
    """A hold on the case; `since` is null when the read model does not record it."""

    kind: str
    since: datetime | None


class CaseServiceLevelsOut(BaseModel):
    """A case and its service levels."""

    case_id: str
    creditor_id: str
    agency_id: str
    timezone: str = Field(description="the agency's zone at `as_of`: the days of this case's "
                                      "service levels, and the wall clock of its explanations")
    assigned_at: datetime
    holds: list[HoldOut]
    service_levels: list[ServiceLevelOut]


class BreachOut(BaseModel):
    """A service level that was not met in time."""

    case_id: str
    service_level: str
    reason: str = Field(description="`visit_late`, `visit_not_approved`, `report_late`, or "
                                    "the service level's name")
    due_at: datetime | None
    explanation: str


class StatusCountsOut(BaseModel):
    """How many of one service level are in each status (on this page)."""

    met: int
    breached: int
    pending: int
    not_applicable: int


class ServiceLevelReportOut(BaseModel):
    """A page of cases with their service levels, the breaches among them and the totals of
    the page; pass `next_after` as `after` for the next page."""

    as_of: datetime
    timezones: dict[str, str] = Field(
        description="agency id -> the zone its days are in at `as_of` (its setting, else "
                    "the service's default), for the agencies on this page")
    cases: list[CaseServiceLevelsOut]
    breaches: list[BreachOut]
    totals: dict[str, StatusCountsOut]
    next_after: str | None


@router.get("/sla", response_model=ServiceLevelReportOut, summary="Service levels per case")
async def service_level_report(
    service: ServiceDep, caller: PrincipalDep,
    agency_id: str | None = None,
    as_of: Annotated[Instant | None, Query(description="judge as of; default now")] = None,
    since: Annotated[Instant | None, Query(
        alias="from", description="only cases assigned at or after")] = None,
    until: Annotated[Instant | None, Query(
        alias="to", description="only cases assigned before")] = None,
    after: Annotated[str | None, Query(
        max_length=200, description="cursor: next_after of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="cases per page")] = 200,
) -> dict[str, Any]:
    """Each case's service levels (first action in 2 h, 3 calls in 7 days, 2 follow-up calls,
    field-visit request, visit in 7 days, revisit in 7 days, each contact entered the same
    day; and for each requested field visit: performed within 7 days, approved before it is
    performed unless urgent, its report entered the same day) as of `as_of`, with every
    breach explained and coded (`reason`). Days are the agency's: whole days are
    counted on its wall clock and "the same day" is its calendar day, in the zone in force
    then; each case says its zone. Only cases assigned by `as_of` are judged, in case-id
    order, `limit` per page; `breaches` and `totals` cover the page (follow `next_after` for
    the rest). Creditors see their cases, agencies theirs, auditors and admins all."""
    return await run_in_threadpool(
        service.service_levels.report, caller, agency_id=agency_id, as_of=as_of,
        assigned_from=since, assigned_to=until, after=after, limit=limit)


class WorkItemOut(BaseModel):
    """One thing to do on one case, and why."""

    priority: int = Field(description="1 overdue service level, 2 service level due today, "
                                      "3 promise due today/tomorrow (the debtor's days), "
                                      "4 promise to follow up, 5 visit due")
    case_id: str
    kind: str
    service_level: str | None
    promise_id: str | None
    reason: str
    due_at: datetime | None


class WorklistOut(BaseModel):
    """An agency's (or one agent's) work for a day, most urgent first."""

    agency_id: str
    agent_id: str | None
    date: Annotated[date, Field(description="a calendar day in `timezone`")]
    timezone: str = Field(description="the agency's zone: the zone of `date` and of the "
                                      "times in the reasons")
    day_starts_at: datetime = Field(description="the first instant of `date` in `timezone`")
    day_ends_at: datetime = Field(description="the first instant of the next day")
    as_of: datetime = Field(description="when service levels were judged: now for today, "
                                        "else the start of the day")
    items: list[WorkItemOut]
    total: int = Field(description="items before `limit` was applied")
    truncated: bool


@router.get("/worklist", response_model=WorklistOut, summary="What to do today, in order")
async def worklist(
    service: ServiceDep, caller: PrincipalDep,
    agency_id: Annotated[str | None, Query(
        description="default: the caller's agency; required for other keys")] = None,
    agent_id: Annotated[str | None, Query(
        description="only cases whose latest contact (with an agent) was by this agent")] = None,
    day: Annotated[Day | None, Query(
        alias="date", description="a day in the agency's zone; default: today there")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """Work items in priority order with reasons. Cases under cease-contact, with an open
    dispute, recalled or closed are never listed. The day is a calendar day in the agency's
    zone (its setting, else the service's default; the answer says which): today is the
    agency's date now. For today, service levels are judged as of now; for another date, as
    of the start of that day there."""
    return await run_in_threadpool(
        service.service_levels.worklist, caller, agency_id=agency_id, agent_id=agent_id,
        day=day, limit=limit)
