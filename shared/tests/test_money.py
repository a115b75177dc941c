"""Money: exact decimals in a known currency; floats never; half-up rounding only when asked."""

from __future__ import annotations

from decimal import Decimal

import pytest
from casetrail.money import (
    MAX_AMOUNT,
    MINOR_UNITS,
    MoneyError,
    check_currency,
    format_amount,
    parse_amount,
    round_minor,
)


@pytest.mark.parametrize(("value", "expected"), [
    ("12.34", Decimal("12.34")),
    ("0.01", Decimal("0.01")),
    ("100", Decimal("100")),
    (100, Decimal("100")),
    (Decimal("7.50"), Decimal("7.50")),
    (" 5.00 ", Decimal("5.00")),
])
def test_amounts_parse_from_strings_ints_and_decimals(value: object, expected: Decimal) -> None:
    amount = parse_amount(value, "CNY")
    assert amount == expected
    assert isinstance(amount, Decimal)


def test_a_parsed_amount_keeps_its_written_precision() -> None:
    assert str(parse_amount("12.30", "CNY")) == "12.30"


@pytest.mark.parametrize("value", [0.1, 12.5, 0.0, float("nan")])
def test_floats_are_refused(value: float) -> None:
    with pytest.raises(MoneyError, match="float"):
        parse_amount(value, "CNY")


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_amounts(value: bool) -> None:
    with pytest.raises(MoneyError):
        parse_amount(value, "CNY")


@pytest.mark.parametrize("value", ["-0.01", "-1", -5, Decimal("-100.00")])
def test_negative_amounts_are_refused(value: object) -> None:
    with pytest.raises(MoneyError, match="negative"):
        parse_amount(value, "CNY")


@pytest.mark.parametrize("value", ["abc", "", "1,000.00", "12.3.4", None, "NaN", "Infinity",
                                   "-Infinity", Decimal("NaN"), "sNaN"])
def test_things_that_are_not_finite_decimals_are_refused(value: object) -> None:
    with pytest.raises(MoneyError):
        parse_amount(value, "CNY")


def test_zero_is_allowed_unless_refused_explicitly() -> None:
    assert parse_amount("0.00", "CNY") == 0
    with pytest.raises(MoneyError, match="greater than zero"):
        parse_amount("0.00", "CNY", allow_zero=False)
    assert parse_amount("0.01", "CNY", allow_zero=False) == Decimal("0.01")


@pytest.mark.parametrize(("value", "currency"), [
    ("100.5", "JPY"), ("1.0", "KRW"), ("1.005", "CNY"), ("12.345", "USD"), ("1.0005", "KWD"),
])
def test_more_decimals_than_the_currency_has_are_refused(value: str, currency: str) -> None:
    with pytest.raises(MoneyError, match="decimal places"):
        parse_amount(value, currency)


@pytest.mark.parametrize(("value", "currency"), [
    ("100", "JPY"), ("1.05", "CNY"), ("1.5", "CNY"), ("1.005", "KWD"), ("1000", "JPY"),
])
def test_amounts_within_the_currency_precision_are_accepted(value: str, currency: str) -> None:
    assert parse_amount(value, currency) == Decimal(value)


@pytest.mark.parametrize("currency", ["XYZ", "", "RMB", "US"])
def test_an_unknown_currency_is_refused(currency: str) -> None:
    with pytest.raises(MoneyError, match="unknown currency"):
        parse_amount("1.00", currency)
    with pytest.raises(MoneyError):
        check_currency(currency)


def test_currency_codes_are_case_insensitive() -> None:
    assert check_currency("cny") == "CNY"
    assert parse_amount("1.25", "usd") == Decimal("1.25")


def test_the_maximum_amount_is_accepted_and_anything_above_refused() -> None:
    assert parse_amount(str(MAX_AMOUNT), "CNY") == MAX_AMOUNT
    assert parse_amount("1000000000000.00", "CNY") == MAX_AMOUNT
    with pytest.raises(MoneyError, match="maximum"):
        parse_amount("1000000000000.01", "CNY")
    with pytest.raises(MoneyError, match="maximum"):
        parse_amount(10**13, "JPY")


def test_money_errors_are_value_errors() -> None:
    assert issubclass(MoneyError, ValueError)


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("0.005", "CNY", "0.01"),
    ("0.004", "CNY", "0.00"),
    ("0.015", "CNY", "0.02"),
    ("0.025", "CNY", "0.03"),   # half-up, not banker's rounding (which gives 0.02)
    ("2.675", "CNY", "2.68"),
    ("2.665", "USD", "2.67"),
    ("-0.005", "CNY", "-0.01"),  # half away from zero
    ("2.5", "JPY", "3"),
    ("3.5", "JPY", "4"),
    ("1.0005", "KWD", "1.001"),
    ("12", "CNY", "12.00"),
])
def test_rounding_to_the_minor_unit_is_half_up(amount: str, currency: str, expected: str) -> None:
    rounded = round_minor(Decimal(amount), currency)
    assert rounded == Decimal(expected)
    assert str(rounded) == expected


def test_why_floats_are_refused_binary_2_675_rounds_down() -> None:
    # The float 2.675 is really 2.67499999...; the decimal string is exact.
    assert round_minor(Decimal(2.675), "CNY") == Decimal("2.67")  # noqa: RUF032
    assert round_minor(Decimal("2.675"), "CNY") == Decimal("2.68")


def test_rounding_a_commission_line_is_exact() -> None:
    recovered = Decimal("1234.57")
    rate = Decimal("0.18")
    assert round_minor(recovered * rate, "CNY") == Decimal("222.22")  # 222.2226


def test_rounding_in_an_unknown_currency_is_refused() -> None:
    with pytest.raises(MoneyError):
        round_minor(Decimal("1.00"), "XYZ")


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("5", "CNY", "5.00"), ("5.1", "USD", "5.10"), ("1200", "JPY", "1200"),
    ("0.5", "KWD", "0.500"),
])
def test_formatting_shows_exactly_the_currency_minor_digits(
        amount: str, currency: str, expected: str) -> None:
    assert format_amount(Decimal(amount), currency) == expected


def test_formatting_an_unrounded_amount_rounds_half_up_like_round_minor() -> None:
    assert format_amount(Decimal("0.025"), "CNY") == str(round_minor(Decimal("0.025"), "CNY"))


def test_every_supported_currency_has_a_sensible_minor_unit() -> None:
    assert all(code.isupper() and len(code) == 3 for code in MINOR_UNITS)
    assert set(MINOR_UNITS.values()) <= {0, 2, 3}
    assert MINOR_UNITS["CNY"] == 2
    assert MINOR_UNITS["JPY"] == 0
