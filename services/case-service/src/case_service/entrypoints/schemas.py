"""Request and response bodies of the case API. Field paths in 422s come from these models."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from casetrail.clock import check_zone
from casetrail.envelope import EventEnvelope
from casetrail.money import (
    MAX_AMOUNT,
    PLAIN_DECIMAL_PATTERN,
    MoneyError,
    check_currency,
    parse_amount,
    parse_decimal,
)
from casetrail.web import Day, FactTime, Identifier
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from case_service.domain.values import (
    BALANCE_COMPONENTS,
    Channel,
    CloseReason,
    ContactOutcome,
    Direction,
    DisputeOutcome,
    EscalationKind,
    Party,
    PaymentSource,
    RecallReason,
)
from case_service.domain.workflows import (
    ComplaintCategory,
    ComplaintChannel,
    ComplaintOutcome,
    EvidenceKind,
    LegalDocumentKind,
    LitigationStage,
    SettlementKind,
    VisitOutcome,
)

MAX_AHEAD_YEARS = 10  # due dates, installments and term ends: at most this far ahead
MAX_AHEAD_DAYS = 3652


def _plain_decimal(value: Any) -> Decimal:
    try:
        return parse_decimal(value)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None


# A plain decimal string (or a JSON integer); never a float, an exponent or "1_000".
Amount = Annotated[Decimal, BeforeValidator(_plain_decimal),
                   Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False),
                   WithJsonSchema({"type": "string", "pattern": PLAIN_DECIMAL_PATTERN,
                                   "description": "a decimal string like \"1234.50\"",
                                   "examples": ["1234.50"]})]
Ref = Identifier
Text = Annotated[str, Field(min_length=1, max_length=500)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


def _not_too_far_ahead(value: date) -> date:
    if value > datetime.now(UTC).date() + timedelta(days=MAX_AHEAD_DAYS):
        raise ValueError(f"must be at most {MAX_AHEAD_YEARS} years ({MAX_AHEAD_DAYS} days) "
                         "from today")
    return value


AheadDay = Annotated[Day, AfterValidator(_not_too_far_ahead), Field(
    description=f"YYYY-MM-DD, at most {MAX_AHEAD_YEARS} years from today")]


@lru_cache(maxsize=1024)
def _zone_exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class Model(BaseModel):
    """Strict about unknown fields, so typos are reported rather than silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---------------------------------------------------------------------------------- placements


