"""The one clock: every rule that reads "now" takes it from a `Clock`, so tests can move it.

Services build a `SystemClock`; tests pass a `ManualClock` and set or advance it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"  # most users of casetrail live at UTC+8; "UTC" is a choice


class Clock(Protocol):
    """Where "now" comes from."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current instant, in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until told otherwise (tests, simulations, replays)."""

    def __init__(self, at: datetime):
        self._at = _aware(at)

    def now(self) -> datetime:
        """The instant it was set to."""
        return self._at

    def set(self, at: datetime) -> None:
        """Move to an instant (forwards or backwards)."""
        self._at = _aware(at)

    def advance(self, by: timedelta) -> datetime:
        """Move forwards; returns the new instant."""
        self._at += by
        return self._at


class OffsetClock:
    """The machine's clock moved by a fixed offset: a rehearsal or acceptance environment
    that lives ahead of (or behind) real time (CASETRAIL_CLOCK_OFFSET; refused in
    production)."""

    def __init__(self, offset: timedelta, base: Clock | None = None):
        self.offset, self.base = offset, base or SystemClock()

    def now(self) -> datetime:
        """The base clock's instant plus the offset, in UTC."""
        return self.base.now() + self.offset


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a clock's instant must be timezone-aware")
    return at.astimezone(UTC)


SYSTEM_CLOCK = SystemClock()


# Names the tz database has that are no place: the machine's own zone, and a placeholder.
_NOT_A_PLACE = frozenset({"localtime", "Factory", "posixrules"})


def check_zone(name: str) -> str:
    """An IANA time zone name, checked (ValueError when unknown)."""
    try:
        if name in _NOT_A_PLACE:
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as "
                         "Asia/Shanghai, America/New_York or UTC") from None
    return name
