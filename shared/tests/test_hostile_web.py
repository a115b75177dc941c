"""The shared request guard and value parsers: what every service refuses before a route."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from casetrail.money import MoneyError, parse_decimal
from casetrail.web import (
    check_day,
    check_fact_time,
    check_instant,
    is_json_media_type,
    json_body_problem,
)


@pytest.mark.parametrize(("body", "too_deep"), [
    (b"[" * 32 + b"]" * 32, False),
    (b"[" * 33 + b"]" * 33, True),
    (b'{"a":' * 33 + b"1" + b"}" * 33, True),
    (b'{"a": "' + b"[" * 100 + b'"}', False),  # brackets inside a string are text
    (b'["\\"' + b"[" * 100 + b'"]', False),  # an escaped quote does not end the string
    (b'["\\\\", ' + b"[" * 40 + b"]" * 40 + b"]", True),  # an escaped backslash does not
    (b'["]",' * 40 + b"1" + b"]" * 40, True),  # a "]" in a string cannot hide the nesting
    (b'[{"a":[{"b":' * 20 + b"1" + b"}]}]" * 20, True),
    (b"[" * 40, False),  # unbalanced: the parser says what is wrong
])
def test_json_depth_is_measured_outside_strings(body: bytes, too_deep: bool) -> None:
    problem = json_body_problem(body, 32)
    assert (problem is not None and "deeper than 32" in problem) is too_deep


@pytest.mark.parametrize("body", [b"\xff\xfe[]", b'{"a": "\xc3"}', "[]".encode("utf-16")])
def test_a_body_that_is_not_utf8_is_named(body: bytes) -> None:
    assert json_body_problem(body, 32) == "the body is not valid UTF-8"


@pytest.mark.parametrize(("value", "ok"), [
    (b"application/json", True), (b"Application/JSON", True),
    (b"application/json; charset=utf-8", True), (b'application/json;charset="UTF-8"', True),
    (b"application/json; charset=latin-1", False), (b"application/json; version=2", False),
    (b"text/json", False), (b"application/problem+json", False), (b"", False), (None, False),
])
def test_only_json_in_utf8_is_a_json_media_type(value: bytes | None, ok: bool) -> None:
    assert is_json_media_type(value) is ok


@pytest.mark.parametrize(("value", "expected"), [
    ("1234.50", Decimal("1234.50")), ("-0.5", Decimal("-0.5")), ("007", Decimal("7")),
    (12, Decimal(12)), (Decimal("3.10"), Decimal("3.10")),
])
def test_plain_decimals_parse(value: object, expected: Decimal) -> None:
    assert parse_decimal(value) == expected


@pytest.mark.parametrize("value", [
    "1_000", "\u0661\u0660\u0660", "1E-2", "1e3", "+5", ".5", "5.", "1 000", "1,000.00",
    "0x10", "Infinity", "NaN", "\u0031\u0032\u0033\u00bd", "\uff11", 1.5, True,
    Decimal("NaN"), None, [1]])
def test_anything_else_is_not_a_decimal(value: object) -> None:
    with pytest.raises(MoneyError):
        parse_decimal(value)


def test_instants_outside_the_calendar_window_are_refused() -> None:
    with pytest.raises(ValueError, match="between"):
        check_instant(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
    with pytest.raises(ValueError, match="between"):
        check_instant(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))))
    assert check_instant(datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=8)))) == \
        datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="between"):
        check_day(date(9999, 12, 31))


def test_facts_are_from_2000_and_not_in_the_future() -> None:
    with pytest.raises(ValueError, match="before"):
        check_fact_time(datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC))
    with pytest.raises(ValueError, match="future"):
        check_fact_time(datetime.now(UTC) + timedelta(minutes=10))
    assert check_fact_time(datetime(2000, 1, 1, tzinfo=UTC)) == datetime(2000, 1, 1,
                                                                           tzinfo=UTC)
