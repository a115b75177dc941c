"""Every table of the contact service, and the migrations that create and upgrade them.

The tables are SQLAlchemy Core metadata kept in groups, because a projection rebuild treats
them differently (it empties and swaps only the projection's own):
- the contact-log projection's tables (`contact_log.metadata`), and its tracking records
  (`projection_positions`, `projection_dead_letters`: casetrail.projections.store);
- records people make, which no rebuild touches: policy assignments
  (`contact_log.service_metadata`, which the projection reads), agency settings
  (`agency_settings.settings_metadata`), QA samples and reviews (`qa_store.qa_metadata`).

`metadata` below holds a copy of them all: what the alembic history in `migrations/`
(`casetrail migrate contact`, and the embedded default at start-up) must make, and what
autogenerate compares a migrated database with (`casetrail.migrations.differences`).
"""

from __future__ import annotations

import sqlalchemy as sa
from casetrail import migrations
from casetrail.projections.store import tracking

from contact_service.adapters.agency_settings import settings_metadata
from contact_service.adapters.contact_log import metadata as contact_log_metadata
from contact_service.adapters.contact_log import service_metadata
from contact_service.adapters.qa_store import qa_metadata

SCRIPT_LOCATION = "contact_service:adapters/migrations"
VERSION_TABLE = "alembic_version_contact"
GROUPS = (tracking, contact_log_metadata, service_metadata, settings_metadata, qa_metadata)


def _all_tables() -> sa.MetaData:
    combined = sa.MetaData()
    for group in GROUPS:
        for table in group.sorted_tables:
            table.to_metadata(combined)
    return combined


metadata = _all_tables()


def migrate(database_url: str) -> str:
    """Bring the contact service's database to the newest revision (creating it when empty,
    adopting one an earlier release made without migrations); returns that revision."""
    return migrations.upgrade(database_url, script_location=SCRIPT_LOCATION,
                              version_table=VERSION_TABLE, metadata=metadata)


def head() -> str | None:
    """The newest revision of the contact service's history."""
    return migrations.head(SCRIPT_LOCATION)
