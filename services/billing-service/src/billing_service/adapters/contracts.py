"""Contract versions of each creditor-agency pair: appended, never edited."""

from __future__ import annotations

import json
from datetime import date, timedelta

import sqlalchemy as sa
from casetrail.clock import SYSTEM_CLOCK, Clock
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from billing_service.adapters.records import contracts, invoices
from billing_service.domain.contracts import ContractTerms, ContractVersion
from billing_service.domain.errors import (
    ContractCurrencyChanged,
    ContractPeriodInvoiced,
    ContractTimezoneChanged,
)

RETRIES = 3


class ContractBook:
    """Reads and appends contract versions ("now", for `recorded_at`, from `clock`)."""

    def __init__(self, engine: Engine, clock: Clock = SYSTEM_CLOCK):
        self.engine, self.clock = engine, clock

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

    def list_versions(self, creditor_id: str, agency_id: str) -> list[ContractVersion]:
        """A pair's versions, oldest first, in a connection of its own."""
        with self.engine.connect() as conn:
            return self.versions(conn, creditor_id, agency_id)

    def record(self, creditor_id: str, agency_id: str, terms: ContractTerms, actor: str
               ) -> tuple[ContractVersion, bool]:
        """Append a version; returns (version, created). Terms equal to the latest version's
        are a retry: the latest version comes back and nothing is recorded."""
        terms.check()
        for attempt in range(RETRIES):
            try:
                return self._record(creditor_id, agency_id, terms, actor)
            except IntegrityError:  # a concurrent write took the version number: look again
                if attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _record(self, creditor_id: str, agency_id: str, terms: ContractTerms, actor: str
                ) -> tuple[ContractVersion, bool]:
        with self.engine.begin() as conn:
            existing = self.versions(conn, creditor_id, agency_id)
            if existing and existing[-1].terms.to_json() == terms.to_json():
                return existing[-1], False
            if existing and existing[0].terms.currency != terms.currency:
                raise ContractCurrencyChanged(
                    f"this contract bills in {existing[0].terms.currency}; every version of a "
                    "creditor-agency contract uses one currency", path="currency")
            if existing and existing[0].terms.timezone != terms.timezone:
                raise ContractTimezoneChanged(
                    f"this contract counts days in {existing[0].terms.timezone}; every version "
                    "of a creditor-agency contract uses one time zone (so the day a payment "
                    "falls on never depends on the version in force): state \"timezone\": "
                    f"\"{existing[0].terms.timezone}\"", path="timezone")
            invoiced_to = last_invoiced_day(conn, creditor_id, agency_id)
            if invoiced_to is not None and terms.effective_from <= invoiced_to:
                raise ContractPeriodInvoiced(
                    f"periods up to {invoiced_to} are already invoiced; a new version can take "
                    f"effect from {invoiced_to + timedelta(days=1)} at the "
                    "earliest", path="effective_from")
            version = ContractVersion(
                creditor_id=creditor_id, agency_id=agency_id, version=len(existing) + 1,
                terms=terms, recorded_at=self.clock.now().isoformat(), actor=actor)
            conn.execute(contracts.insert().values(
                creditor_id=creditor_id, agency_id=agency_id, version=version.version,
                effective_from=terms.effective_from.isoformat(), currency=terms.currency,
                terms=json.dumps(terms.to_json(), sort_keys=True),
                recorded_at=version.recorded_at, actor=actor))
        return version, True


def last_invoiced_day(conn: Connection, creditor_id: str, agency_id: str) -> date | None:
    """The last day of the latest period invoiced for a pair, if any."""
    t = invoices
    value = conn.execute(sa.select(sa.func.max(t.c.period_end)).where(
        t.c.creditor_id == creditor_id, t.c.agency_id == agency_id)).scalar()
    return None if value is None else date.fromisoformat(value)
