"""The case service's FastAPI app factory."""

from __future__ import annotations

from typing import Any

from casetrail.ops import install_ops
from casetrail.settings import CommonSettings
from casetrail.web import (
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
    install_error_handlers,
)
from fastapi import FastAPI

from case_service.application import CaseApplication
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from case_service.entrypoints import errors
from case_service.entrypoints.routes import audit, cases, events, placements

DESCRIPTION = """System of record for collection cases. Every change is an immutable event.

Authenticate with `Authorization: Bearer <key>` (or `X-API-Key`). Creditors see their own
cases, agencies the cases assigned to them, auditors everything read-only."""


def create_app(settings: CaseSettings | None = None, common: CommonSettings | None = None,
               application: CaseApplication | None = None) -> FastAPI:
    """Build the app; pass `application` to reuse one (tests), else it is built from settings."""
    settings = settings or CaseSettings()
    common = common or CommonSettings()
    app = FastAPI(title="casetrail case service", version="1", description=DESCRIPTION)
    app.state.application = application or build_application(settings, common)
    app.state.keyring = common.keyring
    install_error_handlers(app)
    errors.install(app)
    app.include_router(placements.router)
    app.include_router(cases.router)
    app.include_router(events.router)
    app.include_router(audit.router)

    def ready() -> dict[str, Any]:
        return {"last_position": app.state.application.last_position()}

    install_ops(app, ready)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, service="case")
    return app
