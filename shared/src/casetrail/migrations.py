"""Schema migrations with alembic, one history per service.

Each service keeps its alembic scripts in its own package (`<service>/adapters/migrations`:
env.py and versions/) and its tables as SQLAlchemy Core metadata; `casetrail migrate
<service>` (its plugin's `migrate`) calls `upgrade` here, and so does the Kubernetes
migration Job. The version table is the service's own (`alembic_version_<service>`), so
services sharing one database (the embedded default) never read each other's history.

env.py of a service reads what `upgrade` puts on the alembic config:
- `config.attributes["connection"]`: the connection to migrate, in a transaction;
- `config.attributes["target_metadata"]`: the metadata autogenerate compares with;
- `config.attributes["version_table"]`: the service's version table.
`configure_context` below does the usual `context.configure` with them; a service's env.py
is two lines.

The event store's tables are the eventsourcing library's and stay out of alembic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from casetrail.projections.store import add_missing_columns, make_engine


def _config(script_location: str, version_table: str, metadata: sa.MetaData) -> Config:
    config = Config()
    config.set_main_option("script_location", script_location)
    config.attributes["version_table"] = version_table
    config.attributes["target_metadata"] = metadata
    return config


def upgrade(database_url: str, *, script_location: str, version_table: str,
            metadata: sa.MetaData, revision: str = "head") -> str:
    """Bring a service's database to `revision` (default: the newest); returns the revision
    it is at afterwards. Safe to run again: an up-to-date database is left as it is."""
    config = _config(script_location, version_table, metadata)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            return current(connection, version_table) or "base"
    finally:
        engine.dispose()


def current(connection: sa.Connection, version_table: str) -> str | None:
    """The revision a database is at (None: never migrated)."""
    context = MigrationContext.configure(connection, opts={"version_table": version_table})
    return context.get_current_revision()


def head(script_location: str) -> str | None:
    """The newest revision of a service's history."""
    config = Config()
    config.set_main_option("script_location", script_location)
    return ScriptDirectory.from_config(config).get_current_head()


def differences(database_url: str, metadata: sa.MetaData, version_table: str) -> list[Any]:
    """What autogenerate finds between a migrated database and the metadata (empty when the
    migrations make exactly the tables the code defines): the test that keeps them equal."""
    ours = set(metadata.tables)

    def include_object(obj: Any, name: str | None, kind: str, reflected: bool,
                       compare_to: Any) -> bool:
        # Tables of others in the same database (the event store, another service's in the
        # embedded default, the version table) are not this metadata's business.
        return not (kind == "table" and reflected and compare_to is None and name not in ours)

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True, "version_table": version_table,
                "include_object": include_object})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def adopt(connection: sa.Connection, metadata: sa.MetaData) -> list[str]:
    """What a service's baseline revision does: make the tables of `metadata` (the revision's
    own copy of them) exist, in an empty database or in one written before migrations. Missing
    tables are created with their indexes; tables already there keep every row and get the
    columns added since (nullable, or with a server default) and the indexes they lack.
    Returns what it did ("create t", "add t.c", "index i")."""
    inspector = sa.inspect(connection)
    existing = [t for t in metadata.sorted_tables
                if inspector.has_table(t.name, schema=t.schema)]
    done = []
    for table in metadata.sorted_tables:
        if table not in existing:
            table.create(connection)
            done.append(f"create {table.name}")
    done += [f"add {column}" for column in add_missing_columns(connection, metadata)]
    for table in existing:
        present = {i["name"] for i in inspector.get_indexes(table.name, schema=table.schema)}
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            if index.name not in present:
                index.create(connection)
                done.append(f"index {index.name}")
    return done


def configure_context(context: Any, config: Config,
                      include_tables: Sequence[str] | None = None) -> None:
    """`context.configure(...)` for a service's env.py, then run its migrations (online
    only: casetrail always migrates a live connection)."""
    connection = config.attributes["connection"]
    version_table = config.attributes["version_table"]
    wanted = None if include_tables is None else set(include_tables)

    def include_object(obj: Any, name: str | None, kind: str, reflected: bool,
                       compare_to: Any) -> bool:
        if kind == "table" and name == version_table:
            return False
        return wanted is None or kind != "table" or name in wanted

    context.configure(connection=connection,
                      target_metadata=config.attributes["target_metadata"],
                      version_table=version_table, include_object=include_object,
                      compare_type=True, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
