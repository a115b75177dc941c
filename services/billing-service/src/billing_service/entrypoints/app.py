"""The billing service's FastAPI app factory."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from casetrail.ops import install_ops
from casetrail.settings import CommonSettings
from casetrail.web import RequestContextMiddleware, install_error_handlers
from fastapi import FastAPI

from billing_service.bootstrap import BillingService, build
from billing_service.config import BillingSettings
from billing_service.entrypoints.routes import billing_runs, contracts, invoices, performance

DESCRIPTION = """Commission billing: versioned contracts per creditor-agency pair, a commission
ledger computed from case events, immutable invoices (JSON, CSV, PDF) with a content hash that
a rebuild from the log reproduces, and agency performance.

Authenticate with `Authorization: Bearer <key>` (the same keys as the case service)."""


def create_app(settings: BillingSettings | None = None, common: CommonSettings | None = None,
               service: BillingService | None = None) -> FastAPI:
    """Build the app; pass `service` to reuse one (tests), else it is built from settings."""
    common = common or CommonSettings()
    app = FastAPI(title="casetrail billing service", version="1", description=DESCRIPTION)
    app.state.service = service or build(settings)
    app.state.keyring = common.keyring
    install_error_handlers(app)
    app.include_router(contracts.router)
    app.include_router(billing_runs.router)
    app.include_router(invoices.router)
    app.include_router(performance.router)

    def ready() -> dict[str, Any]:
        with app.state.service.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return {}

    install_ops(app, ready)
    app.add_middleware(RequestContextMiddleware, service="billing")
    return app
