"""Instants as people read them: in a stated zone and in UTC, side by side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class ShownInstant:
    """One instant, written in a zone (with its offset) and in UTC."""

    local: str
    zone: str
    offset: str
    utc: str
    iso: str  # the instant itself, ISO 8601 in UTC (for links and machine-readable attributes)


def zone_or_utc(zone: str | None) -> ZoneInfo:
    """The named IANA zone, or UTC when it is missing or unknown."""
    try:
        return ZoneInfo(zone) if zone else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_instant(value: str) -> datetime | None:
    """An ISO 8601 instant with an offset (a trailing Z allowed), in UTC; None if it is not
    one."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def show_instant(value: str | datetime | None, zone: str | None) -> ShownInstant | None:
    """`value` in `zone` and in UTC; None for a missing or unreadable instant."""
    instant = value if isinstance(value, datetime) else parse_instant(value or "")
    if instant is None or instant.tzinfo is None:
        return None
    tz = zone_or_utc(zone)
    local = instant.astimezone(tz)
    offset = local.strftime("%z")
    return ShownInstant(local=local.strftime("%Y-%m-%d %H:%M:%S"), zone=str(tz.key),
                        offset=f"UTC{offset[:3]}:{offset[3:]}",
                        utc=instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                        iso=instant.astimezone(UTC).isoformat())


def local_input_to_instant(value: str, zone: str | None) -> datetime | None:
    """A `datetime-local` form value (YYYY-MM-DDTHH:MM[:SS], no offset) read as a wall-clock
    time in `zone`; an ISO instant with an offset is taken as it is. None if unreadable."""
    value = value.strip()
    if not value:
        return None
    with_offset = parse_instant(value)
    if with_offset is not None:
        return with_offset
    try:
        wall = datetime.fromisoformat(value)
    except ValueError:
        return None
    return wall.replace(tzinfo=zone_or_utc(zone)).astimezone(UTC)


def local_input_value(instant: datetime, zone: str | None) -> str:
    """The `datetime-local` form value of an instant in `zone` (to the second)."""
    return instant.astimezone(zone_or_utc(zone)).strftime("%Y-%m-%dT%H:%M:%S")
