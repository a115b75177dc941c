"""The one error map of the case API: application and domain errors → HTTP answers."""

from __future__ import annotations

from casetrail.money import MoneyError
from casetrail.web import error_body
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from case_service.application import (
    CaseNotFound,
    DebtorErased,
    PlacementConflict,
    VersionConflict,
)
from case_service.domain.errors import (
    CaseClosed,
    CaseRecalled,
    DomainError,
    InvalidTransition,
    PaymentReferenceConflict,
)

# State conflicts are 409; values that can never be right are 422.
CONFLICTS = (CaseClosed, CaseRecalled, InvalidTransition, PaymentReferenceConflict)


def install(app: FastAPI) -> None:
    """Register the handlers."""

    @app.exception_handler(CaseNotFound)
    async def _not_found(_: Request, exc: CaseNotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content=error_body(
            "case_not_found", f"no case {exc} visible to this key"))

    @app.exception_handler(VersionConflict)
    async def _version(_: Request, exc: VersionConflict) -> JSONResponse:
        return JSONResponse(status_code=409, content=error_body(
            "version_conflict", str(exc), current_version=exc.current_version))

    @app.exception_handler(PlacementConflict)
    async def _placement(_: Request, exc: PlacementConflict) -> JSONResponse:
        return JSONResponse(status_code=409, content=error_body("placement_conflict", str(exc)))

    @app.exception_handler(DebtorErased)
    async def _erased(_: Request, exc: DebtorErased) -> JSONResponse:
        return JSONResponse(status_code=409, content=error_body("debtor_erased", str(exc)))

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        status = 409 if isinstance(exc, CONFLICTS) else 422
        return JSONResponse(status_code=status, content=error_body(exc.code, exc.message))

    @app.exception_handler(MoneyError)
    async def _money(_: Request, exc: MoneyError) -> JSONResponse:
        return JSONResponse(status_code=422, content=error_body("invalid_amount", str(exc)))
