"""Billing runs: compute a pair's invoice (or credit note) for a period from the read model and
the contracts, store it once, and recompute a stored one to check it.

A run bills only what has happened: a period whose first day has not begun, or whose last day
has not ended, in the contract's time zone (now by the service's clock) is refused, and
nothing about the refused run is stored. A preview is always allowed and says whether it is
provisional (the period has not ended: what it shows may still change).

A run records what it was computed from: the newest log position the read model had applied
and the newest contract version; its content freezes the party versions it was issued with (the
agency's and the creditor's current records). Recomputing with the same cut-off, the same
party versions (read back from the stored content) and the invoices issued before it gives
the same content, so the same hash, even after the read model was rebuilt from the log, more
events have arrived, or a party recorded a new version since.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Literal
from zoneinfo import ZoneInfo

from casetrail.clock import DEFAULT_TIMEZONE, SYSTEM_CLOCK, Clock
from casetrail.retry import retrying

from billing_service.adapters.contracts import ContractBook
from billing_service.adapters.database import Connection, Database, WriteConflict
from billing_service.adapters.facts import LedgerFacts
from billing_service.adapters.invoices import InvoiceBook
from billing_service.adapters.parties import PartyBook
from billing_service.application.invoices import invoice_view
from billing_service.domain.contracts import LEGACY_TIMEZONE, contract_timezone, in_force
from billing_service.domain.errors import (
    NoContract,
    PeriodAlreadyInvoiced,
    PeriodNotBegun,
    PeriodNotEnded,
)
from billing_service.domain.invoice import (
    INVOICE,
    InvoiceDraft,
    Period,
    build_invoice,
    content_hash,
    document_type,
    select_lines,
)
from billing_service.domain.ledger import LedgerLine, case_ledger
from billing_service.domain.parties import AGENCY, CREDITOR, PartyVersion

Parties = tuple[PartyVersion | None, PartyVersion | None]  # issuer (agency), billed (creditor)

Progress = Callable[[int, int], None]
ATTEMPTS = 3  # a concurrent run that stored the period (or an entry) first: look again


@dataclass(frozen=True)
class CutOff:
    """What a run was computed from: the newest log position and contract version."""

    position: int
    contract_version: int


class BillingRuns:
    """Runs billing for creditor-agency pairs ("now" from `clock`; a pair without a contract
    counts days in `default_timezone`)."""

    def __init__(self, database: Database, contracts: ContractBook, invoices: InvoiceBook,
                 facts: LedgerFacts, clock: Clock = SYSTEM_CLOCK,
                 default_timezone: str = DEFAULT_TIMEZONE, parties: PartyBook | None = None):
        self.database, self.contracts, self.invoices, self.facts = (
            database, contracts, invoices, facts)
        self.parties = parties or PartyBook()
        self.clock, self.default_timezone = clock, default_timezone

    def run(self, creditor_id: str, agency_id: str, period: Period, actor: str,
            progress: Progress | None = None) -> tuple[dict[str, Any], bool]:
        """The pair's invoice or credit note for the period: stored now (created=True), or
        the one stored by an earlier run of the same period (created=False). A period that
        has not begun, or not ended, in the contract's zone is refused (nothing stored)."""
        period.check()
        for attempt in retrying(ATTEMPTS, on=WriteConflict):
            with attempt:
                return self._run_once(creditor_id, agency_id, period, actor, progress)
        raise AssertionError("unreachable: retrying returns or raises")

    def _run_once(self, creditor_id: str, agency_id: str, period: Period, actor: str,
                  progress: Progress | None) -> tuple[dict[str, Any], bool]:
        with self.database.reading() as conn:
            stored = self.invoices.by_period(conn, creditor_id, agency_id, period)
            if stored is not None:
                return invoice_view(stored), False
            self._check_happened(period, self._zone(conn, creditor_id, agency_id))
            self._check_order(conn, creditor_id, agency_id, period)
            draft = self._draft(conn, creditor_id, agency_id, period, progress=progress)
        with self.database.writing() as conn:
            record = self.invoices.store(
                conn, draft, self.clock.now().astimezone(UTC).isoformat(), actor)
        return invoice_view(record), True

    def preview(self, creditor_id: str, agency_id: str, period: Period) -> dict[str, Any]:
        """Recompute without storing. For a period already invoiced: the document recomputed
        from its cut-off, and whether its hash matches the stored one; otherwise what a run
        would produce now (`provisional` while the period has not ended in the contract's
        zone: a run is refused until `period_ends_at`)."""
        period.check()
        with self.database.reading() as conn:
            stored = self.invoices.by_period(conn, creditor_id, agency_id, period)
            if stored is None:
                timezone = self._zone(conn, creditor_id, agency_id)
                self._check_order(conn, creditor_id, agency_id, period)
                draft = self._draft(conn, creditor_id, agency_id, period)
                ends_at = period.window(ZoneInfo(timezone)).end
                return {"invoice_id": draft.invoice_id, "stored": False,
                        "content_hash": draft.content_hash, "stored_hash": None,
                        "matches": None, "timezone": timezone,
                        "period_ends_at": ends_at.astimezone(UTC).isoformat(),
                        "provisional": self.clock.now() < ends_at, "content": draft.content}
            legacy = "timezone" not in stored["content"]  # issued before documents stated it
            draft = self._draft(
                conn, creditor_id, agency_id, period, seq=stored["seq"],
                cut_off=CutOff(stored["as_of_position"], stored["as_of_contract_version"]),
                legacy=legacy, parties=self._frozen_parties(conn, stored["content"]))
        timezone = stored["content"].get("timezone", LEGACY_TIMEZONE)
        return {"invoice_id": stored["invoice_id"], "stored": True, "timezone": timezone,
                "period_ends_at": period.window(ZoneInfo(timezone)).end.astimezone(
                    UTC).isoformat(), "provisional": False,
                "content_hash": draft.content_hash, "stored_hash": stored["content_hash"],
                "stored_content_intact": content_hash(stored["content"])
                == stored["content_hash"],
                "matches": draft.content_hash == stored["content_hash"],
                "content": draft.content}

    def _zone(self, conn: Connection, creditor_id: str, agency_id: str) -> str:
        """The zone the pair's days are counted in: its contract's (the service's default
        zone when it has none yet)."""
        return contract_timezone(self.contracts.versions(conn, creditor_id, agency_id),
                                 self.default_timezone)

    def _current_parties(self, conn: Connection, creditor_id: str, agency_id: str
                         ) -> Parties:
        """The parties' current records: what a new document is issued with."""
        return (self.parties.get(conn, AGENCY, agency_id),
                self.parties.get(conn, CREDITOR, creditor_id))

    def _frozen_parties(self, conn: Connection, content: dict[str, Any]) -> Parties | None:
        """The party versions a stored document was issued with (None: issued before
        documents stated parties)."""
        if "parties" not in content:
            return None
        frozen = content["parties"]

        def version(role: str) -> PartyVersion | None:
            record = frozen[role]
            if record is None:
                return None
            return self.parties.get(conn, record["party_kind"], record["party_id"],
                                    record["version"])

        return version("issuer"), version("billed")

    def _check_happened(self, period: Period, timezone: str) -> None:
        """Refuse a period that has not begun, or not ended, in `timezone` now."""
        now, window = self.clock.now(), period.window(ZoneInfo(timezone))
        if now < window.start:
            raise PeriodNotBegun(
                f"the period has not begun yet: there is nothing to bill ({period.start} "
                f"begins at {window.start.isoformat()} in {timezone})", path="period_start")
        if now < window.end:
            raise PeriodNotEnded(
                f"the period has not ended yet: {period.end} ends at "
                f"{window.end.isoformat()} in {timezone}, the contract's time zone; run it "
                "then (a preview shows what it would bill now)", path="period_end")

    def _check_order(self, conn: Connection, creditor_id: str, agency_id: str,
                     period: Period) -> None:
        latest = self.invoices.latest(conn, creditor_id, agency_id)
        if latest is not None and period.start.isoformat() <= latest["period_end"]:
            raise PeriodAlreadyInvoiced(
                f"{latest['invoice_id']} already covers up to {latest['period_end']}; the "
                "next period must start after it (lines dated earlier but not yet invoiced "
                "are carried into it)", path="period_start")

    def _draft(self, conn: Connection, creditor_id: str, agency_id: str, period: Period, *,
               seq: int | None = None, cut_off: CutOff | None = None,
               progress: Progress | None = None, legacy: bool = False,
               parties: Parties | Literal["current"] | None = "current") -> InvoiceDraft:
        """The document of a run (`parties`: the versions it is issued with, "current": the
        parties' current records; None: none, as before parties were recorded)."""
        seq = seq or self.invoices.next_seq(conn, creditor_id, agency_id)
        versions = self.contracts.versions(
            conn, creditor_id, agency_id, up_to=cut_off.contract_version if cut_off else None)
        if not versions:
            raise NoContract(f"there is no contract between {creditor_id} and {agency_id}")
        terms = in_force(versions, period.end)
        if terms is None:
            raise NoContract(f"no version of the {creditor_id}-{agency_id} contract is in "
                             f"force on {period.end} (the first takes effect "
                             f"{versions[0].terms.effective_from})", path="period_end")
        cut_off = cut_off or CutOff(self.facts.last_position(conn), versions[-1].version)
        billed = self.invoices.billed_lines(conn, creditor_id, agency_id, before_seq=seq)
        cases = self.facts.cases(conn, creditor_id=creditor_id, agency_id=agency_id,
                                 as_of_position=cut_off.position)
        ledger: list[LedgerLine] = []
        for done, case in enumerate(cases, 1):
            ledger += case_ledger(case, agency_id, versions, billed)
            if progress is not None:
                progress(done, len(cases))
        selected = select_lines(ledger, billed.keys(), period)
        kind = INVOICE if legacy else document_type(selected)
        number = self.invoices.number(conn, creditor_id, agency_id, kind, seq)
        frozen = (self._current_parties(conn, creditor_id, agency_id)
                  if isinstance(parties, str) else parties)
        content = build_invoice(number=number, creditor_id=creditor_id, agency_id=agency_id,
                                period=period, terms=terms, selected=selected, legacy=legacy,
                                parties=frozen)
        return InvoiceDraft(invoice_id=number, creditor_id=creditor_id, agency_id=agency_id,
                            seq=seq, period=period, content=content,
                            content_hash=content_hash(content),
                            as_of_position=cut_off.position,
                            as_of_contract_version=cut_off.contract_version)