class DebtorIn(Model):
    """The debtor of an account. PII: sealed under the debtor's own key before storage."""

    name: ShortText
    national_id: Annotated[str, Field(min_length=4, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]
    phones: list[Annotated[str, Field(pattern=r"^\+?[0-9][0-9 ()-]{4,24}$")]] = Field(
        default_factory=list, max_length=10)
    address: Text | None = None
    email: Email | None = None
    timezone: str = Field(default="Asia/Shanghai", description="IANA zone for contact hours")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not _zone_exists(value):
            raise ValueError(f"unknown time zone {value!r}")
        return value


class AccountIn(Model):
    """One account of a placement; a bad row is rejected on its own, the rest go ahead."""

    account_ref: Ref
    agency_id: Ref | None = Field(default=None, description="omit to allocate by the "
                                  "creditor's rules")
    currency: str = "CNY"
    balances: dict[str, Amount] = Field(description="principal, interest, fees, penalties")
    dpd: int = Field(ge=0, le=36_500, description="days past due at placement")
    term_end: AheadDay | None = Field(default=None, description="end of the placement term; "
                                      "default: the creditor's default term from today")
    product: ShortText | None = None
    debtor: DebtorIn

    @model_validator(mode="after")
    def _money(self) -> AccountIn:
        try:
            self.currency = check_currency(self.currency)
            unknown = set(self.balances) - set(BALANCE_COMPONENTS)
            if unknown:
                raise ValueError(f"unknown balance components {sorted(unknown)}; "
                                 f"use {list(BALANCE_COMPONENTS)}")
            if "principal" not in self.balances:
                raise ValueError("balances.principal is required")
            for value in self.balances.values():
                parse_amount(value, self.currency)
            total = sum(self.balances.values(), Decimal(0))
        except MoneyError as exc:
            raise ValueError(str(exc)) from None
        if total <= 0:
            raise ValueError("the placed balance must be greater than zero")
        if total > MAX_AMOUNT:
            raise ValueError(f"the placed balance exceeds {MAX_AMOUNT}")
        return self


class AccountRow:
    """A row of `accounts`: taken as any JSON value, so a bad row is rejected on its own (with
    its index) while the rest are placed; documented as AccountIn, which it is checked
    against."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler
                                     ) -> core_schema.CoreSchema:
        return core_schema.any_schema()

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(AccountIn.__pydantic_core_schema__)


class PlacementIn(Model):
    """A creditor's batch; `accounts` rows are validated one by one (see AccountIn)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"examples": [{
        "placement_ref": "P-2026-11-001", "accounts": [{
            "account_ref": "CC-0001", "agency_id": "AGENCY-A", "currency": "CNY",
            "balances": {"principal": "12000.00", "interest": "350.20", "fees": "50.00"},
            "dpd": 45, "product": "credit_card",
            "debtor": {"name": "Zhang San", "national_id": "110101199001011234",
                       "phones": ["+86 138 0000 0000"], "timezone": "Asia/Shanghai"}}]}]})

    creditor_id: Ref | None = Field(default=None, description="required for admins; "
                                    "creditor keys place for their own tenant")
    placement_ref: Ref
    accounts: list[AccountRow] = Field(min_length=1, max_length=10_000)


class AgencyShareIn(Model):
    """An agency's weight in a bucket."""

    agency_id: Ref
    weight: int = Field(ge=1, le=10_000)


class BucketRangeIn(Model):
    """A named DPD range."""

    name: Annotated[str, Field(min_length=1, max_length=16)]
    min_dpd: int = Field(ge=0, le=36_500)
    max_dpd: int | None = Field(default=None, ge=0, le=36_500)


Rate = Annotated[Decimal, BeforeValidator(_plain_decimal), Field(ge=0, le=1),
                 WithJsonSchema({"type": "string", "pattern": PLAIN_DECIMAL_PATTERN,
                                 "description": "a fraction from 0 to 1, e.g. \"0.25\""})]
Percent = Annotated[Decimal, BeforeValidator(_plain_decimal), Field(ge=0, le=100),
                    WithJsonSchema({"type": "string", "pattern": PLAIN_DECIMAL_PATTERN,
                                    "description": "a percentage from 0 to 100"})]


class ComplaintRulesIn(Model):
    """How long each complaint step may take from receipt; which categories hold contact."""

    acknowledge_hours: int = Field(default=24, ge=1, le=24 * 30)
    investigate_days: int = Field(default=7, ge=1, le=365)
    resolve_days: int = Field(default=15, ge=1, le=365)
    hold_categories: list[ComplaintCategory] = Field(default_factory=lambda: [
        ComplaintCategory.CONDUCT, ComplaintCategory.FREQUENCY, ComplaintCategory.PRIVACY,
        ComplaintCategory.THIRD_PARTY], max_length=6)

    @model_validator(mode="after")
    def _in_order(self) -> ComplaintRulesIn:
        if not self.acknowledge_hours <= self.investigate_days * 24 <= self.resolve_days * 24:
            raise ValueError("steps must fall due in order: acknowledge, investigate, resolve")
        return self


class SettlementLimitsIn(Model):
    """The creditor's approval limits (0: none approved)."""

    max_discount_pct: Percent = Decimal(0)
    max_deferral_days: int = Field(default=0, ge=0, le=MAX_AHEAD_DAYS)


class ActionCodeIn(Model):
    """One action code of the catalogue."""

    code: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,15}$")]
    label: ShortText


