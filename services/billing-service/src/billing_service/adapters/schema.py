"""Every table of the billing service's database as one SQLAlchemy metadata, and the upgrade
that makes them: the alembic history in `adapters/migrations/` (`casetrail migrate billing`,
the Kubernetes migration Job, and start-up when BILLING_CREATE_SCHEMA is true).

The tables: the billing-ledger read model (`billing_ledger.metadata`), the tracking tables
every projection keeps beside it (`projection_positions`, `projection_dead_letters`, from
`casetrail.projections.store`), and the records the service owns (`records.records_metadata`:
contracts, invoices, invoice_lines). The event store is the case service's, elsewhere.
"""

from __future__ import annotations

import sqlalchemy as sa
from casetrail import migrations
from casetrail.projections.store import tracking

from billing_service.adapters.billing_ledger import metadata as ledger_metadata
from billing_service.adapters.records import records_metadata

SCRIPT_LOCATION = "billing_service:adapters/migrations"
VERSION_TABLE = "alembic_version_billing"


def _every_table() -> sa.MetaData:
    combined = sa.MetaData()
    for part in (tracking, ledger_metadata, records_metadata):
        for table in part.tables.values():
            table.to_metadata(combined)
    return combined


metadata = _every_table()


def migrate(database_url: str) -> str:
    """Bring the billing database to the newest revision (creating it, or adopting one
    written before migrations); returns the revision it is at."""
    return migrations.upgrade(database_url, script_location=SCRIPT_LOCATION,
                              version_table=VERSION_TABLE, metadata=metadata)


def head() -> str | None:
    """The newest revision of the billing history."""
    return migrations.head(SCRIPT_LOCATION)
