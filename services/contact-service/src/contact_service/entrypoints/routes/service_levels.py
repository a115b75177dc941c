"""Service levels per case (met, breached, pending) and the agents' worklist, scoped to the caller.

Both are computed on request from the contact log (no stored state), with the tender's terms
(`DEFAULT_TERMS`); both read in batches of cases, a few queries per batch. Days are each
agency's (its time-zone setting, else the service's default zone), and both answers say
which zone they used; "now" is the service's clock.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Annotated, Any

from casetrail.security import Role
from casetrail.web import ApiError, Day, Instant
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from contact_service.adapters.service_levels import CaseRecord, ServiceLevelReader
from contact_service.domain.local_time import local_day
from contact_service.domain.service_levels import (
    SERVICE_LEVELS,
    STATUSES,
    ServiceLevelStatus,
    evaluate_service_levels,
)
from contact_service.domain.worklist import build_worklist, in_priority_order
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


def _case_out(record: CaseRecord, statuses: list[ServiceLevelStatus], zone: str
              ) -> dict[str, Any]:
    return {"case_id": record.case_id, "creditor_id": record.creditor_id,
            "agency_id": record.agency_id, "timezone": zone, "assigned_at": record.assigned_at,
            "holds": [{"kind": h.kind, "since": h.since} for h in record.holds],
            "service_levels": [{
                "service_level": s.service_level, "status": s.status, "due_at": s.due_at,
                "met_at": s.met_at, "completed_at": s.completed_at,
                "triggered_at": s.triggered_at, "outstanding": s.outstanding,
                "requirement": s.requirement, "explanation": s.explanation}
                for s in statuses]}


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
    day) as of `as_of`, with every breach explained. Days are the agency's: whole days are
    counted on its wall clock and "the same day" is its calendar day, in the zone in force
    then; each case says its zone. Only cases assigned by `as_of` are judged, in case-id
    order, `limit` per page; `breaches` and `totals` cover the page (follow `next_after` for
    the rest). Creditors see their cases, agencies theirs, auditors and admins all."""
    when = (as_of or service.now()).astimezone(UTC)
    if since is not None and until is not None and since >= until:
        raise ApiError(422, "invalid_period", "`from` must be before `to`", fields=[
            {"path": "query.to", "message": "must be after `from`", "type": "value_error"}])

    def report() -> dict[str, Any]:
        records, next_after = ServiceLevelReader(service.engine).page(
            tenant=caller.tenant_scope(), agency_id=agency_id, assigned_from=since,
            assigned_to=until, assigned_by=when, after=after, limit=limit)
        zones = service.agencies.histories(r.agency_id for r in records)
        cases, breaches = [], []
        counts: Counter[tuple[str, str]] = Counter()
        for record in records:
            agency_zones = zones[record.agency_id]
            statuses = evaluate_service_levels(record.facts, when, zones=agency_zones)
            cases.append(_case_out(record, statuses, agency_zones.at(when)))
            for s in statuses:
                counts[(s.service_level, s.status)] += 1
                if s.status == "breached":
                    breaches.append({"case_id": record.case_id, "service_level": s.service_level,
                                     "due_at": s.due_at, "explanation": s.explanation})
        totals = {level: {status: counts[(level, status)] for status in STATUSES}
                  for level in SERVICE_LEVELS}
        return {"as_of": when, "timezones": {a: z.at(when) for a, z in sorted(zones.items())},
                "cases": cases, "breaches": breaches, "totals": totals,
                "next_after": next_after}

    return await run_in_threadpool(report)


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
    agency = agency_id or (caller.tenant if caller.role is Role.AGENCY else None)
    if agency is None:
        raise ApiError(422, "agency_id_required",
                       "a worklist is one agency's: give agency_id", fields=[{
                           "path": "query.agency_id", "message": "required for this key",
                           "type": "missing"}])
    now = service.now()

    def build() -> dict[str, Any]:
        zones = service.agencies.history(agency)
        today = local_day(now, zones.at(now))
        window = zones.day(day or today)
        when = now if window.first == today else window.start
        reader = ServiceLevelReader(service.engine)
        items = []
        for batch in reader.workable(tenant=caller.tenant_scope(), agency_id=agency,
                                     assigned_by=when):
            chosen = [r for r in batch if agent_id is None or r.last_agent_id == agent_id]
            items += build_worklist(
                (r.work(evaluate_service_levels(r.facts, when, zones=zones)) for r in chosen),
                window.first, zone=window.timezone, as_of=when)
        ordered = in_priority_order(items)  # batches are each in order; merge them
        return {"agency_id": agency, "agent_id": agent_id, "date": window.first,
                "timezone": window.timezone, "day_starts_at": window.start,
                "day_ends_at": window.stop, "as_of": when,
                "items": [vars(i) for i in ordered[:limit]], "total": len(ordered),
                "truncated": len(ordered) > limit}

    return await run_in_threadpool(build)
