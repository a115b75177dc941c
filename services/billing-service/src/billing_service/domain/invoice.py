"""Invoices and credit notes: which ledger lines a billing run takes, the totals, and the
content hash.

A run for (creditor, agency, period) takes every line of the agency's ledger not yet
invoiced and dated on or before the period's last day (the period's own lines, plus lines
reported late for earlier days, plus clawbacks of payments invoiced earlier). A reversal waits
until its payment has been invoiced or is invoiced in the same run. Days are days in the
contract's time zone, which the document states.

A run whose lines net to a credit (the sum of their commissions, before any minimum fee, is
below zero) issues a credit note: numbered in a sequence of its own, and never topped up to
the minimum fee (a minimum fee is owed on what an agency earns, not on what it gives back).
Otherwise it issues an invoice, topped up to the minimum fee. Stage-fee lines (a law firm's
fixed fee per litigation stage) count like commission lines: in the subtotal, the tax, the
total and what the minimum fee tops up. The content (document type, parties, period and
zone, lines, totals, and since parties are recorded the party versions and payment terms it
was issued with) is canonical JSON; its SHA-256 is printed on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import date, tzinfo
from decimal import Decimal
from typing import Any

from casetrail.figures import Window
from casetrail.money import round_minor

from billing_service.domain.contracts import ContractVersion, percent, plain
from billing_service.domain.errors import InvalidPeriod
from billing_service.domain.ledger import (
    MINIMUM_FEE,
    PAYMENT,
    REVERSAL,
    STAGE_FEE,
    LedgerLine,
    money,
    payment_entry,
)
from billing_service.domain.parties import PartyVersion, document_parties

INVOICE, CREDIT_NOTE = "invoice", "credit_note"
NUMBER_FORMATS = {INVOICE: "INV-{creditor}-{agency}-{seq:05d}",
                  CREDIT_NOTE: "CN-{creditor}-{agency}-{seq:05d}"}
INVOICE_NUMBER = NUMBER_FORMATS[INVOICE]


@dataclass(frozen=True)
class Period:
    """A billing period of whole days in a time zone (the contract's, for a run); both
    `start` and `end` are included."""

    start: date
    end: date

    def window(self, zone: tzinfo) -> Window:
        """The instants of the period's days in `zone`: from the first day's midnight to the
        midnight after the last day."""
        return Window.of_days(self.start, self.end, zone)

    def check(self) -> Period:
        """Refuse a period that ends before it starts; returns self."""
        if self.end < self.start:
            raise InvalidPeriod(f"the period ends ({self.end}) before it starts ({self.start})",
                                path="period_end")
        return self

    def overlaps(self, other: Period) -> bool:
        """Whether the two periods share a day."""
        return self.start <= other.end and other.start <= self.end


@dataclass(frozen=True)
class InvoiceDraft:
    """A computed invoice or credit note, before (or instead of) being stored."""

    invoice_id: str
    creditor_id: str
    agency_id: str
    seq: int
    period: Period
    content: dict[str, Any]
    content_hash: str
    as_of_position: int
    as_of_contract_version: int


@dataclass(frozen=True)
class SelectedLine:
    """A ledger line a run bills, and whether it claws back a payment invoiced earlier."""

    line: LedgerLine
    earlier_credit: bool


def invoice_number(creditor_id: str, agency_id: str, seq: int,
                   document_type: str = INVOICE) -> str:
    """The number of a pair's seq-th document of a type: INV-{creditor}-{agency}-{seq:05d}
    for invoices, CN-{creditor}-{agency}-{seq:05d} for credit notes (two sequences)."""
    return NUMBER_FORMATS[document_type].format(creditor=creditor_id, agency=agency_id, seq=seq)


def document_type_of(number: str) -> str:
    """The type of a document from its number (credit notes are CN-..., invoices INV-...)."""
    return CREDIT_NOTE if number.startswith("CN-") else INVOICE


def net_of_lines(selected: Sequence[SelectedLine]) -> Decimal:
    """What the run's lines net to, before any minimum fee: the sum of their commissions
    (clawbacks of payments invoiced earlier included)."""
    return sum((s.line.commission for s in selected), Decimal(0))


def document_type(selected: Sequence[SelectedLine]) -> str:
    """A credit note if the run's lines net to a credit (below zero before any minimum fee);
    otherwise an invoice (a run with nothing, or netting to zero, is an invoice)."""
    return CREDIT_NOTE if net_of_lines(selected) < 0 else INVOICE


def select_lines(ledger: Sequence[LedgerLine], invoiced: Set[str], period: Period
                 ) -> list[SelectedLine]:
    """The lines a run for `period` bills: not yet invoiced, dated on or before its last day;
    a reversal only once its payment is invoiced (earlier or in this run)."""
    chosen: list[SelectedLine] = []
    in_run: set[str] = set()
    for line in sorted(ledger, key=lambda item: (item.position or 0, item.entry)):
        if line.entry in invoiced or line.occurred_on is None or line.occurred_on > period.end:
            continue
        earlier = False
        if line.kind == REVERSAL:
            paid = payment_entry(line.case_id or "", line.reference or "")
            if paid not in invoiced and paid not in in_run:
                continue  # waits for its payment
            earlier = paid in invoiced
        chosen.append(SelectedLine(line, earlier))
        in_run.add(line.entry)
    return chosen


def build_invoice(*, number: str, creditor_id: str, agency_id: str, period: Period,
                  terms: ContractVersion, selected: Sequence[SelectedLine],
                  legacy: bool = False,
                  parties: tuple[PartyVersion | None, PartyVersion | None] | None = None
                  ) -> dict[str, Any]:
    """The content of the run's document (an invoice, or a credit note if its lines net to a
    credit): type, zone, lines, the minimum-fee top-up, tax and totals.

    Totals are sums of the rounded lines. On an invoice, the minimum fee tops up what the run
    earned (its lines except clawbacks of payments invoiced earlier), so an old clawback is
    still deducted; a credit note has no minimum fee. Tax is tax_rate x subtotal, rounded
    half-up once. `legacy` recomputes a document issued before documents stated their type
    and zone (UTC days, always an invoice, always topped up), so its hash can be checked.
    `parties` (issuer, billed party: the agency's and the creditor's record versions, None
    where a party has none) adds the parties and payment block; without it the content is
    that of a document issued before parties were recorded.
    """
    kind = INVOICE if legacy else document_type(selected)
    if document_type_of(number) != kind:
        raise ValueError(f"{number} is not the number of a {kind.replace('_', ' ')}")
    currency = terms.terms.currency
    zero = Decimal(0)
    lines = [s.line for s in selected]
    lines_total = sum((line.commission for line in lines), zero)
    earlier_credits = sum((s.line.commission for s in selected if s.earlier_credit), zero)
    earned = lines_total - earlier_credits
    minimum_fee = terms.terms.minimum_fee
    top_up = (minimum_fee - earned if kind == INVOICE and minimum_fee > 0
              and earned < minimum_fee else zero)
    if top_up > 0:
        lines.append(LedgerLine(
            entry=f"{MINIMUM_FEE}:{number}", kind=MINIMUM_FEE, position=None, case_id=None,
            account_ref=None, bucket=None, reference=None, source=None, occurred_at=None,
            occurred_on=period.end, amount=zero, commissionable=True, portions=(),
            commission_unrounded=top_up, commission=round_minor(top_up, currency),
            rule=f"minimum fee {money(minimum_fee, currency)} per invoice "
                 f"(contract v{terms.version})",
            contract_version=terms.version,
            explanation=f"the run earned {money(earned, currency)}, below the minimum fee"))
    subtotal = sum((line.commission for line in lines), zero)
    tax_rate = terms.terms.tax_rate
    tax = round_minor(tax_rate * subtotal, currency)
    payments = [line for line in lines if line.kind == PAYMENT]
    reversals = [line for line in lines if line.kind == REVERSAL]
    stages = [line for line in lines if line.kind == STAGE_FEE]
    # Stage fees are stated only where a document bills one, so every document without
    # them keeps the content (and hash) it had before stage fees.
    stage_totals = {"stage_fee_lines": len(stages), "stage_fees": money(
        sum((line.commission for line in stages), zero), currency)} if stages else {}
    stated = {} if legacy else {"document_type": kind, "timezone": terms.terms.timezone}
    if parties is not None:
        stated.update(document_parties(*parties, number, credit=kind == CREDIT_NOTE))
    return {
        **stated,
        "invoice_number": number,
        "creditor_id": creditor_id,
        "agency_id": agency_id,
        "currency": currency,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "period_end_inclusive": True,
        "terms": {"contract_version": terms.version,
                  "minimum_fee": money(minimum_fee, currency),
                  "tax_rate": plain(tax_rate), "tax_label": f"tax {percent(tax_rate)}"},
        "lines": [{"line_no": n, **line.to_json(currency)} for n, line in enumerate(lines, 1)],
        "totals": {
            "payments": len(payments),
            "reversals": len(reversals),
            "commissionable_amount": money(sum(
                (line.amount for line in payments + reversals if line.commissionable), zero),
                currency),
            "earned_commission": money(earned, currency),
            **stage_totals,
            "earlier_invoice_credits": money(earlier_credits, currency),
            "minimum_fee_top_up": money(top_up, currency),
            "subtotal": money(subtotal, currency),
            "tax_rate": plain(tax_rate),
            "tax": money(tax, currency),
            "total": money(subtotal + tax, currency),
        },
    }


def canonical_json(content: Any) -> bytes:
    """Stable bytes for hashing: sorted keys, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def content_hash(content: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of an invoice's content."""
    return hashlib.sha256(canonical_json(content)).hexdigest()
