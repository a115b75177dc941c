"""Debtors' data keys, wrapped under the master key (SQLAlchemy Core on the service's engine),
the erasure generation, and the purge that leaves no copy of a destroyed key in the database
files."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg.errors
import sqlalchemy as sa
from casetrail.projections.store import among
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateTable

from case_service.adapters.case_store import LOOKUP_CHUNK
from case_service.adapters.eventstore.statements import execute_arrays
from case_service.adapters.tables import (
    DEFAULT_KEY_PARTITION,
    debtor_key_erasures,
    debtor_keys,
    key_partition,
    key_partition_name,
    unnest,
)

_KEY_COLUMNS = [c.name for c in debtor_keys.columns]
_NEW_KEY = ("debtor_id", "master_key_id", "wrapped_key", "created_at")
# New keys, a concurrent writer's key for the same debtor winning (PostgreSQL).
_INSERT_KEYS = pg_insert(debtor_keys).from_select(
    _NEW_KEY, unnest(debtor_keys, _NEW_KEY)).on_conflict_do_nothing(
    index_elements=[debtor_keys.c.debtor_id]).returning(debtor_keys.c.debtor_id)


# A partition of the key table, for reads that go to one straight (PostgreSQL).

def _partition(name: str) -> sa.TableClause:
    return sa.table(name, *(sa.column(c.name, c.type) for c in debtor_keys.columns))


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


def _old_snapshots(conn: Connection) -> set[str]:
    """Sessions of this database holding a snapshot or a transaction id (for the message)."""
    rows = conn.execute(sa.text(
        "SELECT pid, xact_start::text AS started FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)")).mappings()
    return {f"pid {r['pid']} since {r['started']}" for r in rows}


class DebtorKeys:
    """Wrapped data keys by debtor id: created once, re-wrapped on master key rotation,
    destroyed on erasure (the row stays, without a key, so the key is never made again)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self._keys_partitioned: bool | None = None

    # ------------------------------------------------------------------ reads

    def wrapped_keys(self, debtor_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Stored wrapped keys by debtor id (destroyed keys have wrapped_key None)."""
        result: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for table, ids in self._key_tables(debtor_ids):
                for start in range(0, len(ids), LOOKUP_CHUNK):
                    query = sa.select(table.c.debtor_id, table.c.master_key_id,
                                      table.c.wrapped_key, table.c.destroyed_at).where(
                        among(conn, table.c.debtor_id, ids[start:start + LOOKUP_CHUNK]))
                    for row in conn.execute(query).mappings():
                        found = dict(row)
                        wrapped = found["wrapped_key"]
                        found["wrapped_key"] = bytes(wrapped) if wrapped is not None else None
                        result[found["debtor_id"]] = found
        return result

    def _key_tables(self, debtor_ids: Sequence[str]
                    ) -> list[tuple[sa.Table | sa.TableClause, list[str]]]:
        """Where to look these debtors up: (table, ids). Long lists on a partitioned key table
        go straight to each partition: PostgreSQL's planner would otherwise prune partitions
        element by element (5,000 ids: 240 ms instead of 50)."""
        if len(debtor_ids) <= 64 or not self.keys_partitioned():
            return [(debtor_keys, list(debtor_ids))]
        groups: dict[str, list[str]] = {}
        for debtor_id in debtor_ids:
            index = key_partition(debtor_id)
            name = DEFAULT_KEY_PARTITION if index is None else key_partition_name(index)
            groups.setdefault(name, []).append(debtor_id)
        return [(_partition(name), ids) for name, ids in sorted(groups.items())]

    def keys_partitioned(self) -> bool:
        """Whether the key table is partitioned (PostgreSQL, once migrated)."""
        if self._keys_partitioned is None:
            self._keys_partitioned = self.postgres and self._key_table_kind() == "p"
        return self._keys_partitioned

    def _key_table_kind(self) -> str | None:
        """pg_class.relkind of the key table ('p' partitioned, 'r' plain), None if absent."""
        with self.engine.connect() as conn:
            kind = conn.execute(sa.text("SELECT relkind::text FROM pg_class "
                                        "WHERE oid = to_regclass('debtor_keys')")).scalar()
        return None if kind is None else str(kind)

    def key_destroyed(self, debtor_id: str) -> bool:
        """Whether this debtor's key was destroyed (at any time)."""
        row = self.wrapped_keys([debtor_id]).get(debtor_id)
        return row is not None and row["destroyed_at"] is not None

    def erasure_generation(self) -> int:
        """How many keys were destroyed so far: it only moves on erasure."""
        t = debtor_key_erasures
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(t.c.generation).where(t.c.id == 1)).scalar()
        return int(value or 0)

    def keys_to_rewrap(self, current_key_id: str, after: str, limit: int
                       ) -> list[tuple[str, str, bytes]]:
        """Live data keys not wrapped under the current master key, by debtor id after
        `after`: (debtor id, master key id, wrapped key)."""
        t = debtor_keys
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.c.debtor_id, t.c.master_key_id, t.c.wrapped_key)
                .where(t.c.debtor_id > after, t.c.master_key_id != current_key_id,
                       t.c.wrapped_key.is_not(None))
                .order_by(t.c.debtor_id).limit(limit)).all()
        return [(r.debtor_id, r.master_key_id, bytes(r.wrapped_key)) for r in rows]

    # ------------------------------------------------------------------ writes

    def insert_keys(self, rows: Sequence[tuple[str, str, bytes, str]]) -> set[str]:
        """Insert new wrapped keys, (debtor id, master key id, wrapped key, created at); a
        concurrent writer's key for the same debtor wins. Returns the debtors whose key this
        call stored."""
        if not rows:
            return set()
        t = debtor_keys
        with self.engine.begin() as conn:
            if self.postgres:  # one statement, an array per column (a batch is 10,000 keys)
                return set(execute_arrays(conn, _INSERT_KEYS, _NEW_KEY, rows).scalars())
            insert = sqlite_insert(t).on_conflict_do_nothing(index_elements=[t.c.debtor_id])
            return set(conn.execute(insert.returning(t.c.debtor_id), [
                dict(zip(_NEW_KEY, row, strict=True)) for row in rows]).scalars())

    def destroy_key(self, debtor_id: str, destroyed_at: str) -> bool:
        """Crypto-shred: forget a debtor's data key for good, and move the erasure generation
        on in the same transaction (every vault drops its cached keys when it sees it move).
        The row stays, with no key, so the key is never created again. Returns False when
        the debtor has no live key (unknown, or erased already)."""
        t, erasures = debtor_keys, debtor_key_erasures
        with self.engine.begin() as conn:
            destroyed = conn.execute(
                t.update().where(t.c.debtor_id == debtor_id, t.c.destroyed_at.is_(None))
                .values(wrapped_key=None, destroyed_at=destroyed_at)).rowcount
            if destroyed == 0:
                return False
            conn.execute(erasures.update().where(erasures.c.id == 1).values(
                generation=erasures.c.generation + 1, erased_at=destroyed_at))
            return True

    def rewrap_keys(self, rows: Sequence[tuple[str, str, bytes, str]]) -> int:
        """Store re-wrapped data keys, (debtor id, old key id, new wrapped key, new key id),
        in one transaction. A key destroyed or re-wrapped meanwhile is left alone (an erasure
        is never undone). Returns how many were stored."""
        t = debtor_keys
        stored = 0
        with self.engine.begin() as conn:
            for debtor_id, old_key_id, wrapped, key_id in rows:
                stored += conn.execute(
                    t.update().where(t.c.debtor_id == debtor_id,
                                     t.c.master_key_id == old_key_id,
                                     t.c.wrapped_key.is_not(None))
                    .values(wrapped_key=wrapped, master_key_id=key_id)).rowcount
        return stored

    # ------------------------------------------------------------------ purge

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
        if self.postgres:
            return self._purge_postgres(debtor_id, timeout)
        return self._purge_sqlite(timeout)

    def _purge_sqlite(self, timeout: float) -> KeyPurge:
        rewrite = debtor_keys.to_metadata(sa.MetaData(), name="debtor_keys_rewrite")
        dbapi: Any = self.engine.raw_connection()  # autocommit: BEGIN and COMMIT are ours
        try:
            cursor = dbapi.cursor()
            cursor.execute("PRAGMA secure_delete = ON")
            cursor.execute("BEGIN IMMEDIATE")
            try:
                cursor.execute(f"DROP TABLE IF EXISTS {rewrite.name}")
                cursor.execute(str(CreateTable(rewrite).compile(dialect=self.engine.dialect)))
                cursor.execute(f"INSERT INTO {rewrite.name} ({', '.join(_KEY_COLUMNS)}) SELECT "
                               f"{', '.join(_KEY_COLUMNS)} FROM {debtor_keys.name} "
                               "ORDER BY debtor_id")
                cursor.execute(f"DROP TABLE {debtor_keys.name}")
                cursor.execute(f"ALTER TABLE {rewrite.name} RENAME TO {debtor_keys.name}")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
            deadline = time.monotonic() + timeout
            while True:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy = cursor.fetchone()[0]
                if not busy:
                    return KeyPurge(rewritten=debtor_keys.name, checkpoint="wal truncated")
                if time.monotonic() > deadline:
                    raise KeyPurgeIncomplete(
                        "the key is destroyed, but another connection kept the write-ahead "
                        f"log (case.db-wal) from being truncated for {timeout:.0f} s; it "
                        "may still hold the old key: run the erasure again")
                time.sleep(0.05)
        finally:
            dbapi.close()

    def _purge_postgres(self, debtor_id: str, timeout: float) -> KeyPurge:
        with self.engine.connect() as conn:
            relation = conn.execute(sa.select(sa.literal_column("tableoid::regclass::text"))
                                    .select_from(debtor_keys)
                                    .where(debtor_keys.c.debtor_id == debtor_id)).scalar()
        relation = debtor_keys.name if relation is None else str(relation)
        deadline = time.monotonic() + timeout
        waited_for: set[str] = set()
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            dbapi: Any = conn.connection.dbapi_connection
            notices: list[str] = []

            def keep(diagnostic: Any) -> None:  # a Diagnostic is valid only in its callback
                notices.append(diagnostic.message_detail or "")

            dbapi.add_notice_handler(keep)
            try:
                # Queue behind a reader for at most 2 s: a waiting ACCESS EXCLUSIVE lock
                # would stop every later reader of the keys meanwhile.
                conn.exec_driver_sql("SET lock_timeout = '2s'")
                while True:
                    notices.clear()
                    try:
                        conn.exec_driver_sql(f"VACUUM (FULL, VERBOSE) {relation}")
                    except sa.exc.OperationalError as exc:  # lock_timeout: a long reader
                        if not isinstance(exc.orig, psycopg.errors.LockNotAvailable) \
                                or time.monotonic() > deadline:
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
                conn.exec_driver_sql("RESET lock_timeout")
                dbapi.remove_notice_handler(keep)
            try:
                conn.exec_driver_sql("CHECKPOINT")
                checkpoint = "checkpoint done"
            except sa.exc.ProgrammingError as exc:  # needs pg_checkpoint (15+) or superuser
                if not isinstance(exc.orig, psycopg.errors.InsufficientPrivilege):
                    raise
                checkpoint = "checkpoint not permitted: the next automatic one does it"
        return KeyPurge(rewritten=relation, checkpoint=checkpoint,
                        waited_for=sorted(waited_for))
