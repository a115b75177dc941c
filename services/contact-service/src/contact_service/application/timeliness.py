"""Timeliness of entry per agency and collector: how long after the fact contacts, visits and
complaints reached the log, and which came late (rules: `domain/timeliness.py`).

An agency key sees its own agency; a creditor key the agency's work on its own cases;
auditors and admins any agency."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from casetrail.security import Principal, Role

from contact_service.adapters.agency_settings import AgencySettingsStore
from contact_service.adapters.timeliness import TimelinessReader
from contact_service.application.access import require_roles
from contact_service.application.errors import Forbidden
from contact_service.domain.kpis import Period
from contact_service.domain.timeliness import (
    MAJOR_EVENTS,
    REPORT_WITHIN,
    CollectorTimeliness,
    timeliness,
)

LATE_LISTED = 1000  # late entries listed in one answer (the counts cover them all)


class Timeliness:
    """The timeliness report of an agency."""

    def __init__(self, reader: TimelinessReader, agencies: AgencySettingsStore):
        self.reader, self.agencies = reader, agencies

    def report(self, caller: Principal, agency_id: str, since: datetime, until: datetime
               ) -> dict[str, Any]:
        """Per collector (and for the agency): entries that occurred in [since, until), the
        p50/p95/max lag from occurrence to entry in seconds, and the late ones with their
        code (`late_entry`, `late_report`)."""
        require_roles(caller, Role.ADMIN, Role.AUDITOR, Role.CREDITOR, Role.AGENCY)
        if caller.role is Role.AGENCY and caller.tenant != agency_id:
            raise Forbidden("an agency key sees only its own timeliness")
        creditor_id = caller.tenant if caller.role is Role.CREDITOR else None
        period = Period(since.astimezone(UTC), until.astimezone(UTC))
        zones = self.agencies.history(agency_id)
        report = timeliness(self.reader.entries(agency_id, period.start, period.end,
                                                creditor_id),
                            zones, period.start, period.end)
        return {
            "agency_id": agency_id, "creditor_id": creditor_id, "from": period.start,
            "to": period.end, "timezone": zones.at(period.end),
            "rules": {"late_entry": "a contact entered on a later calendar day of the agency "
                                    "(its zone when the contact happened) than it happened",
                      "late_report": f"a major event ({', '.join(sorted(MAJOR_EVENTS))}) "
                                     f"entered more than "
                                     f"{int(REPORT_WITHIN.total_seconds() // 60)} minutes "
                                     f"after it happened"},
            "agency": _collector(report.agency),
            "collectors": [_collector(c) for c in report.collectors],
            "late": [{"kind": x.entry.kind, "case_id": x.entry.case_id, "ref": x.entry.ref,
                      "collector_id": x.entry.collector_id, "occurred_at": x.entry.occurred_at,
                      "recorded_at": x.entry.recorded_at, "lag_seconds": x.entry.lag_seconds,
                      "reason": x.reason} for x in report.late[:LATE_LISTED]],
            "late_truncated": len(report.late) > LATE_LISTED,
        }


def _collector(c: CollectorTimeliness) -> dict[str, Any]:
    return {"collector_id": c.collector_id, "count": c.count,
            "p50_lag_seconds": c.p50_lag_seconds, "p95_lag_seconds": c.p95_lag_seconds,
            "max_lag_seconds": c.max_lag_seconds, "late_entries": c.late_entries,
            "late_reports": c.late_reports}
