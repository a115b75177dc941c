"""The case service's tables beside the event log: case summaries, placement receipts,
allocation rules and debtor data keys. Summaries and receipts are written inside the
transaction that stores the events (see recorders.py)."""

from __future__ import annotations

import hashlib
import json
import operator
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.persistence import StoredEvent
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateColumn, CreateIndex, CreateTable

from case_service.adapters.recorders import InTransactionWriter
from case_service.adapters.sql import SqlDatabase


@dataclass(frozen=True)
class CaseSummary:
    """One row of the case list: what filters and pages need, no PII."""

    case_id: str
    creditor_id: str
    account_ref: str
    placement_ref: str
    agency_id: str
    assigned_agency_id: str | None
    status: str
    bucket: str
    dpd: int
    currency: str
    placed_amount: str
    outstanding: str
    version: int
    placed_at: str
    term_end: str
    updated_at: str
    delinquent_since: str | None = None  # the creditor's day DPD counts from (ISO date)
    next_deadline_at: str | None = None  # UTC ISO instant; None: nothing pending


SUMMARY_COLUMNS = [
    "case_id", "creditor_id", "account_ref", "placement_ref", "agency_id", "assigned_agency_id",
    "status", "bucket", "dpd", "currency", "placed_amount", "outstanding", "version",
    "placed_at", "term_end", "updated_at", "delinquent_since", "next_deadline_at",
]
# PostgreSQL types of SUMMARY_COLUMNS + placed_position, for bulk inserts.
SUMMARY_TYPES = ["text"] * 8 + ["integer", "text", "text", "text", "integer", "text", "text",
                                "text", "text", "text", "bigint"]
