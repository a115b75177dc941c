"""How the `casetrail` CLI finds this service: `casetrail serve billing`, `casetrail migrate
billing`, `casetrail billing run`."""

from __future__ import annotations

from casetrail.plugins import Commands, ServicePlugin


def _migrate() -> str:
    from billing_service.bootstrap import migrate

    return f"billing-service schema is up to date (revision {migrate()})"


def _cli() -> Commands:
    from billing_service.entrypoints.cli import commands

    return commands()


plugin = ServicePlugin(
    name="billing",
    app_factory="billing_service.entrypoints.app:create_app",
    default_port=8002,
    migrate=_migrate,
    cli=_cli,
)
