"""Dependency aliases for routes."""

from __future__ import annotations

from typing import Annotated

from casetrail.web import PrincipalDep
from fastapi import Depends, Request

from billing_service.bootstrap import BillingService


def service(request: Request) -> BillingService:
    """The service built at start-up."""
    built: BillingService = request.app.state.service
    return built


ServiceDep = Annotated[BillingService, Depends(service)]

__all__ = ["PrincipalDep", "ServiceDep"]
