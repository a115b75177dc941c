"""Use cases: record a fact on a case for a caller, under the application's concurrency rule
(`CaseApplication.execute`): the caller's tenant decides which cases they may change, and the
fact is the aggregate's own command (domain/case.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from casetrail.security import Principal

from case_service.application.access import authorizer
from case_service.application.allocation import rules_in_force
from case_service.application.cases import CaseApplication, CommandResult
from case_service.application.pii import contact_point
from case_service.application.registry import collectors_in_force
from case_service.domain.agencies import check_collector
from case_service.domain.case import Case


def record(app: CaseApplication, caller: Principal, case_id: UUID, fact: Callable[[Case], Any],
           *, expected_version: int | None) -> CommandResult:
    """Run `fact` (an aggregate command) on a case the caller may change, and save what it
    recorded."""
    return app.execute(case_id, fact, expected_version=expected_version,
                       authorize=authorizer(caller))


async def record_async(app: CaseApplication, caller: Principal, case_id: UUID,
                       fact: Callable[[Case], Any], *, expected_version: int | None
                       ) -> CommandResult:
    """`record` for the event loop (`CaseApplication.execute_async`): the same answers."""
    return await app.execute_async(case_id, fact, expected_version=expected_version,
                                   authorize=authorizer(caller))


def contact_fact(app: CaseApplication, caller: Principal, *, contact_id: str,
                 number: str | None, **facts: Any) -> Callable[[Case], Any]:
    """The aggregate command recording a contact, its action code checked against the
    creditor's catalogue; the number or address it used is sealed under the debtor's key
    (refused for a debtor erased on request, see `pii.contact_point`)."""
    def fact(case: Case) -> bool:
        rules = rules_in_force(app, case.creditor_id)
        if contact_id not in case.contact_ids:  # a retry is answered whatever changed since
            # An agency that registered collectors records contacts by one of them, active
            # and qualified on the contact's day (the creditor's).
            check_collector(collectors_in_force(app, case.agency_id), facts.get("agent_id"),
                            case.creditor_day(facts["occurred_at"]), case.agency_id)
        return case.record_contact(
            contact_id=contact_id, contact_point=contact_point(app, case, number, contact_id),
            actor=caller.actor, catalogue=(rules.version, tuple(
                c.code for c in rules.action_codes)), **facts)
    return fact


def record_contact(app: CaseApplication, caller: Principal, case_id: UUID, *,
                   expected_version: int | None, contact_id: str, number: str | None,
                   **facts: Any) -> CommandResult:
    """Record a contact (`contact_fact`)."""
    return record(app, caller, case_id, contact_fact(
        app, caller, contact_id=contact_id, number=number, **facts),
        expected_version=expected_version)


async def record_contact_async(app: CaseApplication, caller: Principal, case_id: UUID, *,
                               expected_version: int | None, contact_id: str,
                               number: str | None, **facts: Any) -> CommandResult:
    """`record_contact` for the event loop."""
    return await record_async(app, caller, case_id, contact_fact(
        app, caller, contact_id=contact_id, number=number, **facts),
        expected_version=expected_version)


def now_or(app: CaseApplication, value: datetime | None) -> datetime:
    """The given time in UTC, or now by the application's clock."""
    return value.astimezone(UTC) if value is not None else app.clock.now()
