"""The global ordered event feed, for consumers (embedded transport) and auditors."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import orjson
from casetrail.security import Role
from casetrail.web import MAX_POSITION, error_responses, require_roles
from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from case_service.entrypoints.deps import AppDep, PrincipalDep
from case_service.entrypoints.schemas import EventFeed

router = APIRouter(prefix="/v1", tags=["events"])


class WhoAmIOut(BaseModel):
    """The caller as the service authenticated its key."""

    key_id: str
    role: str = Field(description="creditor, agency, auditor or admin")
    tenant: str | None = Field(description="the creditor or agency the key acts for")
    actor: str = Field(description="how events name this caller: role:tenant:key_id")


@router.get("/whoami", summary="Who the presented key is", response_model=WhoAmIOut,
            tags=["keys"])
async def whoami(caller: PrincipalDep) -> WhoAmIOut:
    """The key's id, role and tenant: a client (the console) verifies a key at sign-in with
    it, without ever seeing the configured keys. Any valid key; 401 otherwise."""
    return WhoAmIOut(key_id=caller.key_id, role=caller.role.value, tenant=caller.tenant,
                     actor=caller.actor)


@router.get("/events", summary="The global event feed, in order", response_model=EventFeed,
            response_class=JSONResponse, responses=error_responses(403))
async def events(
    app: AppDep, caller: PrincipalDep,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION,
                                description="last position already seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    wait: Annotated[float, Query(ge=0, le=30, description="long-poll seconds if none yet")] = 0,
) -> Response:
    """Public envelopes after a position. Positions only grow but may have gaps; continue
    from `last_position`."""
    require_roles(caller, Role.AUDITOR, Role.ADMIN)
    deadline = time.monotonic() + wait
    while True:
        batch = await run_in_threadpool(app.events_after, after, limit)
        if batch or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.05)
    head = await run_in_threadpool(app.last_position)
    # Serialized here with orjson: FastAPI's generic encoder walks every payload in Python
    # and cost more than reading the events (rebuilds page through millions).
    return Response(orjson.dumps({
        "events": [e.model_dump(mode="json") for e in batch],
        "last_position": batch[-1].position if batch else after,
        "head_position": head}), media_type="application/json")
