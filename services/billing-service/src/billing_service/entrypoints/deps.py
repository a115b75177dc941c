"""Dependency aliases for routes."""

from __future__ import annotations

from typing import Annotated

from casetrail.web import PrincipalDep
from fastapi import Depends, Request

from billing_service.bootstrap import BillingService


async def service(request: Request) -> BillingService:
    """The service built at start-up (async: FastAPI runs a sync dependency on the thread
    pool, a hop this lookup does not need)."""
    built: BillingService = request.app.state.service
    return built


ServiceDep = Annotated[BillingService, Depends(service)]

__all__ = ["PrincipalDep", "ServiceDep"]
