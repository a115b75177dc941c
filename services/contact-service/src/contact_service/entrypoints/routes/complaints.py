"""Complaints about cases, as the case log recorded them: filterable, paged, scoped to the
caller (`application/complaints.py`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from casetrail.web import Instant, Position
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from contact_service.entrypoints.deps import PrincipalDep, ServiceDep

router = APIRouter(prefix="/v1", tags=["complaints"])


class ComplaintOut(BaseModel):
    """One complaint and how it stands."""

    position: int = Field(description="the log position of its ComplaintReceived")
    case_id: str
    complaint_id: str
    creditor_id: str
    agency_id: str | None = Field(description="who held the case when it was received")
    channel: str
    category: str
    status: Literal["open", "resolved"]
    overdue: bool = Field(description="a step deadline was missed (ComplaintDeadlineMissed)")
    missed_steps: list[str]
    first_missed_at: str | None
    contact_hold: bool = Field(description="holds outbound contact while open (the case's "
                                           "decision, from the creditor's rules)")
    received_at: str
    acknowledge_by: str
    investigate_by: str
    resolve_by: str
    note: str | None
    acknowledged_at: str | None
    acknowledged_late: bool | None
    investigated_at: str | None
    investigated_late: bool | None
    finding: str | None
    resolved_at: str | None
    resolved_late: bool | None
    outcome: str | None
    resolution_note: str | None
    recalled_at: str | None = Field(description="the creditor recalled the case over it")


class ComplaintPage(BaseModel):
    """A page of complaints; pass `next_after` as `after` for the next one."""

    complaints: list[ComplaintOut]
    next_after: int | None


@router.get("/complaints", response_model=ComplaintPage, summary="Complaints about cases")
async def list_complaints(
    service: ServiceDep, caller: PrincipalDep,
    status: Literal["open", "resolved"] | None = None,
    overdue: Annotated[bool | None, Query(
        description="true: a step deadline was missed; false: none was")] = None,
    case_id: Annotated[str | None, Query(max_length=200)] = None,
    agency_id: Annotated[str | None, Query(max_length=200)] = None,
    creditor_id: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(max_length=200)] = None,
    channel: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[Instant | None, Query(alias="from", description="received at or after")
                     ] = None,
    until: Annotated[Instant | None, Query(alias="to", description="received before")] = None,
    after: Position = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Complaints in the order they were received in the log. An agency sees the complaints
    received while it held the case, a creditor those about its cases, auditors and admins
    all."""
    filters = {"case_id": case_id, "agency_id": agency_id, "creditor_id": creditor_id,
               "category": category, "channel": channel}
    return await run_in_threadpool(
        service.complaints.complaint_list, caller, filters=filters, status=status,
        overdue=overdue, since=since, until=until, after=after, limit=limit)
