"""Billing runs: compute a pair's invoice for a period from the read model and the contracts,
store it once, and recompute a stored invoice to check it.

A run records what it was computed from: the newest log position the read model had applied
and the newest contract version. Recomputing with the same cut-off (and the invoices issued
before it) gives the same content, so the same hash, even after the read model was rebuilt
from the log and more events have arrived since.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from billing_service.adapters.contracts import ContractBook
from billing_service.adapters.facts import LedgerFacts
from billing_service.adapters.invoices import InvoiceBook, InvoiceDraft, invoice_view
from billing_service.domain.contracts import in_force
from billing_service.domain.errors import NoContract, PeriodAlreadyInvoiced
from billing_service.domain.invoice import (
    Period,
    build_invoice,
    content_hash,
    invoice_number,
    select_lines,
)
from billing_service.domain.ledger import LedgerLine, case_ledger

Progress = Callable[[int, int], None]
RETRIES = 3


@dataclass(frozen=True)
class CutOff:
    """What a run was computed from: the newest log position and contract version."""

    position: int
    contract_version: int


class BillingRuns:
    """Runs billing for creditor-agency pairs."""

    def __init__(self, engine: Engine, contracts: ContractBook, invoices: InvoiceBook,
                 facts: LedgerFacts):
        self.engine, self.contracts, self.invoices, self.facts = (
            engine, contracts, invoices, facts)

    def run(self, creditor_id: str, agency_id: str, period: Period, actor: str,
            progress: Progress | None = None) -> tuple[dict[str, Any], bool]:
        """The pair's invoice for the period: stored now (created=True), or the one stored
        by an earlier run of the same period (created=False)."""
        period.check()
        for attempt in range(RETRIES):
            with self.engine.connect() as conn:
                stored = self.invoices.by_period(conn, creditor_id, agency_id, period)
                if stored is not None:
                    return invoice_view(stored), False
                self._check_order(conn, creditor_id, agency_id, period)
                draft = self._draft(conn, creditor_id, agency_id, period, progress=progress)
            try:
                self.invoices.store(draft, datetime.now(UTC).isoformat(), actor)
            except IntegrityError:  # a concurrent run stored first: look again
                if attempt == RETRIES - 1:
                    raise
                continue
            record = self.invoices.get(draft.invoice_id)
            assert record is not None
            return invoice_view(record), True
        raise AssertionError("unreachable")

    def preview(self, creditor_id: str, agency_id: str, period: Period) -> dict[str, Any]:
        """Recompute without storing. For a period already invoiced: the invoice recomputed
        from its cut-off, and whether its hash matches the stored one; otherwise what a run
        would produce now."""
        period.check()
        with self.engine.connect() as conn:
            stored = self.invoices.by_period(conn, creditor_id, agency_id, period)
            if stored is None:
                self._check_order(conn, creditor_id, agency_id, period)
                draft = self._draft(conn, creditor_id, agency_id, period)
                return {"invoice_id": draft.invoice_id, "stored": False,
                        "content_hash": draft.content_hash, "stored_hash": None,
                        "matches": None, "content": draft.content}
            draft = self._draft(
                conn, creditor_id, agency_id, period, seq=stored["seq"],
                cut_off=CutOff(stored["as_of_position"], stored["as_of_contract_version"]))
        return {"invoice_id": stored["invoice_id"], "stored": True,
                "content_hash": draft.content_hash, "stored_hash": stored["content_hash"],
                "stored_content_intact": content_hash(stored["content"])
                == stored["content_hash"],
                "matches": draft.content_hash == stored["content_hash"],
                "content": draft.content}

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
               progress: Progress | None = None) -> InvoiceDraft:
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
        number = invoice_number(creditor_id, agency_id, seq)
        content = build_invoice(number=number, creditor_id=creditor_id, agency_id=agency_id,
                                period=period, terms=terms,
                                selected=select_lines(ledger, billed.keys(), period))
        return InvoiceDraft(invoice_id=number, creditor_id=creditor_id, agency_id=agency_id,
                            seq=seq, period=period, content=content,
                            content_hash=content_hash(content),
                            as_of_position=cut_off.position,
                            as_of_contract_version=cut_off.contract_version)
