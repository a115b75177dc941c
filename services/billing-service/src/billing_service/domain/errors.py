"""Why a billing request is refused: domain errors with a stable code."""

from __future__ import annotations


class BillingError(Exception):
    """A billing request that cannot be carried out as asked."""

    code = "billing_refused"

    def __init__(self, message: str, *, path: str | None = None):
        super().__init__(message)
        self.message, self.path = message, path


class InvalidTerms(BillingError):
    """Contract terms that can never be right (a rate above 1, tiers out of order...)."""

    code = "invalid_contract"


class InvalidPeriod(BillingError, ValueError):
    """A billing or reporting period that ends before it starts (also a ValueError, so
    request validation reports it at its field)."""

    code = "invalid_period"


class ContractCurrencyChanged(BillingError):
    """Every version of a creditor-agency contract bills in one currency."""

    code = "contract_currency_changed"


class ContractPeriodInvoiced(BillingError):
    """A new contract version may not take effect inside a period already invoiced."""

    code = "contract_period_invoiced"


class NoContract(BillingError):
    """The pair has no contract, or none in force at the end of the period."""

    code = "no_contract"


class PeriodAlreadyInvoiced(BillingError):
    """The period overlaps, or comes before, a period already invoiced for the pair."""

    code = "period_already_invoiced"


class InvoiceNotFound(BillingError):
    """No such invoice (or none the caller may see)."""

    code = "invoice_not_found"


class MixedCurrencies(BillingError):
    """Cases in several currencies cannot be summed: the caller must choose one."""

    code = "mixed_currencies"
