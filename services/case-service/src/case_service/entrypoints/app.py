"""The case service's FastAPI app factory."""

from __future__ import annotations

from typing import Any

from casetrail.ops import install_ops
from casetrail.settings import CommonSettings
from casetrail.web import error_responses, install_api, new_api
from fastapi import FastAPI

from case_service.application import CaseApplication
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from case_service.entrypoints import errors
from case_service.entrypoints.routes import agencies, audit, cases, events, placements, workflows

DESCRIPTION = """System of record for collection cases. Every change is an immutable event.

Authenticate with `Authorization: Bearer <key>` (or `X-API-Key`). Creditors see their own
cases, agencies the cases assigned to them, auditors everything read-only.

Every error has the shape `{"error": {"code", "message", ...}}`; a 422 lists `fields[].path`.
Identifiers are URL-safe; times and days lie in a calendar window (docs/api.md)."""


def create_app(settings: CaseSettings | None = None, common: CommonSettings | None = None,
               application: CaseApplication | None = None) -> FastAPI:
    """Build the app; pass `application` to reuse one (tests), else it is built from settings."""
    settings = settings or CaseSettings()
    common = common or CommonSettings()
    app = new_api(title="casetrail case service", description=DESCRIPTION)
    app.state.application = application or build_application(settings, common)
    app.state.keyring = common.keyring
    errors.install(app)
    app.include_router(placements.router)
    app.include_router(agencies.router)
    app.include_router(cases.router)
    app.include_router(workflows.router)
    app.include_router(events.router)
    app.include_router(audit.router, responses=error_responses(
        403, 404, 409, _404="`case_not_found` or `checkpoint_not_found`",
        _409="`no_checkpoint`: none has been signed yet"))

    def ready() -> dict[str, Any]:
        return {"last_position": app.state.application.last_position()}

    install_ops(app, ready)
    install_api(app, service="case",
                max_body_bytes=settings.max_body_bytes or common.max_body_bytes)
    return app
