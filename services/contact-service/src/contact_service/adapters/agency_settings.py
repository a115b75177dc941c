"""Agency settings: the time zone of each agency's worklist, service-level days and QA months.

Settings are records of the contact service (people set them), not facts rebuilt from case
events: they live in `settings_metadata`, outside the contact-log projection's tables, so a
projection rebuild (which empties and swaps only the projection's own tables) never touches
them. No projection handler reads them: worklists, service levels and QA samples are computed
on request, so a rebuild's shadow does not need a copy either.

Each change is a new version, appended with who made it and when, in force from its
`effective_from` on, never before it was made (as policy assignments): a verdict as of a
past instant is read in the zone that was in force then, so it does not change when the
setting does. Before an agency's first version, the service's default zone applies
(CASETRAIL_DEFAULT_TIMEZONE).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from casetrail.clock import check_zone
from casetrail.projections.store import among
from casetrail.retry import retrying
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from contact_service.domain.local_time import ZoneHistory
from contact_service.domain.records import SettingConflict

settings_metadata = sa.MetaData()

agency_settings = sa.Table(
    "agency_settings", settings_metadata,
    sa.Column("agency_id", sa.Text, primary_key=True),
    sa.Column("effective_from", sa.Text, primary_key=True),  # ISO-8601 UTC: sorts by time
    sa.Column("timezone", sa.Text, nullable=False),
    sa.Column("set_at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
)

# Attempts of a setting whose instant another setting of the agency, made concurrently,
# took between its read and its insert (the second attempt judges against that one).
ATTEMPTS = 2


class AgencySettingsStore:
    """Each agency's time zone over time, and the service's default for those without one."""

    def __init__(self, engine: Engine, default_timezone: str):
        self.engine = engine
        self.default_timezone = check_zone(default_timezone)

    def set_timezone(self, agency_id: str, timezone: str, start: datetime, now: datetime,
                     actor: str, *, replay_latest: bool) -> tuple[dict[str, Any], bool]:
        """Append a version: `timezone` from `start` on (made `now` by `actor`). Setting
        again what is already set (with `replay_latest`: the same zone is the latest
        version, in force now; or the same zone from the same instant) records nothing; the
        same instant with another zone is a SettingConflict. The flag says whether a
        version was recorded now."""
        check_zone(timezone)
        for attempt in retrying(ATTEMPTS, on=IntegrityError):
            with attempt:
                return self._append(agency_id, timezone, start, now, actor,
                                    replay_latest=replay_latest)
        raise AssertionError("unreachable: the last attempt's error propagates")

    def _append(self, agency_id: str, timezone: str, start: datetime, now: datetime,
                actor: str, *, replay_latest: bool) -> tuple[dict[str, Any], bool]:
        with self.engine.begin() as conn:
            versions = self._versions(conn, agency_id)
            latest = versions[-1] if versions else None
            if replay_latest and latest is not None and latest["timezone"] == timezone \
                    and datetime.fromisoformat(latest["effective_from"]) <= now:
                return latest, False
            same = next((v for v in versions if v["effective_from"] == start.isoformat()), None)
            if same is not None:
                if same["timezone"] != timezone:
                    raise SettingConflict(f"{agency_id} has {same['timezone']} set from "
                                          f"{same['effective_from']}")
                return same, False
            row = {"agency_id": agency_id, "effective_from": start.isoformat(),
                   "timezone": timezone, "set_at": now.isoformat(), "actor": actor}
            conn.execute(agency_settings.insert().values(**row))
        return row, True

    def versions(self, agency_id: str) -> list[dict[str, Any]]:
        """An agency's versions, oldest first."""
        with self.engine.connect() as conn:
            return self._versions(conn, agency_id)

    @staticmethod
    def _versions(conn: Connection, agency_id: str) -> list[dict[str, Any]]:
        t = agency_settings
        return [dict(r) for r in conn.execute(
            sa.select(t).where(t.c.agency_id == agency_id).order_by(t.c.effective_from))
            .mappings()]

    def history(self, agency_id: str) -> ZoneHistory:
        """The zones an agency's days are in over time."""
        return self.histories([agency_id])[agency_id]

    def histories(self, agency_ids: Iterable[str]) -> dict[str, ZoneHistory]:
        """`history` of several agencies, in one query per thousand."""
        wanted = sorted(set(agency_ids))
        found: dict[str, list[tuple[datetime, str]]] = {a: [] for a in wanted}
        t = agency_settings
        with self.engine.connect() as conn:
            for first in range(0, len(wanted), 1000):
                for row in conn.execute(sa.select(t.c.agency_id, t.c.effective_from,
                                                  t.c.timezone).where(
                        among(conn, t.c.agency_id, wanted[first:first + 1000]))):
                    found[row.agency_id].append(
                        (datetime.fromisoformat(row.effective_from), row.timezone))
        return {agency: ZoneHistory.of(self.default_timezone, versions)
                for agency, versions in found.items()}
