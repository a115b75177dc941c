"""Contract terms: validation, marginal tiers, and which version is in force."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from billing_service.domain.contracts import (
    ContractTerms,
    ContractVersion,
    RateTier,
    check_rate,
    contract_timezone,
    in_force,
)
from billing_service.domain.errors import InvalidTerms

D = Decimal
TIERED = ContractTerms(
    effective_from=date(2026, 1, 1), currency="CNY", rates={"M1": D("0.12")},
    tiers={"M3": (RateTier(D("10000"), D("0.20")), RateTier(D("20000"), D("0.15")),
                  RateTier(None, D("0.10")))})


def version(number: int, effective: str, rate: str = "0.18") -> ContractVersion:
    terms = ContractTerms(effective_from=date.fromisoformat(effective), currency="CNY",
                          rates={"M2": D(rate)})
    return ContractVersion("BANK", "AG-A", number, terms, "2026-01-01T00:00:00+00:00", "t")


def test_a_payment_spanning_brackets_is_split_at_each_limit() -> None:
    # recovered 9000 -> 22000: 1000 at 20 %, 10000 at 15 %, 2000 at 10 %
    portions = TIERED.portions("M3", D("9000"), D("13000"))
    assert portions is not None
    assert [(p.amount, p.rate, p.rule) for p in portions] == [
        (D("1000"), D("0.20"), "tier 1 of M3 (20%)"),
        (D("10000"), D("0.15"), "tier 2 of M3 (15%)"),
        (D("2000"), D("0.10"), "tier 3 of M3 (10%)")]
    assert sum(p.commission for p in portions) == D("1900.00")


def test_a_payment_ending_exactly_on_a_limit_stays_in_its_bracket() -> None:
    portions = TIERED.portions("M3", D("0"), D("10000"))
    assert portions is not None
    assert [(p.amount, p.rate) for p in portions] == [(D("10000"), D("0.20"))]
    after = TIERED.portions("M3", D("10000"), D("1"))
    assert after is not None
    assert [p.rule for p in after] == ["tier 2 of M3 (15%)"]


def test_a_flat_rate_bucket_and_an_unknown_bucket() -> None:
    flat = TIERED.portions("M1", D("50000"), D("100"))
    assert flat is not None
    assert [(p.amount, p.rate, p.rule) for p in flat] == [
        (D("100"), D("0.12"), "bucket M1 rate 12%")]
    assert TIERED.portions("M9", D("0"), D("100")) is None


def test_the_version_in_force_is_the_latest_effective_on_the_day() -> None:
    versions = [version(1, "2026-01-01"), version(2, "2026-02-01"), version(3, "2026-02-01")]
    assert in_force(versions, date(2025, 12, 31)) is None
    found = [in_force(versions, date(2026, 1, 31)), in_force(versions, date(2026, 2, 1))]
    assert [v.version if v else None for v in found] == [1, 3]


@pytest.mark.parametrize(("terms", "path"), [
    (dict(rates={"M1": D("1.01")}), "rates.M1"),
    (dict(rates={"M1": D("-0.1")}), "rates.M1"),
    (dict(rates={"M 1": D("0.1")}), "rates.M 1"),
    (dict(rates={}, tiers={}), "rates"),
    (dict(tiers={"M3": (RateTier(D("500"), D("0.2")), RateTier(D("100"), D("0.1")),
                        RateTier(None, D("0.05")))}), "tiers.M3"),
    (dict(tiers={"M3": (RateTier(D("500"), D("0.2")),)}), "tiers.M3"),
    (dict(minimum_fee=D("10.001")), "minimum_fee"),
    (dict(tax_rate=D("2")), "tax_rate"),
    (dict(tail_days=-1), "tail_days"),
    (dict(currency="XYZ"), "currency"),
    (dict(timezone="Mars/Olympus_Mons"), "timezone"),
    (dict(timezone="+08:00"), "timezone"),
])
def test_terms_that_can_never_be_right_are_refused_at_their_field(
        terms: dict[str, object], path: str) -> None:
    fields: dict[str, object] = {"effective_from": date(2026, 1, 1), "currency": "CNY",
                                 "rates": {"M1": D("0.1")}, **terms}
    with pytest.raises(InvalidTerms) as refused:
        ContractTerms(**fields).check()  # type: ignore[arg-type]
    assert refused.value.path == path


def test_rates_are_decimal_strings_never_floats() -> None:
    assert check_rate("0.125") == D("0.125")
    with pytest.raises(ValueError, match="decimal strings"):
        check_rate(0.125)
    with pytest.raises(ValueError, match="at most 6 decimal places"):
        check_rate("0.1234567")


def test_terms_survive_their_stored_form() -> None:
    assert ContractTerms.from_json(TIERED.to_json()) == TIERED


def test_terms_state_their_time_zone_and_older_stored_terms_read_as_utc() -> None:
    shanghai = ContractTerms(effective_from=date(2026, 1, 1), currency="CNY",
                             rates={"M2": D("0.18")}, timezone="Asia/Shanghai").check()
    stored = shanghai.to_json()
    assert stored["timezone"] == "Asia/Shanghai"
    assert ContractTerms.from_json(stored) == shanghai
    # A version recorded before contracts stated a zone was billed in UTC days.
    before_zones = {key: value for key, value in stored.items() if key != "timezone"}
    assert ContractTerms.from_json(before_zones).timezone == "UTC"


def test_a_pair_counts_days_in_its_contract_s_zone_or_the_default() -> None:
    terms = ContractTerms(effective_from=date(2026, 1, 1), currency="CNY",
                          rates={"M2": D("0.18")}, timezone="America/New_York")
    versions = [ContractVersion("BANK", "AG-A", 1, terms, "2026-01-01T00:00:00+00:00", "t")]
    assert contract_timezone(versions, "Asia/Shanghai") == "America/New_York"
    assert contract_timezone([], "Asia/Shanghai") == "Asia/Shanghai"
