"""Dependency aliases for routes."""

from __future__ import annotations

from typing import Annotated

from casetrail.web import PrincipalDep
from fastapi import Depends, Request

from contact_service.bootstrap import ContactService


async def service(request: Request) -> ContactService:
    """The service built at start-up (async: FastAPI runs a sync dependency on the thread
    pool, a hop this lookup does not need)."""
    built: ContactService = request.app.state.service
    return built


ServiceDep = Annotated[ContactService, Depends(service)]

__all__ = ["PrincipalDep", "ServiceDep"]
