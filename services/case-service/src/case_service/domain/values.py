"""Value objects and vocabularies of the collection domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class CaseStatus(StrEnum):
    """Where a case stands, derived from its events alone."""

    PLACED = "placed"          # assigned, not yet worked
    ACTIVE = "active"          # worked: contacted or paying
    PROMISED = "promised"      # an open promise to pay
    ARRANGEMENT = "arrangement"  # a repayment plan is running
    DISPUTED = "disputed"      # debtor disputes the debt: collection on hold
    RECALLED = "recalled"      # creditor took the case back
    CLOSED = "closed"


class Channel(StrEnum):
    """How a contact was made."""

    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"
    VISIT = "visit"


class Direction(StrEnum):
    """Who started the contact."""

    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Party(StrEnum):
    """Who was reached; `debtor` is a right-party contact (RPC)."""

    DEBTOR = "debtor"
    THIRD_PARTY = "third_party"   # family, employer, guarantor, other contact
    NONE = "none"                 # nobody reached


class ContactOutcome(StrEnum):
    """What came of a contact attempt."""

    CONVERSATION = "conversation"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    WRONG_NUMBER = "wrong_number"
    INVALID_NUMBER = "invalid_number"
    REFUSED = "refused"
    DELIVERED = "delivered"        # sms, email, letter
    UNDELIVERABLE = "undeliverable"
    DEBTOR_NOT_FOUND = "debtor_not_found"  # field visit
    DEBTOR_MET = "debtor_met"              # field visit


class PaymentSource(StrEnum):
    """Who took the money: the agency, or the creditor directly (still counts when reported)."""

    AGENCY = "agency"
    CREDITOR_DIRECT = "creditor_direct"


class EscalationKind(StrEnum):
    """Where a case is escalated to."""

    FIELD_VISIT = "field_visit"
    LEGAL = "legal"
    SUPERVISOR = "supervisor"


class RecallReason(StrEnum):
    """Why a creditor takes a case back."""

    TERM_ENDED = "term_ended"
    COMPLAINT = "complaint"
    ROTATION = "rotation"
    PAID_DIRECTLY = "paid_directly"
    OTHER = "other"


class CloseReason(StrEnum):
    """Why a case ended."""

    PAID_IN_FULL = "paid_in_full"
    SETTLED = "settled"
    UNCOLLECTIBLE = "uncollectible"
    RECALLED = "recalled"
    TERM_EXPIRED = "term_expired"


class DisputeOutcome(StrEnum):
    """How a dispute ended."""

    UPHELD = "upheld"      # the debtor was right
    REJECTED = "rejected"  # the debt stands; collection resumes


class PromiseState(StrEnum):
    """A promise to pay is open until kept (paid by its due date) or broken."""

    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"


class ContactFlag(StrEnum):
    """Rules a recorded contact broke, as far as the case itself can tell."""

    AFTER_CEASE_CONTACT = "after_cease_contact"
    CASE_RECALLED = "case_recalled"
    CASE_CLOSED = "case_closed"
    DISPUTE_HOLD = "dispute_hold"
    COMPLAINT_HOLD = "complaint_hold"  # an open complaint holds outbound contact
    BEFORE_PLACEMENT = "before_placement"  # dated before the case was placed with anyone


class PaymentFlag(StrEnum):
    """Circumstances of a recorded payment that billing and auditors must see."""

    AFTER_RECALL = "after_recall"
    AFTER_CLOSE = "after_close"
    OVERPAYMENT = "overpayment"
    BEFORE_PLACEMENT = "before_placement"  # received before the case was placed: no agency's


BALANCE_COMPONENTS = ("principal", "interest", "fees", "penalties")


@dataclass
class Promise:
    """A promise to pay an amount by a due date."""

    promise_id: str
    amount: Decimal
    due_date: date
    promised_at: datetime
    paid: Decimal = Decimal(0)
    state: PromiseState = PromiseState.OPEN


@dataclass
class Payment:
    """A payment received on the case, and how much of it was reversed."""

    reference: str
    amount: Decimal
    source: PaymentSource
    received_at: datetime
    agency_id: str | None
    reversed: Decimal = Decimal(0)
    flags: list[str] = field(default_factory=list)
    # How much of this payment went to each promise, so a reversal can take it back.
    applied_to_promises: dict[str, Decimal] = field(default_factory=dict)
    # (when, how much) of each reversal, so the balance on any past day is known.
    reversals: list[tuple[datetime, Decimal]] = field(default_factory=list)


@dataclass
class Stint:
    """A stretch of time one agency held the case: from a placement or reassignment until a
    recall, a reassignment or the closure (open while it lasts)."""

    seq: int
    agency_id: str
    assigned_at: datetime
    term_end: date
    ended_at: datetime | None = None
    end_reason: str | None = None  # recalled | reassigned | closed

    def holds(self, at: datetime) -> bool:
        """Whether this agency held the case at an instant."""
        return self.assigned_at <= at and (self.ended_at is None or at < self.ended_at)


@dataclass
class Installment:
    """One due amount of a repayment plan."""

    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class BucketRange:
    """A DPD range that names a bucket: M1 is 1-30 days past due, and so on."""

    name: str
    min_dpd: int
    max_dpd: int | None  # None: no upper bound


DEFAULT_BUCKETS: tuple[BucketRange, ...] = (
    BucketRange("M1", 1, 30),
    BucketRange("M2", 31, 60),
    BucketRange("M3", 61, 90),
    BucketRange("M4+", 91, None),
)


PAID, CURRENT = "paid", "current"  # aging buckets outside any DPD range: nothing owed / 0 DPD


def bucket_for(dpd: int, scheme: tuple[BucketRange, ...] = DEFAULT_BUCKETS) -> str | None:
    """The bucket a DPD falls in under a scheme, or None if no range covers it."""
    for bucket in scheme:
        if dpd >= bucket.min_dpd and (bucket.max_dpd is None or dpd <= bucket.max_dpd):
            return bucket.name
    return None


@dataclass(frozen=True)
class ContactPoint:
    """The number or address a contact used, protected: never stored or published in clear."""

    ref: str  # opaque and stable per debtor and number: what frequency caps count by
    hint: str  # masked for display, e.g. **********1111
    sealed: str  # the number itself, sealed under the debtor's data key (shreddable)