class ScorecardRuleIn(Model):
    """Champion/challenger rotation at a term's end."""

    champion_weight: int = Field(default=70, ge=0, le=100, description=(
        "of 100 cases whose term ends, how many go to the agency with the best recovery rate "
        "(the champion); the challengers share the rest equally"))


class AllocationRulesIn(Model):
    """Bucket → agencies with weights (champion/challenger), optional bucket scheme and term."""

    buckets: dict[str, list[AgencyShareIn]]
    bucket_scheme: list[BucketRangeIn] = Field(default_factory=list)
    default_term_days: int = Field(default=365, ge=1, le=3650)
    timezone: str | None = Field(
        default=None, max_length=64, description="the creditor's IANA time zone: the days of "
        "its placement terms and of aging are days there (default: the service's, "
        "CASETRAIL_DEFAULT_TIMEZONE)", examples=["Asia/Shanghai"])
    on_term_end: Literal["recall", "reallocate", "scorecard"] = Field(
        default="recall", description="when a placement term runs out, the case comes back "
        "to the creditor (recall) or moves to another agency of its bucket for a new term of "
        "default_term_days: by these weights (reallocate), or by a champion/challenger "
        "scorecard of the bucket's other agencies (scorecard, recorded with the move as "
        "ReallocatedByScorecard); recorded by `casetrail deadlines`")
    scorecard: ScorecardRuleIn = Field(
        default_factory=lambda: ScorecardRuleIn(), description="the rotation "
        "`on_term_end: scorecard` applies")

    complaints: ComplaintRulesIn = Field(
        default_factory=lambda: ComplaintRulesIn(), description="complaint step deadlines "
        "from receipt and the categories that hold outbound contact while open")
    settlement_limits: SettlementLimitsIn = Field(
        default_factory=lambda: SettlementLimitsIn(), description="how far the creditor "
        "approves: the largest discount (% of the outstanding) and the longest deferral")
    action_codes: list[ActionCodeIn] = Field(
        default_factory=list, max_length=500, description="the action-code catalogue: "
        "contacts must use one of these codes (empty: any code)")
    provision_rates: dict[Annotated[str, Field(min_length=1, max_length=16)], Rate] = Field(
        default_factory=dict, max_length=32, description="bad-debt provision rate per aging "
        "bucket, a fraction from 0 to 1 (计提坏账准备金)", examples=[{"M1": "0.05",
                                                                "M4+": "1"}])

    require_qualified_agencies: bool = Field(
        default=False, description="cases go only to agencies this creditor qualified "
        "(PUT /v1/creditors/{creditor_id}/agencies/{agency_id}/qualification: approved and "
        "unexpired on the day, in the creditor's zone): placements reject other accounts "
        "per row (`agency_not_qualified`), reassignments answer 409, and a term's end "
        "reallocates among qualified agencies only")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else check_zone(value)

    @field_validator("action_codes")
    @classmethod
    def _distinct_codes(cls, value: list[ActionCodeIn]) -> list[ActionCodeIn]:
        codes = [c.code for c in value]
        if len(set(codes)) != len(codes):
            raise ValueError("each action code may appear once")
        return value


# ---------------------------------------------------------------------------------- commands


# Every business time a caller states is checked once (web.FactTime): from 2000 on and not in
# the future, so a caller cannot break a promise early or close a term that has not ended,
# and every consumer can apply what is recorded.
PastTime = FactTime


class CommandIn(Model):
    """Every command may carry the version it expects the case to be at (else 409)."""

    expected_version: int | None = Field(default=None, ge=1)


