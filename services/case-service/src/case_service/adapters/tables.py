"""Every table the case service keeps beside the event store, as SQLAlchemy Core tables.

The event store's own tables are the eventsourcing library's (made by the library). These are
made and upgraded by the alembic history in `adapters/migrations/` (`casetrail migrate case`);
`tests/migrations/test_upgrade_case.py` checks that the migrated tables are exactly these.

Column types keep what databases written before migrations hold: on SQLite the log positions
of the audit and relay tables are INTEGER (a rowid alias for `audit_leaves.position`), on
PostgreSQL BIGINT.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

# The case list alone: the projection that rebuilds it resets, compares and swaps exactly
# this (case_list.py); the service's other tables are records no rebuild touches.
case_list_metadata = sa.MetaData()
records = sa.MetaData()

# A log position: BIGINT on PostgreSQL, INTEGER on SQLite (where it is the same 64 bits).
Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

case_summaries = sa.Table(
    "case_summaries", case_list_metadata,
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
    # Added after the first release (NULL in rows written before: rebuild case-summaries).
    sa.Column("delinquent_since", sa.Text),
    sa.Column("next_deadline_at", sa.Text),
    sa.Index("case_summaries_creditor", "creditor_id", "placed_position"),
    sa.Index("case_summaries_deadline", "next_deadline_at"),
    sa.Index("case_summaries_agency", "assigned_agency_id", "placed_position"),
    sa.Index("case_summaries_position", "placed_position"),
)

placement_receipts = sa.Table(
    "placement_receipts", records,
    sa.Column("creditor_id", sa.Text, primary_key=True),
    sa.Column("placement_ref", sa.Text, primary_key=True),
    sa.Column("request_sha256", sa.Text, nullable=False),
    sa.Column("received_at", sa.Text, nullable=False),
    sa.Column("acknowledged_at", sa.Text, nullable=False),
    sa.Column("receipt", sa.Text, nullable=False),  # the receipt as JSON
)

allocation_rules = sa.Table(
    "allocation_rules", records,
    sa.Column("creditor_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("rules", sa.Text, nullable=False),  # AllocationRules.to_json() as JSON
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
)

# The agency registry (application/registry.py): every change is a new version row with when
# and by whom, never an update. An agency's profile (kind, display name); the collectors it
# registers; the qualification a creditor grants it after due diligence. Each `record` is the
# domain value's to_json() as JSON.
agency_profiles = sa.Table(
    "agency_profiles", records,
    sa.Column("agency_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
)

agency_collectors = sa.Table(
    "agency_collectors", records,
    sa.Column("agency_id", sa.Text, primary_key=True),
    sa.Column("collector_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
)

agency_qualifications = sa.Table(
    "agency_qualifications", records,
    sa.Column("creditor_id", sa.Text, primary_key=True),
    sa.Column("agency_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
)

# PostgreSQL keeps debtor keys in KEY_PARTITIONS ranges of debtor id ("d-" + 32 hex digits:
# the first two digits pick the range; any other shape goes to the default partition), so
# that purging an erased key rewrites 1/64 of the keys, not all of them. The partitions are
# made by the migrations (`key_partitions`); ids compare byte-wise (COLLATE "C").
KEY_PARTITIONS = 64
DEFAULT_KEY_PARTITION = "debtor_keys_other"
debtor_keys = sa.Table(
    "debtor_keys", records,
    sa.Column("debtor_id", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
              primary_key=True),
    sa.Column("master_key_id", sa.Text, nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary),  # NULL once destroyed (crypto-shredded)
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("destroyed_at", sa.Text),
    postgresql_partition_by="RANGE (debtor_id)",
)

# One row (id 1): how many keys were destroyed so far. Every erasure moves it on in the
# transaction that destroys the key; vaults drop their cached keys when they see it move.
debtor_key_erasures = sa.Table(
    "debtor_key_erasures", records,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("generation", sa.BigInteger, nullable=False),
    sa.Column("erased_at", sa.Text),
    sa.CheckConstraint("id = 1", name="debtor_key_erasures_single_row"),
)

# Tamper evidence: one leaf per event, written with it (eventstore/recorders.py), and signed
# checkpoints of the Merkle tree over the leaves in position order (audit.py).
audit_leaves = sa.Table(
    "audit_leaves", records,
    sa.Column("position", Position, primary_key=True, autoincrement=False),
    sa.Column("leaf_hash", sa.LargeBinary, nullable=False),
)

audit_checkpoints = sa.Table(
    "audit_checkpoints", records,
    sa.Column("tree_size", Position, primary_key=True, autoincrement=False),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("last_position", Position, nullable=False),
    sa.Column("issued_at", sa.Text, nullable=False),
    sa.Column("key_id", sa.Text, nullable=False),
    sa.Column("signature", sa.LargeBinary, nullable=False),
)

# The outbox relay's position per Kafka topic: everything up to it is acknowledged.
relay_positions = sa.Table(
    "relay_positions", records,
    sa.Column("topic", sa.Text, primary_key=True),
    sa.Column("position", Position, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
)

# Every table, for the migrations (`casetrail migrate case`) and the check that they make
# exactly these (`casetrail.migrations.differences`).
metadata = sa.MetaData()
for _table in (*case_list_metadata.tables.values(), *records.tables.values()):
    _table.to_metadata(metadata)

_ROUTED_ID = re.compile(r"d-[0-9a-f]{2}")


def key_partition(debtor_id: str) -> int | None:
    """The key partition a debtor id falls in (None: the default partition)."""
    if _ROUTED_ID.match(debtor_id) is None:
        return None
    return int(debtor_id[2:4], 16) * KEY_PARTITIONS // 256


def key_partition_name(index: int) -> str:
    """The table name of a key partition."""
    return f"debtor_keys_p{index:02d}"


def key_range(index: int) -> tuple[str, str]:
    """The [low, high) debtor-id bounds of a key partition (compared byte-wise, COLLATE C)."""
    width = 256 // KEY_PARTITIONS
    low = f"d-{index * width:02x}"
    return low, (f"d-{(index + 1) * width:02x}" if index + 1 < KEY_PARTITIONS else "d-g")


def unnest(table: sa.Table, columns: Sequence[str]) -> sa.Select[Any]:
    """SELECT * FROM unnest(<an array per column>) (PostgreSQL): many rows as one statement
    with one parameter per column, bound by the column's name."""
    arrays = [sa.bindparam(c, type_=ARRAY(table.c[c].type)) for c in columns]
    return sa.select(sa.func.unnest(*arrays).table_valued(*columns).render_derived())
