"""alembic's entry point for the case service's history: `casetrail.migrations.upgrade` puts
the connection, the metadata and the version table on the config.

On PostgreSQL the migration first takes a transaction-level advisory lock: several processes
starting at once (`casetrail serve case --workers N` with CASE_CREATE_SCHEMA on) then migrate
one after the other, and the later ones find the database at head. (SQLite's BEGIN IMMEDIATE
already serializes them.)"""

from alembic import context
from casetrail.migrations import configure_context

connection = context.config.attributes["connection"]
if connection.dialect.name == "postgresql":
    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('casetrail migrate case'))")
configure_context(context, context.config)
