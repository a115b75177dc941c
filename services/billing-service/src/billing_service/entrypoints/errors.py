"""The one error map of the billing API: domain errors → HTTP answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from casetrail.web import ApiError

from billing_service.domain.errors import (
    BillingError,
    ContractCurrencyChanged,
    ContractPeriodInvoiced,
    InvalidPeriod,
    InvalidTerms,
    InvoiceNotFound,
    MixedCurrencies,
    NoContract,
    PeriodAlreadyInvoiced,
)

# Values that can never be right are 422; requests that clash with what is recorded, 409.
STATUS: dict[type[BillingError], int] = {
    InvalidTerms: 422, InvalidPeriod: 422, MixedCurrencies: 422,
    ContractCurrencyChanged: 409, ContractPeriodInvoiced: 409, NoContract: 409,
    PeriodAlreadyInvoiced: 409, InvoiceNotFound: 404,
}


def to_api_error(exc: BillingError, location: str) -> ApiError:
    """The HTTP form of a domain error; `location` ("body", "query") prefixes its field."""
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 422)
    extra: dict[str, Any] = {}
    if exc.path is not None:
        extra["fields"] = [{"path": f"{location}.{exc.path}", "message": exc.message,
                            "type": exc.code}]
    return ApiError(status, exc.code, exc.message, **extra)


@contextmanager
def billing_errors(location: str = "body") -> Iterator[None]:
    """Translate domain errors raised inside the block."""
    try:
        yield
    except BillingError as exc:
        raise to_api_error(exc, location) from None
