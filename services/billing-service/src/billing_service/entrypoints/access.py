"""Who may see and do what: tenant rules of the billing API, in one place."""

from __future__ import annotations

from casetrail.security import Principal, Role
from casetrail.web import ApiError, require_roles


def contracts_access(caller: Principal, creditor_id: str, *, write: bool) -> None:
    """Contracts: the creditor reads and writes its own, admins all; auditors read all."""
    allowed = (Role.CREDITOR, Role.ADMIN) if write else (Role.CREDITOR, Role.ADMIN, Role.AUDITOR)
    require_roles(caller, *allowed)
    if caller.role is Role.CREDITOR and caller.tenant != creditor_id:
        raise ApiError(403, "forbidden", "a creditor key manages only its own contracts")


def pair_access(caller: Principal, creditor_id: str, agency_id: str, *, write: bool) -> None:
    """Billing runs of a pair: its creditor or its agency (own pairs), admins; auditors read."""
    allowed = (Role.CREDITOR, Role.AGENCY, Role.ADMIN)
    require_roles(caller, *(allowed if write else (*allowed, Role.AUDITOR)))
    if caller.role is Role.CREDITOR and caller.tenant != creditor_id:
        raise ApiError(403, "forbidden", "a creditor key bills only its own contracts")
    if caller.role is Role.AGENCY and caller.tenant != agency_id:
        raise ApiError(403, "forbidden", "an agency key bills only its own contracts")


def performance_scope(caller: Principal, agency_id: str, creditor_id: str | None) -> str | None:
    """The creditor filter an agency report runs with: a creditor sees its own cases only,
    an agency only itself; returns the creditor filter (None: every creditor)."""
    if caller.role is Role.AGENCY and caller.tenant != agency_id:
        raise ApiError(403, "forbidden", "an agency key sees only its own performance")
    if caller.role is Role.CREDITOR:
        if creditor_id is not None and creditor_id != caller.tenant:
            raise ApiError(403, "forbidden", "a creditor key sees only its own cases")
        return caller.tenant
    return creditor_id


def comparison_access(caller: Principal, creditor_id: str) -> None:
    """A creditor compares its own agencies; auditors and admins any creditor's."""
    require_roles(caller, Role.CREDITOR, Role.AUDITOR, Role.ADMIN)
    if caller.role is Role.CREDITOR and caller.tenant != creditor_id:
        raise ApiError(403, "forbidden", "a creditor key compares only its own agencies")
