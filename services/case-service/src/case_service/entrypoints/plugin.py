"""How the `casetrail` CLI finds this service: `casetrail serve case`, `casetrail migrate case`."""

from __future__ import annotations

from casetrail.plugins import ServicePlugin


def _migrate() -> str:
    from case_service.bootstrap import build_application

    app = build_application(migrate=True)
    app.close()
    return "case-service schema is up to date"


plugin = ServicePlugin(
    name="case",
    app_factory="case_service.entrypoints.app:create_app",
    default_port=8000,
    migrate=_migrate,
)
