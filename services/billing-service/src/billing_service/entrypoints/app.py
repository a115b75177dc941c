"""The billing service's FastAPI app factory."""

from __future__ import annotations

from typing import Any

from casetrail.ops import install_ops
from casetrail.settings import CommonSettings
from casetrail.web import install_api, new_api
from fastapi import FastAPI

from billing_service.bootstrap import BillingService, build
from billing_service.config import BillingSettings
from billing_service.entrypoints.routes import (
    billing_runs,
    contracts,
    invoices,
    parties,
    performance,
)

DESCRIPTION = """Commission billing: versioned contracts per creditor-agency pair, versioned
party records (legal names, address, tax id, bank account), a commission ledger computed from
case events, immutable invoices (JSON, CSV, PDF) that freeze the party versions they were
issued with, with a content hash that a rebuild from the log reproduces, and agency
performance.

Authenticate with `Authorization: Bearer <key>` (the same keys as the case service), or `X-API-Key`.

Every error has the shape `{"error": {"code", "message", ...}}`; a 422 lists `fields[].path`."""


def create_app(settings: BillingSettings | None = None, common: CommonSettings | None = None,
               service: BillingService | None = None) -> FastAPI:
    """Build the app; pass `service` to reuse one (tests), else it is built from settings."""
    common = common or CommonSettings()
    app = new_api(title="casetrail billing service", description=DESCRIPTION)
    app.state.service = service or build(settings, common=common)
    app.state.keyring = common.keyring
    app.include_router(contracts.router)
    app.include_router(parties.router)
    app.include_router(billing_runs.router)
    app.include_router(invoices.router)
    app.include_router(performance.router)

    def ready() -> dict[str, Any]:
        app.state.service.ready()
        return {}

    install_ops(app, ready)
    install_api(app, service="billing", max_body_bytes=common.max_body_bytes)
    return app
