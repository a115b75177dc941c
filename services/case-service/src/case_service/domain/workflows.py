"""The collection workflows a case goes through beside contacts and money (seed 003, the
agency's service plan): complaints (投诉), field visits (外访) and settlements, reductions and
deferrals (结清、减免、延期) approved by the creditor; and the creditor's rules that govern
them (complaint deadlines and contact holds, approval limits, the action-code catalogue,
provision rates). Values only: the Case aggregate records the facts (domain/case.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from typing import Any

# ------------------------------------------------------------------------------ complaints


class ComplaintChannel(StrEnum):
    """How a complaint reached the creditor or the agency."""

    PHONE = "phone"
    LETTER = "letter"
    EMAIL = "email"
    IN_PERSON = "in_person"
    ONLINE = "online"
    REGULATOR = "regulator"  # forwarded by a regulator (e.g. 12378)


class ComplaintCategory(StrEnum):
    """What a complaint is about."""

    CONDUCT = "conduct"          # how a collector behaved
    FREQUENCY = "frequency"      # too many contacts
    PRIVACY = "privacy"          # disclosure, data
    AMOUNT = "amount"            # the amount claimed
    THIRD_PARTY = "third_party"  # family, employer, neighbours were contacted
    OTHER = "other"


class ComplaintStep(StrEnum):
    """The steps a complaint goes through, each with its deadline."""

    ACKNOWLEDGE = "acknowledge"
    INVESTIGATE = "investigate"
    RESOLVE = "resolve"


class ComplaintOutcome(StrEnum):
    """How a complaint ended."""

    UPHELD = "upheld"
    PARTIALLY_UPHELD = "partially_upheld"
    NOT_UPHELD = "not_upheld"
    WITHDRAWN = "withdrawn"


@dataclass
class Complaint:
    """A complaint on a case and where it stands."""

    complaint_id: str
    channel: str
    category: str
    received_at: datetime
    contact_hold: bool
    due: dict[str, datetime]  # step -> deadline
    done: dict[str, datetime] = field(default_factory=dict)  # step -> when it was done
    missed: set[str] = field(default_factory=set)  # steps whose deadline passed undone
    finding: str | None = None
    outcome: str | None = None

    @property
    def open(self) -> bool:
        """Not resolved yet."""
        return ComplaintStep.RESOLVE not in self.done

    @property
    def next_step(self) -> ComplaintStep | None:
        """The step due next (None once resolved)."""
        for step in ComplaintStep:
            if step not in self.done:
                return step
        return None


@dataclass(frozen=True)
class ComplaintRules:
    """A creditor's complaint handling: how long each step may take from receipt, and which
    categories hold outbound contact while the complaint is open."""

    acknowledge_hours: int = 24
    investigate_days: int = 7
    resolve_days: int = 15
    hold_categories: tuple[str, ...] = (
        ComplaintCategory.CONDUCT, ComplaintCategory.FREQUENCY, ComplaintCategory.PRIVACY,
        ComplaintCategory.THIRD_PARTY)

    def deadlines(self, received_at: datetime) -> dict[str, datetime]:
        """When each step falls due for a complaint received at an instant."""
        return {ComplaintStep.ACKNOWLEDGE: received_at + timedelta(hours=self.acknowledge_hours),
                ComplaintStep.INVESTIGATE: received_at + timedelta(days=self.investigate_days),
                ComplaintStep.RESOLVE: received_at + timedelta(days=self.resolve_days)}

    def to_json(self) -> dict[str, Any]:
        return {"acknowledge_hours": self.acknowledge_hours,
                "investigate_days": self.investigate_days, "resolve_days": self.resolve_days,
                "hold_categories": list(self.hold_categories)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ComplaintRules:
        if not data:
            return cls()
        return cls(acknowledge_hours=int(data.get("acknowledge_hours", 24)),
                   investigate_days=int(data.get("investigate_days", 7)),
                   resolve_days=int(data.get("resolve_days", 15)),
                   hold_categories=tuple(data.get("hold_categories", cls.hold_categories)))


# ------------------------------------------------------------------------------ field visits

VISIT_WITHIN = timedelta(days=7)  # DOMAIN.md: a requested visit happens within one week


class VisitOutcome(StrEnum):
    """What a field visit found."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    UNTRACEABLE = "untraceable"  # declared untraceable after the searches


class EvidenceKind(StrEnum):
    """What a piece of evidence is; only its reference and hash are recorded."""

    RECORDING = "recording"
    PHOTO = "photo"
    DOCUMENT = "document"


