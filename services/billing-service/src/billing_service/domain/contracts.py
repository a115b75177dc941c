"""Commission contracts: versioned terms per creditor-agency pair, and the rates they set.

A pair's contract is a list of versions, each effective from a date, appended and never
edited. A payment is billed under the version in force on the day it was received, a day in
the contract's time zone: every version of a pair states the same zone (versions recorded
before contracts stated one read as UTC, the days they were billed in). Rates are
per bucket; a bucket may instead have marginal tiers over the case's cumulative recovered
amount (like income-tax brackets: each slice of the payment is paid at its bracket's rate).

A law firm's contract may also state `stage_fees`: a fixed fee per litigation stage (filed,
hearing, judgment, enforcement), billed once per stage the firm records on a case; such a
contract may have stage fees only, no rates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from casetrail.clock import check_zone
from casetrail.money import MAX_AMOUNT, MoneyError, check_currency, parse_amount, parse_decimal

from billing_service.domain.errors import InvalidTerms

BUCKET_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9+._-]{0,31}$"
MAX_TAIL_DAYS = 3650
MAX_RATE_PLACES = 6
# The zone of a version recorded before contracts stated one: such versions were billed in UTC
# days, and reading them so keeps their invoices' days (and hashes) as issued.
LEGACY_TIMEZONE = "UTC"
# The litigation stages a law firm records (case service: LitigationStageRecorded.stage), in
# their order, with their Chinese names as invoices print them.
STAGES = ("filed", "hearing", "judgment", "enforcement")
STAGE_NAMES = {"filed": "立案费", "hearing": "开庭费", "judgment": "判决费",
               "enforcement": "执行费"}


def plain(value: Decimal) -> str:
    """A decimal as a plain string without exponent or trailing zeros: "12.5", "100", "0"."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def percent(rate: Decimal) -> str:
    """A rate as a percentage for people: Decimal("0.125") -> "12.5%"."""
    return f"{plain(rate * 100)}%"


def check_bucket(name: str) -> str:
    """A bucket name like M1, M4+ or a creditor-defined name; refuses anything else."""
    if not re.match(BUCKET_PATTERN, name):
        raise ValueError(f"{name!r} is not a bucket name (letters, digits and +._-, e.g. "
                         "M1, M4+)")
    return name


def check_rate(value: object) -> Decimal:
    """A rate from a decimal string, between 0 and 1 inclusive (0.18 is 18 %)."""
    if not isinstance(value, str | Decimal) or isinstance(value, bool):
        raise ValueError("give rates as decimal strings like \"0.18\"")
    rate = parse_decimal(value, "rate")  # MoneyError is a ValueError
    if rate < 0:
        raise ValueError("a rate must not be negative")
    if rate > 1:
        raise ValueError("a rate is a fraction between 0 and 1 (0.18 is 18%), not above 1")
    exponent = rate.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_RATE_PLACES:
        raise ValueError(f"a rate has at most {MAX_RATE_PLACES} decimal places")
    return rate


def check_amount(value: object) -> Decimal:
    """A non-negative decimal amount from a decimal string (currency places checked apart)."""
    if not isinstance(value, str | Decimal) or isinstance(value, bool):
        raise ValueError("give amounts as decimal strings like \"500.00\"")
    amount = parse_decimal(value)  # MoneyError is a ValueError
    if amount < 0 or amount > MAX_AMOUNT:
        raise ValueError(f"an amount is a number from 0 to {MAX_AMOUNT}")
    return amount


def check_money(value: object, currency: str) -> Decimal:
    """A non-negative amount in the contract currency, from a decimal string."""
    if not isinstance(value, str | Decimal | int) or isinstance(value, bool):
        raise ValueError("give amounts as decimal strings like \"500.00\"")
    try:
        return parse_amount(value, currency)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None


def check_stage(name: str) -> str:
    """A litigation stage name: filed, hearing, judgment or enforcement."""
    if name not in STAGES:
        raise ValueError(f"{name!r} is not a litigation stage (one of {', '.join(STAGES)})")
    return name


@dataclass(frozen=True)
class RateTier:
    """One marginal bracket: the rate for recovered money up to `up_to` (None: no limit)."""

    up_to: Decimal | None
    rate: Decimal


