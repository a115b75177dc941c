"""SQL access to the agency registry (tables agency_profiles, agency_collectors,
agency_qualifications): versions appended, never updated. Each table is keyed by its own
columns and a version number; a version another writer took first is AlreadyStored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from case_service.adapters.case_store import AlreadyStored
from case_service.adapters.tables import (
    agency_collectors,
    agency_profiles,
    agency_qualifications,
)


@dataclass(frozen=True)
class StoredVersion:
    """One version of a registry record as stored."""

    keys: dict[str, str]
    version: int
    record: dict[str, Any]
    created_at: str
    actor: str


class VersionedRecords:
    """The versions of one registry table; `keys` name its key columns, in order."""

    def __init__(self, engine: Engine, table: sa.Table, keys: tuple[str, ...]):
        self.engine, self.table, self.keys = engine, table, keys

    def _where(self, query: Any, keys: dict[str, str]) -> Any:
        for column, value in keys.items():
            query = query.where(self.table.c[column] == value)
        return query

    def latest(self, **keys: str) -> StoredVersion | None:
        """The newest version of a record, or None."""
        query = self._where(sa.select(self.table), keys)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(self.table.c.version.desc()).limit(1)).first()
        return None if row is None else self._version(row)

    def versions(self, **keys: str) -> list[StoredVersion]:
        """Every version of a record (or of every record under a partial key), oldest first."""
        t = self.table
        query = self._where(sa.select(t), keys).order_by(*(t.c[k] for k in self.keys),
                                                         t.c.version)
        with self.engine.connect() as conn:
            return [self._version(r) for r in conn.execute(query)]

    def newest_under(self, **keys: str) -> list[StoredVersion]:
        """The newest version of each record under a partial key (every collector of an
        agency, every qualification of a creditor), in key order."""
        t = self.table
        rest = [t.c[k] for k in self.keys if k not in keys]
        newest = self._where(sa.select(*rest, sa.func.max(t.c.version).label("top")), keys) \
            .group_by(*rest).subquery()
        query = self._where(sa.select(t), keys).join(newest, sa.and_(
            t.c.version == newest.c.top, *(c == newest.c[c.name] for c in rest)))
        with self.engine.connect() as conn:
            return [self._version(r) for r in conn.execute(query.order_by(*rest))]

    def add(self, keys: dict[str, str], version: int, record: dict[str, Any], created_at: str,
            actor: str) -> None:
        """Append a version; AlreadyStored when that version exists (another writer won)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(self.table.insert().values(
                    **keys, version=version,
                    record=json.dumps(record, sort_keys=True, ensure_ascii=False),
                    created_at=created_at, actor=actor))
        except sa.exc.IntegrityError as exc:  # the primary key (keys..., version)
            raise AlreadyStored(f"{self.table.name} {keys} version {version}") from exc

    def _version(self, row: Any) -> StoredVersion:
        m = row._mapping
        return StoredVersion(keys={k: m[k] for k in self.keys}, version=m["version"],
                             record=json.loads(m["record"]), created_at=m["created_at"],
                             actor=m["actor"])


class RegistryStore:
    """The three registry tables on the service's engine."""

    def __init__(self, engine: Engine):
        self.profiles = VersionedRecords(engine, agency_profiles, ("agency_id",))
        self.collectors = VersionedRecords(engine, agency_collectors,
                                           ("agency_id", "collector_id"))
        self.qualifications = VersionedRecords(engine, agency_qualifications,
                                               ("creditor_id", "agency_id"))
