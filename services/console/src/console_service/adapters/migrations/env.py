"""alembic's entry point for the console's history: `casetrail.migrations.upgrade` puts the
connection, the metadata and the version table on the config."""

from alembic import context
from casetrail.migrations import configure_context

configure_context(context, context.config)
