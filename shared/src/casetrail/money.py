"""Money: exact decimals in a known currency, rounded half-up to the minor unit only when asked."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units for the currencies creditors place in. Adding one is a data change.
MINOR_UNITS: dict[str, int] = {
    "CNY": 2, "HKD": 2, "TWD": 2, "USD": 2, "EUR": 2, "GBP": 2, "SGD": 2, "AUD": 2,
    "CAD": 2, "CHF": 2, "MYR": 2, "THB": 2, "PHP": 2, "INR": 2, "IDR": 2, "MXN": 2,
    "BRL": 2, "ZAR": 2, "JPY": 0, "KRW": 0, "VND": 0, "KWD": 3, "BHD": 3,
}

# No single collection account comes near this; anything above is a data error.
MAX_AMOUNT = Decimal("1000000000000")  # 10^12 major units


# The only text form of a decimal the APIs take: ASCII digits, an optional fraction, an
# optional leading minus. No exponent ("1E-2"), digit separators ("1_000", "1,000"), inner
# spaces, plus signs, or digits of other scripts (Arabic-Indic 100 is "\u0661\u0660\u0660"),
# all of which Python's Decimal would accept.
PLAIN_DECIMAL_PATTERN = r"^-?[0-9]{1,30}(\.[0-9]{1,30})?$"
_PLAIN_DECIMAL = re.compile(PLAIN_DECIMAL_PATTERN, re.ASCII)


class MoneyError(ValueError):
    """An amount or currency that cannot be money in this system."""


def parse_decimal(value: object, what: str = "amount") -> Decimal:
    """A plain decimal string ("1234.50"), an int or a finite Decimal as a Decimal; anything
    else (floats, booleans, exponents, separators, other digits) raises MoneyError. The one
    parser of amounts and rates in every service."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError(f"{what} must be finite")
        return value
    if isinstance(value, bool | float):
        raise MoneyError(f"give the {what} as a decimal string like \"1234.50\", not a float "
                         "(a JSON number with a fraction)")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str) and _PLAIN_DECIMAL.match(value.strip(" \t\r\n")):
        return Decimal(value.strip(" \t\r\n"))
    shown = value if not isinstance(value, str) or len(value) <= 40 else value[:40] + "..."
    raise MoneyError(f"not a plain decimal {what}: {shown!r} (digits 0-9 with an optional "
                     "fraction, like \"1234.50\")")


def check_currency(code: str) -> str:
    """Return the upper-case ISO code, or raise MoneyError if it is not supported."""
    upper = code.upper()
    if upper not in MINOR_UNITS:
        raise MoneyError(f"unknown currency {code!r}")
    return upper


def parse_amount(value: object, currency: str, *, allow_zero: bool = True) -> Decimal:
    """Parse an amount from a plain decimal string, an int or a Decimal (`parse_decimal`),
    and check it against the currency's minor unit and the maximum."""
    amount = parse_decimal(value)
    if amount < 0:
        raise MoneyError("amount must not be negative")
    if amount == 0 and not allow_zero:
        raise MoneyError("amount must be greater than zero")
    if amount > MAX_AMOUNT:
        raise MoneyError(f"amount exceeds the maximum of {MAX_AMOUNT}")
    places = MINOR_UNITS[check_currency(currency)]
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise MoneyError(f"{currency} amounts have at most {places} decimal places")
    return amount


def round_minor(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (used at invoice lines only)."""
    places = MINOR_UNITS[check_currency(currency)]
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_amount(amount: Decimal, currency: str) -> str:
    """Canonical string form with exactly the currency's minor digits (rounded half-up)."""
    return str(round_minor(amount, currency))
