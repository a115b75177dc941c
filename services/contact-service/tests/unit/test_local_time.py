"""Days in a stated zone: which zone is in force, which zone a day is read in, day arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from contact_service.domain.local_time import (
    ZoneHistory,
    after,
    local_day,
    midnight,
    stamp,
)

NY_FROM = datetime(2026, 11, 1, tzinfo=UTC)
SHANGHAI_FROM = datetime(2026, 11, 10, tzinfo=UTC)
HISTORY = ZoneHistory.of("UTC", [(SHANGHAI_FROM, "Asia/Shanghai"),
                                 (NY_FROM, "America/New_York")])  # any order


def test_the_zone_in_force_at_an_instant_is_the_latest_version_that_took_effect() -> None:
    assert HISTORY.at(NY_FROM - timedelta(microseconds=1)) == "UTC"  # the default before
    assert HISTORY.at(NY_FROM) == "America/New_York"
    assert HISTORY.at(SHANGHAI_FROM - timedelta(seconds=1)) == "America/New_York"
    assert HISTORY.at(SHANGHAI_FROM) == "Asia/Shanghai"
    assert HISTORY.version_at(NY_FROM - timedelta(days=1)) is None


def test_a_day_is_read_in_the_last_zone_set_before_it_ended() -> None:
    assert HISTORY.zone_of_day(date(2026, 10, 30)) == "UTC"
    # New York's zone took effect at 20:00 on 31 October there: 31 October is New York's.
    assert HISTORY.zone_of_day(date(2026, 10, 31)) == "America/New_York"
    assert HISTORY.zone_of_day(date(2026, 11, 5)) == "America/New_York"
    # Shanghai's took effect at 08:00 on 10 November there: that day is already Shanghai's;
    # 9 November ended (16:00 UTC in Shanghai) before it, and stays New York's.
    assert HISTORY.zone_of_day(date(2026, 11, 9)) == "America/New_York"
    assert HISTORY.zone_of_day(date(2026, 11, 10)) == "Asia/Shanghai"
    window = HISTORY.day(date(2026, 11, 10))
    assert (window.timezone, window.start, window.stop) == (
        "Asia/Shanghai", datetime(2026, 11, 9, 16, tzinfo=UTC),
        datetime(2026, 11, 10, 16, tzinfo=UTC))


def test_a_month_is_read_in_one_zone_from_its_first_midnight_to_the_next_month_s() -> None:
    window = HISTORY.window(date(2026, 11, 1), date(2026, 12, 1))
    assert (window.timezone, window.start, window.stop) == (
        "Asia/Shanghai", datetime(2026, 10, 31, 16, tzinfo=UTC),
        datetime(2026, 11, 30, 16, tzinfo=UTC))
    with pytest.raises(ValueError, match="ends after it begins"):
        HISTORY.window(date(2026, 12, 1), date(2026, 12, 1))


def test_whole_days_are_counted_on_the_wall_clock_and_hours_are_elapsed() -> None:
    # New York moves to daylight time at 02:00 on 8 March 2026.
    start = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)  # 10:00 EST
    assert after(start, timedelta(days=7), "America/New_York") == datetime(
        2026, 3, 12, 14, 0, tzinfo=UTC)  # 10:00 EDT, 167 hours later
    assert after(start, timedelta(days=7), "UTC") == start + timedelta(hours=168)
    # (A span is a timedelta: 72 hours are 3 days. The tender's spans are 2 hours or days.)
    assert after(start, timedelta(hours=50), "America/New_York") == start + timedelta(hours=50)
    assert after(start, timedelta(days=1, hours=1), "America/New_York") == \
        start + timedelta(hours=25)


def test_a_skipped_midnight_starts_the_day_at_the_clock_change() -> None:
    # Santiago skipped from 00:00 to 01:00 on 6 September 2026 (UTC-4 to UTC-3).
    start = midnight(date(2026, 9, 6), "America/Santiago")
    assert start == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)
    assert local_day(start, "America/Santiago") == date(2026, 9, 6)
    assert local_day(start - timedelta(seconds=1), "America/Santiago") == date(2026, 9, 5)


def test_stamps_name_their_zone() -> None:
    at = datetime(2026, 12, 7, 23, 12, tzinfo=UTC)
    assert stamp(at) == "2026-12-07 23:12 UTC"
    assert stamp(at, "Asia/Shanghai") == "2026-12-08 07:12 Asia/Shanghai"


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        HISTORY.at(datetime(2026, 11, 5))