class ContactIn(CommandIn):
    """A contact that happened (recorded even when it broke a rule, then flagged)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"examples": [{
        "contact_id": "DIALER-778812", "channel": "phone", "direction": "outbound",
        "party": "debtor", "outcome": "conversation", "action_code": "PTP",
        "agent_id": "AGENT-7", "contact_point": "+86 138 0000 0000",
        "occurred_at": "2026-11-20T09:30:00+08:00"}]})

    contact_id: Ref = Field(description="the dialer's id; re-posting it records nothing new")
    channel: Channel
    direction: Direction = Direction.OUTBOUND
    party: Party
    outcome: ContactOutcome
    action_code: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,15}$")]
    agent_id: Ref | None = None
    recording_ref: Annotated[str, Field(max_length=200)] | None = None
    contact_point: Annotated[str, Field(max_length=32)] | None = Field(
        default=None, description="which number or address, e.g. phone:1")
    occurred_at: PastTime
    note: Text | None = None



class PromiseIn(CommandIn):
    """The debtor promised to pay."""

    promise_id: Ref
    amount: Amount
    due_date: AheadDay
    promised_at: PastTime | None = None


class BreakPromiseIn(CommandIn):
    """Mark a promise broken after its due date."""

    as_of: PastTime | None = None


class PaymentIn(CommandIn):
    """A payment received; idempotent by reference."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"examples": [{
        "reference": "PAY-778812", "amount": "2000.00", "currency": "CNY", "source": "agency",
        "received_at": "2026-11-20T09:30:00+08:00", "method": "bank_transfer"}]})

    reference: Ref
    amount: Amount
    currency: str = "CNY"
    source: PaymentSource = PaymentSource.AGENCY
    received_at: PastTime
    method: ShortText | None = None


    @model_validator(mode="after")
    def _money(self) -> PaymentIn:
        try:
            self.currency = check_currency(self.currency)
            parse_amount(self.amount, self.currency, allow_zero=False)
        except MoneyError as exc:
            raise ValueError(str(exc)) from None
        return self


class ReversalIn(CommandIn):
    """A payment bounced or was charged back."""

    amount: Amount | None = Field(default=None, description="default: all not yet reversed")
    reason: ShortText
    reversed_at: PastTime | None = None


class InstallmentIn(Model):
    """One installment of a plan."""

    due_date: AheadDay
    amount: Amount


class PlanIn(CommandIn):
    """An agreed repayment plan."""

    plan_id: Ref
    installments: list[InstallmentIn] = Field(min_length=1, max_length=120)
    agreed_at: PastTime | None = None


class DisputeIn(CommandIn):
    """The debtor disputes the debt."""

    reason: Text
    disputed_at: PastTime | None = None


class DisputeResolutionIn(CommandIn):
    """The dispute's outcome."""

    outcome: DisputeOutcome
    note: Text | None = None
    resolved_at: PastTime | None = None


class HardshipIn(CommandIn):
    """The debtor claims hardship."""

    reason: Text
    flagged_at: PastTime | None = None


class CeaseContactIn(CommandIn):
    """The debtor asked that contact stop."""

    channel: Literal["written", "verbal", "email"] = "written"
    note: Text | None = None
    requested_at: PastTime | None = None


class EscalationIn(CommandIn):
    """Escalate to a field visit, legal action or a supervisor."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"examples": [
                                  {"kind": "supervisor", "reason": "asked for a supervisor"}]})

    kind: EscalationKind
    reason: Text
    escalated_at: PastTime | None = None


class RecallIn(CommandIn):
    """The creditor takes the case back."""

    reason: RecallReason
    recalled_at: PastTime | None = None
    complaint_id: Ref | None = Field(default=None, description="for reason `complaint`: the "
                                     "complaint on this case that caused the recall")


# ---------------------------------------------------------------- workflows (complaints, ...)


class ComplaintIn(CommandIn):
    """A complaint received (投诉): its deadlines come from the creditor's rules."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"examples": [{
        "complaint_id": "CMP-2026-0001", "channel": "phone", "category": "frequency",
        "received_at": "2026-12-01T10:00:00+08:00"}]})

    complaint_id: Ref = Field(description="your reference; re-posting it records nothing new")
    channel: ComplaintChannel
    category: ComplaintCategory
    received_at: PastTime | None = None
    note: Text | None = None


