"""Timeliness of entry per agency and collector (`application/timeliness.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from casetrail.web import IdentifierPath, Instant, error_responses
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from contact_service.entrypoints.deps import PrincipalDep, ServiceDep

router = APIRouter(prefix="/v1", tags=["timeliness"])


class CollectorOut(BaseModel):
    """One collector's entries (collector_id null: the agency, or facts naming no one)."""

    collector_id: str | None
    count: int
    p50_lag_seconds: int | None = Field(description="nearest-rank median of the lags")
    p95_lag_seconds: int | None
    max_lag_seconds: int | None
    late_entries: int = Field(description="contacts entered on a later day than they happened")
    late_reports: int = Field(description="major events entered more than 30 minutes late")


class LateOut(BaseModel):
    """One entry that came late."""

    kind: Literal["contact", "complaint_received", "visit_performed"]
    case_id: str
    ref: str = Field(description="the contact, complaint or visit id")
    collector_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    lag_seconds: int
    reason: Literal["late_entry", "late_report"]


class TimelinessOut(BaseModel):
    """An agency's timeliness of entry over [from, to)."""

    agency_id: str
    creditor_id: str | None = Field(description="set when only this creditor's cases count")
    period_from: datetime = Field(alias="from")
    period_to: datetime = Field(alias="to")
    timezone: str = Field(description="the agency's zone at `to` (days are read in the zone "
                                      "in force when each contact happened)")
    rules: dict[str, str]
    agency: CollectorOut
    collectors: list[CollectorOut]
    late: list[LateOut]
    late_truncated: bool


@router.get("/agencies/{agency_id}/timeliness", response_model=TimelinessOut,
            response_model_by_alias=True, summary="How soon an agency's work reaches the log",
            responses=error_responses(403))
async def agency_timeliness(
    agency_id: IdentifierPath, service: ServiceDep, caller: PrincipalDep,
    since: Annotated[Instant, Query(alias="from", description="start, included")],
    until: Annotated[Instant, Query(alias="to", description="end, excluded")],
) -> dict[str, Any]:
    """For the contacts (by agent), performed field visits (by visitor) and received
    complaints that occurred in [from, to): the lag from occurrence to entry in the log
    (p50, p95, max, in seconds) per collector and for the agency, and each late entry with
    its code: `late_entry` (a contact entered on a later calendar day of the agency),
    `late_report` (a major event entered more than 30 minutes after it happened). An agency
    key sees its own agency; a creditor key its cases only."""
    return await run_in_threadpool(service.timeliness.report, caller, agency_id, since, until)
