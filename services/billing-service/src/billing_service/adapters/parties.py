"""Party records (creditors' and agencies' legal details) as stored: appended, never edited."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing_service.adapters.records import parties
from billing_service.domain.parties import PartyDetails, PartyVersion


class PartyBook:
    """Reads and appends the rows of `parties`."""

    def versions(self, conn: Connection, party_kind: str, party_id: str) -> list[PartyVersion]:
        """A party's versions, oldest first (empty if it has no record)."""
        t = parties
        query = sa.select(t).where(t.c.party_kind == party_kind, t.c.party_id == party_id)
        return [_version(r) for r in conn.execute(query.order_by(t.c.version))]

    def get(self, conn: Connection, party_kind: str, party_id: str,
            version: int | None = None) -> PartyVersion | None:
        """One version of a party's record (the newest unless `version` is given), or None."""
        t = parties
        query = sa.select(t).where(t.c.party_kind == party_kind, t.c.party_id == party_id)
        query = (query.where(t.c.version == version) if version is not None
                 else query.order_by(t.c.version.desc()).limit(1))
        row = conn.execute(query).first()
        return None if row is None else _version(row)

    def add(self, conn: Connection, version: PartyVersion) -> None:
        """Append a version (its number taken by another write first: an IntegrityError,
        WriteConflict at `Database.writing`)."""
        conn.execute(parties.insert().values(
            party_kind=version.party_kind, party_id=version.party_id, version=version.version,
            details=json.dumps(version.details.to_json(), sort_keys=True, ensure_ascii=False),
            recorded_at=version.recorded_at, actor=version.actor))


def _version(row: sa.Row[tuple[object, ...]]) -> PartyVersion:
    m = row._mapping
    return PartyVersion(party_kind=m["party_kind"], party_id=m["party_id"],
                        version=m["version"],
                        details=PartyDetails.from_json(json.loads(m["details"])),
                        recorded_at=m["recorded_at"], actor=m["actor"])
