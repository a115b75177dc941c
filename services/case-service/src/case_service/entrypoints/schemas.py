"""Request and response bodies of the case API. Field paths in 422s come from these models."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from casetrail.money import MAX_AMOUNT, MoneyError, check_currency, parse_amount
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

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

CLOCK_SKEW = timedelta(minutes=5)


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("give amounts as decimal strings like \"1234.50\", not JSON numbers "
                         "with a fraction")
    return value


Amount = Annotated[Decimal, BeforeValidator(_no_float),
                   Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]
Ref = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


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
    term_end: date | None = Field(default=None, description="end of the placement term; "
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


class PlacementIn(Model):
    """A creditor's batch; `accounts` rows are validated one by one (see AccountIn)."""

    creditor_id: Ref | None = Field(default=None, description="required for admins; "
                                    "creditor keys place for their own tenant")
    placement_ref: Ref
    accounts: list[Any] = Field(min_length=1, max_length=10_000)


class AgencyShareIn(Model):
    """An agency's weight in a bucket."""

    agency_id: Ref
    weight: int = Field(ge=1, le=10_000)


class BucketRangeIn(Model):
    """A named DPD range."""

    name: Annotated[str, Field(min_length=1, max_length=16)]
    min_dpd: int = Field(ge=0)
    max_dpd: int | None = Field(default=None, ge=0)


class AllocationRulesIn(Model):
    """Bucket → agencies with weights (champion/challenger), optional bucket scheme and term."""

    buckets: dict[str, list[AgencyShareIn]]
    bucket_scheme: list[BucketRangeIn] = Field(default_factory=list)
    default_term_days: int = Field(default=365, ge=1, le=3650)


# ---------------------------------------------------------------------------------- commands


def _not_future(value: datetime) -> datetime:
    if value > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError("must not be in the future")
    return value.astimezone(UTC)


# Every business time a caller states is checked here, once: a future `as_of` or `closed_at`
# would let a caller break a promise early or close a term that has not ended.
PastTime = Annotated[AwareDatetime, AfterValidator(_not_future),
                     Field(description="ISO-8601 with offset; not in the future")]


class CommandIn(Model):
    """Every command may carry the version it expects the case to be at (else 409)."""

    expected_version: int | None = Field(default=None, ge=1)


class ContactIn(CommandIn):
    """A contact that happened (recorded even when it broke a rule, then flagged)."""

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
    due_date: date
    promised_at: PastTime | None = None


class BreakPromiseIn(CommandIn):
    """Mark a promise broken after its due date."""

    as_of: PastTime | None = None


class PaymentIn(CommandIn):
    """A payment received; idempotent by reference."""

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

    due_date: date
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

    kind: EscalationKind
    reason: Text
    escalated_at: PastTime | None = None


class RecallIn(CommandIn):
    """The creditor takes the case back."""

    reason: RecallReason
    recalled_at: PastTime | None = None


class ReassignIn(CommandIn):
    """Move the case to another agency."""

    to_agency_id: Ref
    reason: ShortText
    term_end: date | None = None
    reassigned_at: PastTime | None = None


class CloseIn(CommandIn):
    """End the case."""

    reason: CloseReason
    note: Text | None = None
    closed_at: PastTime | None = None


class CommandOut(BaseModel):
    """What a command did."""

    case_id: str
    version: int
    status: str
    outstanding: str
    recorded: bool = Field(description="false when the request repeated one already recorded")
    events: list[str]


def now_or(value: datetime | None) -> datetime:
    """The given time in UTC, or now."""
    return value.astimezone(UTC) if value is not None else datetime.now(UTC)
