"""Days in a stated zone: which time zone an agency's days are in, from when, and day arithmetic.

An agency's worklist "today", its service-level days and its QA months are days in the
agency's zone (STYLE rule 7). The zone is a setting with versions, each in force from an
instant on (`ZoneHistory`); before the first version, and for an agency that never set one,
the service's default zone applies. So a verdict as of a past instant is read in the zone in
force at that instant, and a deadline is counted in the zone in force when its clock started:
changing the zone later moves no deadline that had already started.

Which zone a *day* (or a month) is read in: the zone of the newest version that took effect
before the day ended (its end read in that version's own zone); else the default. So a zone
set today already makes today's worklist, and days before the change keep the zone they had.
A day then runs from its midnight to the next one in that zone. (Around a change the days
before and after it may overlap or leave a gap of a few hours: a day is never cut short.)

Day arithmetic: a span of whole days is counted on the local wall clock (7 days after 10:00
is 10:00 seven days later, even across a daylight-saving change, when that is 167 or 169
hours); any other span (2 hours) is elapsed time. Spans are timedeltas, so 48 hours count as
2 days: the tender's spans are hours (2) or days (1, 7, 15).

Pure: no I/O.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=256)
def zone_info(name: str) -> ZoneInfo:
    """The tz database entry of a zone name (names are checked when they are set)."""
    return ZoneInfo(name)


def _utc(instant: datetime, what: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return instant.astimezone(UTC)


def midnight(day: date, zone: str) -> datetime:
    """The instant a day begins in a zone, in UTC (where midnight is skipped by a clock
    change, the change itself: the day's first instant)."""
    return datetime.combine(day, time(), zone_info(zone)).astimezone(UTC)


def local_day(instant: datetime, zone: str) -> date:
    """The calendar day of an instant in a zone."""
    return instant.astimezone(zone_info(zone)).date()


def after(start: datetime, span: timedelta, zone: str) -> datetime:
    """`start` + `span`: whole days on the zone's wall clock, anything else elapsed."""
    if span > timedelta(0) and span % ONE_DAY == timedelta(0):
        local = start.astimezone(zone_info(zone))
        return (local + span).astimezone(UTC)  # aware + timedelta: wall-clock arithmetic
    return start.astimezone(UTC) + span


def stamp(instant: datetime, zone: str = "UTC") -> str:
    """An instant as 'YYYY-MM-DD HH:MM <zone>', on the zone's wall clock."""
    return f"{instant.astimezone(zone_info(zone)):%Y-%m-%d %H:%M} {zone}"


@dataclass(frozen=True)
class ZoneVersion:
    """A zone in force from an instant on."""

    effective_from: datetime
    timezone: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "effective_from",
                           _utc(self.effective_from, "effective_from"))


@dataclass(frozen=True)
class LocalWindow:
    """Local days [first, end) read in one zone, and the instants they span [start, stop)."""

    timezone: str
    first: date
    end: date
    start: datetime
    stop: datetime


@dataclass(frozen=True)
class ZoneHistory:
    """The zone an agency's days are in over time: its versions (sorted here) and the zone
    before the first one (the service's default)."""

    default: str
    versions: tuple[ZoneVersion, ...] = ()
    _starts: tuple[datetime, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.versions, key=lambda v: v.effective_from))
        object.__setattr__(self, "versions", ordered)
        object.__setattr__(self, "_starts", tuple(v.effective_from for v in ordered))

    @classmethod
    def constant(cls, zone: str) -> ZoneHistory:
        """One zone at every instant."""
        return cls(default=zone)

    @classmethod
    def of(cls, default: str, versions: Iterable[tuple[datetime, str]]) -> ZoneHistory:
        """From (effective from, zone) pairs."""
        return cls(default, tuple(ZoneVersion(at, zone) for at, zone in versions))

    def version_at(self, instant: datetime) -> ZoneVersion | None:
        """The version in force at an instant (None: before the first, the default)."""
        index = bisect_right(self._starts, _utc(instant, "instant"))
        return self.versions[index - 1] if index else None

    def at(self, instant: datetime) -> str:
        """The zone in force at an instant."""
        version = self.version_at(instant)
        return self.default if version is None else version.timezone

    def day_of(self, instant: datetime) -> date:
        """The calendar day of an instant in the zone in force then."""
        return local_day(instant, self.at(instant))

    def zone_of_day(self, day: date) -> str:
        """The zone a calendar day is read in: the newest version that took effect before
        the day ended there; else the default."""
        return self.zone_of_days(day, day + ONE_DAY)

    def zone_of_days(self, first: date, end: date) -> str:
        """The zone the days [first, end) are read in: the newest version that took effect
        before they ended there; else the default."""
        for version in reversed(self.versions):
            if version.effective_from < midnight(end, version.timezone):
                return version.timezone
        return self.default

    def window(self, first: date, end: date) -> LocalWindow:
        """The days [first, end) (a day, a month) in the zone they are read in."""
        if end <= first:
            raise ValueError("a window ends after it begins")
        zone = self.zone_of_days(first, end)
        return LocalWindow(zone, first, end, midnight(first, zone), midnight(end, zone))

    def day(self, day: date) -> LocalWindow:
        """One calendar day."""
        return self.window(day, day + ONE_DAY)