summary_values = operator.attrgetter(*SUMMARY_COLUMNS)  # a summary's values in column order
# The case list's table, for CaseStore.create_schema (compiled to DDL for the dialect) and for
# the projection that rebuilds it (case_list.py).
case_summaries = sa.Table(
    "case_summaries", sa.MetaData(),
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
UPDATABLE = ["agency_id", "assigned_agency_id", "status", "outstanding", "version", "term_end",
             "updated_at", "delinquent_since", "next_deadline_at"]

# PostgreSQL keeps debtor keys in this many ranges of debtor id ("d-" + 32 hex digits: the
# first two digits pick the range); ids of any other shape go to a default partition.
KEY_PARTITIONS = 64
_ROUTED_ID = re.compile(r"d-[0-9a-f]{2}")


KEY_COLUMNS = ("master_key_id TEXT NOT NULL, wrapped_key {blob}, created_at TEXT NOT NULL, "
               "destroyed_at TEXT")


def _sqlite_key_table(name: str) -> str:
    """The key table's DDL on SQLite (also for the fresh copy an erasure makes)."""
    return (f"CREATE TABLE IF NOT EXISTS {name} (debtor_id TEXT PRIMARY KEY, "
            f"{KEY_COLUMNS.format(blob='BLOB')})")


def key_partition(debtor_id: str) -> int | None:
    """The key partition a debtor id falls in (None: the default partition)."""
    if _ROUTED_ID.match(debtor_id) is None:
        return None
    return int(debtor_id[2:4], 16) * KEY_PARTITIONS // 256


def _key_range(index: int) -> tuple[str, str]:
    """The [low, high) debtor-id bounds of a key partition (compared byte-wise, COLLATE C)."""
    width = 256 // KEY_PARTITIONS
    low = f"d-{index * width:02x}"
    return low, (f"d-{(index + 1) * width:02x}" if index + 1 < KEY_PARTITIONS else "d-g")


@dataclass(frozen=True)
class KeyPurge:
    """What `purge_key_copies` did: the table rewritten and how the log was flushed."""

    rewritten: str
    checkpoint: str
    waited_for: list[str] = field(default_factory=list)


class KeyPurgeIncomplete(RuntimeError):
    """A destroyed key's old bytes could not be purged from the database files in time."""


_DEAD_KEPT = re.compile(r"(\d+) dead row versions cannot be removed yet")


def _dead_rows_kept(details: Sequence[str]) -> int | None:
    """Dead row versions VACUUM (FULL, VERBOSE) had to keep, from its INFO details."""
    for detail in details:
        found = _DEAD_KEPT.search(detail)
        if found:
            return int(found.group(1))
    return None


def _old_snapshots(conn: Any) -> set[str]:
    """Sessions of this database holding a snapshot or a transaction id (for the message)."""
    rows = conn.execute(
        "SELECT pid, xact_start::text AS started FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)").fetchall()
    return {f"pid {r['pid']} since {r['started']}" for r in rows}


class CaseStore:
    """SQL access for everything the case service keeps besides events."""

    def __init__(self, db: SqlDatabase):
        self.db = db
        self.summaries = db.table("case_summaries")
        self.receipts = db.table("placement_receipts")
        self.rules = db.table("allocation_rules")
        self.keys = db.table("debtor_keys")
        self.key_erasures = db.table("debtor_key_erasures")
        self._keys_partitioned: bool | None = None
        self.relay_positions = db.table("relay_positions")

    # ------------------------------------------------------------------ schema

    def create_schema(self) -> None:
        """Create the tables if missing (run once by the migrate step, or by embedded mode)."""
        pg = self.db.dialect == "postgres"
        blob = "BYTEA" if pg else "BLOB"
        big = "BIGINT" if pg else "INTEGER"
        statements = []
        if pg:
            statements.append(f'CREATE SCHEMA IF NOT EXISTS "{self.db.schema}"')
        statements += self.summaries_ddl()
        statements += [
            f"""CREATE TABLE IF NOT EXISTS {self.receipts} (
                creditor_id TEXT NOT NULL, placement_ref TEXT NOT NULL,
                request_sha256 TEXT NOT NULL, received_at TEXT NOT NULL,
                acknowledged_at TEXT NOT NULL, receipt TEXT NOT NULL,
                PRIMARY KEY (creditor_id, placement_ref))""",
            f"""CREATE TABLE IF NOT EXISTS {self.rules} (
                creditor_id TEXT NOT NULL, version INTEGER NOT NULL, rules TEXT NOT NULL,
                created_at TEXT NOT NULL, actor TEXT NOT NULL,
                PRIMARY KEY (creditor_id, version))""",
            *self.keys_ddl(),
            # Tamper evidence: one leaf per event, written with it (recorders.py), and signed
            # checkpoints of the Merkle tree over the leaves in position order (audit.py).
            f"""CREATE TABLE IF NOT EXISTS {self.db.table("audit_leaves")} (
                position {big} PRIMARY KEY, leaf_hash {blob} NOT NULL)""",
            f"""CREATE TABLE IF NOT EXISTS {self.db.table("audit_checkpoints")} (
                tree_size {big} PRIMARY KEY, root {blob} NOT NULL, last_position {big} NOT NULL,
                issued_at TEXT NOT NULL, key_id TEXT NOT NULL, signature {blob} NOT NULL)""",
            f"""CREATE TABLE IF NOT EXISTS {self.relay_positions} (
                topic TEXT PRIMARY KEY, position {big} NOT NULL, updated_at TEXT NOT NULL)""",
        ]
        self.db.execute_script(statements)

    def keys_ddl(self) -> list[str]:
        """The debtor keys and the erasure generation, in this database's dialect. On
        PostgreSQL the key table is split into KEY_PARTITIONS ranges of debtor id, so that
        purging an erased key rewrites 1/64 of the keys, not all of them (`purge_key_copies`);
        a table made before that is converted in place."""
        generation = [
            f"""CREATE TABLE IF NOT EXISTS {self.key_erasures} (
                id INTEGER PRIMARY KEY CHECK (id = 1), generation BIGINT NOT NULL,
                erased_at TEXT)""",
            f"INSERT INTO {self.key_erasures} (id, generation) VALUES (1, 0) "
            "ON CONFLICT (id) DO NOTHING",
        ]
        if self.db.dialect != "postgres":
            return [_sqlite_key_table(self.keys), *generation]
        statements = []
        converting = self._key_table_kind() == "r"  # made before the table was partitioned
        legacy = "debtor_keys_unpartitioned"
        if converting:
            statements += [f"ALTER TABLE {self.keys} RENAME TO {legacy}",
                           f"ALTER INDEX {self.db.table('debtor_keys_pkey')} "
                           f"RENAME TO {legacy}_pkey"]
        statements.append(
            f'CREATE TABLE IF NOT EXISTS {self.keys} (debtor_id TEXT COLLATE "C" PRIMARY KEY, '
            f"{KEY_COLUMNS.format(blob='BYTEA')}) PARTITION BY RANGE (debtor_id)")
        for index in range(KEY_PARTITIONS):
            low, high = _key_range(index)
            statements.append(
                f"CREATE TABLE IF NOT EXISTS {self._key_partition_table(index)} PARTITION OF "
                f"{self.keys} FOR VALUES FROM ('{low}') TO ('{high}')")
        statements.append(f"CREATE TABLE IF NOT EXISTS {self.db.table('debtor_keys_other')} "
                          f"PARTITION OF {self.keys} DEFAULT")
        if converting:
            statements += [f"INSERT INTO {self.keys} SELECT debtor_id, master_key_id, "
                           f"wrapped_key, created_at, destroyed_at FROM "
                           f"{self.db.table(legacy)}",
                           f"DROP TABLE {self.db.table(legacy)}"]
        return [*statements, *generation]

    def _key_table_kind(self) -> str | None:
        """pg_class.relkind of the key table ('p' partitioned, 'r' plain), None if absent."""
        with self.db.transaction() as cur:
            row = cur.execute("SELECT relkind::text AS kind FROM pg_class "
                              "WHERE oid = to_regclass(%s)", [self.keys]).fetchone()
        return None if row is None else str(row["kind"])

    def _key_partition_table(self, index: int) -> str:
        return self.db.table(f"debtor_keys_p{index:02d}")

    def summaries_ddl(self) -> list[str]:
        """CREATE TABLE and CREATE INDEX (if not there yet) of `case_summaries`, in the
        dialect and schema of this database; columns added since an existing table was made
        are added to it (NULL until `casetrail projections rebuild case-summaries --swap`)."""
        dialect = postgresql.dialect() if self.db.dialect == "postgres" else sqlite.dialect()
        table = case_summaries if self.db.schema is None else case_summaries.to_metadata(
            sa.MetaData(), schema=self.db.schema)
        present = self._columns("case_summaries")
        added = [f"ALTER TABLE {self.summaries} ADD COLUMN "
                 f"{CreateColumn(column).compile(dialect=dialect)}"
                 for column in table.columns if present and column.name not in present]
        return [str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)), *added, *(
            str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect))
            for index in sorted(table.indexes, key=lambda i: str(i.name)))]

    def _columns(self, table: str) -> set[str]:
        """The columns an existing table has (empty if it does not exist yet)."""
        with self.db.transaction() as cur:
            if self.db.dialect == "postgres":
                rows = cur.execute(
                    "SELECT column_name AS name FROM information_schema.columns WHERE "
                    "table_schema = %s AND table_name = %s", [self.db.schema or "public",
                                                              table]).fetchall()
            else:
                rows = cur.execute(f"SELECT name FROM pragma_table_info('{table}')").fetchall()
        return {str(r["name"]) for r in rows}

    # ------------------------------------------------------------------ in-transaction writes

    def writer(self, summaries: Sequence[CaseSummary],
               receipt: dict[str, Any] | None = None) -> InTransactionWriter:
        """A callback that upserts summaries (and a receipt) inside the event transaction."""

        def write(raw_cursor: Any, stored: Sequence[StoredEvent], ids: Sequence[int]) -> None:
            cur = self.db.wrap(raw_cursor)
            placed_at_position = {
                str(e.originator_id): position for e, position in zip(stored, ids, strict=False)
                if e.originator_version == 1
            }
            updates = ", ".join(f"{c} = excluded.{c}" for c in UPDATABLE)
            cur.insert_rows(
                self.summaries, [*SUMMARY_COLUMNS, "placed_position"], SUMMARY_TYPES,
                [(*summary_values(s), placed_at_position.get(s.case_id, 0))
                 for s in summaries],
                f"ON CONFLICT (case_id) DO UPDATE SET {updates}",
            )
            if receipt is not None:
                cur.execute(
                    f"INSERT INTO {self.receipts} (creditor_id, placement_ref, request_sha256, "
                    "received_at, acknowledged_at, receipt) VALUES (%s, %s, %s, %s, %s, %s)",
                    [receipt["creditor_id"], receipt["placement_ref"], receipt["request_sha256"],
                     receipt["received_at"], receipt["acknowledged_at"], json.dumps(receipt)],
                )

        return write

    # ------------------------------------------------------------------ reads

    def existing_case_ids(self, case_ids: Sequence[str]) -> set[str]:
        """Which of these cases already exist."""
        if not case_ids:
            return set()
        found: set[str] = set()
        with self.db.transaction() as cur:
            for start in range(0, len(case_ids), 5000):
                clause, params = self.db.any_of("case_id", case_ids[start:start + 5000])
                rows = cur.execute(
                    f"SELECT case_id FROM {self.summaries} WHERE {clause}", params).fetchall()
                found.update(r["case_id"] for r in rows)
        return found

    def receipt(self, creditor_id: str, placement_ref: str) -> dict[str, Any] | None:
        """A stored placement receipt, if this placement was taken before."""
        with self.db.transaction() as cur:
            row = cur.execute(
                f"SELECT receipt FROM {self.receipts} WHERE creditor_id = %s "
                "AND placement_ref = %s", [creditor_id, placement_ref]).fetchone()
        return json.loads(row["receipt"]) if row else None

    def list_summaries(self, *, filters: dict[str, str | None], after: int, limit: int,
                       owing: bool | None = None,
                       delinquent_since: tuple[str | None, str | None] = (None, None)
                       ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of summaries in placement order, and the cursor for the next page.
        `owing`: only cases with something (True) or nothing (False) outstanding;
        `delinquent_since`: only cases delinquent since a day in [first, last] (ISO dates,
        either end open)."""
        where = ["placed_position > %s"]
        params: list[Any] = [after]
        for column, value in filters.items():
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)
        if owing is not None:
            amount = ("CAST(outstanding AS NUMERIC)" if self.db.dialect == "postgres"
                      else "CAST(outstanding AS REAL)")
            where.append(f"{amount} > 0" if owing else f"{amount} <= 0")
        first, last = delinquent_since
        if first is not None:
            where.append("delinquent_since >= %s")
            params.append(first)
        if last is not None:
            where.append("delinquent_since <= %s")
            params.append(last)
        params.append(limit + 1)
        with self.db.transaction() as cur:
            rows = cur.execute(
                f"SELECT * FROM {self.summaries} WHERE {' AND '.join(where)} "
                "ORDER BY placed_position LIMIT %s", params).fetchall()
        next_cursor = rows[limit - 1]["placed_position"] if len(rows) > limit else None
        return rows[:limit], next_cursor

    def due_cases(self, now: datetime, limit: int) -> list[str]:
        """Cases whose next deadline is at or before `now`, earliest first."""
        with self.db.transaction() as cur:
            rows = cur.execute(
                f"SELECT case_id FROM {self.summaries} WHERE next_deadline_at <= %s "
                "ORDER BY next_deadline_at, case_id LIMIT %s",
                [now.astimezone(UTC).isoformat(), limit]).fetchall()
        return [str(r["case_id"]) for r in rows]

    def deadline_of(self, case_id: UUID) -> datetime | None:
        """A case's next deadline, as the case list holds it."""
        with self.db.transaction() as cur:
            row = cur.execute(f"SELECT next_deadline_at FROM {self.summaries} WHERE case_id = %s",
                              [str(case_id)]).fetchone()
        value = None if row is None else row["next_deadline_at"]
        return None if value is None else datetime.fromisoformat(value)

    def positions(self, case_id: str) -> dict[int, int]:
        """Global positions of a case's events, by version."""
        column = "notification_id" if self.db.dialect == "postgres" else "rowid"
        ident = case_id if self.db.dialect == "postgres" else case_id.replace("-", "")
        table = self.db.table(self.db.events_table)
        with self.db.transaction() as cur:
            rows = cur.execute(
                f"SELECT originator_version AS v, {column} AS p FROM {table} "
                "WHERE originator_id = %s", [ident]).fetchall()
        return {int(r["v"]): int(r["p"]) for r in rows}

    # ------------------------------------------------------------------ allocation rules

    def current_rules(self, creditor_id: str) -> dict[str, Any] | None:
        """The newest allocation rules of a creditor."""
        with self.db.transaction() as cur:
            row = cur.execute(
                f"SELECT rules FROM {self.rules} WHERE creditor_id = %s "
                "ORDER BY version DESC LIMIT 1", [creditor_id]).fetchone()
        return json.loads(row["rules"]) if row else None

    def add_rules(self, creditor_id: str, rules: dict[str, Any], created_at: str,
                  actor: str) -> None:
        """Store a new version of a creditor's rules (the version number is unique)."""
        with self.db.transaction() as cur:
            cur.execute(
                f"INSERT INTO {self.rules} (creditor_id, version, rules, created_at, actor) "
                "VALUES (%s, %s, %s, %s, %s)",
                [creditor_id, rules["version"], json.dumps(rules), created_at, actor])

    # ------------------------------------------------------------------ debtor keys

    def wrapped_keys(self, debtor_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Stored wrapped keys by debtor id (destroyed keys have wrapped_key None)."""
        result: dict[str, dict[str, Any]] = {}
        with self.db.transaction() as cur:
            for table, ids in self._key_tables(debtor_ids):
                for start in range(0, len(ids), 5000):
                    clause, params = self.db.any_of("debtor_id", ids[start:start + 5000])
                    for row in cur.execute(
                            f"SELECT debtor_id, master_key_id, wrapped_key, destroyed_at "
                            f"FROM {table} WHERE {clause}", params).fetchall():
                        wrapped = row["wrapped_key"]
                        row["wrapped_key"] = bytes(wrapped) if wrapped is not None else None
                        result[row["debtor_id"]] = row
        return result

    def _key_tables(self, debtor_ids: Sequence[str]) -> list[tuple[str, list[str]]]:
        """Where to look these debtors up: (table, ids). Long lists on a partitioned key table
        go straight to each partition: PostgreSQL's planner would otherwise prune partitions
        element by element (5,000 ids: 240 ms instead of 50)."""
        if len(debtor_ids) <= 64 or not self.keys_partitioned():
            return [(self.keys, list(debtor_ids))]
        groups: dict[str, list[str]] = {}
        for debtor_id in debtor_ids:
            index = key_partition(debtor_id)
            table = self.keys if index is None else self._key_partition_table(index)
            groups.setdefault(table, []).append(debtor_id)
        return sorted(groups.items())

    def keys_partitioned(self) -> bool:
        """Whether the key table is partitioned (PostgreSQL, after `create_schema`)."""
        if self._keys_partitioned is None:
            self._keys_partitioned = (self.db.dialect == "postgres"
                                      and self._key_table_kind() == "p")
        return self._keys_partitioned

    def insert_keys(self, rows: Sequence[tuple[str, str, bytes, str]]) -> set[str] | None:
        """Insert new wrapped keys; a concurrent writer's key for the same debtor wins.
        Returns the debtors whose key this call stored (None: not known, SQLite when some
        already existed)."""
        with self.db.transaction() as cur:
            cur.insert_rows(self.keys, ["debtor_id", "master_key_id", "wrapped_key", "created_at"],
                            ["text", "text", "bytea", "text"],
                            [(d, k, self.db.blob(w), c) for d, k, w, c in rows],
                            "ON CONFLICT (debtor_id) DO NOTHING"
                            + (" RETURNING debtor_id" if self.db.dialect == "postgres" else ""))
            if self.db.dialect == "postgres":
                return {row["debtor_id"] for row in cur.fetchall()}
            return {d for d, *_ in rows} if cur.rowcount == len(rows) else None

    def destroy_key(self, debtor_id: str, destroyed_at: str) -> bool:
        """Crypto-shred: forget a debtor's data key for good, and move the erasure generation
        on in the same transaction (every vault drops its cached keys when it sees it move).
        The row stays, with no key, so the key is never created again. Returns False when
        the debtor has no live key (unknown, or erased already)."""
        with self.db.transaction() as cur:
            cur.execute(
                f"UPDATE {self.keys} SET wrapped_key = NULL, destroyed_at = %s "
                "WHERE debtor_id = %s AND destroyed_at IS NULL", [destroyed_at, debtor_id])
            if cur.rowcount == 0:
                return False
            cur.execute(f"UPDATE {self.key_erasures} SET generation = generation + 1, "
                        "erased_at = %s WHERE id = 1", [destroyed_at])
            return True

    def key_destroyed(self, debtor_id: str) -> bool:
        """Whether this debtor's key was destroyed (at any time)."""
        row = self.wrapped_keys([debtor_id]).get(debtor_id)
        return row is not None and row["destroyed_at"] is not None

    def erasure_generation(self) -> int:
        """How many keys were destroyed so far: it only moves on erasure."""
        with self.db.transaction() as cur:
            row = cur.execute(f"SELECT generation FROM {self.key_erasures} WHERE id = 1"
                              ).fetchone()
        return int(row["generation"]) if row else 0

    def purge_key_copies(self, debtor_id: str, *, timeout: float = 60.0) -> KeyPurge:
        """Leave no copy of a destroyed key's bytes in the database files.

        SQLite: with `secure_delete` on, the key table is copied afresh and the old one
        dropped (its pages zeroed, so remnants left by earlier page splits or re-wraps go
        too), then the WAL is checkpointed and truncated to zero bytes.
        PostgreSQL: the key's partition is rewritten (`VACUUM (FULL)`) until the server
        reports no dead row version it had to keep (an older snapshot still running keeps
        one: we wait for it, up to `timeout`), then a CHECKPOINT if this role may run one.
        What remains outside the data files (WAL segments, archives, backups) is in
        docs/operations.md. Raises KeyPurgeIncomplete when it cannot finish in time."""
        if self.db.dialect == "postgres":
            return self._purge_postgres(debtor_id, timeout)
        return self._purge_sqlite(timeout)

    def _purge_sqlite(self, timeout: float) -> KeyPurge:
        datastore = self.db.recorder.datastore
        temporary = "debtor_keys_rewrite"
        with datastore.get_connection(commit=True) as conn:
            conn.cursor().execute("PRAGMA secure_delete = ON")
            with conn.transaction(commit=True) as cur:
                cur.execute(f"DROP TABLE IF EXISTS {temporary}")
                cur.execute(_sqlite_key_table(temporary))
                cur.execute(f"INSERT INTO {temporary} SELECT debtor_id, master_key_id, "
                            f"wrapped_key, created_at, destroyed_at FROM {self.keys} "
                            "ORDER BY debtor_id")
                cur.execute(f"DROP TABLE {self.keys}")
                cur.execute(f"ALTER TABLE {temporary} RENAME TO {self.keys}")
            deadline = time.monotonic() + timeout
            while True:
                cursor = conn.cursor()
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy = cursor.fetchone()[0]
                if not busy:
                    return KeyPurge(rewritten=self.keys, checkpoint="wal truncated")
                if time.monotonic() > deadline:
                    raise KeyPurgeIncomplete(
                        "the key is destroyed, but another connection kept the write-ahead "
                        f"log (case.db-wal) from being truncated for {timeout:.0f} s; it "
                        "may still hold the old key: run the erasure again")
                time.sleep(0.05)

    def _purge_postgres(self, debtor_id: str, timeout: float) -> KeyPurge:
        with self.db.transaction() as cur:
            row = cur.execute(f"SELECT tableoid::regclass::text AS rel FROM {self.keys} "
                              "WHERE debtor_id = %s", [debtor_id]).fetchone()
        relation = self.keys if row is None else str(row["rel"])
        deadline = time.monotonic() + timeout
        waited_for: set[str] = set()
        with self.db.recorder.datastore.get_connection() as conn:
            notices: list[str] = []

            def keep(diagnostic: Any) -> None:  # a Diagnostic is valid only in its callback
                notices.append(diagnostic.message_detail or "")

            conn.add_notice_handler(keep)
            try:
                # Queue behind a reader for at most 2 s: a waiting ACCESS EXCLUSIVE lock
                # would stop every later reader of the keys meanwhile.
                conn.execute("SET lock_timeout = '2s'")
                while True:
                    notices.clear()
                    try:
                        conn.execute(f"VACUUM (FULL, VERBOSE) {relation}")
                    except Exception as exc:  # lock_timeout: a long reader; try again
                        if "lock timeout" not in str(exc) or time.monotonic() > deadline:
                            raise
                        continue
                    kept = _dead_rows_kept(notices)
                    if kept == 0:
                        break
                    if kept is None:
                        raise KeyPurgeIncomplete(
                            f"VACUUM (FULL) of {relation} did not report how many dead row "
                            "versions it kept (lc_messages must be English for this check)")
                    if time.monotonic() > deadline:
                        raise KeyPurgeIncomplete(
                            f"the key is destroyed, but transactions older than the erasure "
                            f"({', '.join(sorted(waited_for)) or 'unknown'}) still see the "
                            f"old row version in {relation} after {timeout:.0f} s; run the "
                            "erasure again once they end")
                    waited_for |= _old_snapshots(conn)
                    time.sleep(0.2)
            finally:
                conn.execute("RESET lock_timeout")
                conn.remove_notice_handler(keep)
            try:
                conn.execute("CHECKPOINT")
                checkpoint = "checkpoint done"
            except Exception as exc:  # needs pg_checkpoint (15+) or superuser
                if "permission" not in str(exc).lower() and "privilege" not in str(exc).lower():
                    raise
                checkpoint = "checkpoint not permitted: the next automatic one does it"
        return KeyPurge(rewritten=relation, checkpoint=checkpoint,
                        waited_for=sorted(waited_for))

    def keys_to_rewrap(self, current_key_id: str, after: str, limit: int
                       ) -> list[tuple[str, str, bytes]]:
        """Live data keys not wrapped under the current master key, by debtor id after
        `after`: (debtor id, master key id, wrapped key)."""
        with self.db.transaction() as cur:
            rows = cur.execute(
                f"SELECT debtor_id, master_key_id, wrapped_key FROM {self.keys} "
                "WHERE debtor_id > %s AND master_key_id <> %s AND wrapped_key IS NOT NULL "
                "ORDER BY debtor_id LIMIT %s", [after, current_key_id, limit]).fetchall()
        return [(r["debtor_id"], r["master_key_id"], bytes(r["wrapped_key"])) for r in rows]

    def rewrap_keys(self, rows: Sequence[tuple[str, str, bytes, str]]) -> int:
        """Store re-wrapped data keys, (debtor id, old key id, new wrapped key, new key id),
        in one transaction. A key destroyed or re-wrapped meanwhile is left alone (an erasure
        is never undone). Returns how many were stored."""
        stored = 0
        with self.db.transaction() as cur:
            for debtor_id, old_key_id, wrapped, key_id in rows:
                cur.execute(
                    f"UPDATE {self.keys} SET wrapped_key = %s, master_key_id = %s "
                    "WHERE debtor_id = %s AND master_key_id = %s AND wrapped_key IS NOT NULL",
                    [self.db.blob(wrapped), key_id, debtor_id, old_key_id])
                stored += cur.rowcount
        return stored

    # ------------------------------------------------------------------ outbox relay

    def relay_position(self, topic: str) -> int:
        """The last log position the relay saw acknowledged by the broker (0: none)."""
        with self.db.transaction() as cur:
            row = cur.execute(f"SELECT position FROM {self.relay_positions} WHERE topic = %s",
                              [topic]).fetchone()
        return int(row["position"]) if row else 0

    def save_relay_position(self, topic: str, position: int, saved_at: str) -> None:
        """Record that everything up to `position` is acknowledged on `topic`."""
        with self.db.transaction() as cur:
            cur.execute(
                f"INSERT INTO {self.relay_positions} (topic, position, updated_at) "
                "VALUES (%s, %s, %s) ON CONFLICT (topic) DO UPDATE SET "
                "position = excluded.position, updated_at = excluded.updated_at",
                [topic, position, saved_at])

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """Hold a cluster-wide lock (PostgreSQL advisory lock) while inside; yields whether it
        was acquired. SQLite is single-host, so the lock is always granted there."""
        if self.db.dialect != "postgres":
            yield True
            return
        with self.db.recorder.datastore.get_connection() as conn:
            key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
            got = bool(conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", [key])
                       .fetchone()["ok"])
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute("SELECT pg_advisory_unlock(%s)", [key])
                    conn.commit()
