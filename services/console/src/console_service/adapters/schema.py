"""The console's one table (`console_sessions`, `adapters.sessions`) as SQLAlchemy metadata,
and the upgrade that makes it: the alembic history in `adapters/migrations/` (`casetrail
migrate console`, the Kubernetes migration Job, and start-up when CONSOLE_CREATE_SCHEMA is
true)."""

from __future__ import annotations

from casetrail import migrations

from console_service.adapters.sessions import metadata

SCRIPT_LOCATION = "console_service:adapters/migrations"
VERSION_TABLE = "alembic_version_console"

__all__ = ["SCRIPT_LOCATION", "VERSION_TABLE", "head", "metadata", "migrate"]


def migrate(database_url: str) -> str:
    """Bring the console's database to the newest revision (creating the sessions table, or
    adopting one made before migrations); returns the revision it is at."""
    return migrations.upgrade(database_url, script_location=SCRIPT_LOCATION,
                              version_table=VERSION_TABLE, metadata=metadata)


def head() -> str | None:
    """The newest revision of the console's history."""
    return migrations.head(SCRIPT_LOCATION)