class VisitState(StrEnum):
    """Where a visit stands."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    PERFORMED = "performed"
    REPORTED = "reported"


@dataclass
class Visit:
    """A field visit and where it stands."""

    visit_id: str
    reason: str
    urgent: bool
    requested_at: datetime
    visit_by: datetime
    approved: bool = False
    rejected: bool = False
    performed_at: datetime | None = None
    outcome: str | None = None
    reported: bool = False

    @property
    def state(self) -> VisitState:
        if self.rejected:
            return VisitState.REJECTED
        if self.reported:
            return VisitState.REPORTED
        if self.performed_at is not None:
            return VisitState.PERFORMED
        if self.approved:
            return VisitState.APPROVED
        return VisitState.REQUESTED


# ------------------------------------------------------------------------------ settlements


class SettlementKind(StrEnum):
    """What an agency proposes and the creditor approves."""

    SETTLEMENT = "settlement"  # pay `amount` by the due date; the rest is waived, case closes
    REDUCTION = "reduction"    # `amount` is waived from the balance once approved
    DEFERRAL = "deferral"      # `amount` is due by a later date


class SettlementState(StrEnum):
    """Where a proposal stands."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    FULFILLED = "fulfilled"
    DEFAULTED = "defaulted"


@dataclass
class Settlement:
    """A proposal and, once approved, the terms that bind."""

    settlement_id: str
    kind: str
    amount: Decimal
    due_date: date | None
    outstanding: Decimal  # at proposal
    discount: Decimal
    proposed_at: datetime
    paid_before: Decimal  # the case's net payments when proposed: what is paid since counts
    state: SettlementState = SettlementState.PROPOSED

    @property
    def binding(self) -> bool:
        """Approved and not yet fulfilled or defaulted: its terms bind now."""
        return self.state is SettlementState.APPROVED


@dataclass(frozen=True)
class SettlementLimits:
    """How far a creditor lets a proposal go before its approval is refused: the largest
    discount as a percentage of the outstanding balance, and the longest deferral in days
    from approval. Zero (the default) means no discount and no deferral: a creditor states
    its limits in its rules before approving any."""

    max_discount_pct: Decimal = Decimal(0)
    max_deferral_days: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"max_discount_pct": str(self.max_discount_pct),
                "max_deferral_days": self.max_deferral_days}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SettlementLimits:
        if not data:
            return cls()
        return cls(max_discount_pct=Decimal(str(data.get("max_discount_pct", 0))),
                   max_deferral_days=int(data.get("max_deferral_days", 0)))


# ------------------------------------------------------------------------------ action codes


@dataclass(frozen=True)
class ActionCode:
    """One code of a creditor's catalogue (每个案件的跟进操作都须使用对应的行动码)."""

    code: str
    label: str  # what it means, in the creditor's words (zh first)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label}


def discount_pct(discount: Decimal, outstanding: Decimal) -> Decimal:
    """A discount as a percentage of the balance it is taken from (2 decimals, rounded up so
    a limit is never passed by rounding)."""
    if outstanding <= 0:
        return Decimal(0)
    return (discount * 100 / outstanding).quantize(Decimal("0.01"), rounding=ROUND_CEILING)


# ------------------------------------------------------------------------------ legal (诉讼)


class LitigationStage(StrEnum):
    """The stages of a lawsuit a law firm records, in their order (a hearing may repeat)."""

    FILED = "filed"  # 立案
    HEARING = "hearing"  # 开庭
    JUDGMENT = "judgment"  # 判决
    ENFORCEMENT = "enforcement"  # 强制执行


# What must be recorded before a stage: filed first, a judgment after the filing,
# enforcement after a judgment.
STAGE_NEEDS: dict[LitigationStage, LitigationStage | None] = {
    LitigationStage.FILED: None,
    LitigationStage.HEARING: LitigationStage.FILED,
    LitigationStage.JUDGMENT: LitigationStage.FILED,
    LitigationStage.ENFORCEMENT: LitigationStage.JUDGMENT,
}


class LegalDocumentKind(StrEnum):
    """The legal documents a case refers to (never stores: a hash, a kind, who and when)."""

    STATEMENT_OF_CLAIM = "statement_of_claim"  # 起诉状
    POWER_OF_ATTORNEY = "power_of_attorney"  # 授权委托书
    EVIDENCE = "evidence"  # 证据材料
    SUMMONS = "summons"  # 传票
    JUDGMENT = "judgment"  # 判决书
    ENFORCEMENT_APPLICATION = "enforcement_application"  # 强制执行申请书
    ENFORCEMENT_RULING = "enforcement_ruling"  # 执行裁定书
    DEMAND_LETTER = "demand_letter"  # 律师函
    OTHER = "other"


@dataclass(frozen=True)
class LitigationStep:
    """One stage of the lawsuit as the law firm recorded it."""

    stage_ref: str
    stage: str
    occurred_at: datetime
    court: str | None
    docket_no: str | None
    law_firm_id: str


@dataclass(frozen=True)
class LegalDocument:
    """A reference to a legal document: its content hash, kind, and who referenced it when."""

    document_id: str
    kind: str
    sha256: str
    referenced_at: datetime
    actor: str
