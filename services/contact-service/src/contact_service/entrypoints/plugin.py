"""How the `casetrail` CLI finds this service: `casetrail serve contact`."""

from __future__ import annotations

from casetrail.plugins import ServicePlugin


def _migrate() -> str:
    from contact_service.bootstrap import build

    build(migrate=True).close()
    return "contact-service schema is up to date"


plugin = ServicePlugin(
    name="contact",
    app_factory="contact_service.entrypoints.app:create_app",
    default_port=8001,
    migrate=_migrate,
)
