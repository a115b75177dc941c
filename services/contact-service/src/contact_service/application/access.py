"""Who may see and do what in the contact service: roles and tenants, in one place.

Creditors see their own cases, agencies the cases they hold (and their own contacts),
auditors and admins everything; auditors never write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from casetrail.security import Principal, Role

from contact_service.adapters.queries import ContactQueries
from contact_service.application.errors import Forbidden


def require_roles(caller: Principal, *roles: Role) -> None:
    """Refuse a caller whose role may not do this."""
    if caller.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise Forbidden(f"role {caller.role.value} may not do this ({allowed})")


def sees_case(caller: Principal, case: Mapping[str, Any] | None) -> bool:
    """Whether the caller may see a case (a contact_cases row): its creditor, its current
    agency, auditors and admins."""
    if case is None:
        return False
    return all(case[column] == value for column, value in caller.tenant_scope().items())


def sees_sample(caller: Principal, sample: Mapping[str, Any] | None) -> bool:
    """Whether the caller may read a QA sample: admins, auditors, its agency, its creditor."""
    if sample is None:
        return False
    if caller.role in (Role.ADMIN, Role.AUDITOR):
        return True
    if caller.role is Role.AGENCY:
        return bool(sample["agency_id"] == caller.tenant)
    return caller.role is Role.CREDITOR and sample["creditor_id"] == caller.tenant


def check_creditor_works_with(queries: ContactQueries, caller: Principal, agency_id: str
                              ) -> None:
    """A creditor key reaches only an agency that holds or has worked its cases."""
    assert caller.tenant is not None
    if not queries.creditor_works_with_agency(caller.tenant, agency_id):
        raise Forbidden(f"agency {agency_id} holds or has worked none of your cases")