class ComplaintAcknowledgementIn(CommandIn):
    """The complainant was told the complaint is being handled."""

    acknowledged_at: PastTime | None = None


class ComplaintInvestigationIn(CommandIn):
    """What the investigation found."""

    finding: Text
    investigated_at: PastTime | None = None


class ComplaintResolutionIn(CommandIn):
    """How the complaint ended."""

    outcome: ComplaintOutcome
    note: Text | None = None
    resolved_at: PastTime | None = None


class VisitRequestIn(CommandIn):
    """A field visit requested (外访申请); the agency's supervisor approves it."""

    visit_id: Ref
    reason: Text
    urgent: bool = Field(default=False, description="urgent visits may be made first and "
                         "approved afterwards")
    requested_at: PastTime | None = None


class VisitApprovalIn(CommandIn):
    """The supervisor approves a visit."""

    approved_at: PastTime | None = None


class VisitRejectionIn(CommandIn):
    """The supervisor rejects a visit."""

    reason: Text
    rejected_at: PastTime | None = None


class EvidenceIn(Model):
    """A reference to a recording, photo or document, and its SHA-256 (never the file)."""

    kind: EvidenceKind
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    ref: Annotated[str, Field(min_length=1, max_length=200)]


class VisitOutcomeIn(CommandIn):
    """A visit that was made, with its evidence."""

    performed_at: PastTime
    outcome: VisitOutcome
    visitor_id: Ref = Field(description="the collector who made the visit")
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)


class VisitReportIn(CommandIn):
    """The report of a visit made."""

    summary: Text
    reported_at: PastTime | None = None


class LitigationStageIn(CommandIn):
    """A stage of the lawsuit, recorded by the law firm holding the case."""

    stage_ref: Ref = Field(description="your reference; re-posting it records nothing new")
    stage: LitigationStage
    occurred_at: PastTime
    court: ShortText | None = None
    docket_no: ShortText | None = Field(default=None, description="the court's case number "
                                        "(案号)")
    note: Text | None = None


class LegalDocumentIn(CommandIn):
    """A reference to a legal document: its kind and SHA-256, never the document."""

    document_id: Ref = Field(description="your reference; re-posting it records nothing new")
    kind: LegalDocumentKind
    sha256: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]
    referenced_at: PastTime | None = None
    note: Text | None = None


class PiiRevealIn(CommandIn):
    """A collector opens the debtor's details, for a reason that is recorded."""

    reveal_id: Ref = Field(description="your reference; re-posting it records nothing new")
    reason: Text


