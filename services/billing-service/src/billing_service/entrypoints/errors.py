"""The one error map of the billing API: domain errors → HTTP answers. Every route translates
the errors of the use case it calls through `billing_errors`; the code and message are the
error's own (`BillingError.code`), the status this table's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from casetrail.web import ApiError

from billing_service.domain.errors import (
    BillingError,
    ContractCurrencyChanged,
    ContractPeriodInvoiced,
    ContractTimezoneChanged,
    InvalidParty,
    InvalidPeriod,
    InvalidTerms,
    InvoiceNotFound,
    MixedCurrencies,
    NoContract,
    PartyNotFound,
    PartyVersionConflict,
    PeriodAlreadyInvoiced,
)

# Values that can never be right are 422 (a period not begun or not ended is an
# InvalidPeriod); requests that clash with what is recorded, 409; nothing visible, 404.
STATUS: dict[type[BillingError], int] = {
    InvalidTerms: 422, InvalidPeriod: 422, MixedCurrencies: 422, ContractTimezoneChanged: 422,
    ContractCurrencyChanged: 409, ContractPeriodInvoiced: 409, NoContract: 409,
    PeriodAlreadyInvoiced: 409, InvoiceNotFound: 404,
    InvalidParty: 422, PartyVersionConflict: 409, PartyNotFound: 404,
}
DEFAULT_STATUS = 422  # a BillingError the table does not name: refused as asked


def status_of(exc: BillingError) -> int:
    """The HTTP status of a domain error (the classes in STATUS do not overlap)."""
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)),
                DEFAULT_STATUS)


def to_api_error(exc: BillingError, location: str) -> ApiError:
    """The HTTP form of a domain error; `location` ("body", "query") prefixes its field."""
    status = status_of(exc)
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
