"""How the `casetrail` CLI finds this service: `casetrail serve billing`."""

from __future__ import annotations

from casetrail.plugins import ServicePlugin


def _migrate() -> str:
    from billing_service.bootstrap import build

    build(migrate=True).close()
    return "billing-service schema is up to date"


plugin = ServicePlugin(
    name="billing",
    app_factory="billing_service.entrypoints.app:create_app",
    default_port=8002,
    migrate=_migrate,
)
