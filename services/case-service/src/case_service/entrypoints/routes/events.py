"""The global ordered event feed, for consumers (embedded transport) and auditors."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import orjson
from casetrail.envelope import EventEnvelope
from casetrail.security import Role
from casetrail.web import require_roles
from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from case_service.entrypoints.deps import AppDep, PrincipalDep

router = APIRouter(prefix="/v1", tags=["events"])


class EventFeed(BaseModel):
    """A page of the feed (the schema in the OpenAPI document)."""

    events: list[EventEnvelope]
    last_position: int = Field(description="continue from here")
    head_position: int = Field(description="the newest position in the log now")


@router.get("/events", summary="The global event feed, in order", response_model=EventFeed)
async def events(
    app: AppDep, caller: PrincipalDep,
    after: Annotated[int, Query(ge=0, description="last position already seen")] = 0,
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
