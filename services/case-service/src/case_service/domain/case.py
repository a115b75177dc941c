"""The Case aggregate: one placed account, worked by an agency, recorded as immutable events.

Public command methods check invariants and then trigger exactly one past-tense event through
a private method decorated with `@event`; that method's body is the only code that changes
state, so replaying the events rebuilds the same case. Facts that already happened (contacts,
payments) are always recorded; where they broke a rule they carry flags. Intents (promises,
escalations, recalls...) are refused with a domain error when they break an invariant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event

from case_service.domain.errors import (
    BeyondApprovalLimit,
    CaseClosed,
    CaseRecalled,
    InvalidAmount,
    InvalidDate,
    InvalidTransition,
    PaymentReferenceConflict,
    UnknownActionCode,
    UnknownPayment,
    UnknownPromise,
    UnknownWorkflowItem,
)
from case_service.domain.values import (
    CURRENT,
    DEFAULT_BUCKETS,
    PAID,
    BucketRange,
    CaseStatus,
    Channel,
    CloseReason,
    ContactFlag,
    ContactPoint,
    EscalationKind,
    Installment,
    Payment,
    PaymentFlag,
    PaymentSource,
    Promise,
    PromiseState,
    RecallReason,
    Stint,
    bucket_for,
)
from case_service.domain.workflows import (
    STAGE_NEEDS,
    VISIT_WITHIN,
    Complaint,
    ComplaintOutcome,
    ComplaintRules,
    ComplaintStep,
    LegalDocument,
    LegalDocumentKind,
    LitigationStage,
    LitigationStep,
    Settlement,
    SettlementKind,
    SettlementLimits,
    SettlementState,
    Visit,
    discount_pct,
)

_ZERO = Decimal(0)
CASE_NAMESPACE = UUID("6f1d2c1e-8a0b-4c55-9d8e-3b7a4c2f9e10")


class Case(Aggregate):
    """A delinquent account placed with an agency, from placement to closure."""

    @staticmethod
    def create_id(creditor_id: str, account_ref: str) -> UUID:
        """Case ids derive from (creditor, account): placing the same account twice is a no-op."""
        return case_id_for(creditor_id, account_ref)

    @event("Placed")
    def __init__(
        self,
        *,
        creditor_id: str,
        account_ref: str,
        placement_ref: str,
        agency_id: str,
        allocation: dict[str, Any],
        debtor_id: str,
        debtor_pii: str,
        debtor_timezone: str,
        contact_points: int,
        currency: str,
        balances: dict[str, Decimal],
        dpd: int,
        bucket: str,
        product: str | None,
        placed_at: datetime,
        term_end: date,
        actor: str,
        # The creditor's time zone: its days are the days of the placement term and of
        # aging. Histories recorded before it was recorded are UTC, as they were then.
        creditor_timezone: str = "UTC",
        # The day the account became delinquent, in the creditor's zone (placement day less
        # the DPD): DPD on any later day is the days since. Derived for older histories.
        delinquent_since: date | None = None,
    ) -> None:
        self.creditor_id = creditor_id
        self.account_ref = account_ref
        self.placement_ref = placement_ref
        self.agency_id = agency_id
        self.allocation = allocation
        self.debtor_id = debtor_id
        self.debtor_pii = debtor_pii  # sealed under the debtor's data key; opaque here
        self.debtor_timezone = debtor_timezone
        self.contact_points = contact_points
        self.currency = currency
        self.balances = dict(balances)
        self.placed_amount = sum(balances.values(), Decimal(0))
        self.dpd = dpd
        self.bucket = bucket
        self.product = product
        self.placed_at = placed_at
        self.term_end = term_end
        self.creditor_timezone = creditor_timezone
        self.delinquent_since = delinquent_since or (
            local_day(placed_at, creditor_timezone) - timedelta(days=dpd))
        self.assigned_at = placed_at
        # Who held the case from when to when: one stint per placement or reassignment.
        self.stints: list[Stint] = [Stint(1, agency_id, placed_at, term_end)]
        self.paid_total = Decimal(0)
        self.payments: dict[str, Payment] = {}
        self.promises: dict[str, Promise] = {}
        self.plan: list[Installment] | None = None
        self.plan_id: str | None = None
        self.plan_target = Decimal(0)
        self.contacts = 0
        self.contact_ids: set[str] = set()
        self.right_party_contacts = 0
        self.last_contact_at: datetime | None = None
        self.dispute_open = False
        self.hardship = False
        self.cease_contact = False
        self.escalations: list[dict[str, Any]] = []
        self.recalled = False
        self.recall_reason: str | None = None
        self.closed = False
        self.close_reason: str | None = None
        self.closed_at: datetime | None = None
        self.complaints: dict[str, Complaint] = {}
        self.visits: dict[str, Visit] = {}
        self.settlements: dict[str, Settlement] = {}
        # What the creditor gave up (approved reductions, the rest of a fulfilled
        # settlement), and when: the balance on any past day nets it.
        self.waived_total = Decimal(0)
        self.waivers: list[tuple[datetime, Decimal]] = []
        self.reveals: dict[str, str] = {}  # reveal id -> reason (collectors' PII reveals)
        # The law firm the case was last handed to (a reassignment to an agency of kind
        # law_firm), the lawsuit's stages and the legal documents referenced.
        self.law_firm_id: str | None = None
        self.litigation: dict[str, LitigationStep] = {}
        self.legal_documents: dict[str, LegalDocument] = {}

    # ----------------------------------------------------------------- derived state

    @property
    def outstanding(self) -> Decimal:
        """What the debtor still owes: placed amount less net payments and what the creditor
        waived (negative if overpaid)."""
        return self.placed_amount - self.paid_total - self.waived_total

    @property
    def status(self) -> CaseStatus:
        """The case status, derived from the facts recorded so far."""
        if self.closed:
            return CaseStatus.CLOSED
        if self.recalled:
            return CaseStatus.RECALLED
        if self.dispute_open:
            return CaseStatus.DISPUTED
        if self.plan is not None:
            return CaseStatus.ARRANGEMENT
        if any(p.state is PromiseState.OPEN for p in self.promises.values()):
            return CaseStatus.PROMISED
        if self.contacts or self.payments:
            return CaseStatus.ACTIVE
        return CaseStatus.PLACED

    @property
    def assigned_agency_id(self) -> str | None:
        """The agency the case is assigned to now; none once recalled."""
        return None if self.recalled else self.agency_id

    def debtor_day(self, at: datetime) -> date:
        """The calendar day of an instant where the debtor lives (promise and plan days)."""
        return local_day(at, self.debtor_timezone)

    def creditor_day(self, at: datetime) -> date:
        """The calendar day of an instant in the creditor's zone (term and aging days)."""
        return local_day(at, self.creditor_timezone)

    def outstanding_at(self, at: datetime) -> Decimal:
        """What the debtor owed at an instant: the placed amount less the money received
        before then, net of what was reversed before then (business times, whenever the
        facts were recorded)."""
        paid = sum((p.amount for p in self.payments.values() if p.received_at < at), _ZERO)
        taken_back = sum((amount for p in self.payments.values() for when, amount in p.reversals
                          if when < at), _ZERO)
        waived = sum((amount for when, amount in self.waivers if when < at), _ZERO)
        return self.placed_amount - paid + taken_back - waived

    def dpd_on(self, day: date) -> int:
        """Days past due at the end of a day of the creditor's calendar: the days since the
        account became delinquent while anything is owed, 0 once nothing is."""
        if self.outstanding_at(day_end(day, self.creditor_timezone)) <= 0:
            return 0
        return max((day - self.delinquent_since).days, 0)

    def bucket_on(self, day: date, scheme: tuple[BucketRange, ...] = DEFAULT_BUCKETS) -> str:
        """The aging bucket at the end of a day of the creditor's calendar: `paid` once
        nothing is owed, `current` below every range of the scheme, else the scheme's."""
        if self.outstanding_at(day_end(day, self.creditor_timezone)) <= 0:
            return PAID
        return bucket_for(self.dpd_on(day), scheme) or CURRENT

    # ----------------------------------------------------------------- deadlines

    def deadlines(self) -> list[Deadline]:
        """What falls due on this case if nothing happens first, earliest first: each open
        promise at the end of its due day where the debtor lives; the current placement
        term at the end of its last day in the creditor's zone (while an agency holds the
        case). Derived from the events alone, so a rebuild finds the same ones."""
        found = [Deadline(PROMISE_DUE, p.promise_id, day_end(p.due_date, self.debtor_timezone))
                 for p in self.promises.values() if p.state is PromiseState.OPEN]
        found += [Deadline(COMPLAINT_STEP, f"{c.complaint_id}:{step.value}", c.due[step])
                  for c in self.complaints.values() if c.open for step in ComplaintStep
                  if step not in c.done and step not in c.missed]
        found += [Deadline(SETTLEMENT_DUE, st.settlement_id,
                           day_end(st.due_date, self.debtor_timezone))
                  for st in self.settlements.values() if st.binding and st.due_date]
        if not self.closed and not self.recalled:
            found.append(Deadline(TERM_END, str(self.stints[-1].seq),
                                  day_end(self.term_end, self.creditor_timezone)))
        return sorted(found, key=lambda d: (d.due_at, d.kind, d.ref))

    @property
    def next_deadline_at(self) -> datetime | None:
        """When the next deadline falls due (None: nothing pending)."""
        found = self.deadlines()
        return found[0].due_at if found else None

    def responsible_stint(self, at: datetime) -> Stint:
        """The stint money received at `at` belongs to: the one holding the case then; else
        the last one that had ended by then (its tail may still pay); else (money received
        before the case was placed) the first one. Decided here, once, and recorded with the
        payment: consumers never re-derive it."""
        holding = [s for s in self.stints if s.holds(at)]
        if holding:
            return holding[-1]
        ended = [s for s in self.stints if s.ended_at is not None and s.ended_at <= at]
        return ended[-1] if ended else self.stints[0]

    def _end_stint(self, at: datetime, reason: str) -> None:
        current = self.stints[-1]
        if current.ended_at is None:
            current.ended_at, current.end_reason = at, reason

    # ----------------------------------------------------------------- invariants

    def check_open(self) -> None:
        """Refuse intents on a closed case."""
        if self.closed:
            raise CaseClosed(f"case is closed ({self.close_reason})")

    def check_workable(self) -> None:
        """Refuse agency work on a closed or recalled case."""
        self.check_open()
        if self.recalled:
            raise CaseRecalled("case was recalled by the creditor")

    def check_positive(self, amount: Decimal, what: str) -> None:
        """Refuse zero and negative amounts."""
        if amount <= 0:
            raise InvalidAmount(f"{what} must be greater than zero")

    def check_currency(self, currency: str) -> None:
        """Refuse money in another currency than the account's."""
        if currency != self.currency:
            raise InvalidAmount(f"case is in {self.currency}, not {currency}")

    # ----------------------------------------------------------------- facts

    def record_contact(
        self,
        *,
        contact_id: str,
        channel: str,
        direction: str,
        party: str,
        outcome: str,
        action_code: str,
        agent_id: str | None,
        recording_ref: str | None,
        contact_point: ContactPoint | None,
        occurred_at: datetime,
        note: str | None,
        actor: str,
        catalogue: tuple[int, tuple[str, ...]] | None = None,
    ) -> bool:
        """Record a contact that happened; returns False if this contact id is already recorded.
        With the creditor's action-code `catalogue` (version, codes; empty codes: any), an
        unknown code is refused: it is bad input, not a broken rule."""
        if contact_id in self.contact_ids:
            return False
        if catalogue is not None and catalogue[1] and action_code not in catalogue[1]:
            raise UnknownActionCode(
                f"action code {action_code!r} is not in the creditor's catalogue "
                f"(version {catalogue[0]})", valid_codes=sorted(catalogue[1]))
        flags: list[str] = []
        if self.cease_contact and channel != Channel.LETTER and direction == "outbound":
            flags.append(ContactFlag.AFTER_CEASE_CONTACT)
        if self.closed:
            flags.append(ContactFlag.CASE_CLOSED)
        elif self.recalled:
            flags.append(ContactFlag.CASE_RECALLED)
        if self.dispute_open and direction == "outbound":
            flags.append(ContactFlag.DISPUTE_HOLD)
        if (self.contact_held_by_complaint and direction == "outbound"
                and channel != Channel.LETTER):
            flags.append(ContactFlag.COMPLAINT_HOLD)
        if occurred_at < self.placed_at:  # one rule for every fact dated before the placement
            flags.append(ContactFlag.BEFORE_PLACEMENT)
        self._contacted(
            contact_id=contact_id, channel=channel, direction=direction, party=party,
            outcome=outcome, action_code=action_code, agent_id=agent_id,
            recording_ref=recording_ref,
            contact_point_ref=contact_point.ref if contact_point else None,
            contact_point_hint=contact_point.hint if contact_point else None,
            contact_point_sealed=contact_point.sealed if contact_point else None,
            occurred_at=occurred_at,
            agency_id=self.agency_id, note=note, flags=flags, actor=actor,
            **({"catalogue_version": catalogue[0]} if catalogue and catalogue[1] else {}),
        )
        return True

    @event("Contacted")
    def _contacted(
        self, contact_id: str, channel: str, direction: str, party: str, outcome: str,
        action_code: str, agent_id: str | None, recording_ref: str | None,
        contact_point_ref: str | None, contact_point_hint: str | None,
        contact_point_sealed: str | None, occurred_at: datetime, agency_id: str, note: str | None,
        flags: list[str], actor: str,
        catalogue_version: int | None = None,  # the action-code catalogue it was checked on
    ) -> None:
        self.contact_ids.add(contact_id)
        self.contacts += 1
        if party == "debtor":
            self.right_party_contacts += 1
        if self.last_contact_at is None or occurred_at > self.last_contact_at:
            self.last_contact_at = occurred_at

    def receive_payment(
        self,
        *,
        reference: str,
        amount: Decimal,
        currency: str,
        source: str,
        received_at: datetime,
        method: str | None,
        actor: str,
    ) -> bool:
        """Record a payment; returns False if this reference was already recorded identically."""
        self.check_positive(amount, "payment amount")
        self.check_currency(currency)
        existing = self.payments.get(reference)
        if existing is not None:
            if existing.amount == amount and existing.source == source:
                return False
            raise PaymentReferenceConflict(
                f"payment {reference!r} was already recorded with other details")
        flags: list[str] = []
        if self.closed:
            flags.append(PaymentFlag.AFTER_CLOSE)
        elif self.recalled:
            flags.append(PaymentFlag.AFTER_RECALL)
        if amount > self.outstanding:
            flags.append(PaymentFlag.OVERPAYMENT)
        # The money belongs to the agency that held the case when it was received (creditor-
        # direct money too); money received before the placement is nobody's recovery.
        stint = self.responsible_stint(received_at)
        if received_at < stint.assigned_at:
            flags.append(PaymentFlag.BEFORE_PLACEMENT)
        self._payment_received(
            reference=reference, amount=amount, currency=currency, source=source,
            received_at=received_at, method=method, agency_id=stint.agency_id,
            assignment=stint.seq, flags=flags, actor=actor,
        )
        self._settle_promises(received_at, actor)
        self._fulfil_settlement(received_at, actor)
        return True

    @event("PaymentReceived")
    def _payment_received(
        self, reference: str, amount: Decimal, currency: str, source: str, received_at: datetime,
        method: str | None, agency_id: str, flags: list[str], actor: str,
        assignment: int | None = None,  # None in histories recorded before stints were
    ) -> None:
        payment = Payment(
            reference=reference, amount=amount, source=PaymentSource(source),
            received_at=received_at, agency_id=agency_id, flags=list(flags))
        self.payments[reference] = payment
        self.paid_total += amount
        remaining = amount
        for promise in self._open_promises():
            applied = min(remaining, promise.amount - promise.paid)
            if applied > 0:
                promise.paid += applied
                payment.applied_to_promises[promise.promise_id] = applied
            remaining -= applied
            if remaining <= 0:
                break
        if self.plan is not None and self.paid_total >= self.plan_target:
            self.plan = None  # the arrangement is complete

    def _open_promises(self) -> list[Promise]:
        return sorted((p for p in self.promises.values() if p.state is PromiseState.OPEN),
                      key=lambda p: (p.due_date, p.promised_at))

    def _settle_promises(self, paid_at: datetime, actor: str) -> None:
        for promise in self._open_promises():
            if promise.paid >= promise.amount and self.debtor_day(paid_at) <= promise.due_date:
                self._promise_kept(promise_id=promise.promise_id, kept_at=paid_at, actor=actor)

    @event("PromiseKept")
    def _promise_kept(self, promise_id: str, kept_at: datetime, actor: str) -> None:
        self.promises[promise_id].state = PromiseState.KEPT

    def reverse_payment(
        self, *, reference: str, amount: Decimal | None, reason: str, reversed_at: datetime,
        actor: str,
    ) -> bool:
        """Reverse (part of) a payment that bounced or was charged back; False if already done."""
        payment = self.payments.get(reference)
        if payment is None:
            raise UnknownPayment(f"no payment {reference!r} on this case")
        remaining = payment.amount - payment.reversed
        if amount is None:
            if remaining == 0:
                return False
            amount = remaining
        self.check_positive(amount, "reversal amount")
        if amount > remaining:
            raise InvalidAmount(
                f"reversal of {amount} exceeds the {remaining} not yet reversed on {reference!r}")
        kept = {p.promise_id for p in self.promises.values() if p.state is PromiseState.KEPT}
        self._payment_reversed(
            reference=reference, amount=amount, reason=reason, reversed_at=reversed_at,
            agency_id=payment.agency_id, source=payment.source.value, actor=actor,
        )
        # The money that kept a promise bounced: the promise is open again, a fact of its
        # own so that every consumer applies it instead of working it out.
        for promise_id in sorted(kept):
            promise = self.promises[promise_id]
            if promise.state is PromiseState.OPEN:
                self._promise_reopened(
                    promise_id=promise_id, reference=reference,
                    shortfall=promise.amount - promise.paid, reopened_at=reversed_at,
                    agency_id=self.agency_id, actor=actor)
        return True

    @event("PaymentReversed")
    def _payment_reversed(
        self, reference: str, amount: Decimal, reason: str, reversed_at: datetime,
        agency_id: str | None, source: str, actor: str,
    ) -> None:
        payment = self.payments[reference]
        payment.reversed += amount
        payment.reversals.append((reversed_at, amount))
        self.paid_total -= amount
        # Reversed money never reached the debtor's promises: take it back, latest promise first.
        to_take = amount
        for promise_id in reversed(list(payment.applied_to_promises)):
            taken = min(to_take, payment.applied_to_promises[promise_id])
            payment.applied_to_promises[promise_id] -= taken
            promise = self.promises[promise_id]
            promise.paid -= taken
            if promise.state is PromiseState.KEPT and promise.paid < promise.amount:
                promise.state = PromiseState.OPEN  # the money that kept it bounced
            to_take -= taken
            if to_take <= 0:
                break

    @event("PromiseReopened")
    def _promise_reopened(self, promise_id: str, reference: str, shortfall: Decimal,
                          reopened_at: datetime, agency_id: str, actor: str) -> None:
        # The reversal's handler already reopened it (histories recorded before this event
        # existed replay the same way); this records the fact for everyone else.
        self.promises[promise_id].state = PromiseState.OPEN

    # ----------------------------------------------------------------- intents

    def promise_to_pay(
        self, *, promise_id: str, amount: Decimal, due_date: date, promised_at: datetime,
        actor: str,
    ) -> bool:
        """Record the debtor's promise to pay an amount by a date; returns False if this very
        promise (same id, amount and due date) is already recorded: a retry records nothing."""
        existing = self.promises.get(promise_id)
        if existing is not None:
            if existing.amount == amount and existing.due_date == due_date:
                return False
            raise InvalidTransition(
                f"promise {promise_id!r} was already recorded with other details")
        self.check_workable()
        self.check_positive(amount, "promised amount")
        if amount > self.outstanding:
            raise InvalidAmount(f"promised {amount} exceeds the outstanding {self.outstanding}")
        if due_date < self.debtor_day(promised_at):
            raise InvalidDate("a promise cannot fall due before it was made")
        self._promised_to_pay(promise_id=promise_id, amount=amount, due_date=due_date,
                              promised_at=promised_at, agency_id=self.agency_id, actor=actor)
        return True

    @event("PromisedToPay")
    def _promised_to_pay(
        self, promise_id: str, amount: Decimal, due_date: date, promised_at: datetime,
        agency_id: str, actor: str,
    ) -> None:
        self.promises[promise_id] = Promise(promise_id, amount, due_date, promised_at)

    def break_promise(self, *, promise_id: str, as_of: datetime, actor: str) -> None:
        """Mark a promise broken: its due date passed without it being paid in full."""
        promise = self.promises.get(promise_id)
        if promise is None:
            raise UnknownPromise(f"no promise {promise_id!r} on this case")
        if promise.state is not PromiseState.OPEN:
            raise InvalidTransition(f"promise {promise_id!r} is already {promise.state}")
        if self.debtor_day(as_of) <= promise.due_date:
            raise InvalidDate(f"promise {promise_id!r} is not due until {promise.due_date}")
        self._promise_broken(promise_id=promise_id, shortfall=promise.amount - promise.paid,
                             broken_at=as_of, agency_id=self.agency_id, actor=actor)

    @event("PromiseBroken")
    def _promise_broken(
        self, promise_id: str, shortfall: Decimal, broken_at: datetime, agency_id: str,
        actor: str,
    ) -> None:
        self.promises[promise_id].state = PromiseState.BROKEN

    def agree_repayment_plan(
        self, *, plan_id: str, installments: list[tuple[date, Decimal]], agreed_at: datetime,
        actor: str,
    ) -> None:
        """Record an agreed plan of installments (分期还款)."""
        self.check_workable()
        if not installments:
            raise InvalidTransition("a repayment plan needs at least one installment")
        dates = [d for d, _ in installments]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise InvalidDate("installment dates must be strictly increasing")
        if dates[0] < self.debtor_day(agreed_at):
            raise InvalidDate("the first installment cannot fall due before the plan is agreed")
        for _, amount in installments:
            self.check_positive(amount, "installment amount")
        total = sum((a for _, a in installments), Decimal(0))
        if total > self.outstanding:
            raise InvalidAmount(f"plan total {total} exceeds the outstanding {self.outstanding}")
        self._repayment_plan_agreed(
            plan_id=plan_id,
            installments=[{"due_date": d, "amount": a} for d, a in installments],
            total=total, agreed_at=agreed_at, agency_id=self.agency_id, actor=actor)

    @event("RepaymentPlanAgreed")
    def _repayment_plan_agreed(
        self, plan_id: str, installments: list[dict[str, Any]], total: Decimal,
        agreed_at: datetime, agency_id: str, actor: str,
    ) -> None:
        self.plan_id = plan_id
        self.plan = [Installment(i["due_date"], i["amount"]) for i in installments]
        self.plan_target = self.paid_total + total

    def dispute(self, *, reason: str, disputed_at: datetime, actor: str) -> None:
        """The debtor disputes the debt: collection holds until it is resolved."""
        self.check_open()
        if self.dispute_open:
            raise InvalidTransition("a dispute is already open on this case")
        self._disputed(reason=reason, disputed_at=disputed_at, actor=actor)

    @event("Disputed")
    def _disputed(self, reason: str, disputed_at: datetime, actor: str) -> None:
        self.dispute_open = True

    def resolve_dispute(self, *, outcome: str, note: str | None, resolved_at: datetime,
                        actor: str) -> None:
        """Close the open dispute with its outcome."""
        if not self.dispute_open:
            raise InvalidTransition("there is no open dispute to resolve")
        self._dispute_resolved(outcome=outcome, note=note, resolved_at=resolved_at, actor=actor)

    @event("DisputeResolved")
    def _dispute_resolved(self, outcome: str, note: str | None, resolved_at: datetime,
                          actor: str) -> None:
        self.dispute_open = False

    def flag_hardship(self, *, reason: str, flagged_at: datetime, actor: str) -> None:
        """Record that the debtor claims hardship."""
        self.check_open()
        self._hardship_flagged(reason=reason, flagged_at=flagged_at, actor=actor)

    @event("HardshipFlagged")
    def _hardship_flagged(self, reason: str, flagged_at: datetime, actor: str) -> None:
        self.hardship = True

    def request_cease_contact(self, *, requested_at: datetime, channel: str, note: str | None,
                              actor: str) -> bool:
        """Record the debtor's request to stop contact; False if one is already in effect."""
        if self.cease_contact:
            return False
        self._cease_contact_requested(requested_at=requested_at, channel=channel, note=note,
                                      actor=actor)
        return True

    @event("CeaseContactRequested")
    def _cease_contact_requested(self, requested_at: datetime, channel: str, note: str | None,
                                 actor: str) -> None:
        self.cease_contact = True

    def escalate(self, *, kind: str, reason: str, escalated_at: datetime, actor: str) -> None:
        """Escalate to a field visit, legal action or a supervisor."""
        self.check_workable()
        if kind == EscalationKind.FIELD_VISIT and self.cease_contact:
            raise InvalidTransition("the debtor asked to cease contact: no field visits")
        self._escalated(kind=kind, reason=reason, escalated_at=escalated_at,
                        agency_id=self.agency_id, actor=actor)

    @event("Escalated")
    def _escalated(self, kind: str, reason: str, escalated_at: datetime, agency_id: str,
                   actor: str) -> None:
        self.escalations.append({"kind": kind, "reason": reason, "at": escalated_at})

    def recall(self, *, reason: str, recalled_at: datetime, actor: str,
               complaint_id: str | None = None) -> None:
        """The creditor takes the case back from the agency (for a complaint: naming it)."""
        self.check_open()
        if self.recalled:
            raise InvalidTransition("case is already recalled")
        if complaint_id is not None:
            if reason != RecallReason.COMPLAINT:
                raise InvalidTransition("a recall names a complaint only for reason complaint")
            self._complaint(complaint_id)
        if recalled_at < self.assigned_at:
            raise InvalidDate(f"the case was assigned to {self.agency_id} at "
                              f"{self.assigned_at.isoformat()}: a recall cannot precede it")
        self._recalled(reason=reason, recalled_at=recalled_at, agency_id=self.agency_id,
                       actor=actor, **({"complaint_id": complaint_id} if complaint_id else {}))

    @event("Recalled")
    def _recalled(self, reason: str, recalled_at: datetime, agency_id: str, actor: str,
                  complaint_id: str | None = None) -> None:
        self.recalled = True
        self.recall_reason = reason
        self._end_stint(recalled_at, "recalled")

    def reassign(self, *, to_agency_id: str, reason: str, term_end: date | None,
                 reassigned_at: datetime, actor: str, to_law_firm: bool = False) -> None:
        """Move the case to another agency (rotation, second placement). A move to an agency
        of kind law_firm (`to_law_firm`, as the agency registry says) is the legal hand-off:
        `HandedToLawFirm` follows the `Reassigned`."""
        self.check_open()
        if to_agency_id == self.agency_id and not self.recalled:
            raise InvalidTransition(f"case is already assigned to {to_agency_id}")
        new_term_end = term_end or self.term_end
        if reassigned_at < self.assigned_at:
            raise InvalidDate(f"the case was assigned to {self.agency_id} at "
                              f"{self.assigned_at.isoformat()}: a reassignment cannot precede it")
        if new_term_end < self.creditor_day(reassigned_at):
            raise InvalidDate("the new placement term ends before the reassignment")
        self._reassigned(from_agency_id=self.agency_id, to_agency_id=to_agency_id, reason=reason,
                         term_end=new_term_end, reassigned_at=reassigned_at, actor=actor)
        if to_law_firm:
            self._handed_to_law_firm(law_firm_id=to_agency_id, reason=reason,
                                     handed_at=reassigned_at, actor=actor)

    def expire_term(self, *, seq: int, as_of: datetime, to_agency_id: str | None,
                    new_term_end: date | None, actor: str,
                    scorecard: dict[str, Any] | None = None) -> bool:
        """The placement term of stint `seq` ran out at `as_of` (the end of its last day in the
        creditor's zone): the case goes back to the creditor (`Recalled`, reason
        `term_ended`), or on to `to_agency_id` for a new term (`Reassigned`, reason
        `term_ended`), as the creditor's rules say; with the `scorecard` that chose the
        agency, `ReallocatedByScorecard` records it. False when that term is no longer the
        current one (already expired, or the case moved on): a second worker, or a retry,
        records nothing."""
        current = self.stints[-1]
        if current.seq != seq or current.ended_at is not None or self.closed or self.recalled:
            return False
        if self.creditor_day(as_of) <= self.term_end:
            raise InvalidDate(f"the placement term runs until {self.term_end} "
                              f"({self.creditor_timezone})")
        if to_agency_id is None or to_agency_id == self.agency_id:
            self._recalled(reason="term_ended", recalled_at=as_of, agency_id=self.agency_id,
                           actor=actor)
            return True
        if new_term_end is None or new_term_end < self.creditor_day(as_of):
            raise InvalidDate("the new placement term must end on or after its first day")
        self._reassigned(from_agency_id=self.agency_id, to_agency_id=to_agency_id,
                         reason="term_ended", term_end=new_term_end, reassigned_at=as_of,
                         actor=actor)
        if scorecard is not None:  # the rotation's measure, recorded with the move
            self._reallocated_by_scorecard(to_agency_id=to_agency_id, scorecard=scorecard,
                                           reallocated_at=as_of, actor=actor)
        return True

    @event("ReallocatedByScorecard")
    def _reallocated_by_scorecard(self, to_agency_id: str, scorecard: dict[str, Any],
                                  reallocated_at: datetime, actor: str) -> None:
        pass

    @event("Reassigned")
    def _reassigned(self, from_agency_id: str, to_agency_id: str, reason: str, term_end: date,
                    reassigned_at: datetime, actor: str) -> None:
        self._end_stint(reassigned_at, "reassigned")
        self.stints.append(Stint(len(self.stints) + 1, to_agency_id, reassigned_at, term_end))
        self.agency_id = to_agency_id
        self.term_end = term_end
        self.assigned_at = reassigned_at
        self.recalled = False
        self.recall_reason = None

    def close(self, *, reason: str, closed_at: datetime, note: str | None, actor: str) -> None:
        """End the case; the reason must be true of the case."""
        self.check_open()
        if reason == CloseReason.PAID_IN_FULL and self.outstanding > 0:
            raise InvalidTransition(
                f"cannot close as paid in full with {self.outstanding} outstanding")
        if reason == CloseReason.RECALLED and not self.recalled:
            raise InvalidTransition("cannot close as recalled: the case was not recalled")
        if reason == CloseReason.TERM_EXPIRED and self.creditor_day(closed_at) < self.term_end:
            raise InvalidTransition(f"the placement term runs until {self.term_end}")
        self._closed(reason=reason, closed_at=closed_at, outstanding=self.outstanding,
                     agency_id=self.agency_id, note=note, actor=actor)

    @event("Closed")
    def _closed(self, reason: str, closed_at: datetime, outstanding: Decimal, agency_id: str,
                note: str | None, actor: str) -> None:
        self.closed = True
        self.close_reason = reason
        self.closed_at = closed_at
        self._end_stint(closed_at, "closed")

    @event("HandedToLawFirm")
    def _handed_to_law_firm(self, law_firm_id: str, reason: str, handed_at: datetime,
                            actor: str) -> None:
        self.law_firm_id = law_firm_id

    # ----------------------------------------------------------------- litigation (诉讼)

    @property
    def with_law_firm(self) -> bool:
        """Whether a law firm holds the case now (handed over, not moved on or recalled)."""
        return (self.law_firm_id is not None and self.agency_id == self.law_firm_id
                and not self.recalled)

    def record_litigation_stage(self, *, stage_ref: str, stage: str, occurred_at: datetime,
                                court: str | None, docket_no: str | None, note: str | None,
                                actor: str) -> bool:
        """The law firm holding the case records a stage of the lawsuit: filed first, a
        hearing or judgment after the filing, enforcement after a judgment. False for a
        repeat of the same stage reference with the same content."""
        step = LitigationStep(stage_ref=stage_ref, stage=LitigationStage(stage).value,
                              occurred_at=occurred_at, court=court, docket_no=docket_no,
                              law_firm_id=self.law_firm_id or "")
        if stage_ref in self.litigation:
            if self.litigation[stage_ref] == step:
                return False
            raise InvalidTransition(f"litigation stage {stage_ref!r} was recorded otherwise")
        if not self.with_law_firm:
            raise InvalidTransition("litigation stages are recorded while a law firm holds the "
                                    "case (reassign it to an agency of kind law_firm)")
        needs = STAGE_NEEDS[LitigationStage(stage)]
        recorded = {s.stage for s in self.litigation.values()}
        if needs is not None and needs.value not in recorded:
            raise InvalidTransition(f"a {stage} stage needs the {needs.value} stage first")
        if stage in (LitigationStage.FILED, LitigationStage.JUDGMENT) and stage in recorded:
            raise InvalidTransition(f"the {stage} stage is already recorded")
        if occurred_at < self.assigned_at:
            raise InvalidDate("a litigation stage cannot precede the hand-off to the law firm")
        self._litigation_stage_recorded(
            stage_ref=stage_ref, stage=step.stage, occurred_at=occurred_at, court=court,
            docket_no=docket_no, note=note, law_firm_id=self.agency_id, actor=actor)
        return True

    @event("LitigationStageRecorded")
    def _litigation_stage_recorded(self, stage_ref: str, stage: str, occurred_at: datetime,
                                   court: str | None, docket_no: str | None, note: str | None,
                                   law_firm_id: str, actor: str) -> None:
        self.litigation[stage_ref] = LitigationStep(stage_ref, stage, occurred_at, court,
                                                    docket_no, law_firm_id)

    def reference_legal_document(self, *, document_id: str, kind: str, sha256: str,
                                 referenced_at: datetime, note: str | None,
                                 actor: str) -> bool:
        """Refer to a legal document by its content hash (the document stays where it is).
        Only a case handed to a law firm has legal documents. False for a repeat of the
        same reference; another hash or kind under the same id is refused."""
        digest = sha256.lower()
        if document_id in self.legal_documents:
            known = self.legal_documents[document_id]
            if (known.kind, known.sha256) == (LegalDocumentKind(kind).value, digest):
                return False
            raise InvalidTransition(f"document {document_id!r} was referenced with another "
                                    "kind or hash")
        if self.law_firm_id is None:
            raise InvalidTransition("legal documents belong to a case handed to a law firm")
        self._legal_document_referenced(
            document_id=document_id, kind=LegalDocumentKind(kind).value, sha256=digest,
            referenced_at=referenced_at, note=note, law_firm_id=self.law_firm_id, actor=actor)
        return True

    @event("LegalDocumentReferenced")
    def _legal_document_referenced(self, document_id: str, kind: str, sha256: str,
                                   referenced_at: datetime, note: str | None, law_firm_id: str,
                                   actor: str) -> None:
        self.legal_documents[document_id] = LegalDocument(document_id, kind, sha256,
                                                          referenced_at, actor)

    # ----------------------------------------------------------------- complaints (投诉)

    def receive_complaint(
        self, *, complaint_id: str, channel: str, category: str, received_at: datetime,
        note: str | None, rules: ComplaintRules, actor: str,
    ) -> bool:
        """Record a complaint with the deadline of each step under the creditor's rules, and
        whether it holds outbound contact while open; False for a repeat of the same one."""
        existing = self.complaints.get(complaint_id)
        if existing is not None:
            if (existing.channel, existing.category) == (channel, category):
                return False
            raise InvalidTransition(
                f"complaint {complaint_id!r} was already recorded with other details")
        if received_at < self.placed_at:
            raise InvalidDate("a complaint about this case cannot precede its placement")
        due = rules.deadlines(received_at)
        self._complaint_received(
            complaint_id=complaint_id, channel=channel, category=category,
            received_at=received_at, agency_id=self.assigned_agency_id,
            contact_hold=category in rules.hold_categories and not self.closed,
            acknowledge_by=due[ComplaintStep.ACKNOWLEDGE],
            investigate_by=due[ComplaintStep.INVESTIGATE],
            resolve_by=due[ComplaintStep.RESOLVE], note=note, actor=actor)
        return True

    @event("ComplaintReceived")
    def _complaint_received(
        self, complaint_id: str, channel: str, category: str, received_at: datetime,
        agency_id: str | None, contact_hold: bool, acknowledge_by: datetime,
        investigate_by: datetime, resolve_by: datetime, note: str | None, actor: str,
    ) -> None:
        self.complaints[complaint_id] = Complaint(
            complaint_id, channel, category, received_at, contact_hold,
            {ComplaintStep.ACKNOWLEDGE: acknowledge_by, ComplaintStep.INVESTIGATE: investigate_by,
             ComplaintStep.RESOLVE: resolve_by})

    @property
    def contact_held_by_complaint(self) -> bool:
        """An open complaint holds outbound contact."""
        return any(c.open and c.contact_hold for c in self.complaints.values())

    def _complaint(self, complaint_id: str) -> Complaint:
        complaint = self.complaints.get(complaint_id)
        if complaint is None:
            raise UnknownWorkflowItem(f"no complaint {complaint_id!r} on this case")
        return complaint

    def _complaint_step(self, complaint: Complaint, step: ComplaintStep, at: datetime) -> bool:
        """Check a step may be taken now: False if it was already taken (a repeat)."""
        if step in complaint.done:
            return False
        if not complaint.open:
            raise InvalidTransition(f"complaint {complaint.complaint_id!r} is resolved")
        before = {ComplaintStep.INVESTIGATE: ComplaintStep.ACKNOWLEDGE,
                  ComplaintStep.RESOLVE: ComplaintStep.INVESTIGATE}.get(step)
        if before is not None and before not in complaint.done:
            raise InvalidTransition(
                f"complaint {complaint.complaint_id!r} must be {before.value}d first")
        if at < complaint.received_at:
            raise InvalidDate(f"cannot {step.value} a complaint before it was received")
        return True

    def acknowledge_complaint(self, *, complaint_id: str, acknowledged_at: datetime,
                              actor: str) -> bool:
        """Acknowledge a complaint to the complainant; False if already acknowledged."""
        complaint = self._complaint(complaint_id)
        if not self._complaint_step(complaint, ComplaintStep.ACKNOWLEDGE, acknowledged_at):
            return False
        self._complaint_acknowledged(
            complaint_id=complaint_id, acknowledged_at=acknowledged_at,
            agency_id=self.assigned_agency_id,
            late=acknowledged_at > complaint.due[ComplaintStep.ACKNOWLEDGE], actor=actor)
        return True

    @event("ComplaintAcknowledged")
    def _complaint_acknowledged(self, complaint_id: str, acknowledged_at: datetime,
                                agency_id: str | None, late: bool, actor: str) -> None:
        self.complaints[complaint_id].done[ComplaintStep.ACKNOWLEDGE] = acknowledged_at

    def investigate_complaint(self, *, complaint_id: str, finding: str,
                              investigated_at: datetime, actor: str) -> bool:
        """Record what the investigation found; False if already recorded with that
        finding."""
        complaint = self._complaint(complaint_id)
        if ComplaintStep.INVESTIGATE in complaint.done and complaint.finding != finding:
            raise InvalidTransition(
                f"complaint {complaint_id!r} was already investigated with another finding")
        if not self._complaint_step(complaint, ComplaintStep.INVESTIGATE, investigated_at):
            return False
        self._complaint_investigated(
            complaint_id=complaint_id, finding=finding, investigated_at=investigated_at,
            agency_id=self.assigned_agency_id,
            late=investigated_at > complaint.due[ComplaintStep.INVESTIGATE], actor=actor)
        return True

    @event("ComplaintInvestigated")
    def _complaint_investigated(self, complaint_id: str, finding: str,
                                investigated_at: datetime, agency_id: str | None, late: bool,
                                actor: str) -> None:
        complaint = self.complaints[complaint_id]
        complaint.done[ComplaintStep.INVESTIGATE] = investigated_at
        complaint.finding = finding

    def resolve_complaint(self, *, complaint_id: str, outcome: str, note: str | None,
                          resolved_at: datetime, actor: str) -> bool:
        """Resolve a complaint (investigated first, unless the complainant withdrew it); the
        contact hold it placed ends. False if already resolved with that outcome."""
        complaint = self._complaint(complaint_id)
        if not complaint.open:
            if complaint.outcome == outcome:
                return False
            raise InvalidTransition(
                f"complaint {complaint_id!r} was already resolved as {complaint.outcome}")
        if outcome != ComplaintOutcome.WITHDRAWN:
            self._complaint_step(complaint, ComplaintStep.RESOLVE, resolved_at)
        elif resolved_at < complaint.received_at:
            raise InvalidDate("cannot resolve a complaint before it was received")
        self._complaint_resolved(
            complaint_id=complaint_id, outcome=outcome, resolved_at=resolved_at,
            agency_id=self.assigned_agency_id,
            late=resolved_at > complaint.due[ComplaintStep.RESOLVE], note=note, actor=actor)
        return True

    @event("ComplaintResolved")
    def _complaint_resolved(self, complaint_id: str, outcome: str, resolved_at: datetime,
                            agency_id: str | None, late: bool, note: str | None,
                            actor: str) -> None:
        complaint = self.complaints[complaint_id]
        complaint.done[ComplaintStep.RESOLVE] = resolved_at
        complaint.outcome = outcome

    def miss_complaint_deadline(self, *, complaint_id: str, step: str, as_of: datetime,
                                actor: str) -> bool:
        """The deadline of a complaint step passed with the step not taken: recorded once, as
        of the deadline. False if the step was taken or the miss already recorded."""
        complaint = self._complaint(complaint_id)
        kind = ComplaintStep(step)
        if kind in complaint.done or kind in complaint.missed or not complaint.open:
            return False
        due = complaint.due[kind]
        if as_of < due:
            raise InvalidDate(f"the complaint's {kind.value} step is due at {due.isoformat()}")
        self._complaint_deadline_missed(complaint_id=complaint_id, step=kind.value, due_at=due,
                                        agency_id=self.assigned_agency_id, actor=actor)
        return True

    @event("ComplaintDeadlineMissed")
    def _complaint_deadline_missed(self, complaint_id: str, step: str, due_at: datetime,
                                   agency_id: str | None, actor: str) -> None:
        self.complaints[complaint_id].missed.add(step)

    # ----------------------------------------------------------------- field visits (外访)

    def request_visit(self, *, visit_id: str, reason: str, urgent: bool,
                      requested_at: datetime, actor: str) -> bool:
        """Request a field visit (the agency's supervisor approves it; an urgent one may be
        approved after it was made); False for a repeat of the same request."""
        existing = self.visits.get(visit_id)
        if existing is not None:
            if (existing.reason, existing.urgent) == (reason, urgent):
                return False
            raise InvalidTransition(f"visit {visit_id!r} was already requested otherwise")
        self.check_workable()
        if self.cease_contact:
            raise InvalidTransition("the debtor asked to cease contact: no field visits")
        if self.contact_held_by_complaint:
            raise InvalidTransition("an open complaint holds contact: no field visits")
        if requested_at < self.assigned_at:
            raise InvalidDate("a visit cannot be requested before the case was assigned")
        self._visit_requested(visit_id=visit_id, reason=reason, urgent=urgent,
                              requested_at=requested_at, visit_by=requested_at + VISIT_WITHIN,
                              agency_id=self.agency_id, actor=actor)
        return True

    @event("VisitRequested")
    def _visit_requested(self, visit_id: str, reason: str, urgent: bool, requested_at: datetime,
                         visit_by: datetime, agency_id: str, actor: str) -> None:
        self.visits[visit_id] = Visit(visit_id, reason, urgent, requested_at, visit_by)

    def _visit(self, visit_id: str) -> Visit:
        visit = self.visits.get(visit_id)
        if visit is None:
            raise UnknownWorkflowItem(f"no visit {visit_id!r} on this case")
        return visit

    def approve_visit(self, *, visit_id: str, approved_at: datetime, actor: str) -> bool:
        """The supervisor approves a visit (after the fact for an urgent visit already
        made); False if already approved."""
        visit = self._visit(visit_id)
        if visit.approved:
            return False
        if visit.rejected:
            raise InvalidTransition(f"visit {visit_id!r} was rejected")
        if approved_at < visit.requested_at:
            raise InvalidDate("a visit cannot be approved before it was requested")
        self._visit_approved(visit_id=visit_id, approved_at=approved_at,
                             after_the_fact=visit.performed_at is not None,
                             agency_id=self.assigned_agency_id, actor=actor)
        return True

    @event("VisitApproved")
    def _visit_approved(self, visit_id: str, approved_at: datetime, after_the_fact: bool,
                        agency_id: str | None, actor: str) -> None:
        self.visits[visit_id].approved = True

    def reject_visit(self, *, visit_id: str, reason: str, rejected_at: datetime,
                     actor: str) -> bool:
        """The supervisor rejects a visit not yet made; False if already rejected."""
        visit = self._visit(visit_id)
        if visit.rejected:
            return False
        if visit.approved or visit.performed_at is not None:
            raise InvalidTransition(f"visit {visit_id!r} is already {visit.state.value}")
        self._visit_rejected(visit_id=visit_id, reason=reason, rejected_at=rejected_at,
                             agency_id=self.assigned_agency_id, actor=actor)
        return True

    @event("VisitRejected")
    def _visit_rejected(self, visit_id: str, reason: str, rejected_at: datetime,
                        agency_id: str | None, actor: str) -> None:
        self.visits[visit_id].rejected = True

    def perform_visit(self, *, visit_id: str, performed_at: datetime, outcome: str,
                      visitor_id: str, evidence: list[dict[str, str]], actor: str) -> bool:
        """Record a visit that was made, with references to its evidence (recordings,
        photos: hash and reference, never the files). A visit must be approved first
        unless it is urgent. False for a repeat."""
        visit = self._visit(visit_id)
        if visit.performed_at is not None:
            if visit.outcome == outcome:
                return False
            raise InvalidTransition(f"visit {visit_id!r} was already recorded as {visit.outcome}")
        if visit.rejected:
            raise InvalidTransition(f"visit {visit_id!r} was rejected")
        if not visit.approved and not visit.urgent:
            raise InvalidTransition(
                f"visit {visit_id!r} needs the supervisor's approval first (only urgent "
                "visits are approved afterwards)")
        if performed_at < visit.requested_at:
            raise InvalidDate("a visit cannot be made before it was requested")
        self._visit_performed(
            visit_id=visit_id, performed_at=performed_at, outcome=outcome,
            visitor_id=visitor_id, evidence=evidence, late=performed_at > visit.visit_by,
            agency_id=self.assigned_agency_id, actor=actor)
        return True

    @event("VisitPerformed")
    def _visit_performed(self, visit_id: str, performed_at: datetime, outcome: str,
                         visitor_id: str, evidence: list[dict[str, str]], late: bool,
                         agency_id: str | None, actor: str) -> None:
        visit = self.visits[visit_id]
        visit.performed_at, visit.outcome = performed_at, outcome

    def report_visit(self, *, visit_id: str, summary: str, reported_at: datetime,
                     actor: str) -> bool:
        """File the report of a visit made; False if already reported."""
        visit = self._visit(visit_id)
        if visit.reported:
            return False
        if visit.performed_at is None:
            raise InvalidTransition(f"visit {visit_id!r} has not been made yet")
        if reported_at < visit.performed_at:
            raise InvalidDate("a visit cannot be reported before it was made")
        self._visit_reported(visit_id=visit_id, reported_at=reported_at, summary=summary,
                             agency_id=self.assigned_agency_id, actor=actor)
        return True

    @event("VisitReported")
    def _visit_reported(self, visit_id: str, reported_at: datetime, summary: str,
                        agency_id: str | None, actor: str) -> None:
        self.visits[visit_id].reported = True

    # --------------------------------------------- settlements, reductions, deferrals

    def propose_settlement(
        self, *, settlement_id: str, kind: str, amount: Decimal, due_date: date | None,
        proposed_at: datetime, actor: str,
    ) -> bool:
        """The agency proposes terms for the creditor to approve: a settlement (pay `amount`
        by `due_date`, the rest is waived), a reduction (`amount` waived now) or a deferral
        (`amount` due by a later `due_date`). One proposal or binding term at a time.
        False for a repeat of the same proposal."""
        existing = self.settlements.get(settlement_id)
        if existing is not None:
            if (existing.kind, existing.amount, existing.due_date) == (kind, amount, due_date):
                return False
            raise InvalidTransition(
                f"proposal {settlement_id!r} was already recorded with other terms")
        self.check_workable()
        live = [st for st in self.settlements.values()
                if st.state in (SettlementState.PROPOSED, SettlementState.APPROVED)]
        if live:
            raise InvalidTransition(f"proposal {live[0].settlement_id!r} is still "
                                    f"{live[0].state.value}: one at a time")
        self.check_positive(amount, "amount")
        outstanding = self.outstanding
        if kind == SettlementKind.REDUCTION:
            if due_date is not None:
                raise InvalidDate("a reduction has no due date")
            if amount >= outstanding:
                raise InvalidAmount(f"a reduction of {amount} leaves nothing of the "
                                    f"outstanding {outstanding}: propose a settlement")
            discount = amount
        else:
            if due_date is None:
                raise InvalidDate(f"a {kind} needs a due date")
            if due_date < self.debtor_day(proposed_at):
                raise InvalidDate("the due date cannot fall before the proposal")
            if amount > outstanding:
                raise InvalidAmount(f"{amount} exceeds the outstanding {outstanding}")
            discount = outstanding - amount if kind == SettlementKind.SETTLEMENT else _ZERO
        self._settlement_proposed(
            settlement_id=settlement_id, kind=kind, amount=amount, due_date=due_date,
            outstanding=outstanding, discount=discount, proposed_at=proposed_at,
            agency_id=self.agency_id, actor=actor)
        return True

    @event("SettlementProposed")
    def _settlement_proposed(
        self, settlement_id: str, kind: str, amount: Decimal, due_date: date | None,
        outstanding: Decimal, discount: Decimal, proposed_at: datetime, agency_id: str,
        actor: str,
    ) -> None:
        self.settlements[settlement_id] = Settlement(
            settlement_id, kind, amount, due_date, outstanding, discount, proposed_at,
            paid_before=self.paid_total)

    def _settlement(self, settlement_id: str) -> Settlement:
        found = self.settlements.get(settlement_id)
        if found is None:
            raise UnknownWorkflowItem(f"no proposal {settlement_id!r} on this case")
        return found

    def approve_settlement(self, *, settlement_id: str, approved_at: datetime,
                           limits: SettlementLimits, actor: str) -> bool:
        """The creditor approves a proposal within its approval limits; the terms bind (a
        reduction is waived at once). False if already approved."""
        proposal = self._settlement(settlement_id)
        if proposal.state is not SettlementState.PROPOSED:
            if proposal.state is SettlementState.APPROVED:
                return False
            raise InvalidTransition(f"proposal {settlement_id!r} is {proposal.state.value}")
        self.check_workable()
        if approved_at < proposal.proposed_at:
            raise InvalidDate("a proposal cannot be approved before it was made")
        pct = discount_pct(proposal.discount, proposal.outstanding)
        if pct > limits.max_discount_pct:
            raise BeyondApprovalLimit(
                f"a discount of {pct}% is beyond the creditor's limit of "
                f"{limits.max_discount_pct}%")
        if proposal.kind == SettlementKind.DEFERRAL and proposal.due_date is not None:
            days = (proposal.due_date - self.debtor_day(approved_at)).days
            if days > limits.max_deferral_days:
                raise BeyondApprovalLimit(
                    f"a deferral of {days} days is beyond the creditor's limit of "
                    f"{limits.max_deferral_days} days")
        waived = _ZERO
        if proposal.kind == SettlementKind.REDUCTION:
            if proposal.amount >= self.outstanding:
                raise InvalidAmount(f"the reduction of {proposal.amount} is no longer below "
                                    f"the outstanding {self.outstanding}")
            waived = proposal.amount
        self._settlement_approved(settlement_id=settlement_id, approved_at=approved_at,
                                  agency_id=self.assigned_agency_id, waived=waived,
                                  limit=limits.to_json(), actor=actor)
        if proposal.kind != SettlementKind.REDUCTION:
            self._fulfil_settlement(approved_at, actor)  # already paid since it was proposed
        return True

    @event("SettlementApproved")
    def _settlement_approved(self, settlement_id: str, approved_at: datetime,
                             agency_id: str | None, waived: Decimal, limit: dict[str, Any],
                             actor: str) -> None:
        proposal = self.settlements[settlement_id]
        if proposal.kind == SettlementKind.REDUCTION:
            proposal.state = SettlementState.FULFILLED  # nothing more to do: it is waived
            self.waived_total += waived
            self.waivers.append((approved_at, waived))
        else:
            proposal.state = SettlementState.APPROVED

    def reject_settlement(self, *, settlement_id: str, reason: str, rejected_at: datetime,
                          actor: str) -> bool:
        """The creditor rejects a proposal; False if already rejected."""
        proposal = self._settlement(settlement_id)
        if proposal.state is SettlementState.REJECTED:
            return False
        if proposal.state is not SettlementState.PROPOSED:
            raise InvalidTransition(f"proposal {settlement_id!r} is {proposal.state.value}")
        self._settlement_rejected(settlement_id=settlement_id, reason=reason,
                                  rejected_at=rejected_at, agency_id=self.assigned_agency_id,
                                  actor=actor)
        return True

    @event("SettlementRejected")
    def _settlement_rejected(self, settlement_id: str, reason: str, rejected_at: datetime,
                             agency_id: str | None, actor: str) -> None:
        self.settlements[settlement_id].state = SettlementState.REJECTED

    def _fulfil_settlement(self, at: datetime, actor: str) -> None:
        """After money comes in: a binding settlement or deferral paid in full (by net
        payments since it was proposed) is fulfilled; a settlement then closes the case as
        settled, the rest of the balance waived."""
        for st in list(self.settlements.values()):
            if not st.binding:
                continue
            paid = self.paid_total - st.paid_before
            if paid < st.amount:
                continue
            waived = max(self.outstanding, _ZERO) if st.kind == SettlementKind.SETTLEMENT \
                else _ZERO
            self._settlement_fulfilled(settlement_id=st.settlement_id, fulfilled_at=at,
                                       paid=paid, waived=waived,
                                       agency_id=self.assigned_agency_id, actor=actor)
            if st.kind == SettlementKind.SETTLEMENT and not self.closed:
                self._closed(reason=CloseReason.SETTLED.value, closed_at=at,
                             outstanding=self.outstanding, agency_id=self.agency_id,
                             note=f"settlement {st.settlement_id}", actor=actor)

    @event("SettlementFulfilled")
    def _settlement_fulfilled(self, settlement_id: str, fulfilled_at: datetime, paid: Decimal,
                              waived: Decimal, agency_id: str | None, actor: str) -> None:
        self.settlements[settlement_id].state = SettlementState.FULFILLED
        if waived:
            self.waived_total += waived
            self.waivers.append((fulfilled_at, waived))

    def default_settlement(self, *, settlement_id: str, as_of: datetime, actor: str) -> bool:
        """The due day of binding terms ended without them being paid: recorded once, by the
        deadline worker. False when they are no longer binding."""
        st = self._settlement(settlement_id)
        if not st.binding or st.due_date is None:
            return False
        if self.debtor_day(as_of) <= st.due_date:
            raise InvalidDate(f"proposal {settlement_id!r} is not due until {st.due_date}")
        self._settlement_defaulted(
            settlement_id=settlement_id, defaulted_at=as_of,
            shortfall=st.amount - (self.paid_total - st.paid_before),
            agency_id=self.assigned_agency_id, actor=actor)
        return True

    @event("SettlementDefaulted")
    def _settlement_defaulted(self, settlement_id: str, defaulted_at: datetime,
                              shortfall: Decimal, agency_id: str | None, actor: str) -> None:
        self.settlements[settlement_id].state = SettlementState.DEFAULTED

    # ----------------------------------------------------------------- PII reveals

    def reveal_pii(self, *, reveal_id: str, reason: str, revealed_at: datetime,
                   actor: str) -> bool:
        """A collector (who sees the debtor masked) opens the debtor's details for a stated
        reason: an audited fact. False for a repeat of the same reveal."""
        if reveal_id in self.reveals:
            if self.reveals[reveal_id] == reason:
                return False
            raise InvalidTransition(f"reveal {reveal_id!r} was recorded with another reason")
        self._pii_revealed(reveal_id=reveal_id, reason=reason, revealed_at=revealed_at,
                           agency_id=self.assigned_agency_id, actor=actor)
        return True

    @event("PiiRevealed")
    def _pii_revealed(self, reveal_id: str, reason: str, revealed_at: datetime,
                      agency_id: str | None, actor: str) -> None:
        self.reveals[reveal_id] = reason


PROMISE_DUE, TERM_END = "promise_due", "term_end"
COMPLAINT_STEP, SETTLEMENT_DUE = "complaint_step", "settlement_due"


@dataclass(frozen=True)
class Deadline:
    """Something that falls due on a case unless it happens first."""

    kind: str  # promise_due | term_end
    ref: str  # the promise id | the stint (seq) whose term ends
    due_at: datetime


def local_day(at: datetime, zone: str) -> date:
    """The calendar day of an instant in a time zone."""
    return at.astimezone(ZoneInfo(zone)).date()


def day_end(day: date, zone: str) -> datetime:
    """The instant a day ends in a time zone (the next day's midnight there), in UTC."""
    return datetime.combine(day + timedelta(days=1), time(), ZoneInfo(zone)).astimezone(UTC)


def case_id_for(creditor_id: str, account_ref: str) -> UUID:
    """The deterministic case id of a creditor's account."""
    return uuid5(CASE_NAMESPACE, f"{creditor_id}\x1f{account_ref}")
