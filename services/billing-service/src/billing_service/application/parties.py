"""Party records: record a new version of a creditor's or agency's legal details, read the
current one, list them all.

A version is appended, never edited. Details equal to the current version's are a retry and
answer it (whatever `expected_version` says: the retry of a write that succeeded carries the
version it read before). Otherwise a writer that states `expected_version` is refused if the
record has moved on since (another writer won the race).

What a caller may read: its own record in full; another party's public part (legal names,
address, tax id, payment terms: what any document prints); admins and auditors every record
in full. Who may write is the entrypoints' rule (`entrypoints.access.party_access`).
"""

from __future__ import annotations

from typing import Any

from casetrail.clock import SYSTEM_CLOCK, Clock
from casetrail.retry import retrying

from billing_service.adapters.database import Connection, Database, WriteConflict
from billing_service.adapters.parties import PartyBook
from billing_service.domain.errors import PartyNotFound, PartyVersionConflict
from billing_service.domain.parties import PartyDetails, PartyVersion

ATTEMPTS = 3  # a concurrent write that took the version number: read again


class Parties:
    """Records and reads party versions ("now", for `recorded_at`, from `clock`)."""

    def __init__(self, database: Database, book: PartyBook, clock: Clock = SYSTEM_CLOCK):
        self.database, self.book, self.clock = database, book, clock

    def record(self, party_kind: str, party_id: str, details: PartyDetails, actor: str, *,
               expected_version: int | None = None) -> tuple[PartyVersion, bool]:
        """Append a version; returns (version, created). Details equal to the current
        version's are a retry: it comes back and nothing is recorded. PartyVersionConflict
        if `expected_version` (0: no record yet) is not the current version."""
        details = details.check(party_kind)
        for attempt in retrying(ATTEMPTS, on=WriteConflict):
            with attempt, self.database.writing() as conn:
                return self._record(conn, party_kind, party_id, details, actor,
                                    expected_version)
        raise AssertionError("unreachable: retrying returns or raises")

    def current(self, party_kind: str, party_id: str, *, full: bool) -> dict[str, Any]:
        """The current version (`full`: with bank account and email); PartyNotFound if the
        party has no record."""
        with self.database.reading() as conn:
            version = self.book.get(conn, party_kind, party_id)
        if version is None:
            raise PartyNotFound(f"no {party_kind} record of {party_id}")
        return version.to_json() if full else version.public_json()

    def versions(self, party_kind: str, party_id: str, *, full: bool) -> list[dict[str, Any]]:
        """Every version, oldest first (empty if the party has no record)."""
        with self.database.reading() as conn:
            versions = self.book.versions(conn, party_kind, party_id)
        return [v.to_json() if full else v.public_json() for v in versions]

    def _record(self, conn: Connection, party_kind: str, party_id: str,
                details: PartyDetails, actor: str, expected_version: int | None
                ) -> tuple[PartyVersion, bool]:
        latest = self.book.get(conn, party_kind, party_id)
        if latest is not None and latest.details == details:
            return latest, False
        number = 0 if latest is None else latest.version
        if expected_version is not None and expected_version != number:
            raise PartyVersionConflict(
                f"the {party_kind} record of {party_id} is at version {number}, not "
                f"{expected_version}: read it again and resend", path="expected_version")
        version = PartyVersion(party_kind=party_kind, party_id=party_id, version=number + 1,
                               details=details, recorded_at=self.clock.now().isoformat(),
                               actor=actor)
        self.book.add(conn, version)
        return version, True
