"""Contract versions of each creditor-agency pair as stored: appended, never edited."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing_service.adapters.records import contracts
from billing_service.domain.contracts import ContractTerms, ContractVersion


class ContractBook:
    """Reads and appends the rows of `contracts`."""

    def versions(self, conn: Connection, creditor_id: str, agency_id: str, *,
                 up_to: int | None = None) -> list[ContractVersion]:
        """A pair's versions, oldest first (only those numbered up to `up_to`, if given)."""
        t = contracts
        query = sa.select(t).where(t.c.creditor_id == creditor_id, t.c.agency_id == agency_id)
        if up_to is not None:
            query = query.where(t.c.version <= up_to)
        return [ContractVersion(creditor_id=r.creditor_id, agency_id=r.agency_id,
                                version=r.version,
                                terms=ContractTerms.from_json(json.loads(r.terms)),
                                recorded_at=r.recorded_at, actor=r.actor)
                for r in conn.execute(query.order_by(t.c.version))]

    def add(self, conn: Connection, version: ContractVersion) -> None:
        """Append a version (its number taken by another write first: an IntegrityError,
        WriteConflict at `Database.writing`)."""
        terms = version.terms
        conn.execute(contracts.insert().values(
            creditor_id=version.creditor_id, agency_id=version.agency_id,
            version=version.version, effective_from=terms.effective_from.isoformat(),
            currency=terms.currency, terms=json.dumps(terms.to_json(), sort_keys=True),
            recorded_at=version.recorded_at, actor=version.actor))
