"""Money: exact decimals in a known currency, rounded half-up to the minor unit only when asked."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor units for the currencies creditors place in. Adding one is a data change.
MINOR_UNITS: dict[str, int] = {
    "CNY": 2, "HKD": 2, "TWD": 2, "USD": 2, "EUR": 2, "GBP": 2, "SGD": 2, "AUD": 2,
    "CAD": 2, "CHF": 2, "MYR": 2, "THB": 2, "PHP": 2, "INR": 2, "IDR": 2, "MXN": 2,
    "BRL": 2, "ZAR": 2, "JPY": 0, "KRW": 0, "VND": 0, "KWD": 3, "BHD": 3,
}

# No single collection account comes near this; anything above is a data error.
MAX_AMOUNT = Decimal("1000000000000")  # 10^12 major units


class MoneyError(ValueError):
    """An amount or currency that cannot be money in this system."""


def check_currency(code: str) -> str:
    """Return the upper-case ISO code, or raise MoneyError if it is not supported."""
    upper = code.upper()
    if upper not in MINOR_UNITS:
        raise MoneyError(f"unknown currency {code!r}")
    return upper


def parse_amount(value: object, currency: str, *, allow_zero: bool = True) -> Decimal:
    """Parse an amount from a string, int or Decimal; floats are refused (binary error)."""
    if isinstance(value, bool | float):
        raise MoneyError("amounts must be given as decimal strings, not floats")
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise MoneyError(f"not a decimal amount: {value!r}") from None
    if not amount.is_finite():
        raise MoneyError("amount must be finite")
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
