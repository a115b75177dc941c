"""Request bodies and parameters of the billing API. Field paths in 422s come from these
models; the value rules themselves are the domain's (`billing_service.domain.contracts`)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated

from casetrail.money import MoneyError, check_currency
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
)

from billing_service.domain.contracts import (
    MAX_TAIL_DAYS,
    ContractTerms,
    RateTier,
    check_amount,
    check_bucket,
    check_money,
    check_rate,
    check_tiers,
)
from billing_service.domain.errors import InvalidPeriod
from billing_service.domain.invoice import Period

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
TenantId = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
Bucket = Annotated[str, AfterValidator(check_bucket)]
Rate = Annotated[Decimal, BeforeValidator(check_rate)]
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _currency(code: str) -> str:
    try:
        return check_currency(code)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None


def _optional_amount(value: object) -> Decimal | None:
    return None if value is None else check_amount(value)


class Model(BaseModel):
    """Strict about unknown fields, so typos are reported rather than silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TierIn(Model):
    """One marginal bracket over the case's cumulative recovered amount."""

    up_to: Annotated[Decimal | None, BeforeValidator(_optional_amount)] = Field(
        description="upper limit of cumulative recovered money; null for the last tier")
    rate: Rate


def _tiers(tiers: list[TierIn]) -> list[TierIn]:
    check_tiers([RateTier(t.up_to, t.rate) for t in tiers])
    return tiers


class ContractIn(Model):
    """A new contract version for a creditor-agency pair."""

    effective_from: date = Field(description="the first day this version is in force")
    currency: Annotated[str, AfterValidator(_currency)] = "CNY"
    tiers: dict[Bucket, Annotated[list[TierIn], AfterValidator(_tiers)]] = Field(
        default_factory=dict, description="marginal tiers per bucket, instead of its flat rate",
        examples=[{"M3": [{"up_to": "10000", "rate": "0.20"}, {"up_to": None, "rate": "0.15"}]}])
    rates: dict[Bucket, Rate] = Field(
        default_factory=dict, description="rate per bucket, as decimal strings",
        examples=[{"M1": "0.12", "M2": "0.18", "M3": "0.25", "M4+": "0.35"}])
    tail_days: StrictInt = Field(default=0, ge=0, le=MAX_TAIL_DAYS, description=(
        "days after the term end (or an earlier recall) in which payments still earn "
        "commission"))
    creditor_direct_commissionable: StrictBool = True
    minimum_fee: Annotated[Decimal, BeforeValidator(check_amount)] = Field(
        default=Decimal(0), description="per invoice; a lower subtotal is topped up")
    tax_rate: Rate = Field(default=Decimal(0), description="e.g. \"0.06\" for 6% VAT")

    @field_validator("rates")
    @classmethod
    def _some_bucket(cls, rates: dict[str, Decimal], info: ValidationInfo
                     ) -> dict[str, Decimal]:
        if not rates and not info.data.get("tiers"):
            raise ValueError("give a rate (or tiers) for at least one bucket")
        return rates

    @field_validator("minimum_fee")
    @classmethod
    def _fee_in_currency(cls, fee: Decimal, info: ValidationInfo) -> Decimal:
        if "currency" in info.data:
            check_money(fee, info.data["currency"])
        return fee

    @field_validator("tiers")
    @classmethod
    def _limits_in_currency(cls, tiers: dict[str, list[TierIn]], info: ValidationInfo
                            ) -> dict[str, list[TierIn]]:
        if "currency" in info.data:
            for bucket_tiers in tiers.values():
                for tier in bucket_tiers:
                    if tier.up_to is not None:
                        check_money(tier.up_to, info.data["currency"])
        return tiers

    def to_terms(self) -> ContractTerms:
        """The domain's terms."""
        return ContractTerms(
            effective_from=self.effective_from, currency=self.currency, rates=self.rates,
            tiers={b: tuple(RateTier(t.up_to, t.rate) for t in tiers)
                   for b, tiers in self.tiers.items()},
            tail_days=self.tail_days,
            creditor_direct_commissionable=self.creditor_direct_commissionable,
            minimum_fee=self.minimum_fee, tax_rate=self.tax_rate)


class BillingRunIn(Model):
    """Bill a creditor-agency pair for a period of whole UTC days, both ends included."""

    creditor_id: TenantId
    agency_id: TenantId
    period_start: date
    period_end: date = Field(description="the last day of the period (included)")

    @field_validator("period_end")
    @classmethod
    def _ends_after_start(cls, end: date, info: ValidationInfo) -> date:
        if "period_start" in info.data:
            Period(info.data["period_start"], end).check()
        return end

    @property
    def period(self) -> Period:
        """The period as the domain knows it."""
        return Period(self.period_start, self.period_end)


def month_period(month: str | None, start: date | None, end: date | None) -> Period:
    """A report period from `period=YYYY-MM` or `from`/`to` days (both included)."""
    if month is not None:
        if start is not None or end is not None:
            raise InvalidPeriod("give either period=YYYY-MM or from/to, not both",
                                path="period")
        found = MONTH.match(month)
        if found is None:
            raise InvalidPeriod(f"{month!r} is not a month like 2026-01", path="period")
        year, number = int(found.group(1)), int(found.group(2))
        following = date(year + number // 12, number % 12 + 1, 1)
        return Period(date(year, number, 1), following - timedelta(days=1))
    if start is None or end is None:
        raise InvalidPeriod("give period=YYYY-MM, or both from and to", path="period")
    return Period(start, end).check()
