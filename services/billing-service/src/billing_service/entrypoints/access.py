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


def party_access(caller: Principal, party_kind: str, party_id: str, *, write: bool) -> bool:
    """Party records: a creditor key writes its own creditor record, an agency key its own
    agency record, admins any; auditors read. Reading: its own record in full; another
    party's public part (what documents print), except that a creditor reads no other
    creditor's, an agency no other agency's. Returns whether the caller sees it in full."""
    own = caller.tenant == party_id and caller.role.value == party_kind
    if write:
        require_roles(caller, Role.CREDITOR, Role.AGENCY, Role.ADMIN)
        if caller.role is not Role.ADMIN and not own:
            raise ApiError(403, "forbidden", f"a {caller.role.value} key maintains only its "
                           f"own {caller.role.value} record")
        return True
    require_roles(caller, Role.CREDITOR, Role.AGENCY, Role.AUDITOR, Role.ADMIN)
    if caller.role in (Role.ADMIN, Role.AUDITOR) or own:
        return True
    if caller.role.value == party_kind:
        raise ApiError(403, "forbidden", f"a {caller.role.value} key reads only its own "
                       f"{party_kind} record")
    return False
