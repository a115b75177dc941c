"""The contact log: every contact attempt, filterable, paginated, scoped to the caller."""

from __future__ import annotations

from typing import Annotated, Any

from casetrail.web import Instant, Position
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from contact_service.entrypoints.deps import PrincipalDep, ServiceDep

router = APIRouter(prefix="/v1", tags=["contacts"])


class ContactOut(BaseModel):
    """One contact attempt as recorded."""

    position: int
    case_id: str
    creditor_id: str
    agency_id: str
    debtor_id: str
    contact_id: str
    channel: str
    direction: str
    party: str
    outcome: str
    action_code: str
    agent_id: str | None
    recording_ref: str | None
    contact_point: str | None = Field(description="opaque reference to the number/address used")
    contact_point_hint: str | None = Field(description="the number, masked")
    occurred_at: str
    flags: list[str]


class ContactPage(BaseModel):
    """A page of contacts; pass `next_after` as `after` for the next one."""

    contacts: list[ContactOut]
    next_after: int | None


@router.get("/contacts", response_model=ContactPage, summary="The contact log")
async def list_contacts(
    service: ServiceDep, caller: PrincipalDep,
    case_id: str | None = None, debtor_id: str | None = None, agency_id: str | None = None,
    agent_id: str | None = None, channel: str | None = None, action_code: str | None = None,
    party: str | None = None, outcome: str | None = None,
    contact_point: Annotated[str | None, Query(
        description="a contact_point reference from an earlier answer")] = None,
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
    after: Position = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Contacts in the order they were recorded. Creditors see their own cases, agencies
    their own contacts, auditors everything. Numbers never reach this service: each contact
    carries an opaque reference and a masked hint (auditors read numbers in the case history)."""
    filters = {"case_id": case_id, "debtor_id": debtor_id, "agency_id": agency_id,
               "agent_id": agent_id, "channel": channel, "action_code": action_code,
               "party": party, "outcome": outcome, "contact_point": contact_point}
    return await run_in_threadpool(
        service.contacts.contact_log, caller, filters=filters, since=since, until=until,
        after=after, limit=limit)