def check_tiers(tiers: Sequence[RateTier]) -> tuple[RateTier, ...]:
    """Brackets with increasing positive limits, the last one open-ended."""
    if not tiers:
        raise ValueError("a tiered bucket needs at least one tier")
    previous = Decimal(0)
    for index, tier in enumerate(tiers):
        last = index == len(tiers) - 1
        if tier.up_to is None:
            if not last:
                raise ValueError(f"tier {index + 1} has no limit but is not the last tier")
            continue
        if last:
            raise ValueError("the last tier must have \"up_to\": null (no upper limit)")
        if tier.up_to <= previous:
            raise ValueError(f"tier {index + 1} limit {tier.up_to} must be above the previous "
                             f"limit {previous}")
        if tier.up_to > MAX_AMOUNT:
            raise ValueError(f"tier limit exceeds {MAX_AMOUNT}")
        previous = tier.up_to
    return tuple(tiers)


@dataclass(frozen=True)
class Portion:
    """A slice of an amount commissioned at one rate, and the rule that set the rate."""

    amount: Decimal
    rate: Decimal
    rule: str

    @property
    def commission(self) -> Decimal:
        """The slice's commission, unrounded."""
        return self.amount * self.rate

    def to_json(self) -> dict[str, str]:
        """The canonical form stored on invoices."""
        return {"amount": plain(self.amount), "rate": plain(self.rate), "rule": self.rule}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Portion:
        """Read back a stored portion."""
        return cls(Decimal(data["amount"]), Decimal(data["rate"]), data["rule"])


