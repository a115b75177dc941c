"""Agency settings: the time zone of an agency's worklist, service-level days and QA months.

Who may do what: an agency key sets and reads its own agency's settings, an admin any
agency's; auditors read every agency's; a creditor reads those of an agency that holds or
has worked its cases (its service levels there are judged in that zone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casetrail.clock import Clock
from casetrail.security import Principal, Role

from contact_service.adapters.agency_settings import AgencySettingsStore
from contact_service.adapters.queries import ContactQueries
from contact_service.application.access import check_creditor_works_with, require_roles
from contact_service.application.errors import Forbidden
from contact_service.domain.records import RetroactiveSetting, effective_start


class AgencySettings:
    """Each agency's time zone: set a version, read the one in force and every version."""

    def __init__(self, store: AgencySettingsStore, queries: ContactQueries, clock: Clock):
        self.store, self.queries, self.clock = store, queries, clock

    def set_timezone(self, caller: Principal, agency_id: str, timezone: str,
                     effective_from: datetime | None) -> tuple[dict[str, Any], bool]:
        """Append a version: the agency's days are read in `timezone` from `effective_from`
        (default now; never in the past) on, so a verdict already given does not change.
        Setting again what is already in force records nothing; the flag says whether a
        version was recorded now. Returns the settings as `settings` reads them."""
        require_roles(caller, Role.ADMIN, Role.AGENCY)
        if caller.role is Role.AGENCY and caller.tenant != agency_id:
            raise Forbidden("an agency key sets only its own settings")
        now = self.clock.now()
        start = effective_start(effective_from, now, RetroactiveSetting(
            "an agency setting cannot take effect in the past"))
        _, recorded = self.store.set_timezone(agency_id, timezone, start, now, caller.actor,
                                              replay_latest=effective_from is None)
        return self._settings(agency_id), recorded

    def settings(self, caller: Principal, agency_id: str) -> dict[str, Any]:
        """The zone in force now (the agency's own, or the service's default when it has set
        none yet), where it comes from, and every version with who set it and when."""
        require_roles(caller, Role.ADMIN, Role.AUDITOR, Role.AGENCY, Role.CREDITOR)
        if caller.role is Role.AGENCY and caller.tenant != agency_id:
            raise Forbidden("an agency key reads only its own settings")
        if caller.role is Role.CREDITOR:
            check_creditor_works_with(self.queries, caller, agency_id)
        return self._settings(agency_id)

    def _settings(self, agency_id: str) -> dict[str, Any]:
        now = self.clock.now()
        default = self.store.default_timezone
        versions = self.store.versions(agency_id)
        in_force = self.store.history(agency_id).version_at(now)
        return {"agency_id": agency_id,
                "timezone": default if in_force is None else in_force.timezone,
                "source": "default" if in_force is None else "agency",
                "effective_from": None if in_force is None else in_force.effective_from,
                "default_timezone": default, "as_of": now, "versions": versions}
