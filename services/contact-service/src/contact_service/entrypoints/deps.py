"""Dependency aliases for routes."""

from __future__ import annotations

from typing import Annotated

from casetrail.web import PrincipalDep
from fastapi import Depends, Request

from contact_service.bootstrap import ContactService


def service(request: Request) -> ContactService:
    """The service built at start-up."""
    built: ContactService = request.app.state.service
    return built


ServiceDep = Annotated[ContactService, Depends(service)]

__all__ = ["PrincipalDep", "ServiceDep"]
