"""Service levels per case (met, breached, pending) and the agents' worklist, scoped to the
caller.

Both are computed on request from the contact log (no stored state), with the tender's terms
(`DEFAULT_TERMS`); both read in batches of cases, a few queries per batch. Days are each
agency's (its time-zone setting, else the service's default zone), and both answers say
which zone they used; "now" is the service's clock.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from casetrail.clock import Clock
from casetrail.security import Principal, Role

from contact_service.adapters.agency_settings import AgencySettingsStore
from contact_service.adapters.service_levels import CaseRecord, ServiceLevelReader
from contact_service.application.errors import AgencyRequired, PeriodOutOfOrder
from contact_service.domain.local_time import local_day
from contact_service.domain.service_levels import (
    SERVICE_LEVELS,
    STATUSES,
    ServiceLevelStatus,
    evaluate_service_levels,
)
from contact_service.domain.worklist import build_worklist, in_priority_order


class ServiceLevels:
    """The service-level report and the worklist."""

    def __init__(self, reader: ServiceLevelReader, agencies: AgencySettingsStore, clock: Clock):
        self.reader, self.agencies, self.clock = reader, agencies, clock

    def report(self, caller: Principal, *, agency_id: str | None, as_of: datetime | None,
               assigned_from: datetime | None, assigned_to: datetime | None,
               after: str | None, limit: int) -> dict[str, Any]:
        """A page of cases (assigned by `as_of`, default now, and in [assigned_from,
        assigned_to) when given), in case-id order after the cursor `after`, each with its
        service levels as of `as_of` in its agency's days; the breaches on the page and the
        totals of each level's statuses."""
        when = (as_of or self.clock.now()).astimezone(UTC)
        if assigned_from is not None and assigned_to is not None \
                and assigned_from >= assigned_to:
            raise PeriodOutOfOrder("`from` must be before `to`")
        records, next_after = self.reader.page(
            tenant=caller.tenant_scope(), agency_id=agency_id, assigned_from=assigned_from,
            assigned_to=assigned_to, assigned_by=when, after=after, limit=limit)
        zones = self.agencies.histories(r.agency_id for r in records)
        cases, breaches = [], []
        counts: Counter[tuple[str, str]] = Counter()
        for record in records:
            agency_zones = zones[record.agency_id]
            statuses = evaluate_service_levels(record.facts, when, zones=agency_zones)
            cases.append(_case(record, statuses, agency_zones.at(when)))
            for s in statuses:
                counts[(s.service_level, s.status)] += 1
                if s.status == "breached":
                    breaches.append({"case_id": record.case_id, "service_level": s.service_level,
                                     "reason": s.reason, "due_at": s.due_at,
                                     "explanation": s.explanation})
        totals = {level: {status: counts[(level, status)] for status in STATUSES}
                  for level in SERVICE_LEVELS}
        return {"as_of": when, "timezones": {a: z.at(when) for a, z in sorted(zones.items())},
                "cases": cases, "breaches": breaches, "totals": totals,
                "next_after": next_after}

    def worklist(self, caller: Principal, *, agency_id: str | None, agent_id: str | None,
                 day: date | None, limit: int) -> dict[str, Any]:
        """One agency's work items for a day (default: today in the agency's zone), most
        urgent first, with reasons; only cases whose latest contact naming an agent was by
        `agent_id`, when given. For today service levels are judged as of now, for another
        day as of its start. Cases under cease-contact, dispute, recall or closure never
        appear."""
        agency = agency_id or (caller.tenant if caller.role is Role.AGENCY else None)
        if agency is None:
            raise AgencyRequired("a worklist is one agency's: give agency_id")
        now = self.clock.now()
        zones = self.agencies.history(agency)
        today = local_day(now, zones.at(now))
        window = zones.day(day or today)
        when = now if window.first == today else window.start
        items = []
        for batch in self.reader.workable(tenant=caller.tenant_scope(), agency_id=agency,
                                          assigned_by=when):
            chosen = [r for r in batch if agent_id is None or r.last_agent_id == agent_id]
            items += build_worklist(
                (r.work(evaluate_service_levels(r.facts, when, zones=zones)) for r in chosen),
                window.first, zone=window.timezone, as_of=when)
        ordered = in_priority_order(items)  # batches are each in order; merge them
        return {"agency_id": agency, "agent_id": agent_id, "date": window.first,
                "timezone": window.timezone, "day_starts_at": window.start,
                "day_ends_at": window.stop, "as_of": when,
                "items": [vars(i) for i in ordered[:limit]], "total": len(ordered),
                "truncated": len(ordered) > limit}


def _case(record: CaseRecord, statuses: list[ServiceLevelStatus], zone: str) -> dict[str, Any]:
    return {"case_id": record.case_id, "creditor_id": record.creditor_id,
            "agency_id": record.agency_id, "timezone": zone, "assigned_at": record.assigned_at,
            "holds": [{"kind": h.kind, "since": h.since} for h in record.holds],
            "service_levels": [{
                "service_level": s.service_level, "status": s.status, "due_at": s.due_at,
                "met_at": s.met_at, "completed_at": s.completed_at,
                "triggered_at": s.triggered_at, "outstanding": s.outstanding,
                "requirement": s.requirement, "explanation": s.explanation,
                "reason": s.reason}
                for s in statuses]}
