"""The commission ledger: every payment and reversal of a case, as a line of an agency's ledger.

Computed from facts only (the case's assignments, payments and reversals, in log order) and
the pair's contract versions, so the same facts always give the same lines.

- A payment belongs to the agency whose assignment covered the moment it was received (the
  holding assignment; after a recall or closure with no new assignment, the last one, whose
  tail may still pay). It is also listed, without commission, on the ledger of the agency
  the case service credited if that is another agency, so that agency sees why.
- It earns commission if a contract version is in force on the day it was received, the
  day falls within the placement term or the tail after the term ended or the case was
  recalled, and (for money the creditor received directly) the contract says so. The
  contract's bucket rate, or its marginal tiers over what the agency had already recovered
  on the case, set the rate.
- A reversal claws back the commission of the reversed amount at the rates the payment
  earned, taking the amount from the payment's top slice first; the reversal that completes
  a payment's reversal claws back exactly what is left, so rounding never leaves a cent.
- Commission is rounded half-up to the minor unit per line, never before.

A litigation stage a law firm recorded on a case (`LitigationStageRecorded`, which names the
firm) is a `stage_fee` line on that firm's ledger: the fixed fee the contract version in force
on the stage's day sets for the stage, once per case and stage reference; with no version in
force, or none that prices the stage, a zero line says why (as a payment with no contract).

Days (the day a payment was received, a litigation stage's day, the last day of a term or its
tail, a recall's day, which version is in force) are days in the contract's time zone, the one
every version of the pair states; instants stay UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from casetrail.money import format_amount, round_minor

from billing_service.domain.contracts import (
    STAGE_NAMES,
    ContractVersion,
    Portion,
    contract_timezone,
    in_force,
    plain,
)

PAYMENT, REVERSAL, MINIMUM_FEE = "payment", "reversal", "minimum_fee"
STAGE_FEE = "stage_fee"
CREDITOR_DIRECT = "creditor_direct"
END_WORDS = {"recalled": "recall", "reassigned": "reassignment", "closed": "closure"}


@dataclass(frozen=True)
class Assignment:
    """A stretch of time an agency held the case, under a placement term."""

    seq: int
    agency_id: str
    assigned_at: datetime
    term_end: date
    ended_at: datetime | None = None
    end_reason: str | None = None  # recalled | reassigned | closed

    def holds(self, at: datetime) -> bool:
        """Whether the agency held the case at this instant."""
        return self.assigned_at <= at and (self.ended_at is None or at < self.ended_at)


@dataclass(frozen=True)
class PaymentFact:
    """A payment as the log recorded it."""

    reference: str
    amount: Decimal
    source: str  # agency | creditor_direct
    received_at: datetime
    agency_id: str  # the agency the case log credited it to
    position: int
    assignment: int | None = None  # the stint (seq) the case log credited it to
    before_placement: bool = False  # received before the case was placed: nobody's recovery


@dataclass(frozen=True)
class ReversalFact:
    """A (partial) reversal of a payment as the log recorded it."""

    event_id: str
    reference: str
    amount: Decimal
    reason: str
    reversed_at: datetime
    position: int


@dataclass(frozen=True)
class StageFact:
    """A litigation stage as the law firm holding the case recorded it."""

    stage_ref: str
    stage: str  # filed | hearing | judgment | enforcement
    occurred_at: datetime
    court: str | None
    docket_no: str | None
    law_firm_id: str  # the firm that recorded it (held the case then)
    position: int


@dataclass(frozen=True)
class CaseFacts:
    """What billing knows about one case."""

    case_id: str
    creditor_id: str
    account_ref: str
    bucket: str
    currency: str
    placed_amount: Decimal
    placed_at: datetime
    assignments: tuple[Assignment, ...]
    payments: tuple[PaymentFact, ...] = ()
    reversals: tuple[ReversalFact, ...] = ()
    stages: tuple[StageFact, ...] = ()


@dataclass(frozen=True)
class LedgerLine:
    """One line of an agency's commission ledger (and, once billed, of an invoice)."""

    entry: str  # payment:<case>:<ref> | reversal:<event id> | minimum_fee:<invoice>
    #            | stage_fee:<case>:<stage ref>
    kind: str  # payment | reversal | minimum_fee | stage_fee
    position: int | None  # the source event's position in the case log
    case_id: str | None
    account_ref: str | None
    bucket: str | None
    reference: str | None
    source: str | None
    occurred_at: str | None
    occurred_on: date | None
    amount: Decimal  # signed: reversals are negative
    commissionable: bool
    portions: tuple[Portion, ...]
    commission_unrounded: Decimal  # signed
    commission: Decimal  # signed, rounded half-up to the minor unit
    rule: str | None
    contract_version: int | None
    explanation: str
    stage: str | None = None  # a stage_fee line's litigation stage
    docket_no: str | None = None  # and the court's docket number, if recorded

    @property
    def rate(self) -> Decimal | None:
        """The single rate applied, or None when none or several (tier-spanning) applied."""
        rates = {p.rate for p in self.portions}
        return rates.pop() if len(rates) == 1 else None

    def to_json(self, currency: str) -> dict[str, Any]:
        """The canonical form printed on invoices and hashed."""
        rate = self.rate
        # Only stage-fee lines state a stage: every other line keeps the form (and the
        # invoices their hashes) it had before stage fees.
        stage = ({"stage": self.stage, "docket_no": self.docket_no}
                 if self.kind == STAGE_FEE else {})
        return {
            **stage,
            "entry": self.entry, "kind": self.kind, "position": self.position,
            "case_id": self.case_id, "account_ref": self.account_ref, "bucket": self.bucket,
            "reference": self.reference, "source": self.source,
            "occurred_at": self.occurred_at,
            "occurred_on": None if self.occurred_on is None else self.occurred_on.isoformat(),
            "amount": money(self.amount, currency), "commissionable": self.commissionable,
            "rate": None if rate is None else plain(rate),
            "portions": [p.to_json() for p in self.portions],
            "commission_unrounded": plain(self.commission_unrounded),
            "commission": money(self.commission, currency), "rule": self.rule,
            "contract_version": self.contract_version, "explanation": self.explanation,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LedgerLine:
        """Read back a line stored on an invoice."""
        return cls(
            entry=data["entry"], kind=data["kind"], position=data["position"],
            case_id=data["case_id"], account_ref=data["account_ref"], bucket=data["bucket"],
            reference=data["reference"], source=data["source"],
            occurred_at=data["occurred_at"],
            occurred_on=None if data["occurred_on"] is None
            else date.fromisoformat(data["occurred_on"]),
            amount=Decimal(data["amount"]), commissionable=bool(data["commissionable"]),
            portions=tuple(Portion.from_json(p) for p in data["portions"]),
            commission_unrounded=Decimal(data["commission_unrounded"]),
            commission=Decimal(data["commission"]), rule=data["rule"],
            contract_version=data["contract_version"], explanation=data["explanation"],
            stage=data.get("stage"), docket_no=data.get("docket_no"),
        )


def money(amount: Decimal, currency: str) -> str:
    """An amount with exactly the currency's minor digits, never "-0.00"."""
    text = format_amount(amount, currency)
    return text[1:] if text.startswith("-") and Decimal(text) == 0 else text


def local_day(at: datetime, zone: tzinfo) -> date:
    """The calendar day an instant falls on in a time zone (billing days are days in the
    contract's zone)."""
    return at.astimezone(zone).date()


def payment_entry(case_id: str, reference: str) -> str:
    """The ledger entry key of a payment."""
    return f"{PAYMENT}:{case_id}:{reference}"


def reversal_entry(event_id: str) -> str:
    """The ledger entry key of a reversal."""
    return f"{REVERSAL}:{event_id}"


def stage_entry(case_id: str, stage_ref: str) -> str:
    """The ledger entry key of a litigation stage's fee."""
    return f"{STAGE_FEE}:{case_id}:{stage_ref}"


def responsible_assignment(assignments: Sequence[Assignment], at: datetime
                           ) -> Assignment | None:
    """The assignment a payment at `at` belongs to: the one holding the case then; else the
    last one that had ended by then (its tail may pay); else (money received before the
    case was placed) the first one."""
    holding = [a for a in assignments if a.holds(at)]
    if holding:
        return max(holding, key=lambda a: a.seq)
    ended = [a for a in assignments if a.ended_at is not None and a.ended_at <= at]
    if ended:
        return max(ended, key=lambda a: a.seq)
    return min(assignments, key=lambda a: a.seq) if assignments else None


def credited_assignment(assignments: Sequence[Assignment], fact: PaymentFact
                        ) -> Assignment | None:
    """The assignment the case log credited a payment to (`PaymentReceived.assignment`);
    for a payment of a history recorded before payments carried it, the one the case's rule
    gives (`responsible_assignment`, the rule the case applies now)."""
    if fact.assignment is not None:
        found = next((a for a in assignments if a.seq == fact.assignment), None)
        if found is not None:
            return found
    return responsible_assignment(assignments, fact.received_at)


def credited(assignments: Sequence[Assignment], fact: PaymentFact) -> PaymentFact:
    """The payment with the stint it was credited to and its before-placement flag: as
    recorded, or for histories recorded before payments carried them, as the case's rule
    gives (derived here once, where a payment is read: docs/events.md)."""
    if fact.assignment is not None:
        return fact
    assignment = credited_assignment(assignments, fact)
    if assignment is None:
        return fact
    return replace(fact, assignment=assignment.seq,
                   before_placement=fact.received_at < assignment.assigned_at)


def placement_window(assignment: Assignment, at: datetime, tail_days: int, zone: tzinfo
                     ) -> tuple[bool, str]:
    """Whether money received at `at` falls within the assignment's placement term or the
    tail after it (term end, or recall/closure if earlier), and the words that say so; days
    are days in `zone` (the contract's)."""
    day = local_day(at, zone)
    if assignment.ended_at is None or at < assignment.ended_at:
        if day <= assignment.term_end:
            return True, f"within the placement term (ends {assignment.term_end})"
        base, what = assignment.term_end, "term end"
    else:
        ended_on = local_day(assignment.ended_at, zone)
        if ended_on <= assignment.term_end:
            base, what = ended_on, END_WORDS.get(assignment.end_reason or "", "end")
        else:
            base, what = assignment.term_end, "term end"
    last = base + timedelta(days=tail_days)
    if day <= last:
        days = (day - base).days
        if days == 0:
            return True, f"on the day of the {what} ({base})"
        return True, (f"in the tail: day {days} of {tail_days} after the {what} on {base}")
    return False, (f"outside the placement term + tail: {what} on {base}, tail of {tail_days} "
                   f"days ended {last}")


@dataclass
class _PaymentState:
    line: LedgerLine
    reversed: Decimal = Decimal(0)
    clawed: Decimal = Decimal(0)  # rounded, as a positive magnitude


def case_ledger(case: CaseFacts, agency_id: str, contracts: Sequence[ContractVersion],
                billed: Mapping[str, LedgerLine] | None = None) -> list[LedgerLine]:
    """The case's lines on an agency's ledger, in log order.

    `contracts` are the versions of the (case's creditor, agency) pair; their zone sets the
    days. `billed` holds lines already invoiced: they stand as billed (an invoice is never
    edited), and later lines build on them (a clawback uses the rates the payment was billed
    at).
    """
    billed = billed or {}
    zone = ZoneInfo(contract_timezone(contracts))
    entries: list[PaymentFact | ReversalFact | StageFact] = [
        *case.payments, *case.reversals, *case.stages]
    entries.sort(key=lambda e: e.position)
    recovered = Decimal(0)  # commissionable money this agency recovered on the case so far
    paid: dict[str, _PaymentState] = {}
    lines: list[LedgerLine] = []
    for fact in entries:
        if isinstance(fact, StageFact):
            if fact.law_firm_id != agency_id:
                continue  # another firm's stage: on its ledger, not this one's
            key = stage_entry(case.case_id, fact.stage_ref)
            lines.append(billed.get(key) or _stage_line(case, fact, contracts, zone))
            continue
        if isinstance(fact, PaymentFact):
            assignment = credited_assignment(case.assignments, fact)
            held_by = assignment.agency_id if assignment is not None else None
            if agency_id not in (held_by, fact.agency_id):
                continue
            key = payment_entry(case.case_id, fact.reference)
            line = billed.get(key) or _payment_line(
                case, fact, agency_id, assignment, contracts, recovered, zone)
            if line.commissionable:
                recovered += line.amount
            paid[fact.reference] = _PaymentState(line)
        else:
            state = paid.get(fact.reference)
            if state is None:
                continue  # its payment is not on this agency's ledger
            key = reversal_entry(fact.event_id)
            line = billed.get(key) or _reversal_line(case, fact, state, zone)
            state.reversed += -line.amount
            state.clawed += -line.commission
            if state.line.commissionable:
                recovered += line.amount
        lines.append(line)
    return lines


def _payment_line(case: CaseFacts, fact: PaymentFact, agency_id: str,
                  assignment: Assignment | None, contracts: Sequence[ContractVersion],
                  recovered: Decimal, zone: tzinfo) -> LedgerLine:
    day = local_day(fact.received_at, zone)

    def line(explanation: str, *, contract: ContractVersion | None = None,
             portions: tuple[Portion, ...] = ()) -> LedgerLine:
        unrounded = sum((p.commission for p in portions), Decimal(0))
        return LedgerLine(
            entry=payment_entry(case.case_id, fact.reference), kind=PAYMENT,
            position=fact.position, case_id=case.case_id, account_ref=case.account_ref,
            bucket=case.bucket, reference=fact.reference, source=fact.source,
            occurred_at=fact.received_at.astimezone(UTC).isoformat(), occurred_on=day,
            amount=fact.amount, commissionable=bool(portions), portions=portions,
            commission_unrounded=unrounded, commission=round_minor(unrounded, case.currency),
            rule=" + ".join(_portion_rule(p, len(portions), case.currency) for p in portions)
            or None,
            contract_version=None if contract is None else contract.version,
            explanation=explanation)

    if assignment is None or assignment.agency_id != agency_id:
        holder = assignment.agency_id if assignment is not None else "no agency"
        return line(f"not this agency's case at the time: {holder} held it on {day}")
    if fact.received_at < assignment.assigned_at:
        return line(f"not this agency's case at the time: received {day}, before the case "
                    f"was placed with {agency_id} on {local_day(assignment.assigned_at, zone)}")
    contract = in_force(contracts, day)
    if contract is None:
        return line(f"no contract in force on {day}")
    terms = contract.terms
    if terms.currency != case.currency:
        return line(f"the case is in {case.currency}, contract v{contract.version} bills in "
                    f"{terms.currency}", contract=contract)
    within, window = placement_window(assignment, fact.received_at, terms.tail_days, zone)
    if not within:
        return line(window, contract=contract)
    if fact.source == CREDITOR_DIRECT and not terms.creditor_direct_commissionable:
        return line(f"creditor-direct payment, not commissionable under contract "
                    f"v{contract.version}", contract=contract)
    portions = terms.portions(case.bucket, recovered, fact.amount)
    if portions is None:
        return line(f"no rate for bucket {case.bucket} under contract v{contract.version}",
                    contract=contract)
    direct = "creditor-direct payment; " if fact.source == CREDITOR_DIRECT else ""
    return line(f"{direct}{window}", contract=contract, portions=portions)


def _stage_line(case: CaseFacts, fact: StageFact, contracts: Sequence[ContractVersion],
                zone: tzinfo) -> LedgerLine:
    """The fee of a litigation stage on the recording firm's ledger: the fixed fee of the
    version in force on the stage's day, or a zero line that says why there is none."""
    day = local_day(fact.occurred_at, zone)
    docket = f", docket {fact.docket_no}" if fact.docket_no else ""
    name = f"{STAGE_NAMES.get(fact.stage, fact.stage)} {fact.stage}"

    def line(explanation: str, *, contract: ContractVersion | None = None,
             fee: Decimal | None = None) -> LedgerLine:
        amount = Decimal(0) if fee is None or contract is None else round_minor(
            fee, contract.terms.currency)
        return LedgerLine(
            entry=stage_entry(case.case_id, fact.stage_ref), kind=STAGE_FEE,
            position=fact.position, case_id=case.case_id, account_ref=case.account_ref,
            bucket=case.bucket, reference=fact.stage_ref, source=None,
            occurred_at=fact.occurred_at.astimezone(UTC).isoformat(), occurred_on=day,
            amount=amount, commissionable=fee is not None, portions=(),
            commission_unrounded=amount, commission=amount,
            rule=None if fee is None or contract is None else
            f"stage fee {name} {money(fee, contract.terms.currency)} "
            f"(contract v{contract.version})",
            contract_version=None if contract is None else contract.version,
            explanation=explanation, stage=fact.stage, docket_no=fact.docket_no)

    contract = in_force(contracts, day)
    if contract is None:
        return line(f"{fact.stage} stage recorded {day}{docket}: no contract in force on {day}")
    fee = contract.terms.stage_fee(fact.stage)
    if fee is None:
        return line(f"{fact.stage} stage recorded {day}{docket}: no fee for the {fact.stage} "
                    f"stage under contract v{contract.version}", contract=contract)
    return line(f"{fact.stage} stage recorded by {fact.law_firm_id} on {day}{docket}",
                contract=contract, fee=fee)


def _portion_rule(portion: Portion, count: int, currency: str) -> str:
    return portion.rule if count == 1 else f"{portion.rule} on {money(portion.amount, currency)}"


def _reversal_line(case: CaseFacts, fact: ReversalFact, state: _PaymentState, zone: tzinfo
                   ) -> LedgerLine:
    payment = state.line
    day = local_day(fact.reversed_at, zone)
    common: dict[str, Any] = dict(
        entry=reversal_entry(fact.event_id), kind=REVERSAL, position=fact.position,
        case_id=case.case_id, account_ref=case.account_ref, bucket=case.bucket,
        reference=fact.reference, source=payment.source,
        occurred_at=fact.reversed_at.astimezone(UTC).isoformat(), occurred_on=day,
        amount=-fact.amount, contract_version=payment.contract_version)
    if not payment.commissionable:
        return LedgerLine(**common, commissionable=False, portions=(),
                          commission_unrounded=Decimal(0), commission=Decimal(0), rule=None,
                          explanation=f"reverses payment {fact.reference}, which earned no "
                          f"commission ({payment.explanation})")
    # The reversed money leaves from the top: skip what earlier reversals already took back.
    skip, take = state.reversed, fact.amount
    taken: list[Portion] = []
    for portion in reversed(payment.portions):
        available = portion.amount
        if skip > 0:
            skipped = min(skip, available)
            available -= skipped
            skip -= skipped
        amount = min(take, available)
        if amount > 0:
            taken.append(Portion(-amount, portion.rate, portion.rule))
            take -= amount
    taken.reverse()
    unrounded = sum((p.commission for p in taken), Decimal(0))
    if state.reversed + fact.amount >= payment.amount:
        commission = -(payment.commission - state.clawed)  # the rest, to the cent
    else:
        commission = round_minor(unrounded, case.currency)
    rule = " + ".join(_portion_rule(Portion(-p.amount, p.rate, p.rule), len(taken),
                                    case.currency) for p in taken)
    return LedgerLine(**common, commissionable=True, portions=tuple(taken),
                      commission_unrounded=unrounded, commission=commission,
                      rule=f"clawback at {rule}",
                      explanation=f"reverses payment {fact.reference} received "
                      f"{payment.occurred_on} ({fact.reason})")