@dataclass(frozen=True)
class ContractTerms:
    """What one contract version says."""

    effective_from: date
    currency: str
    rates: Mapping[str, Decimal]
    tiers: Mapping[str, tuple[RateTier, ...]] = field(default_factory=dict)
    tail_days: int = 0
    creditor_direct_commissionable: bool = True
    minimum_fee: Decimal = Decimal(0)
    tax_rate: Decimal = Decimal(0)
    timezone: str = LEGACY_TIMEZONE  # IANA zone of the contract's days (the API always states it)
    stage_fees: Mapping[str, Decimal] = field(default_factory=dict)  # stage -> fixed fee

    @property
    def zone(self) -> ZoneInfo:
        """The time zone the contract's days are counted in."""
        return ZoneInfo(self.timezone)

    def check(self) -> ContractTerms:
        """Refuse terms that can never be right; returns self for chaining."""
        try:
            check_currency(self.currency)
        except MoneyError as exc:
            raise InvalidTerms(str(exc), path="currency") from None
        if not self.rates and not self.tiers and not self.stage_fees:
            raise InvalidTerms("give a rate (or tiers) for at least one bucket, or stage_fees",
                               path="rates")
        for kind, buckets in (("rates", self.rates), ("tiers", self.tiers)):
            for bucket in buckets:
                try:
                    check_bucket(bucket)
                except ValueError as exc:
                    raise InvalidTerms(str(exc), path=f"{kind}.{bucket}") from None
        for bucket, rate in self.rates.items():
            _checked(check_rate, rate, f"rates.{bucket}")
        for bucket, tiers in self.tiers.items():
            _checked(check_tiers, tiers, f"tiers.{bucket}")
            for index, tier in enumerate(tiers):
                _checked(check_rate, tier.rate, f"tiers.{bucket}.{index}.rate")
                if tier.up_to is not None:
                    _checked(lambda v: check_money(v, self.currency), tier.up_to,
                             f"tiers.{bucket}.{index}.up_to")
        if not 0 <= self.tail_days <= MAX_TAIL_DAYS:
            raise InvalidTerms(f"tail_days must be between 0 and {MAX_TAIL_DAYS}",
                               path="tail_days")
        _checked(lambda v: check_money(v, self.currency), self.minimum_fee, "minimum_fee")
        _checked(check_rate, self.tax_rate, "tax_rate")
        _checked(check_zone, self.timezone, "timezone")
        for stage, fee in self.stage_fees.items():
            _checked(check_stage, stage, f"stage_fees.{stage}")
            _checked(lambda v: check_money(v, self.currency), fee, f"stage_fees.{stage}")
        return self

    def stage_fee(self, stage: str) -> Decimal | None:
        """The fixed fee these terms set for a litigation stage; None if they set none."""
        return self.stage_fees.get(stage)

    def portions(self, bucket: str, recovered_before: Decimal, amount: Decimal
                 ) -> tuple[Portion, ...] | None:
        """The commissioned slices of a payment on a case in `bucket` that had already
        recovered `recovered_before`; None if these terms set no rate for the bucket."""
        tiers = self.tiers.get(bucket)
        if tiers:
            return _tier_portions(bucket, tiers, max(recovered_before, Decimal(0)), amount)
        rate = self.rates.get(bucket)
        if rate is None:
            return None
        return (Portion(amount, rate, f"bucket {bucket} rate {percent(rate)}"),)

    def to_json(self) -> dict[str, Any]:
        """The canonical form: decimal strings, ISO dates, sorted buckets."""
        return {
            "effective_from": self.effective_from.isoformat(),
            "currency": self.currency,
            "rates": {b: plain(r) for b, r in sorted(self.rates.items())},
            "tiers": {b: [{"up_to": None if t.up_to is None else plain(t.up_to),
                           "rate": plain(t.rate)} for t in tiers]
                      for b, tiers in sorted(self.tiers.items())},
            "tail_days": self.tail_days,
            "creditor_direct_commissionable": self.creditor_direct_commissionable,
            "minimum_fee": plain(self.minimum_fee),
            "tax_rate": plain(self.tax_rate),
            "timezone": self.timezone,
            "stage_fees": {s: plain(f) for s, f in sorted(self.stage_fees.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ContractTerms:
        """Read back stored terms."""
        return cls(
            effective_from=date.fromisoformat(data["effective_from"]),
            currency=data["currency"],
            rates={b: Decimal(r) for b, r in data["rates"].items()},
            tiers={b: tuple(RateTier(None if t["up_to"] is None else Decimal(t["up_to"]),
                                     Decimal(t["rate"])) for t in tiers)
                   for b, tiers in data.get("tiers", {}).items()},
            tail_days=int(data["tail_days"]),
            creditor_direct_commissionable=bool(data["creditor_direct_commissionable"]),
            minimum_fee=Decimal(data["minimum_fee"]),
            tax_rate=Decimal(data["tax_rate"]),
            timezone=data.get("timezone", LEGACY_TIMEZONE),
            stage_fees={s: Decimal(f) for s, f in data.get("stage_fees", {}).items()},
        )


def _checked(check: Any, value: Any, path: str) -> None:
    try:
        check(value)
    except ValueError as exc:
        raise InvalidTerms(str(exc), path=path) from None


def _tier_portions(bucket: str, tiers: Sequence[RateTier], start: Decimal, amount: Decimal
                   ) -> tuple[Portion, ...]:
    portions: list[Portion] = []
    position, remaining = start, amount
    for number, tier in enumerate(tiers, 1):
        if remaining <= 0:
            break
        if tier.up_to is not None and position >= tier.up_to:
            continue
        take = remaining if tier.up_to is None else min(remaining, tier.up_to - position)
        portions.append(Portion(take, tier.rate,
                                f"tier {number} of {bucket} ({percent(tier.rate)})"))
        position += take
        remaining -= take
    return tuple(portions)


@dataclass(frozen=True)
class ContractVersion:
    """One version of a creditor-agency contract, as recorded."""

    creditor_id: str
    agency_id: str
    version: int
    terms: ContractTerms
    recorded_at: str
    actor: str

    def to_json(self) -> dict[str, Any]:
        """The API form."""
        return {"creditor_id": self.creditor_id, "agency_id": self.agency_id,
                "version": self.version, **self.terms.to_json(),
                "recorded_at": self.recorded_at, "actor": self.actor}


def contract_timezone(versions: Sequence[ContractVersion], default: str = LEGACY_TIMEZONE
                      ) -> str:
    """The zone a pair's contract counts days in (every version states the same one; the
    first is taken); `default` when the pair has no contract yet."""
    return versions[0].terms.timezone if versions else default


def in_force(versions: Sequence[ContractVersion], on: date) -> ContractVersion | None:
    """The version in force on a day (a day in the contract's zone): the latest effective on
    or before it (on the same effective date, the higher version number)."""
    candidates = [v for v in versions if v.terms.effective_from <= on]
    if not candidates:
        return None
    return max(candidates, key=lambda v: (v.terms.effective_from, v.version))