class SettlementIn(CommandIn):
    """A settlement, reduction or deferral the agency proposes to the creditor."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"examples": [{
        "settlement_id": "STL-1", "kind": "settlement", "amount": "3000.00",
        "due_date": "2026-12-31"}]})

    settlement_id: Ref
    kind: SettlementKind
    amount: Amount = Field(description="settlement: what the debtor pays to settle; "
                           "reduction: what is waived; deferral: what is due by due_date")
    due_date: AheadDay | None = Field(default=None, description="settlement and deferral: "
                                      "by when the debtor pays (none for a reduction)")
    proposed_at: PastTime | None = None


class SettlementApprovalIn(CommandIn):
    """The creditor approves a proposal (within its approval limits)."""

    approved_at: PastTime | None = None


class SettlementRejectionIn(CommandIn):
    """The creditor rejects a proposal."""

    reason: Text
    rejected_at: PastTime | None = None


class ReassignIn(CommandIn):
    """Move the case to another agency."""

    to_agency_id: Ref
    reason: ShortText
    term_end: AheadDay | None = None
    reassigned_at: PastTime | None = None


class CloseIn(CommandIn):
    """End the case."""

    reason: CloseReason
    note: Text | None = None
    closed_at: PastTime | None = None


# ---------------------------------------------------------------------------------- answers


class Out(BaseModel):
    """An answer; fields may be added over time, so clients should ignore unknown ones."""

    model_config = ConfigDict(extra="allow")


class CommandOut(Out):
    """What a command did."""

    case_id: str
    version: int
    status: str
    outstanding: str
    recorded: bool = Field(description="false when the request repeated one already recorded")
    events: list[str]


class RowError(Out):
    """What is wrong with a rejected row (`type` is absent for rules checked after parsing)."""

    path: str
    message: str
    type: str | None = None


class AcceptedRow(Out):
    """An account that has a case: opened now (`placed`) or before (`already_placed`)."""

    index: int
    account_ref: str
    case_id: str
    outcome: Literal["placed", "already_placed"]
    agency_id: str | None = None
    bucket: str | None = None


class RejectedRow(Out):
    """An account that was not placed, with its row index and what is wrong."""

    index: int
    account_ref: str | None
    errors: list[RowError]


class PlacementCounts(Out):
    """How many rows went where."""

    received: int
    placed: int
    already_placed: int
    rejected: int


class PlacementReceipt(Out):
    """The receipt of a placement, stored once and returned again on a replay."""

    creditor_id: str
    placement_ref: str
    request_sha256: str
    received_at: str
    acknowledged_at: str
    acknowledge_by: str = Field(description="received_at + 1 hour")
    acknowledged_within_deadline: bool
    counts: PlacementCounts
    accepted: list[AcceptedRow]
    rejected: list[RejectedRow]


class AgencyShareOut(Out):
    """An agency's weight in a bucket."""

    agency_id: str
    weight: int


class BucketRangeOut(Out):
    """A named DPD range."""

    name: str
    min_dpd: int
    max_dpd: int | None


class AllocationRulesOut(Out):
    """A version of a creditor's allocation rules (version 0: none set)."""

    version: int
    buckets: dict[str, list[AgencyShareOut]]
    bucket_scheme: list[BucketRangeOut]
    default_term_days: int
    timezone: str | None
    on_term_end: str
    complaints: dict[str, Any]
    settlement_limits: dict[str, Any]
    action_codes: list[dict[str, str]]
    provision_rates: dict[str, str]
    require_qualified_agencies: bool = False
    scorecard: dict[str, Any] | None = None


class CaseSummaryOut(Out):
    """A case in the case list."""

    case_id: str
    creditor_id: str
    account_ref: str
    placement_ref: str
    agency_id: str
    assigned_agency_id: str | None
    status: str
    bucket: str
    dpd: int
    currency: str
    placed_amount: str
    outstanding: str
    version: int
    placed_at: str
    term_end: str
    updated_at: str
    delinquent_since: str | None = Field(
        description="the day (the creditor's) the account became delinquent: DPD counts from "
        "it; null for cases listed before it was recorded")
    next_deadline_at: str | None = Field(
        description="when the next deadline falls due (a promise's or the term's), UTC")
    dpd_today: int | None = Field(description="days past due at the end of the creditor's today")
    bucket_today: str | None = Field(
        description="the aging bucket today in the creditor's scheme; `paid` when nothing is "
        "owed, `current` below every range")


class AgingJudged(Out):
    """Which day, in which zone, `current_bucket` was judged on."""

    on: str
    timezone: str


class CasePage(Out):
    """A page of the case list; pass `next_cursor` back as `cursor` for the next page."""

    items: list[CaseSummaryOut]
    next_cursor: int | None
    current_bucket: AgingJudged | None = Field(
        default=None, description="with ?current_bucket=: the creditor's day and zone used")


class AgingOut(Out):
    """DPD and bucket at the end of a day of the creditor's calendar."""

    on: str
    timezone: str
    dpd: int
    bucket: str


class RollBucketOut(Out):
    """Cases in a bucket at the start of a period, and the buckets they were in at its end."""

    bucket: str
    cases: int
    balance: str = Field(description="what those cases owed at the start")
    to: dict[str, int]
    roll_forward_rate: str | None = Field(description="moved to a worse bucket / cases")
    cure_rate: str | None = Field(description="moved to `paid` or `current` / cases")


