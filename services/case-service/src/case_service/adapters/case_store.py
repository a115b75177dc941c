"""The case service's tables beside the event log: case summaries, placement receipts,
allocation rules and debtor data keys. Summaries and receipts are written inside the
transaction that stores the events (see recorders.py)."""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from eventsourcing.persistence import StoredEvent
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

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


SUMMARY_COLUMNS = [
    "case_id", "creditor_id", "account_ref", "placement_ref", "agency_id", "assigned_agency_id",
    "status", "bucket", "dpd", "currency", "placed_amount", "outstanding", "version",
    "placed_at", "term_end", "updated_at",
]
# PostgreSQL types of SUMMARY_COLUMNS + placed_position, for bulk inserts.
SUMMARY_TYPES = ["text"] * 8 + ["integer", "text", "text", "text", "integer", "text", "text",
                                "text", "bigint"]
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
    sa.Index("case_summaries_creditor", "creditor_id", "placed_position"),
    sa.Index("case_summaries_agency", "assigned_agency_id", "placed_position"),
    sa.Index("case_summaries_position", "placed_position"),
)
UPDATABLE = ["agency_id", "assigned_agency_id", "status", "outstanding", "version", "term_end",
             "updated_at"]


class CaseStore:
    """SQL access for everything the case service keeps besides events."""

    def __init__(self, db: SqlDatabase):
        self.db = db
        self.summaries = db.table("case_summaries")
        self.receipts = db.table("placement_receipts")
        self.rules = db.table("allocation_rules")
        self.keys = db.table("debtor_keys")
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
            f"""CREATE TABLE IF NOT EXISTS {self.keys} (
                debtor_id TEXT PRIMARY KEY, master_key_id TEXT NOT NULL, wrapped_key {blob},
                created_at TEXT NOT NULL, destroyed_at TEXT)""",
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

    def summaries_ddl(self) -> list[str]:
        """CREATE TABLE and CREATE INDEX (if not there yet) of `case_summaries`, in the
        dialect and schema of this database."""
        dialect = postgresql.dialect() if self.db.dialect == "postgres" else sqlite.dialect()
        table = case_summaries if self.db.schema is None else case_summaries.to_metadata(
            sa.MetaData(), schema=self.db.schema)
        return [str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)), *(
            str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect))
            for index in sorted(table.indexes, key=lambda i: str(i.name)))]

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

    def list_summaries(self, *, filters: dict[str, str | None], after: int, limit: int
                       ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of summaries in placement order, and the cursor for the next page."""
        where = ["placed_position > %s"]
        params: list[Any] = [after]
        for column, value in filters.items():
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)
        params.append(limit + 1)
        with self.db.transaction() as cur:
            rows = cur.execute(
                f"SELECT * FROM {self.summaries} WHERE {' AND '.join(where)} "
                "ORDER BY placed_position LIMIT %s", params).fetchall()
        next_cursor = rows[limit - 1]["placed_position"] if len(rows) > limit else None
        return rows[:limit], next_cursor

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
            for start in range(0, len(debtor_ids), 5000):
                clause, params = self.db.any_of("debtor_id", debtor_ids[start:start + 5000])
                for row in cur.execute(
                        f"SELECT debtor_id, master_key_id, wrapped_key, destroyed_at "
                        f"FROM {self.keys} WHERE {clause}", params).fetchall():
                    wrapped = row["wrapped_key"]
                    row["wrapped_key"] = bytes(wrapped) if wrapped is not None else None
                    result[row["debtor_id"]] = row
        return result

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
        """Crypto-shred: forget a debtor's data key for good."""
        with self.db.transaction() as cur:
            cur.execute(
                f"UPDATE {self.keys} SET wrapped_key = NULL, destroyed_at = %s "
                "WHERE debtor_id = %s AND destroyed_at IS NULL", [destroyed_at, debtor_id])
            return cur.rowcount > 0

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
