"""Baseline: the case service's tables as they stood when migrations began.

Adopts any database the service wrote before: a fresh one gets every table; one written by an
earlier release (which made its tables with `CREATE ... IF NOT EXISTS` at start-up) keeps every
row and gains what it lacks. A database of main before 2026-12-06 lacks
`case_summaries.delinquent_since` and `next_deadline_at` (NULL in its rows until `casetrail
projections rebuild case-summaries --swap`), the index on the next deadline and the erasure
generation (`debtor_key_erasures`, started at 0); on PostgreSQL its key table is one plain
table, which becomes 64 partitions by debtor id (every key copied over). The event store's
tables are the eventsourcing library's, made by the library, and none of this revision's
business. The tables are written out here, not imported, so later changes to the code's tables
come as revisions of their own.

Revision ID: case_0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from casetrail.migrations import adopt

revision: str = "case_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

tables = sa.MetaData()
Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

sa.Table(
    "case_summaries", tables,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("creditor_id", sa.Text, nullable=False),
    sa.Column("account_ref", sa.Text, nullable=False),
    sa.Column("placement_ref", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text, nullable=False),
    sa.Column("assigned_agency_id", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("bucket", sa.Text, nullable=False),
    sa.Column("dpd", sa.Integer, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("placed_amount", sa.Text, nullable=False),
    sa.Column("outstanding", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("placed_at", sa.Text, nullable=False),
    sa.Column("term_end", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
    sa.Column("placed_position", sa.BigInteger, nullable=False),
    sa.Column("delinquent_since", sa.Text),
    sa.Column("next_deadline_at", sa.Text),
    sa.Index("case_summaries_creditor", "creditor_id", "placed_position"),
    sa.Index("case_summaries_deadline", "next_deadline_at"),
    sa.Index("case_summaries_agency", "assigned_agency_id", "placed_position"),
    sa.Index("case_summaries_position", "placed_position"),
)
sa.Table(
    "placement_receipts", tables,
    sa.Column("creditor_id", sa.Text, primary_key=True),
    sa.Column("placement_ref", sa.Text, primary_key=True),
    sa.Column("request_sha256", sa.Text, nullable=False),
    sa.Column("received_at", sa.Text, nullable=False),
    sa.Column("acknowledged_at", sa.Text, nullable=False),
    sa.Column("receipt", sa.Text, nullable=False),
)
sa.Table(
    "allocation_rules", tables,
    sa.Column("creditor_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("rules", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
)
debtor_keys = sa.Table(
    "debtor_keys", tables,
    sa.Column("debtor_id", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
              primary_key=True),
    sa.Column("master_key_id", sa.Text, nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("destroyed_at", sa.Text),
    postgresql_partition_by="RANGE (debtor_id)",
)
erasures = sa.Table(
    "debtor_key_erasures", tables,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("generation", sa.BigInteger, nullable=False),
    sa.Column("erased_at", sa.Text),
    sa.CheckConstraint("id = 1", name="debtor_key_erasures_single_row"),
)
sa.Table(
    "audit_leaves", tables,
    sa.Column("position", Position, primary_key=True, autoincrement=False),
    sa.Column("leaf_hash", sa.LargeBinary, nullable=False),
)
sa.Table(
    "audit_checkpoints", tables,
    sa.Column("tree_size", Position, primary_key=True, autoincrement=False),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("last_position", Position, nullable=False),
    sa.Column("issued_at", sa.Text, nullable=False),
    sa.Column("key_id", sa.Text, nullable=False),
    sa.Column("signature", sa.LargeBinary, nullable=False),
)
sa.Table(
    "relay_positions", tables,
    sa.Column("topic", sa.Text, primary_key=True),
    sa.Column("position", Position, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
)

KEY_PARTITIONS = 64  # ranges of debtor id: "d-" and the first two hex digits


def _partitions() -> list[str]:
    """The key table's partitions (PostgreSQL), each created if missing."""
    width = 256 // KEY_PARTITIONS
    statements = []
    for index in range(KEY_PARTITIONS):
        low = f"d-{index * width:02x}"
        high = f"d-{(index + 1) * width:02x}" if index + 1 < KEY_PARTITIONS else "d-g"
        statements.append(f"CREATE TABLE IF NOT EXISTS debtor_keys_p{index:02d} PARTITION OF "
                          f"debtor_keys FOR VALUES FROM ('{low}') TO ('{high}')")
    statements.append("CREATE TABLE IF NOT EXISTS debtor_keys_other PARTITION OF debtor_keys "
                      "DEFAULT")
    return statements


def _key_table_kind(connection: sa.Connection) -> str | None:
    """pg_class.relkind of the key table in this schema ('p' partitioned, 'r' plain)."""
    return connection.execute(sa.text(
        "SELECT relkind::text FROM pg_class WHERE oid = to_regclass('debtor_keys')")).scalar()


def _declare_keys_not_null(connection: sa.Connection) -> None:
    """SQLite: key columns made by earlier releases without NOT NULL (`debtor_id TEXT PRIMARY
    KEY`, `position INTEGER PRIMARY KEY`) get it, as every database made here has it (SQLite
    lets a TEXT primary key hold NULL unless it says NOT NULL). SQLite cannot alter a column:
    the table is copied into one declared so (alembic's batch mode), every row with it."""
    inspector = sa.inspect(connection)
    for table in tables.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        loose = [c for c in inspector.get_columns(table.name)
                 if c["nullable"] and not table.c[c["name"]].nullable]
        if loose:
            with op.batch_alter_table(table.name, recreate="always") as batch:
                for column in loose:
                    batch.alter_column(column["name"], existing_type=column["type"],
                                       nullable=False)


def upgrade() -> None:
    """Create what is missing, convert a plain key table to partitions; keep every row."""
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    legacy = "debtor_keys_unpartitioned"
    converting = postgres and _key_table_kind(connection) == "r"
    if converting:  # made before the key table was partitioned: moved aside, copied back
        op.execute(f"ALTER TABLE debtor_keys RENAME TO {legacy}")
        op.execute(f"ALTER INDEX debtor_keys_pkey RENAME TO {legacy}_pkey")
    adopt(connection, tables)
    if postgres:  # one round trip: statements without parameters go as one simple query
        connection.exec_driver_sql(";\n".join(_partitions()))
    else:
        _declare_keys_not_null(connection)
    if converting:
        op.execute(f"INSERT INTO debtor_keys (debtor_id, master_key_id, wrapped_key, created_at, "
                   f"destroyed_at) SELECT debtor_id, master_key_id, wrapped_key, created_at, "
                   f"destroyed_at FROM {legacy}")
        op.execute(f"DROP TABLE {legacy}")
    if connection.execute(sa.select(sa.func.count()).select_from(erasures)).scalar() == 0:
        op.execute(erasures.insert().values(id=1, generation=0))


def downgrade() -> None:
    """Nothing comes before the baseline: its tables hold records of their own (receipts,
    rules, debtor keys, audit checkpoints), which no downgrade drops."""
    raise NotImplementedError("the case baseline cannot be downgraded")
