"""Which cases a caller may see and change (tenant scoping). A case the caller may not see
is reported as not found, the same as a case that does not exist."""

from __future__ import annotations

from collections.abc import Callable

from casetrail.security import Principal, Role

from case_service.application.errors import CaseNotFound
from case_service.domain.case import Case


def visible(caller: Principal, case: Case, *, write: bool) -> bool:
    """Creditors see their cases, agencies the cases assigned to them now; admins and
    auditors every case."""
    if caller.role in (Role.ADMIN, Role.AUDITOR):
        return True
    if caller.role is Role.CREDITOR:
        return case.creditor_id == caller.tenant
    if case.assigned_agency_id == caller.tenant:
        return True
    # The agency that held a case when it closed can still read it, never write it.
    return not write and case.closed and case.agency_id == caller.tenant


def authorizer(caller: Principal) -> Callable[[Case], None]:
    """The authorize callback of a command for this caller: unknown to them reads as not
    found."""

    def authorize(case: Case) -> None:
        if not visible(caller, case, write=True):
            raise CaseNotFound(str(case.id))

    return authorize


def check_readable(caller: Principal, case: Case) -> None:
    """Raise CaseNotFound unless the caller may read the case."""
    if not visible(caller, case, write=False):
        raise CaseNotFound(str(case.id))
