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


class PeriodNotBegun(InvalidPeriod):
    """A run for a period whose first day has not begun where the contract counts days:
    there is nothing to bill, and a stored invoice would stand in the way of every earlier
    period."""

    code = "period_not_begun"


class PeriodNotEnded(InvalidPeriod):
    """A run for a period whose last day has not ended where the contract counts days: its
    lines may still change (a preview is allowed, and says it is provisional)."""

    code = "period_not_ended"


class ContractTimezoneChanged(BillingError):
    """Every version of a creditor-agency contract counts days in one time zone, so which day
    a payment falls on never depends on which version is in force."""

    code = "contract_timezone_changed"


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


class InvalidParty(BillingError, ValueError):
    """Party details that can never be right (a tax id whose check character is wrong...);
    also a ValueError, so request validation reports it at its field."""

    code = "invalid_party"


class PartyVersionConflict(BillingError):
    """A party record changed since the version the writer read (`expected_version`)."""

    code = "party_version_conflict"


class PartyNotFound(BillingError):
    """No record of that party (or none the caller may see)."""

    code = "party_not_found"
