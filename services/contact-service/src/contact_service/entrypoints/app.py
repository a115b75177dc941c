"""The contact service's FastAPI app factory."""

from __future__ import annotations

from typing import Any

from casetrail.ops import install_ops
from casetrail.settings import CommonSettings
from casetrail.web import install_api, new_api
from fastapi import FastAPI

from contact_service.bootstrap import ContactService, build
from contact_service.config import ContactSettings
from contact_service.entrypoints import errors
from contact_service.entrypoints.routes import (
    agencies,
    complaints,
    compliance,
    contacts,
    quality,
    reports,
    service_levels,
    timeliness,
)

DESCRIPTION = """The agency side of collection work: the contact log, contact permission,
compliance violations, service levels, worklists, QA sampling, complaints, field visits and
timeliness of entry, built from case events.
Days a user sees (a worklist's today, service-level days, QA months) are each agency's, in its
time zone (`PUT /v1/agencies/{agency_id}/settings`); every such answer names its zone.

Authenticate with `Authorization: Bearer <key>` (the same keys as the case service), or `X-API-Key`.

Every error has the shape `{"error": {"code", "message", ...}}`; a 422 lists `fields[].path`."""


def create_app(settings: ContactSettings | None = None, common: CommonSettings | None = None,
               service: ContactService | None = None) -> FastAPI:
    """Build the app; pass `service` to reuse one (tests), else it is built from settings."""
    common = common or CommonSettings()
    app = new_api(title="casetrail contact service", description=DESCRIPTION)
    app.state.service = service or build(settings, common=common)
    app.state.keyring = common.keyring
    app.include_router(contacts.router)
    app.include_router(compliance.router)
    app.include_router(quality.router)
    app.include_router(service_levels.router)
    app.include_router(agencies.router)
    app.include_router(complaints.router)
    app.include_router(timeliness.router)
    app.include_router(reports.router)

    def ready() -> dict[str, Any]:
        app.state.service.ready()
        return {}

    install_ops(app, ready)
    install_api(app, service="contact", max_body_bytes=common.max_body_bytes)
    errors.install(app)
    return app