class RollAgencyOut(Out):
    """One agency's roll rates (the agency that held the cases at the start)."""

    agency_id: str
    buckets: list[RollBucketOut]


class RollRatesOut(Out):
    """A creditor's bucket migration over a period, by agency."""

    creditor_id: str
    from_: str = Field(alias="from")
    to: str
    timezone: str
    bucket_order: list[str] = Field(description="best to worst")
    agencies: list[RollAgencyOut]


class DebtorOut(Out):
    """The debtor's details (national id masked except for auditors); `erased` once the
    debtor's data key was shredded, and then only the id and time zone remain."""

    debtor_id: str
    timezone: str
    erased: bool
    name: str | None = None
    national_id: str | None = None
    phones: list[str] | None = None
    address: str | None = None
    email: str | None = None
    phone_refs: list[str] | None = Field(default=None, description="a collector's view: each "
                                         "phone's contact-point reference (the numbers are "
                                         "hints only)")
    masked: bool | None = Field(default=None, description="true: a collector's view (name "
                                "partly, numbers as hints); reveal with POST "
                                "/v1/cases/{case_id}/pii-reveal")


class PiiRevealOut(CommandOut):
    """The recorded reveal and the debtor's details (national id still masked)."""

    debtor: DebtorOut


class PromiseOut(Out):
    """A promise to pay and how much of it is paid."""

    promise_id: str
    amount: str
    due_date: str
    paid: str
    state: str


class PaymentOut(Out):
    """A payment and how much of it was reversed."""

    reference: str
    amount: str
    reversed: str
    source: str
    received_at: str
    agency_id: str | None = Field(description="the agency the case credited it to")
    flags: list[str]


class InstallmentOut(Out):
    """One installment of a plan."""

    due_date: str
    amount: str


class PlanOut(Out):
    """The repayment plan in force."""

    plan_id: str | None
    installments: list[InstallmentOut]


class EscalationOut(Out):
    """An escalation."""

    kind: str
    reason: str
    at: str


class AssignmentOut(Out):
    """A stretch of time one agency held the case."""

    seq: int = Field(description="1 for the placement, +1 per reassignment")
    agency_id: str
    assigned_at: str
    term_end: str
    ended_at: str | None
    end_reason: str | None = Field(description="recalled, reassigned or closed")


class LitigationStepOut(Out):
    stage_ref: str
    stage: str
    occurred_at: datetime
    court: str | None
    docket_no: str | None
    law_firm_id: str


class LegalDocumentOut(Out):
    document_id: str
    kind: str
    sha256: str
    referenced_at: datetime
    actor: str


class LegalOut(Out):
    law_firm_id: str
    with_law_firm: bool = Field(description="whether the law firm holds the case now")
    stages: list[LitigationStepOut]
    documents: list[LegalDocumentOut]


class CaseOut(Out):
    """A case's state (now, or at `as_of`)."""

    case_id: str
    version: int
    creditor_id: str
    account_ref: str
    placement_ref: str
    agency_id: str
    assigned_agency_id: str | None
    allocation: dict[str, Any]
    status: str
    bucket: str
    dpd_at_placement: int
    product: str | None
    currency: str
    balances: dict[str, str]
    placed_amount: str
    paid_total: str
    outstanding: str
    placed_at: str
    assigned_at: str
    term_end: str
    aging: AgingOut = Field(description="DPD and bucket today, in the creditor's zone and scheme")
    assignments: list[AssignmentOut] = Field(description="who held the case from when to when")
    debtor: DebtorOut
    contacts: int
    right_party_contacts: int
    last_contact_at: str | None
    promises: list[PromiseOut]
    payments: list[PaymentOut]
    repayment_plan: PlanOut | None
    dispute_open: bool
    hardship: bool
    cease_contact: bool
    escalations: list[EscalationOut]
    recall_reason: str | None
    close_reason: str | None
    closed_at: str | None
    waived_total: str = Field(description="what the creditor waived (reductions, the rest of "
                              "a fulfilled settlement)")
    complaints: list[ComplaintOut]
    visits: list[VisitOut]
    settlements: list[SettlementOut]
    legal: LegalOut | None = Field(default=None, description=(
        "the legal hand-off: the law firm the case was handed to, the lawsuit's stages and "
        "the legal documents referenced (null: never handed to a law firm)"))


