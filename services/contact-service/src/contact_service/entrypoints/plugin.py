"""How the `casetrail` CLI finds this service: `casetrail serve contact`, `casetrail migrate
contact`."""

from __future__ import annotations

from casetrail.plugins import ServicePlugin


def _migrate() -> str:
    from contact_service.bootstrap import migrate

    revision = migrate()
    return f"contact-service schema is up to date (revision {revision})"


plugin = ServicePlugin(
    name="contact",
    app_factory="contact_service.entrypoints.app:create_app",
    default_port=8001,
    migrate=_migrate,
)
