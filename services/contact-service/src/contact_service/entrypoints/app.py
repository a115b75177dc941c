"""The contact service's FastAPI app factory."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from casetrail.ops import install_ops
from casetrail.settings import CommonSettings
from casetrail.web import RequestContextMiddleware, install_error_handlers
from fastapi import FastAPI

from contact_service.bootstrap import ContactService, build
from contact_service.config import ContactSettings
from contact_service.entrypoints.routes import compliance, contacts, quality, service_levels

DESCRIPTION = """The agency side of collection work: the contact log, contact permission,
compliance violations, service levels, worklists and QA sampling, built from case events.

Authenticate with `Authorization: Bearer <key>` (the same keys as the case service)."""


def create_app(settings: ContactSettings | None = None, common: CommonSettings | None = None,
               service: ContactService | None = None) -> FastAPI:
    """Build the app; pass `service` to reuse one (tests), else it is built from settings."""
    common = common or CommonSettings()
    app = FastAPI(title="casetrail contact service", version="1", description=DESCRIPTION)
    app.state.service = service or build(settings, common=common)
    app.state.keyring = common.keyring
    install_error_handlers(app)
    app.include_router(contacts.router)
    app.include_router(compliance.router)
    app.include_router(quality.router)
    app.include_router(service_levels.router)

    def ready() -> dict[str, Any]:
        with app.state.service.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return {}

    install_ops(app, ready)
    app.add_middleware(RequestContextMiddleware, service="contact")
    return app
