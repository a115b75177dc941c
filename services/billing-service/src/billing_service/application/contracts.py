"""Commission contracts: record a new version of a creditor-agency pair's contract, and list
a pair's versions.

A version is appended, never edited; terms equal to the latest version's are a retry and
answer it. Every version of a pair bills in one currency and counts days in one zone, and no
version may take effect inside a period already invoiced.
"""

from __future__ import annotations

from datetime import timedelta

from casetrail.clock import DEFAULT_TIMEZONE, SYSTEM_CLOCK, Clock
from casetrail.retry import retrying

from billing_service.adapters.contracts import ContractBook
from billing_service.adapters.database import Connection, Database, WriteConflict
from billing_service.adapters.invoices import InvoiceBook
from billing_service.domain.contracts import ContractTerms, ContractVersion
from billing_service.domain.errors import (
    ContractCurrencyChanged,
    ContractPeriodInvoiced,
    ContractTimezoneChanged,
)

ATTEMPTS = 3  # a concurrent write that took the version number: read again


class Contracts:
    """Records and lists contract versions ("now", for `recorded_at`, from `clock`; terms
    that state no zone are given `default_timezone` by the caller)."""

    def __init__(self, database: Database, book: ContractBook, invoices: InvoiceBook,
                 clock: Clock = SYSTEM_CLOCK, default_timezone: str = DEFAULT_TIMEZONE):
        self.database, self.book, self.invoices = database, book, invoices
        self.clock, self.default_timezone = clock, default_timezone

    def record(self, creditor_id: str, agency_id: str, terms: ContractTerms, actor: str
               ) -> tuple[ContractVersion, bool]:
        """Append a version; returns (version, created). Terms equal to the latest version's
        are a retry: the latest version comes back and nothing is recorded."""
        terms.check()
        for attempt in retrying(ATTEMPTS, on=WriteConflict):
            with attempt, self.database.writing() as conn:
                return self._record(conn, creditor_id, agency_id, terms, actor)
        raise AssertionError("unreachable: retrying returns or raises")

    def list_versions(self, creditor_id: str, agency_id: str) -> list[ContractVersion]:
        """A pair's versions, oldest first (empty if it has no contract)."""
        with self.database.reading() as conn:
            return self.book.versions(conn, creditor_id, agency_id)

    def _record(self, conn: Connection, creditor_id: str, agency_id: str,
                terms: ContractTerms, actor: str) -> tuple[ContractVersion, bool]:
        existing = self.book.versions(conn, creditor_id, agency_id)
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
        invoiced_to = self.invoices.last_invoiced_day(conn, creditor_id, agency_id)
        if invoiced_to is not None and terms.effective_from <= invoiced_to:
            raise ContractPeriodInvoiced(
                f"periods up to {invoiced_to} are already invoiced; a new version can take "
                f"effect from {invoiced_to + timedelta(days=1)} at the "
                "earliest", path="effective_from")
        version = ContractVersion(
            creditor_id=creditor_id, agency_id=agency_id, version=len(existing) + 1,
            terms=terms, recorded_at=self.clock.now().isoformat(), actor=actor)
        self.book.add(conn, version)
        return version, True
