"""How the `casetrail` CLI finds the console: `casetrail serve console`, `casetrail migrate
console`."""

from __future__ import annotations

from casetrail.plugins import ServicePlugin


def _migrate() -> str:
    from console_service.bootstrap import migrate

    return f"console schema (sessions) is up to date (revision {migrate()})"


plugin = ServicePlugin(
    name="console",
    app_factory="console_service.entrypoints.app:create_app",
    default_port=8003,
    migrate=_migrate,
)