class ComplaintOut(Out):
    """A complaint on the case: its step deadlines, what was done when, what was missed."""

    complaint_id: str
    channel: str
    category: str
    received_at: str
    contact_hold: bool
    open: bool
    next_step: str | None
    due: dict[str, str]
    done: dict[str, str]
    missed: list[str]
    finding: str | None
    outcome: str | None


class VisitOut(Out):
    """A field visit and where it stands."""

    visit_id: str
    reason: str
    urgent: bool
    requested_at: str
    visit_by: str
    state: str
    approved: bool
    performed_at: str | None
    outcome: str | None


class SettlementOut(Out):
    """A settlement, reduction or deferral proposal and where it stands."""

    settlement_id: str
    kind: str
    amount: str
    due_date: str | None
    outstanding_at_proposal: str
    discount: str
    proposed_at: str
    state: str


class HistoryEventOut(Out):
    """One event of a case."""

    position: int | None = Field(description="its place in the global log")
    version: int
    type: str
    recorded_at: str
    actor: str | None
    data: dict[str, Any]


class HistoryOut(Out):
    """Every event of a case; with `as_of`, only those recorded by then, and the state then."""

    case_id: str
    events: list[HistoryEventOut]
    as_of: str | None = None
    state: CaseOut | None = None


class EventFeed(Out):
    """A page of the global event feed."""

    events: list[EventEnvelope]
    last_position: int = Field(description="continue from here")
    head_position: int = Field(description="the newest position in the log now")


# ---------------------------------------------------------------------------------- audit


class CheckpointOut(Out):
    """A signed (tree size, root) of the log; bytes as lowercase hex (docs/audit.md)."""

    tree_size: int
    root: str
    last_position: int = Field(description="the log position of the last event it covers")
    issued_at: str
    key_id: str
    signature: str = Field(description="Ed25519 over the canonical checkpoint message")


class CheckpointsOut(Out):
    """Every stored checkpoint and what verifies them."""

    public_key: str = Field(description="the Ed25519 public key, hex")
    origin: str = Field(description="the log's name in its signed notes")
    verifier_key: str = Field(description="the note verifier key: name+hash+key")
    checkpoints: list[CheckpointOut]


class CaseStatementOut(Out):
    """A signed statement of how many events a case has under a checkpoint."""

    case_id: str
    tree_size: int
    root: str
    event_count: int
    last_version: int
    last_position: int
    key_id: str
    signature: str


class ProvenEventOut(Out):
    """A stored event with its inclusion proof (none for events after the checkpoint)."""

    position: int
    case_id: str
    version: int
    type: str = Field(description="the stored event's topic")
    payload: str = Field(description="the stored bytes, base64")
    leaf_index: int | None
    proof: list[str] | None = Field(description="hex hashes, RFC 6962 audit path")


class CaseAuditOut(Out):
    """A case's stored events with inclusion proofs against the latest checkpoint."""

    case_id: str
    checkpoint: CheckpointOut
    case_statement: CaseStatementOut
    public_key: str
    events: list[ProvenEventOut]


class ConsistencyOut(Out):
    """An RFC 6962 consistency proof between two tree sizes."""

    old_size: int
    new_size: int
    old_root: str = Field(description="computed by the server: check against roots you kept")
    new_root: str
    old: CheckpointOut | None = Field(description="the stored checkpoint of old_size, if any")
    new: CheckpointOut | None
    proof: list[str]
    public_key: str
