"""Use cases: a creditor's allocation rules (bucket → agency split, bucket scheme, default
term, time zone) and the creditor's today."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from case_service.adapters.case_store import AlreadyStored
from case_service.application.cases import CaseApplication
from case_service.application.errors import VersionConflict
from case_service.domain.allocation import NO_RULES, AllocationRules
from case_service.domain.case import local_day


def allocation_rules(app: CaseApplication, creditor_id: str) -> AllocationRules:
    """The creditor's current allocation rules (none: every account must name an agency)."""
    stored = app.store.current_rules(creditor_id)
    return AllocationRules.from_json(stored) if stored else NO_RULES


def allocation_rules_at(app: CaseApplication, creditor_id: str, at: datetime
                        ) -> AllocationRules:
    """The creditor's rules in force at an instant: the newest version stored by then (none
    stored yet: no rules)."""
    stored = app.store.rules_at(creditor_id, at)
    return AllocationRules.from_json(stored) if stored else NO_RULES


def rules_in_force(app: CaseApplication, creditor_id: str) -> AllocationRules:
    """The creditor's current rules for commands, read at most every RULES_TTL seconds
    by one thread (a new version takes effect at once in the process that stored it)."""
    rules: AllocationRules = app.rules_cache.get(
        creditor_id, lambda: allocation_rules(app, creditor_id))
    return rules


def set_allocation_rules(app: CaseApplication, creditor_id: str, rules: dict[str, Any],
                         actor: str) -> AllocationRules:
    """Store a new version of a creditor's allocation rules (409 when another version was
    stored meanwhile)."""
    current = allocation_rules(app, creditor_id)
    new = AllocationRules.from_json({**rules, "version": current.version + 1})
    try:
        app.store.add_rules(creditor_id, new.to_json(), app.clock.now().isoformat(), actor)
    except AlreadyStored as exc:  # unique (creditor, version): a concurrent update won
        raise VersionConflict("allocation rules changed meanwhile; retry") from exc
    app.rules_cache.invalidate(creditor_id)
    return new


def creditor_timezone(app: CaseApplication, rules: AllocationRules) -> str:
    """The zone of a creditor's days: its rules', else the service's default."""
    return rules.timezone or app.default_timezone


def today(app: CaseApplication, creditor_id: str) -> tuple[date, str, AllocationRules]:
    """A creditor's today (by the clock, in its zone), the zone, and its rules."""
    rules = allocation_rules(app, creditor_id)
    zone = creditor_timezone(app, rules)
    return local_day(app.clock.now(), zone), zone, rules
