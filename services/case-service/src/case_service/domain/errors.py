"""Domain errors: each is an intent refused with a reason a person can act on."""

from __future__ import annotations


class DomainError(Exception):
    """An intent that breaks an invariant; `code` is stable for clients to branch on."""

    code = "domain_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CaseClosed(DomainError):
    """The case is closed: only facts can still be recorded against it."""

    code = "case_closed"


class CaseRecalled(DomainError):
    """The creditor recalled the case: the agency may no longer work it."""

    code = "case_recalled"


class InvalidAmount(DomainError):
    """An amount that is zero, negative, too large or in the wrong currency."""

    code = "invalid_amount"


class InvalidDate(DomainError):
    """A date that makes no sense for the intent (a promise due in the past, say)."""

    code = "invalid_date"


class UnknownPayment(DomainError):
    """A reversal names a payment this case never received."""

    code = "unknown_payment"


class UnknownPromise(DomainError):
    """A command names a promise this case does not have."""

    code = "unknown_promise"


class PaymentReferenceConflict(DomainError):
    """A payment reference was reused with different details."""

    code = "payment_reference_conflict"


class InvalidTransition(DomainError):
    """The case is not in a state that allows this intent."""

    code = "invalid_transition"


class UnknownWorkflowItem(DomainError):
    """A command names a complaint, visit or proposal this case does not have."""

    code = "unknown_item"


class BeyondApprovalLimit(DomainError):
    """An approval the creditor's own limits do not allow (raise them in its rules first)."""

    code = "beyond_approval_limit"


class UnknownActionCode(DomainError):
    """A contact uses an action code that is not in the creditor's catalogue."""

    code = "unknown_action_code"

    def __init__(self, message: str, valid_codes: list[str]):
        super().__init__(message)
        self.valid_codes = valid_codes
