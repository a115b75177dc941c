"""Dependency aliases for routes."""

from __future__ import annotations

from typing import Annotated

from casetrail.web import PrincipalDep
from fastapi import Depends, Request

from case_service.application import CaseApplication


async def application(request: Request) -> CaseApplication:
    """The application built at start-up (async: FastAPI runs a sync dependency on the
    thread pool, a hop this lookup does not need)."""
    app: CaseApplication = request.app.state.application
    return app


AppDep = Annotated[CaseApplication, Depends(application)]

__all__ = ["AppDep", "PrincipalDep"]
