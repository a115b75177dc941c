"""Alembic runs this for the contact service's history: on the live connection that
`casetrail.migrations.upgrade` gives it (`casetrail migrate contact`, or the embedded
default at start-up), with the service's version table and metadata."""

from alembic import context
from casetrail.migrations import configure_context

configure_context(context, context.config)
