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
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from casetrail.clock import SYSTEM_CLOCK, Clock, check_zone
from casetrail.projections.store import add_missing_columns, among
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from contact_service.domain.local_time import ZoneHistory

settings_metadata = sa.MetaData()

agency_settings = sa.Table(
    "agency_settings", settings_metadata,
    sa.Column("agency_id", sa.Text, primary_key=True),
    sa.Column("effective_from", sa.Text, primary_key=True),  # ISO-8601 UTC: sorts by time
    sa.Column("timezone", sa.Text, nullable=False),
    sa.Column("set_at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
)

RETROACTIVE_GRACE = timedelta(seconds=5)  # clock skew between the caller and this service


class RetroactiveSetting(ValueError):
    """A setting may not take effect before it was made."""


class SettingConflict(ValueError):
    """Another zone is set from that very instant."""


def create_settings_schema(engine: Engine) -> None:
    """Create the settings tables if missing (and add columns later releases added)."""
    with engine.begin() as conn:
        settings_metadata.create_all(conn)
        add_missing_columns(conn, settings_metadata)


class AgencySettings:
    """Each agency's time zone over time, and the service's default for those without one."""

    def __init__(self, engine: Engine, default_timezone: str, clock: Clock = SYSTEM_CLOCK):
        self.engine = engine
        self.default_timezone = check_zone(default_timezone)
        self.clock = clock

    def set_timezone(self, agency_id: str, timezone: str, effective_from: datetime | None,
                     actor: str) -> tuple[dict[str, Any], bool]:
        """Append a version: `timezone` from `effective_from` (default now) on. A time a few
        seconds in the past (clock skew) is taken as now. Setting again what is already
        set (the same zone, with no later version pending; or the same zone from the same
        instant) records nothing: the flag says whether a version was recorded now."""
        check_zone(timezone)
        now = self.clock.now()
        start = (effective_from or now).astimezone(UTC)
        if start < now - RETROACTIVE_GRACE:
            raise RetroactiveSetting("an agency setting cannot take effect in the past")
        start = max(start, now)
        try:
            return self._append(agency_id, timezone, start, now, actor,
                                replay_latest=effective_from is None)
        except IntegrityError:  # set concurrently from the same instant: judge against that
            return self._append(agency_id, timezone, start, now, actor,
                                replay_latest=effective_from is None)

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
